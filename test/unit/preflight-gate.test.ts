// gates.cluster, the preflight: the gate's rules as a table, then what decide() makes of it (the
// rollout deferred, the condition naming the nodes, the next look at the end of the quiet period).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type PreflightSubject, preflightGate } from "../../src/controller/rollout/gates.ts";
import type { Node } from "../../src/controller/rollout/objects.ts";
import { podReadiness } from "../../src/controller/rollout/decide-input.ts";
import { HASH, SimWorld, aNode, aPlan } from "./sim-world.ts";

const T0 = Date.parse("2026-06-01T00:00:00Z");
const H = 3600_000;
const iso = (t: number): string => new Date(t).toISOString();

/** A node whose Ready condition has `status` since `since`, with the given pressures True. */
function node(name: string, opts: { ready?: boolean; since?: number; pressure?: string[] } = {}): Node {
  const n = aNode(name);
  const since = iso(opts.since ?? T0 - 30 * 24 * H);
  const pressures = ["MemoryPressure", "DiskPressure", "PIDPressure"].map((type) => ({
    type,
    status: opts.pressure?.includes(type) === true ? "True" : "False",
    lastTransitionTime: since,
  }));
  return { ...n, status: { conditions: [{ type: "Ready", status: opts.ready === false ? "False" : "True", lastTransitionTime: since }, ...pressures] } };
}

const subject = (nodes: Node[], more: Partial<PreflightSubject> = {}): PreflightSubject => ({
  nodes,
  rolloutNodes: new Set(),
  quietMs: 24 * H,
  minReadyPodsRatio: undefined,
  pods: undefined,
  now: T0,
  ...more,
});

