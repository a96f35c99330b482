// decide() for Plans sharing nodes and for nodes leaving a Plan mid-upgrade (issue 9, item 3):
// several Plans over one in-memory world, each reconciled in turn as the controller would.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Plan } from "../../src/generated/plan.ts";
import { type Decision, decide } from "../../src/controller/rollout/decide.ts";
import { type InputConfig, buildDecideInput } from "../../src/controller/rollout/decide-input.ts";
import type { Node, Pod } from "../../src/controller/rollout/objects.ts";
import { ControllerDefaults } from "../../src/controller/wiring/defaults.ts";
import { checkPlan } from "../../src/plan/compile.ts";
import { aNode, aPlan, mergePatch } from "./sim-world.ts";

const config: InputConfig = {
  ...ControllerDefaults,
  namespace: "sys",
  controllerName: "test",
  maxDeadlineSecs: 3600,
  pollIntervalMs: 60_000,
  podTtlMs: 3_600_000,
  defaultRetries: 0,
  defaultBackoffMs: 1000,
};

/** Many Plans, one world. Pods run `runFor` ticks (per Plan) unless `hang` holds them. */
class World {
  readonly nodes = new Map<string, Node>();
  readonly pods = new Map<string, Pod>();
  readonly plans = new Map<string, Plan>();
  readonly last = new Map<string, Decision>();
  /** Problems the world showed at some point, as sentences. */
  readonly violations: string[] = [];
  readonly hang = new Set<string>();
  private readonly age = new Map<string, number>();
  now = Date.parse("2026-06-01T00:00:00Z");

  constructor(
    plans: readonly Plan[],
    nodes: readonly Node[],
    private readonly runFor: Readonly<Record<string, number>> = {},
  ) {
    for (const p of plans) this.plans.set(p.metadata.name, p);
    for (const n of nodes) this.nodes.set(n.metadata.name, n);
  }

  reconcile(name: string): Decision {
    const plan = this.plans.get(name)!;
    const { problems, compiled } = checkPlan(plan, config);
    const snapshot = { plan: compiled, problems, plans: [...this.plans.values()], nodes: [...this.nodes.values()], pods: [...this.pods.values()], secrets: [] };
    const d = decide(buildDecideInput(snapshot, { resolution: { version: plan.spec.version ?? "v0", source: "Version" } }, config, this.now));
    for (const a of d.actions) {
      if (a.kind === "patchNode") this.nodes.set(a.node, mergePatch(this.nodes.get(a.node)!, a.patch));
      else if (a.kind === "createPod" || a.kind === "drain") {
        const pod = a.kind === "drain" ? a.then : a.pod;
        if (!this.pods.has(pod.metadata.name)) this.pods.set(pod.metadata.name, { ...pod, status: { phase: "Pending" } });
      }
    }
    this.plans.set(name, { ...plan, status: d.status });
    this.last.set(name, d);
    this.check();
    return d;
  }

  /** Time passes: pending pods start, running pods end after their Plan's runFor. */
  tick(): void {
    this.now += 1000;
    for (const [name, pod] of this.pods) {
      const phase = pod.status?.phase;
      if (phase !== "Pending" && phase !== "Running") continue;
      const age = (this.age.get(name) ?? 0) + 1;
      this.age.set(name, age);
      const plan = pod.metadata.labels?.["upgrade.cattle.io/plan"] ?? "";
      const ends = !this.hang.has(name) && age > (this.runFor[plan] ?? 1);
      const finishedAt = new Date(this.now).toISOString();
      const state = { terminated: { exitCode: 0, reason: "Completed", finishedAt } };
      this.pods.set(name, { ...pod, status: ends ? { phase: "Succeeded", containerStatuses: [{ name: "upgrade", state }] } : { phase: "Running" } });
    }
    this.check();
  }

  unfinished(role = "apply"): Pod[] {
    return [...this.pods.values()].filter(
      (p) => p.metadata.labels?.["plan-runner.dev/role"] === role && ["Pending", "Running"].includes(p.status?.phase ?? ""),
    );
  }

  /** Never two apply pods on a node; never a node schedulable under one. */
  private check(): void {
    const byNode = new Map<string, string[]>();
    for (const p of this.unfinished()) byNode.set(p.spec?.nodeName ?? "", [...(byNode.get(p.spec?.nodeName ?? "") ?? []), p.metadata.name]);
    for (const [n, pods] of byNode) {
      if (pods.length > 1) this.violations.push(`${n} runs ${pods.join(", ")}`);
      if (this.nodes.get(n)?.spec?.unschedulable !== true) this.violations.push(`${n} schedulable under ${pods.join(", ")}`);
    }
  }

