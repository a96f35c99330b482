// Faults that used to pass in silence (issue 9, items 6 and 9), as rules: a NotReady node at its
// turn is passed over and named; a node NotReady after its upgrade says since when, and fails at
// gates.health.timeout; a selector matching nothing warns; Plans waiting for each other through
// spec.after are Blocked, naming the cycle.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Plan } from "../../src/generated/plan.ts";
import { buildDecideInput } from "../../src/controller/rollout/decide-input.ts";
import { afterCycle, awaitingReady } from "../../src/controller/rollout/gates.ts";
import { annotationCordonedBy } from "../../src/controller/rollout/keys.ts";
import type { Node } from "../../src/controller/rollout/objects.ts";
import { ControllerDefaults } from "../../src/controller/wiring/defaults.ts";
import { checkPlan } from "../../src/plan/compile.ts";
import { SimWorld, aNode, aPlan } from "./sim-world.ts";

const workers = (n: number) => Array.from({ length: n }, (_, i) => aNode(`w0${i}`));
const SINCE = "2026-05-31T23:00:00Z";
const withReady = (node: Node, status: "True" | "False" | "Unknown" | undefined, since = SINCE): Node => ({
  ...node,
  status: { conditions: status === undefined ? [] : [{ type: "Ready", status, lastTransitionTime: since }] },
});
const cordoned = (w: SimWorld, name: string) =>
  w.nodes.get(name)?.spec?.unschedulable === true || w.nodes.get(name)?.metadata.annotations?.[annotationCordonedBy("up")] !== undefined;

