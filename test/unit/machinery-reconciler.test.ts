// The reconciler against a scripted API: what reaches the Plan when a call fails. A refusal the
// API server will repeat (Pod Security, RBAC, an invalid pod, a missing PriorityClass) becomes a
// condition and an Event naming the call, with a long requeue; a retryable error backs off
// through the work queue; the status is written either way.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Informer } from "../../src/controller/kube/informer.ts";
import { type KubeError, resources } from "../../src/controller/kube/ports.ts";
import type { Node, Pod, Secret } from "../../src/controller/rollout/objects.ts";
import { FINALIZER_RELEASE_NODES } from "../../src/controller/rollout/keys.ts";
import { ControllerDefaults } from "../../src/controller/wiring/defaults.ts";
import { silentLogger } from "../../src/controller/wiring/log.ts";
import { Metrics } from "../../src/controller/wiring/metrics.ts";
import { type PlanObject, Reconciler } from "../../src/controller/wiring/reconciler.ts";
import { aNode, aPlan } from "./sim-world.ts";
import { type Call, ScriptedKube, apiError, expect } from "./scripted-kube.ts";

const NS = "sys";

function world(kube: ScriptedKube, plan: PlanObject, nodes: Node[], now = () => Date.parse("2026-06-01T00:00:00Z")) {
  const informer = <T extends Pod | Node | Secret | PlanObject>(resource: (typeof resources)[keyof typeof resources]) =>
    new Informer<T>(kube, { resource, namespace: NS, relistMs: 60_000 });
  const plans = informer<PlanObject>(resources.plans);
  const nodeCache = informer<Node>(resources.nodes);
  // A Plan this controller already holds, unless the test says otherwise.
  plan.metadata.finalizers ??= [FINALIZER_RELEASE_NODES];
  plans.upsert(plan);
  for (const n of nodes) nodeCache.upsert(n);
  const metrics = new Metrics(false);
  const reconciler = new Reconciler({
    kube,
    channel: { latest: () => Promise.reject(new Error("no channel in this test")) },
    alerts: { firing: () => Promise.resolve({ firing: [] }) },
    plans,
    nodes: nodeCache,
    pods: informer<Pod>(resources.pods),
    secrets: informer<Secret>(resources.secrets),
    metrics,
    log: silentLogger,
    now,
    config: { ...ControllerDefaults, namespace: NS, controllerName: "plan-runner", protectedPods: new Set() },
  });
  return { reconciler, plans, metrics, nodes: nodeCache };
}

const statusOf = (call: Call) => (call.body as { status: NonNullable<PlanObject["status"]> }).status;
const condition = (status: PlanObject["status"], type: string) => status?.conditions?.find((c) => c.type === type);
const echoStatus = (plan: PlanObject) => (call: Call) => ({ ...plan, status: statusOf(call) });

