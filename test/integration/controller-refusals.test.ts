// What retrying cannot fix, against the real API server's own refusals: the Plan says which call
// was refused (or which object it names is missing) and why, an Event says it once, no node is
// left cordoned, and other Plans keep running. And what a failing pod says about a secret it was
// given goes nowhere: not in the status, the Events or the log.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { KubeAdapter } from "../../src/controller/kube/adapter.ts";
import { resources } from "../../src/controller/kube/ports.ts";
import { annotationCordonedBy, annotationDrainStarted } from "../../src/controller/rollout/keys.ts";
import type { KubeObject, Node, Secret } from "../../src/controller/rollout/objects.ts";
import { Metrics } from "../../src/controller/wiring/metrics.ts";
import { Controller, type ControllerConfig } from "../../src/controller/wiring/process.ts";
import { waitFor } from "../env/wait.ts";
import { type Env, aPlan, applyPlan, condition, getNode, listPods, optIn, startEnv, testConfig, waitForPlan, keptLogger } from "./controller-env.ts";

interface Running {
  readonly logs: string[];
  stop(): Promise<void>;
}

/** Every transition of each node's spec.unschedulable, as the API server reported it. */
class NodeWatch {
  private readonly last = new Map<string, boolean>();
  private readonly cordons = new Map<string, number>();
  private readonly abort = new AbortController();
  private readonly done: Promise<void>;

  constructor(env: Env) {
    this.done = env.kube
      .watch<Node>(
        resources.nodes,
        undefined,
        { allowWatchBookmarks: false },
        (e) => {
          if (e.type === "ERROR" || e.type === "BOOKMARK") return;
          const n = e.object.metadata.name;
          const now = e.object.spec?.unschedulable === true;
          if (now && this.last.get(n) !== true) this.cordons.set(n, (this.cordons.get(n) ?? 0) + 1);
          this.last.set(n, now);
        },
        this.abort.signal,
      )
      .catch(() => {});
  }

  seen(): number {
    return this.last.size;
  }

  /** How often the node went from schedulable to cordoned since the watch began. */
  cordoned(node: string): number {
    return this.cordons.get(node) ?? 0;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.done;
  }
}

let env: Env;
let ns: string;
let ctl: Running;
let nodes: NodeWatch;
const running: Running[] = [];

/** The controller in-process with every log line kept, so a test can say what it never logs. */
async function startController(namespace: string, overrides: Partial<ControllerConfig> = {}): Promise<Running> {
  const { log, logs } = keptLogger();
  const controller = new Controller(
    { kube: new KubeAdapter({ kubeconfig: env.cp.kubeconfigPath }), metrics: new Metrics(false), log },
    testConfig(namespace, overrides),
  );
  await controller.start();
  const r = { logs, stop: () => controller.stop() };
  running.push(r);
  return r;
}

before(async () => {
  env = await startEnv(7, 1);
  nodes = new NodeWatch(env);
  await waitFor(() => nodes.seen() === 7, { timeoutMs: 30_000, what: "the node watch to see every node" });
  ns = await env.cp.createNamespace("refusals");
  // A short look-again, so the test sees a missing object appear without waiting ten minutes.
  ctl = await startController(ns, { refusedRequeueMs: 2000 });
});
after(async () => {
  for (const r of running) await r.stop();
  await nodes?.stop();
  await env?.stop();
});

const eventsOf = async (namespace: string, name: string, reason: string): Promise<Array<KubeObject & { count?: number; message?: string }>> => {
  const list = await env.kube.list<KubeObject & { reason?: string; count?: number; message?: string }>(resources.events, namespace, {
    fieldSelector: `involvedObject.name=${name}`,
  });
  return list.items.filter((e) => e.reason === reason);
};

const released = (node: Node, plan: string): boolean =>
  node.spec?.unschedulable !== true &&
  node.metadata.annotations?.[annotationCordonedBy(plan)] === undefined &&
  node.metadata.annotations?.[annotationDrainStarted(plan)] === undefined;