describe("a node NotReady when its turn comes", () => {
  it("is passed over: no cordon, no pod; the others go ahead within concurrency; the Plan names it and waits for it", () => {
    const nodes = workers(3);
    nodes[1] = withReady(nodes[1]!, "False");
    const w = new SimWorld(aPlan({ concurrency: 1, cordon: true }), nodes);
    let everCordoned = false;
    const d = w.run(60, (x) => {
      everCordoned ||= cordoned(w, "w01");
      return x.status.counts?.complete === 2;
    });
    assert.deepEqual(w.started, ["w00", "w02"]);
    assert.equal(everCordoned, false, "never cordoned while NotReady");
    assert.equal(w.maxRunning, 1);
    assert.equal(d.nodeStates.get("w01"), "pending", "it holds no slot");
    assert.deepEqual(w.plan.status?.waits, [
      {
        node: "w01",
        reason: "PassedOverNotReady",
        message: `waiting for w01 to become Ready (NotReady since ${SINCE}); not started: the nodes after it go ahead, it starts once Ready`,
      },
    ]);
    assert.equal(w.plan.status?.waiting, "w01 NotReady, passed over");
    assert.equal(w.condition("NodesNotReady")?.status, "True");
    assert.equal(w.condition("NodesNotReady")?.reason, "PassedOverNotReady");
    assert.equal(d.status.state, "Waiting", "nothing else to do");
    assert.match(d.status.message ?? "", /^waiting for w01 to become Ready \(NotReady since /);
    assert.ok(w.events.some((e) => e.reason === "NodesNotReady" && e.type === "Normal" && /w01/.test(e.message)));
    w.nodes.set("w01", withReady(w.nodes.get("w01")!, "True", "2026-06-01T00:01:00Z"));
    const done = w.run(60);
    assert.equal(done.status.state, "Complete");
    assert.equal(w.condition("NodesNotReady")?.status, "False");
    assert.ok(w.events.some((e) => e.reason === "NodesNotReadyCleared"));
  });

  it("is not named while Ready nodes ranked before it still wait for a slot", () => {
    const nodes = workers(3);
    nodes[2] = withReady(nodes[2]!, "False");
    const w = new SimWorld(aPlan({ concurrency: 1 }), nodes);
    const d = w.reconcile();
    assert.deepEqual(w.started, ["w00"]);
    assert.deepEqual(d.status.waits, []);
    assert.equal(w.condition("NodesNotReady")?.status, "False");
  });

  it("says how it is not Ready: False since when, Unknown (kubelet silent), or no condition at all", () => {
    const n = aNode("w9");
    assert.equal(awaitingReady(withReady(n, "False")), `waiting for w9 to become Ready (NotReady since ${SINCE})`);
    assert.equal(
      awaitingReady(withReady(n, "Unknown")),
      `waiting for w9 to become Ready (NotReady since ${SINCE}: Ready is Unknown, its kubelet stopped posting status)`,
    );
    assert.equal(awaitingReady(withReady(n, undefined)), "waiting for w9 to become Ready (NotReady: no Ready condition reported)");
  });

  it("names at most ten nodes in status.waits, then counts the rest", () => {
    const nodes = Array.from({ length: 14 }, (_, i) => withReady(aNode(`n${String(i).padStart(2, "0")}`), "False"));
    const w = new SimWorld(aPlan({ concurrency: 2 }), nodes);
    const d = w.reconcile();
    assert.equal(w.started.length, 0);
    const waits = d.status.waits ?? [];
    assert.equal(waits.filter((x) => x.node !== undefined).length, 10);
    assert.deepEqual(waits.at(-1), { reason: "PassedOverNotReady", message: "and 4 more node(s) NotReady, passed over until Ready" });
  });
});

describe("a node NotReady after its upgrade pod succeeded", () => {
  it("holds its slot and says so, with since when: the wait, the Plan's message, the condition", () => {
    const w = new SimWorld(aPlan({ concurrency: 1, postCompleteDelay: "5m" }), workers(2));
    w.run(10, (x) => x.nodeStates.get("w00") === "soaking");
    w.nodes.set("w00", withReady(w.nodes.get("w00")!, "False", "2026-06-01T00:00:05Z"));
    const d = w.reconcile();
    const [wait] = d.status.waits ?? [];
    assert.deepEqual(wait, {
      node: "w00",
      reason: "NodeNotReady",
      message: "waiting for w00 to become Ready (NotReady since 2026-06-01T00:00:05Z); no deadline (gates.health.timeout sets one)",
    });
    assert.equal(d.status.state, "Applying");
    assert.equal(d.status.message, wait?.message);
    assert.equal(w.condition("NodesNotReady")?.reason, "NotReadyAfterUpgrade");
    assert.equal(d.status.waiting, "w00 NotReady after its upgrade");
    assert.deepEqual(w.started, ["w00"], "the next node waits: the slot is held");
  });

  it("with gates.health.timeout, fails at it with a clear message, is released and the Plan halts (failurePolicy)", () => {
    const w = new SimWorld(aPlan({ concurrency: 1, cordon: true, gates: { health: { soak: "5m", timeout: "2m" } } }), workers(2));
    w.run(10, (x) => x.nodeStates.get("w00") === "soaking");
    w.nodes.set("w00", withReady(w.nodes.get("w00")!, "False", "2026-06-01T00:00:05Z"));
    let d = w.reconcile();
    assert.match(
      d.status.waits?.[0]?.message ?? "",
      /^waiting for w00 to become Ready \(NotReady since 2026-06-01T00:00:05Z\); it fails at \S+ \(gates\.health\.timeout\)$/,
    );
    w.now += 180_000;
    d = w.reconcile();
    assert.equal(d.nodeStates.get("w00"), "failed");
    assert.equal(d.status.state, "Halted");
    assert.match(
      w.condition("Halted")?.message ?? "",
      /^node w00 did not become Ready within 120s after its upgrade \(spec\.gates\.health\.timeout\): NotReady since 2026-06-01T00:00:05Z/,
    );
    assert.equal(cordoned(w, "w00"), false, "released");
  });
});

describe("a Plan selecting no node", () => {
  it("is Complete 0/0 with NoNodes naming the selector and one Warning Event; a matching node clears it", () => {
    const w = new SimWorld(
      aPlan({ nodeSelector: { matchLabels: { tier: "gpu" }, matchExpressions: [{ key: "zone", operator: "In", values: ["a", "b"] }] } }),
      workers(2),
    );
    w.reconcile();
    const d = w.reconcile();
    assert.equal(d.status.state, "Complete");
    assert.equal(d.status.progress, "0/0");
    const { status, reason, message } = w.condition("NoNodes") ?? {};
    assert.deepEqual(
      { status, reason, message },
      {
        status: "True",
        reason: "NoNodesSelected",
        message: "spec.nodeSelector tier=gpu, zone In (a, b) matches no node; the Plan is Complete with 0/0 until one does",
      },
    );
    assert.equal(d.status.message, w.condition("NoNodes")?.message);
    const warned = w.events.filter((e) => e.reason === "NoNodesSelected");
    assert.equal(warned.length, 1, "once, not every pass");
    assert.equal(warned[0]?.type, "Warning");
    w.nodes.set("g1", aNode("g1", { labels: { tier: "gpu", zone: "a" } }));
    w.run(20);
    assert.equal(w.condition("NoNodes")?.status, "False");
    assert.equal(w.plan.status?.progress, "1/1");
    assert.ok(w.events.some((e) => e.reason === "NoNodesCleared"));
  });

  it("says a Plan without nodeSelector selects nothing, and names nodes missing the hostname label", () => {
    const bare = aPlan();
    delete (bare.spec as { nodeSelector?: unknown }).nodeSelector;
    const w = new SimWorld(bare, workers(1));
    w.reconcile();
    assert.match(w.condition("NoNodes")?.message ?? "", /^spec\.nodeSelector is not set/);
    const unnamed = aNode("x");
    delete unnamed.metadata.labels?.["kubernetes.io/hostname"];
    const v = new SimWorld(aPlan(), [unnamed]);
    v.reconcile();
    assert.match(v.condition("NoNodes")?.message ?? "", /upgrade=yes matches no node \(1 node\(s\) have no kubernetes\.io\/hostname label/);
  });

  it("a Plan that selects nodes never tells NoNodes", () => {
    const w = new SimWorld(aPlan(), workers(1));
    w.run(10);
    assert.equal(w.condition("NoNodes")?.status, "False");
    assert.equal(w.events.filter((e) => e.reason.startsWith("NoNodes")).length, 0);
  });
});

describe("after cycles", () => {
  const graph = (edges: Readonly<Record<string, readonly string[]>>) => (p: string) => edges[p] ?? [];
  for (const [name, edges, start, want] of [
    ["two Plans", { a: ["b"], b: ["a"] }, "a", ["a", "b", "a"]],
    ["three, from the middle", { a: ["c"], b: ["a"], c: ["b"] }, "b", ["b", "a", "c", "b"]],
    ["the shortest of two", { a: ["b", "c"], b: ["c"], c: ["a"] }, "a", ["a", "c", "a"]],
    ["a chain", { a: ["b"], b: ["c"] }, "a", undefined],
    ["a cycle not through this Plan", { a: ["b"], b: ["c"], c: ["b"] }, "a", undefined],
  ] as const) {
    it(`afterCycle: ${name}`, () => assert.deepEqual(afterCycle(start, graph(edges)), want));
  }

  const config = { ...ControllerDefaults, namespace: "sys", controllerName: "test", maxDeadlineSecs: 3600 };
  const cycleOf = (plan: Plan, plans: Plan[]) => {
    const { problems, compiled } = checkPlan(plan, config);
    return buildDecideInput(
      { plan: compiled, problems, plans, nodes: [], pods: [], secrets: [] },
      { resolution: { version: "v1", source: "Version" } },
      config,
      0,
    ).afterCycle;
  };
  const complete = (p: Plan): Plan => ({ ...p, status: { conditions: [{ type: "Complete", status: "True" }] } });

  it("is read from the namespace's Plans; a Complete one lets the Plans after it go, so it is no cycle", () => {
    const a = aPlan({ after: ["b"] }, "a");
    const b = aPlan({ after: ["a"] }, "b");
    assert.deepEqual(cycleOf(a, [a, b]), ["a", "b", "a"]);
    assert.deepEqual(cycleOf(b, [a, b]), ["b", "a", "b"]);
    assert.equal(cycleOf(a, [a, complete(b)]), undefined);
    assert.equal(cycleOf(a, [a]), undefined, "a missing Plan is waited for, not a cycle");
  });

  it("an Unverified Plan is not done: the Plans after it wait, and the wait names it Unverified", () => {
    // The kubeadm VM run of 2026-12-03: k8s-control-plane ended Unverified (its postflight could not
    // read the API server's version) and k8s-workers started anyway, kubelets ahead of the API server.
    const unverified = (p: Plan): Plan => ({
      ...p,
      status: {
        conditions: [
          { type: "Complete", status: "True" },
          { type: "Verified", status: "False", reason: "APIServerBehind", message: "the API server reports v1.35.4, not v1.36.3" },
        ],
      },
    });
    const verified = (p: Plan): Plan => ({
      ...p,
      status: {
        conditions: [
          { type: "Complete", status: "True" },
          { type: "Verified", status: "True" },
        ],
      },
    });
    const cp = aPlan({}, "cp");
    const wk = aPlan({ after: ["cp"] }, "wk");
    const { problems, compiled } = checkPlan(wk, config);
    const pendingWith = (plans: Plan[]) =>
      buildDecideInput({ plan: compiled, problems, plans, nodes: [], pods: [], secrets: [] }, { resolution: { version: "v1", source: "Version" } }, config, 0)
        .afterPending;
    assert.deepEqual(
      pendingWith([unverified(cp), wk]).map((p) => p.split(" ")[0]),
      ["cp"],
    );
    assert.deepEqual(pendingWith([verified(cp), wk]), []);
    assert.deepEqual(pendingWith([complete(cp), wk]), [], "a Plan without gates.postflight has no Verified condition: Complete is done");
    assert.equal(cycleOf(aPlan({ after: ["b"] }, "a"), [aPlan({ after: ["b"] }, "a"), unverified(aPlan({ after: ["a"] }, "b"))])?.join(" "), "a b a");

    const w = new SimWorld(wk, workers(1), { input: { afterPending: pendingWith([unverified(cp), wk]) } });
    const d = w.reconcile();
    assert.equal(d.status.state, "Waiting");
    assert.equal(w.condition("Waiting")?.reason, "WaitingForPlans");
    assert.match(w.condition("Waiting")?.message ?? "", /^waiting for Plan\(s\) cp \(Unverified: .*\) to complete \(spec\.after\)/);
    assert.equal(w.created.length, 0, "no pod on a worker while the Plan before it is Unverified");
  });

  it("blocks the Plan (a person must edit one): the Blocked condition and a Warning Event name the cycle; no pod", () => {
    const w = new SimWorld(aPlan({ after: ["b"] }, "a"), workers(1), { input: { afterPending: ["b"], afterCycle: ["a", "b", "a"] } });
    const d = w.reconcile();
    assert.equal(d.status.state, "Blocked");
    assert.equal(w.condition("Blocked")?.reason, "AfterCycle");
    assert.match(w.condition("Blocked")?.message ?? "", /^after cycle: a -> b -> a: each waits for the next to complete, so none starts/);
    assert.equal(w.condition("Waiting")?.status, "False", "not a wait: it never ends by itself");
    assert.equal(w.created.length, 0);
    const e = w.events.find((x) => x.reason === "Blocked");
    assert.equal(e?.type, "Warning");
    assert.match(e?.message ?? "", /after cycle: a -> b -> a/);
  });
});