describe("preflight gate (gates.cluster): the rules", () => {
  const table: Array<{ name: string; s: PreflightSubject; open: boolean; reason: string; names?: RegExp; recheckAt?: number }> = [
    { name: "every node Ready, quiet for a day", s: subject([node("a"), node("b")]), open: true, reason: "ClusterHealthy" },
    { name: "a node not Ready", s: subject([node("a"), node("b", { ready: false })]), open: false, reason: "NodesNotReady", names: /not Ready: b;/ },
    {
      name: "memory and PID pressure, each node named with its pressure",
      s: subject([node("a", { pressure: ["MemoryPressure"] }), node("b"), node("c", { pressure: ["DiskPressure", "PIDPressure"] })]),
      open: false,
      reason: "NodePressure",
      names: /a \(MemoryPressure\), c \(DiskPressure, PIDPressure\)/,
    },
    {
      name: "a node whose Ready changed an hour ago defers the rollout until its 24h are over",
      s: subject([node("a"), node("b", { since: T0 - H })]),
      open: false,
      reason: "ClusterNotQuiet",
      names: /node\(s\) b changed Ready within the quiet period \(gates.cluster.quietPeriod 24h\); no node starts before 2026-06-01T23:00:00Z/,
      recheckAt: T0 + 23 * H,
    },
    {
      name: "the last of several quiet periods is the one to wait for",
      s: subject([node("a", { since: T0 - 20 * H }), node("b", { since: T0 - 2 * H })]),
      open: false,
      reason: "ClusterNotQuiet",
      names: /a, b changed/,
      recheckAt: T0 + 22 * H,
    },
    { name: "a transition exactly quietPeriod ago is quiet", s: subject([node("a", { since: T0 - 24 * H })]), open: true, reason: "ClusterHealthy" },
    { name: "quietPeriod 0s: no quiet check", s: subject([node("a", { since: T0 })], { quietMs: 0 }), open: true, reason: "ClusterHealthy" },
    {
      name: "a node this rollout upgraded is exempt from the quiet period",
      s: subject([node("a", { since: T0 - H })], { rolloutNodes: new Set(["a"]) }),
      open: true,
      reason: "ClusterHealthy",
    },
    {
      name: "... but not from being Ready",
      s: subject([node("a", { since: T0 - H, ready: false })], { rolloutNodes: new Set(["a"]) }),
      open: false,
      reason: "NodesNotReady",
    },
    {
      name: "not Ready comes before pressure and quiet",
      s: subject([node("a", { pressure: ["DiskPressure"] }), node("b", { ready: false, since: T0 })]),
      open: false,
      reason: "NodesNotReady",
    },
    {
      name: "enough Ready pods",
      s: subject([node("a")], { minReadyPodsRatio: 0.9, pods: { ready: 9, total: 10, unready: ["x/p"] } }),
      open: true,
      reason: "ClusterHealthy",
    },
    {
      name: "too few Ready pods, named",
      s: subject([node("a")], { minReadyPodsRatio: 0.9, pods: { ready: 8, total: 10, unready: ["x/p", "y/q"] } }),
      open: false,
      reason: "PodsNotReady",
      names: /8\/10 pods Ready \(0.80\), below gates.cluster.minReadyPodsRatio 0.9; not Ready: x\/p, y\/q/,
    },
    {
      name: "pods that cannot be read hold the rollout (fail safe)",
      s: subject([node("a")], { minReadyPodsRatio: 0.5, pods: { error: "403 Forbidden" } }),
      open: false,
      reason: "PodsUnknown",
      names: /403 Forbidden/,
    },
    {
      name: "no pods at all is not a failure",
      s: subject([node("a")], { minReadyPodsRatio: 1, pods: { ready: 0, total: 0, unready: [] } }),
      open: true,
      reason: "ClusterHealthy",
    },
  ];
  for (const t of table) {
    it(t.name, () => {
      const v = preflightGate.check(t.s);
      assert.equal(v.open, t.open);
      assert.equal(v.reason, t.reason);
      if (t.names !== undefined) assert.match(v.message, t.names);
      if (t.recheckAt !== undefined) assert.equal(v.recheckAt, t.recheckAt);
    });
  }

  it("counts running pods, not finished ones nor the controller's own", () => {
    const pod = (name: string, phase: string, ready: boolean, own = false) => ({
      metadata: { name, namespace: "x", ...(own ? { labels: { "upgrade.cattle.io/controller": "plan-runner" } } : {}) },
      status: { phase, conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
    });
    const r = podReadiness([pod("a", "Running", true), pod("b", "Running", false), pod("c", "Succeeded", false), pod("d", "Running", false, true)]);
    assert.deepEqual(r, { ready: 1, total: 2, unready: ["x/b"] });
  });
});

describe("decide with gates.cluster", () => {
  const cluster = { gates: { cluster: { quietPeriod: "24h" } } };

  it("a node that changed Ready an hour ago defers the rollout: Waiting names it, no pod, next look when the quiet period ends", () => {
    const w = new SimWorld(aPlan({ concurrency: 1, ...cluster }), [node("a"), node("b", { since: T0 - H })]);
    const d = w.reconcile();
    assert.equal(w.created.length, 0, "no node starts");
    assert.equal(w.condition("Waiting")?.status, "True");
    assert.equal(w.condition("Waiting")?.reason, "ClusterNotQuiet");
    assert.match(w.condition("Waiting")?.message ?? "", /node\(s\) b changed Ready/);
    assert.equal(d.status.state, "Waiting");
    assert.equal(d.requeueAfterMs, 23 * H);
    assert.ok(
      w.events.some((e) => e.reason === "Waiting" && /b changed Ready/.test(e.message)),
      "an Event announces it",
    );
    w.now = T0 + 23 * H;
    const done = w.run();
    assert.equal(done.status.state, "Complete");
    assert.equal(w.condition("Waiting")?.status, "False");
  });

  it("a node not Ready holds every start, with its name; once Ready the rollout goes on", () => {
    const w = new SimWorld(aPlan({ concurrency: 2, ...cluster }), [node("a"), node("b"), node("c", { ready: false })]);
    w.reconcile();
    assert.equal(w.created.length, 0);
    assert.equal(w.condition("Waiting")?.reason, "NodesNotReady");
    assert.match(w.condition("Waiting")?.message ?? "", /not Ready: c;/);
    w.nodes.set("c", node("c", { since: T0 - 48 * H }));
    assert.equal(w.run().status.state, "Complete");
  });

  it("is asked again before each node: a node that turns NotReady mid-rollout stops the next start", () => {
    const w = new SimWorld(aPlan({ concurrency: 1, ...cluster }), [node("a"), node("b"), node("c")]);
    w.reconcile();
    assert.deepEqual(w.started, ["a"]);
    w.nodes.set("c", node("c", { pressure: ["DiskPressure"] }));
    w.run(50);
    assert.deepEqual(w.started, ["a"], "b does not start while c is under disk pressure");
    assert.equal(w.nodes.get("a")?.metadata.labels?.["plan.upgrade.cattle.io/up"], HASH, "the node in flight finishes");
    assert.equal(w.condition("Waiting")?.reason, "NodePressure");
  });

  it("the Plan's own upgraded node restarting its kubelet does not restart the quiet period for the next", () => {
    const w = new SimWorld(aPlan({ concurrency: 1, ...cluster }), [node("a"), node("b")]);
    w.reconcile();
    const a = w.nodes.get("a")!;
    w.nodes.set("a", { ...a, status: node("a", { since: T0 }).status! });
    assert.equal(w.run().status.state, "Complete");
  });

  it("a Plan without gates.cluster ignores a fresh transition (SUC Plans unchanged)", () => {
    const w = new SimWorld(aPlan({ concurrency: 1 }), [node("a", { since: T0 - H })]);
    assert.equal(w.run().status.state, "Complete");
  });

  it("too few Ready pods hold the start and are looked at again every poll interval", () => {
    const gates = { gates: { cluster: { quietPeriod: "0s", minReadyPodsRatio: 0.9 } } };
    const w = new SimWorld(aPlan(gates), [node("a")], { input: { clusterPods: { ready: 1, total: 2, unready: ["x/p"] } } });
    const d = w.reconcile();
    assert.equal(w.created.length, 0);
    assert.equal(w.condition("Waiting")?.reason, "PodsNotReady");
    assert.equal(d.requeueAfterMs, 60_000);
  });
});