describe("controller: refusals reach the Plan", () => {
  it("a missing PriorityClass: Refused names the field and the object, one Event, no pod; another Plan completes meanwhile", async () => {
    await optIn(env, ["worker-1"], "test.plan-runner.dev/refused");
    await optIn(env, ["worker-2"], "test.plan-runner.dev/fine");
    await applyPlan(
      env,
      aPlan(ns, "refused", { priorityClassName: "does-not-exist", nodeSelector: { matchLabels: { "test.plan-runner.dev/refused": "yes" } } }),
    );
    await applyPlan(env, aPlan(ns, "fine", { nodeSelector: { matchLabels: { "test.plan-runner.dev/fine": "yes" } } }));
    const refused = await waitForPlan(env, ns, "refused", "Refused", (p) => condition(p, "Refused")?.status === "True");
    const message = condition(refused, "Refused")?.message ?? "";
    assert.match(message, /spec\.priorityClassName: PriorityClass does-not-exist not found/);
    await waitForPlan(env, ns, "fine", "Complete", (p) => condition(p, "Complete")?.status === "True");
    const events = await waitFor(
      async () => {
        const hits = await eventsOf(ns, "refused", "ApiRefused");
        return hits.length > 0 ? hits : false;
      },
      { timeoutMs: 30_000, what: "an ApiRefused Event on the Plan" },
    );
    assert.equal(events.length, 1, "one Event, not one per retry");
    assert.equal(events[0]?.count ?? 1, 1, "told once");
    assert.deepEqual(
      (await listPods(env, ns)).filter((p) => p.metadata.labels?.["upgrade.cattle.io/plan"] === "refused").map((p) => p.metadata.name),
      [],
      "no pod was tried",
    );
  });

  it("cordon and a missing ServiceAccount: Refused names it, no node is cordoned; once it exists the Plan completes", async () => {
    const label = "test.plan-runner.dev/nosa";
    await optIn(env, ["worker-3"], label);
    await optIn(env, ["worker-4"], `${label}-meanwhile`);
    await applyPlan(env, aPlan(ns, "nosa", { cordon: true, serviceAccountName: "upgrader", nodeSelector: { matchLabels: { [label]: "yes" } } }));
    await applyPlan(env, aPlan(ns, "meanwhile", { cordon: true, nodeSelector: { matchLabels: { [`${label}-meanwhile`]: "yes" } } }));
    const refused = await waitForPlan(env, ns, "nosa", "Refused", (p) => condition(p, "Refused")?.status === "True");
    assert.match(condition(refused, "Refused")?.message ?? "", new RegExp(`spec\\.serviceAccountName: ServiceAccount ${ns}/upgrader not found`));
    await waitForPlan(env, ns, "meanwhile", "Complete", (p) => condition(p, "Complete")?.status === "True");
    assert.equal((await eventsOf(ns, "nosa", "ApiRefused")).length, 1, "one Event");
    assert.equal(nodes.cordoned("worker-3"), 0, "the node was never cordoned while the ServiceAccount was missing");
    assert.equal((await getNode(env, "worker-3")).spec?.unschedulable === true, false);

    const r = await env.cp.kubectl(["create", "serviceaccount", "upgrader", "-n", ns]);
    assert.equal(r.code, 0, r.stderr);
    const done = await waitForPlan(env, ns, "nosa", "Complete once the ServiceAccount exists", (p) => condition(p, "Complete")?.status === "True");
    assert.equal(condition(done, "Refused")?.status, "False");
    assert.equal(nodes.cordoned("worker-3"), 1, "cordoned once, for its upgrade");
    assert.ok(released(await getNode(env, "worker-3"), "nosa"), "uncordoned when done");
  });

  it("a pod create refused after the cordon (Pod Security): the node is released, one Event, not cordoned again", async () => {
    const psa = await env.cp.createNamespace("refusals-psa");
    const r = await env.cp.kubectl(["label", "namespace", psa, "pod-security.kubernetes.io/enforce=baseline"]);
    assert.equal(r.code, 0, r.stderr);
    await startController(psa);
    const label = "test.plan-runner.dev/psa";
    await optIn(env, ["worker-5"], label);
    await applyPlan(env, aPlan(psa, "psa", { cordon: true, nodeSelector: { matchLabels: { [label]: "yes" } } }));
    const refused = await waitForPlan(env, psa, "psa", "Refused", (p) => condition(p, "Refused")?.status === "True");
    assert.match(condition(refused, "Refused")?.message ?? "", /create pods apply-psa-on-worker-5-with-\S+ \(node worker-5\): .*PodSecurity/);
    const node = await waitFor(
      async () => {
        const n = await getNode(env, "worker-5");
        return released(n, "psa") ? n : false;
      },
      { timeoutMs: 30_000, what: "worker-5 released after the refusal" },
    );
    assert.equal(node.spec?.unschedulable === true, false);
    assert.equal(nodes.cordoned("worker-5"), 1, "cordoned once, before the refusal; not again within the backoff");
    assert.equal((await eventsOf(psa, "psa", "ApiRefused")).length, 1, "one Event");
    const plan = await waitForPlan(env, psa, "psa", "no node applying", (p) => (p.status?.applying ?? []).length === 0);
    assert.equal(condition(plan, "Refused")?.status, "True");
  });

  it("a failing pod that prints a mounted secret's value (and another's base64): neither is in the status, the Events or the log", async () => {
    const value = `tok-${Math.random().toString(36).slice(2, 12)}`;
    const other = `pw-${Math.random().toString(36).slice(2, 12)}`;
    const b64 = (s: string): string => Buffer.from(s).toString("base64");
    const secret: Secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "creds", namespace: ns }, data: { token: b64(value), password: b64(other) } };
    await env.kube.create(resources.secrets, ns, secret);
    const label = "test.plan-runner.dev/leaky";
    await optIn(env, ["worker-6"], label);
    await applyPlan(
      env,
      aPlan(
        ns,
        "leaky",
        { secrets: [{ name: "creds", path: "creds" }], failurePolicy: { retries: 0 }, nodeSelector: { matchLabels: { [label]: "yes" } } },
        { "sim.plan-runner.dev/exit-code": "1", "sim.plan-runner.dev/message": `login as ${value} refused; sent Authorization: Basic ${b64(other)}` },
      ),
    );
    const halted = await waitForPlan(env, ns, "leaky", "Halted", (p) => p.status?.state === "Halted");
    const failure = halted.status?.failures?.[0]?.message ?? "";
    assert.match(failure, /login as \S+ refused; sent Authorization: Basic \S+/, "the pod's message is still told");
    const events = await waitFor(
      async () => {
        const hits = [...(await eventsOf(ns, "leaky", "NodeFailed")), ...(await eventsOf(ns, "leaky", "UpgradeFailed"))];
        const onNode = (await env.kube.list<KubeObject & { message?: string }>(resources.events, "default")).items;
        return hits.length > 0 ? [...hits, ...onNode] : false;
      },
      { timeoutMs: 30_000, what: "the failure's Events" },
    );
    const told = {
      status: JSON.stringify(halted.status),
      events: JSON.stringify(events.map((e) => e.message)),
      log: ctl.logs.join("\n"),
    };
    for (const [where, text] of Object.entries(told)) {
      for (const secretText of [value, b64(value), other, b64(other)]) assert.ok(!text.includes(secretText), `a secret value is in the ${where}`);
    }
    assert.match(told.events, /login as/, "the Events tell the failure");
  });
});