  /** Each Plan reconciled in turn, then a tick, until every Plan is Complete. */
  runAll(maxSteps = 200): void {
    for (let i = 0; i < maxSteps; i++) {
      for (const name of this.plans.keys()) this.reconcile(name);
      if ([...this.last.values()].every((d) => d.status.state === "Complete")) return;
      this.tick();
    }
  }

  waits(plan: string): string[] {
    return (this.last.get(plan)?.status.waits ?? []).map((w) => `${w.node ?? ""} ${w.reason}: ${w.message}`);
  }
}

const cordonedBy = (p: string): string => `cordoned.plan-runner.dev/${p}`;
const workers = (n: number): Node[] => Array.from({ length: n }, (_, i) => aNode(`w${i + 1}`));

describe("decide: Plans that cordon hold a node one at a time", () => {
  it("two draining Plans over the same nodes: one pod per node at a time, never uncordoned under the other, both Complete", () => {
    const os = aPlan({ concurrency: 1, drain: {} }, "os-packages");
    const k8s = aPlan({ concurrency: 1, drain: {} }, "k8s-workers");
    const w = new World([os, k8s], workers(2), { "os-packages": 4, "k8s-workers": 1 });
    const heldSeen: string[] = [];
    for (let i = 0; i < 100; i++) {
      for (const name of ["os-packages", "k8s-workers"]) w.reconcile(name);
      for (const name of ["os-packages", "k8s-workers"]) heldSeen.push(...w.waits(name).filter((x) => x.includes("HeldByPlan")));
      if ([...w.last.values()].every((d) => d.status.state === "Complete")) break;
      w.tick();
    }
    assert.deepEqual(w.violations, []);
    for (const name of ["os-packages", "k8s-workers"]) assert.equal(w.last.get(name)?.status.state, "Complete", name);
    for (const n of w.nodes.values()) assert.notEqual(n.spec?.unschedulable, true, `${n.metadata.name} left cordoned`);
    assert.ok(
      heldSeen.some((x) => /HeldByPlan: held by Plan (os-packages|k8s-workers):/.test(x)),
      `a waiting Plan names the one holding the node: ${heldSeen.join(" | ")}`,
    );
  });

  it("the WAITING column names the holder", () => {
    const holder = aNode("w1", { unschedulable: true });
    holder.metadata.annotations = { [cordonedBy("os-packages")]: "h" };
    const w = new World([aPlan({ concurrency: 1, cordon: true }, "k8s-workers")], [holder]);
    const d = w.reconcile("k8s-workers");
    assert.equal(d.status.waiting, "w1 held by Plan os-packages");
    assert.equal(w.unfinished().length, 0, "nothing started on a node another Plan holds");
    assert.equal(w.nodes.get("w1")?.metadata.annotations?.[cordonedBy("k8s-workers")], undefined);
  });

  it("a node past its prepare gate waits for the Plan that took it meanwhile, keeping its slot", () => {
    const w = new World([aPlan({ concurrency: 1, cordon: true, prepare: { image: "example/gate" } }, "k8s-workers")], workers(2));
    w.reconcile("k8s-workers");
    w.tick();
    w.tick();
    // Another Plan took w1 while the gate ran.
    const w1 = w.nodes.get("w1")!;
    w.nodes.set("w1", { ...w1, metadata: { ...w1.metadata, annotations: { [cordonedBy("os-packages")]: "h" } }, spec: { unschedulable: true } });
    const d = w.reconcile("k8s-workers");
    assert.deepEqual(d.status.applying, ["w1"], "w1 keeps the slot: w2 does not start");
    assert.equal(w.unfinished().length, 0);
    assert.match(w.waits("k8s-workers").join("\n"), /w1 HeldByPlan: held by Plan os-packages/);
  });

  it("a Plan that neither cordons nor drains shares the node: it does not wait, and nobody waits for it", () => {
    const w = new World([aPlan({ concurrency: 1, drain: {} }, "os-packages"), aPlan({ concurrency: 1 }, "config-push")], workers(1), {
      "os-packages": 3,
      "config-push": 3,
    });
    w.reconcile("os-packages");
    w.reconcile("config-push");
    w.tick();
    w.reconcile("os-packages");
    assert.equal(w.unfinished().length, 2, "both upgrade pods run on w1");
    assert.deepEqual(w.waits("config-push"), []);
  });

  it("state written by the old version (one Plan's cordon, another's drain mark): the node stays cordoned until the last leaves", () => {
    const n = aNode("w1", { unschedulable: true });
    n.metadata.annotations = { [cordonedBy("os-packages")]: "h", "drain.plan-runner.dev/k8s-workers": "2026-06-01T00:00:00Z" };
    const w = new World([aPlan({ concurrency: 1, cordon: true }, "os-packages")], [n]);
    w.runAll();
    assert.equal(w.last.get("os-packages")?.status.state, "Complete");
    assert.equal(w.nodes.get("w1")?.spec?.unschedulable, true, "k8s-workers still holds it");
    assert.equal(w.nodes.get("w1")?.metadata.annotations?.[cordonedBy("k8s-workers")], "shared", "the cordon passed to it");
    w.plans.set("k8s-workers", aPlan({ concurrency: 1, drain: {} }, "k8s-workers"));
    w.runAll();
    assert.equal(w.last.get("k8s-workers")?.status.state, "Complete");
    assert.notEqual(w.nodes.get("w1")?.spec?.unschedulable, true, "the last to leave uncordoned it");
  });
});