describe("reconciler (scripted API): errors say what happens next", () => {
  const refusals: Array<[string, KubeError]> = [
    ["Pod Security refuses a privileged pod (403)", apiError(403, "Forbidden", "create", "/api/v1/namespaces/sys/pods")],
    ["the pod is invalid (422)", apiError(422, "Invalid", "create", "/api/v1/namespaces/sys/pods")],
    ["a missing PriorityClass (403 from the Priority admission plugin)", apiError(403, "Forbidden", "create", "/api/v1/namespaces/sys/pods")],
  ];
  for (const [name, refusal] of refusals) {
    it(`${name}: a Refused condition and an Event name the call; looked at again after a long pause`, async () => {
      const plan = aPlan() as PlanObject;
      const kube = new ScriptedKube([]);
      let written: PlanObject["status"];
      kube.then(
        expect("create", resources.pods, refusal, (c) => assert.match(c.name ?? "", /^apply-up-on-w1-with-/)),
        expect("patch", resources.plans, (c: Call) => ((written = statusOf(c)), echoStatus(plan)(c))),
      );
      const { reconciler, metrics } = world(kube, plan, [aNode("w1")]);
      const outcome = await reconciler.reconcile(`${NS}/up`);
      kube.done();
      assert.equal(outcome.requeueAfterMs, ControllerDefaults.refusedRequeueMs);
      const refused = condition(written, "Refused");
      assert.equal(refused?.status, "True");
      assert.equal(refused?.reason, refusal.reason);
      assert.match(refused?.message ?? "", /the API server refused create pods apply-up-on-w1-with-\S+ \(node w1\)/);
      assert.match(refused?.message ?? "", /not retried until the Plan or the cluster changes/);
      assert.equal(condition(written, "Validated")?.status, "True", "decide's own conditions are written too");
      const events = kube.events.map((e) => `${String(e["type"])} ${String(e["reason"])}`);
      assert.ok(events.includes("Warning ApiRefused"), events.join(", "));
      const errors = await metrics.reconcileErrors.get();
      assert.deepEqual(
        errors.values.map((v) => [v.labels["kind"], v.value]),
        [[`api_terminal_${refusal.status}`, 1]],
      );
    });
  }

  it("a refusal that persists is not announced again, and clears once the call succeeds", async () => {
    const plan = aPlan() as PlanObject;
    const kube = new ScriptedKube([]);
    const { reconciler, plans } = world(kube, plan, [aNode("w1")]);
    const forbidden = apiError(403, "Forbidden", "create", "/api/v1/namespaces/sys/pods");
    kube.then(expect("create", resources.pods, forbidden), expect("patch", resources.plans, echoStatus(plan)));
    await reconciler.reconcile(`${NS}/up`);
    const announced = kube.events.filter((e) => e["reason"] === "ApiRefused").length;
    // The refusal holds idle nodes back until refusedRequeueMs passes or the Plan is edited: edit it.
    const edit = (generation: number): void => {
      const have = plans.get(`${NS}/up`) ?? plan;
      plans.upsert({ ...have, metadata: { ...have.metadata, generation } });
    };
    edit(2);
    kube.then(expect("create", resources.pods, forbidden), expect("patch", resources.plans, echoStatus(plan)));
    await reconciler.reconcile(`${NS}/up`);
    kube.done();
    assert.equal(kube.events.filter((e) => e["reason"] === "ApiRefused").length, announced, "no second Event for the same refusal");
    edit(3);
    kube.then(
      expect("create", resources.pods, (c: Call) => ({ ...(c.body as Pod), metadata: { ...(c.body as Pod).metadata, uid: "u1", resourceVersion: "2" } })),
      expect("patch", resources.plans, echoStatus(plan)),
    );
    await reconciler.reconcile(`${NS}/up`);
    kube.done();
    assert.equal(condition(plans.get(`${NS}/up`)?.status, "Refused")?.status, "False");
    assert.ok(kube.events.some((e) => e["reason"] === "RefusedCleared"));
  });

  it("a refusal on one node does not slow the others: the Plan is still looked at soon", async () => {
    const plan = aPlan({ concurrency: 2 }) as PlanObject;
    const created = (c: Call) => ({ ...(c.body as Pod), metadata: { ...(c.body as Pod).metadata, uid: "u2", resourceVersion: "2" } });
    const kube = new ScriptedKube([
      expect("create", resources.pods, apiError(403, "Forbidden", "create", "/api/v1/namespaces/sys/pods"), (c) => assert.match(c.name ?? "", /-on-w1-/)),
      expect("create", resources.pods, created, (c) => assert.match(c.name ?? "", /-on-w2-/)),
      expect("patch", resources.plans, echoStatus(plan)),
    ]);
    const { reconciler, plans } = world(kube, plan, [aNode("w1"), aNode("w2")]);
    const outcome = await reconciler.reconcile(`${NS}/up`);
    kube.done();
    assert.ok((outcome.requeueAfterMs ?? Infinity) < ControllerDefaults.refusedRequeueMs, String(outcome.requeueAfterMs));
    assert.equal(condition(plans.get(`${NS}/up`)?.status, "Refused")?.status, "True");
  });

  it("a retryable error (500) fails the reconcile so the queue backs off, after the status is written", async () => {
    const plan = aPlan() as PlanObject;
    let written = false;
    const kube = new ScriptedKube([
      expect("create", resources.pods, apiError(500, "InternalError")),
      expect("patch", resources.plans, (c: Call) => ((written = true), echoStatus(plan)(c))),
    ]);
    const { reconciler } = world(kube, plan, [aNode("w1")]);
    await assert.rejects(reconciler.reconcile(`${NS}/up`), (e: unknown) => (e as KubeError).status === 500);
    assert.ok(written, "status written before the error");
    kube.done();
  });

  it("a status changed only in its progress waits writeBatchMs after the last write; a pass then writes it", async () => {
    const plan = aPlan({ concurrency: 1 }) as PlanObject;
    const created = (c: Call) => ({ ...(c.body as Pod), metadata: { ...(c.body as Pod).metadata, uid: "u1", resourceVersion: "2" } });
    const kube = new ScriptedKube([expect("create", resources.pods, created), expect("patch", resources.plans, echoStatus(plan))]);
    let now = Date.parse("2026-06-01T00:00:00Z");
    const { reconciler, plans, nodes } = world(kube, plan, [aNode("w1"), aNode("w2")], () => now);
    await reconciler.reconcile(`${NS}/up`);
    kube.done();
    assert.equal(plans.get(`${NS}/up`)?.status?.progress, "0/2");
    // A node joins: only the counts change. Within the batch nothing is written, and the pass says when to look again.
    nodes.upsert(aNode("w3"));
    now += 200;
    const waiting = await reconciler.reconcile(`${NS}/up`);
    kube.done();
    assert.ok((waiting.requeueAfterMs ?? Infinity) <= ControllerDefaults.writeBatchMs - 200, String(waiting.requeueAfterMs));
    assert.equal(plans.get(`${NS}/up`)?.status?.progress, "0/2");
    now += ControllerDefaults.writeBatchMs;
    kube.then(expect("patch", resources.plans, echoStatus(plan)));
    await reconciler.reconcile(`${NS}/up`);
    kube.done();
    assert.equal(plans.get(`${NS}/up`)?.status?.progress, "0/3");
  });

  it("a new Plan gets its finalizer before any node is touched; a conflict on it backs off with nothing written", async () => {
    const plan = aPlan({ cordon: true }) as PlanObject;
    plan.metadata.finalizers = [];
    plan.metadata.resourceVersion = "7";
    const kube = new ScriptedKube([expect("patch", resources.plans, apiError(409, "Conflict", "patch"))]);
    const { reconciler } = world(kube, plan, [aNode("w1")]);
    await assert.rejects(reconciler.reconcile(`${NS}/up`), (e: unknown) => (e as KubeError).status === 409);
    kube.done();
    const held = { ...plan, metadata: { ...plan.metadata, resourceVersion: "8", finalizers: [FINALIZER_RELEASE_NODES] } };
    kube.then(
      expect("patch", resources.plans, held, (c) =>
        assert.deepEqual(c.body, { metadata: { resourceVersion: "7", finalizers: [FINALIZER_RELEASE_NODES] } }, "guarded by the resourceVersion"),
      ),
      expect("patch", resources.nodes, (c: Call) => ({ ...aNode("w1"), ...(c.body as object) })),
      expect("patch", resources.plans, echoStatus(held), (c) => assert.equal((c.opts as { subresource?: string }).subresource, "status")),
    );
    await reconciler.reconcile(`${NS}/up`);
    kube.done();
    assert.deepEqual(
      kube.calls.map((c) => `${c.verb} ${c.resource}`),
      ["patch plans", "patch plans", "patch nodes", "patch plans"],
      "the finalizer first, then the cordon, then the status",
    );
  });

  it("a deleted Plan's nodes are released from a fresh read, then its finalizer goes", async () => {
    const plan = aPlan({ cordon: true }) as PlanObject;
    plan.metadata.deletionTimestamp = "2026-06-01T00:00:00Z";
    plan.metadata.resourceVersion = "9";
    const cordoned = aNode("w1");
    cordoned.spec = { unschedulable: true };
    cordoned.metadata.annotations = { "cordoned.plan-runner.dev/up": "h" };
    const kube = new ScriptedKube([
      expect("list", resources.nodes, { metadata: {}, items: [cordoned] }),
      expect("patch", resources.nodes, cordoned, (c) =>
        assert.deepEqual(c.body, { metadata: { annotations: { "cordoned.plan-runner.dev/up": null } }, spec: { unschedulable: null } }),
      ),
      expect("patch", resources.plans, plan, (c) => assert.deepEqual(c.body, { metadata: { resourceVersion: "9", finalizers: [] } })),
    ]);
    // The cache knows nothing of the cordon: the release reads the API server.
    const { reconciler } = world(kube, plan, [aNode("w1")]);
    await reconciler.reconcile(`${NS}/up`);
    kube.done();
  });
});