describe("decide: a node leaving the Plan keeps its slot and cordon until its pod has ended", () => {
  const leave: Array<[string, (n: Node) => Node]> = [
    ["opted out (=disabled)", (n) => ({ ...n, metadata: { ...n.metadata, labels: { ...n.metadata.labels, "plan.upgrade.cattle.io/up": "disabled" } } })],
    ["deselected", (n) => ({ ...n, metadata: { ...n.metadata, labels: { ...n.metadata.labels, upgrade: "no" } } })],
  ];
  for (const [how, change] of leave) {
    it(`${how}: concurrency 2 still runs 2, the node is uncordoned only after its pod ended`, () => {
      const w = new World([aPlan({ concurrency: 2, cordon: true })], workers(4), { up: 3 });
      w.reconcile("up");
      w.reconcile("up");
      const first = w.unfinished().map((p) => p.spec?.nodeName ?? "");
      assert.equal(first.length, 2);
      for (const p of w.unfinished()) w.hang.add(p.metadata.name);
      for (const n of first) w.nodes.set(n, change(w.nodes.get(n)!));
      for (let i = 0; i < 5; i++) {
        w.tick();
        w.reconcile("up");
      }
      assert.equal(w.unfinished().length, 2, "no slot was freed: the two pods still run, nothing else started");
      for (const n of first) assert.equal(w.nodes.get(n)?.spec?.unschedulable, true, `${n} stays cordoned under its pod`);
      assert.notEqual(w.last.get("up")?.status.state, "Complete");
      assert.match(
        w.waits("up").join("\n"),
        /PodNotEnded: node w\d .*, but pod apply-up-on-w\d.* has not ended: it keeps its slot and its cordon until the pod ends/,
      );
      assert.match(w.last.get("up")?.status.waiting ?? "", /^w\d leaves once its pod ends \(\+1 more\)$/);
      w.hang.clear();
      w.runAll();
      assert.deepEqual(w.violations, []);
      assert.equal(w.last.get("up")?.status.state, "Complete");
      for (const n of w.nodes.values()) assert.notEqual(n.spec?.unschedulable, true, `${n.metadata.name} is not left cordoned`);
    });
  }

  it("a Plan made invalid while its pod runs keeps the node cordoned until the pod ends", () => {
    const w = new World([aPlan({ concurrency: 1, cordon: true })], workers(1), { up: 3 });
    w.reconcile("up");
    w.reconcile("up");
    w.tick();
    const plan = w.plans.get("up")!;
    w.plans.set("up", { ...plan, spec: { ...plan.spec, drain: { deleteLocalData: true, deleteEmptydirData: true } } });
    assert.equal(w.reconcile("up").status.state, "Invalid");
    assert.equal(w.nodes.get("w1")?.spec?.unschedulable, true, "still cordoned: its pod runs");
    for (let i = 0; i < 5; i++) {
      w.tick();
      w.reconcile("up");
    }
    assert.notEqual(w.nodes.get("w1")?.spec?.unschedulable, true, "released once the pod ended");
    assert.deepEqual(w.violations, []);
  });
});
