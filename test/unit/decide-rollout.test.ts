import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { annotationCordonedBy as cordonedBy } from "../../src/controller/rollout/keys.ts";
import { HASH, SimWorld, aNode, aPlan } from "./sim-world.ts";

const workers = (n: number, prefix = "w"): ReturnType<typeof aNode>[] => Array.from({ length: n }, (_, i) => aNode(`${prefix}${String(i).padStart(2, "0")}`));
const label = (w: SimWorld, node: string): string | undefined => w.nodes.get(node)?.metadata.labels?.["plan.upgrade.cattle.io/up"];

describe("decide: a rollout", () => {
  for (const concurrency of [1, 2, 5]) {
    it(`never runs more than concurrency=${concurrency} nodes at once and upgrades all 20, each once`, () => {
      const w = new SimWorld(aPlan({ concurrency }), workers(20));
      const d = w.run(2000);
      assert.equal(d.status.state, "Complete");
      assert.ok(w.maxRunning <= concurrency, `saw ${w.maxRunning} pods running at once`);
      assert.equal(w.maxRunning, concurrency, "the slots are used");
      assert.equal(w.created.length, 20, "one pod per node");
      for (const n of w.nodes.keys()) assert.equal(label(w, n), HASH);
      assert.equal(w.condition("Complete")?.status, "True");
      assert.deepEqual(d.status.counts, { total: 20, complete: 20, applying: 0, failed: 0, pending: 0, skipped: 0 });
    });
  }

  it("starts control-plane nodes first, then workers by name", () => {
    const nodes = [aNode("zeta"), aNode("cp-b", { controlPlane: true }), aNode("alpha"), aNode("cp-a", { controlPlane: true }), aNode("mid")];
    const w = new SimWorld(aPlan({ concurrency: 1 }), nodes);
    w.run();
    assert.deepEqual(w.started, ["cp-a", "cp-b", "alpha", "mid", "zeta"]);
  });

  it("takes the node hosting the controller last, after the control plane and every group (seed incident 2026-05-11)", () => {
    const nodes = [aNode("a"), aNode("cp-1", { controlPlane: true }), aNode("b"), aNode("cp-2", { controlPlane: true })];
    const w = new SimWorld(aPlan({ concurrency: 1 }), nodes, { config: { ownNode: "cp-1" } });
    const d = w.run();
    assert.deepEqual(w.started, ["cp-2", "a", "b", "cp-1"]);
    assert.equal(d.status.state, "Complete");
  });

  it("honours priority groups in spec.order", () => {
    const nodes = [aNode("a", { labels: { zone: "z2" } }), aNode("b", { labels: { zone: "z1" } }), aNode("c")];
    const w = new SimWorld(aPlan({ concurrency: 1, order: { groups: [{ matchLabels: { zone: "z1" } }, { matchLabels: { zone: "z2" } }] } }), nodes);
    w.run();
    assert.deepEqual(w.started, ["b", "a", "c"]);
  });

  it("skips nodes labelled disabled, counting them as skipped (1/2, not 1/1), and ignores nodes the selector does not match", () => {
    const nodes = [aNode("a"), aNode("b", { labels: { "plan.upgrade.cattle.io/up": "disabled" } }), aNode("c", { labels: { upgrade: "no" } })];
    const w = new SimWorld(aPlan({ concurrency: 3 }), nodes);
    const d = w.run();
    assert.deepEqual(w.started, ["a"]);
    assert.equal(d.status.counts?.total, 2);
    assert.equal(d.status.counts?.skipped, 1);
    assert.equal(d.status.progress, "1/2");
    assert.equal(d.status.state, "Complete", "an opted-out node does not hold the Plan (as in SUC)");
    assert.equal(d.status.message, "1/2 nodes upgraded, 1 skipped (labelled plan.upgrade.cattle.io/up=disabled)");
    assert.equal(d.nodeStates.get("b"), "skipped");
    assert.equal(label(w, "b"), "disabled");
  });

  it("a Plan without nodeSelector selects nothing (SUC semantics) and says so by counting none", () => {
    const plan = aPlan();
    delete plan.spec.nodeSelector;
    const w = new SimWorld(plan, workers(3));
    const d = w.run(5);
    assert.deepEqual(w.started, []);
    assert.equal(d.status.counts?.total, 0);
  });

  it("covers a node that joins mid-rollout and does not stall when one leaves", () => {
    const w = new SimWorld(aPlan({ concurrency: 1 }), workers(3));
    w.reconcile();
    w.tick();
    w.nodes.set("late", aNode("late"));
    w.nodes.delete("w00"); // in flight, and gone: its slot must free up
    const d = w.run(200);
    assert.equal(d.status.state, "Complete");
    assert.ok(w.started.includes("late"));
    assert.equal(label(w, "late"), HASH);
  });

  it("expands postCompleteLabels", () => {
    const w = new SimWorld(aPlan({ postCompleteLabels: { "example.com/version": "$(LATEST_VERSION)", "example.com/hash": "x-$(LATEST_HASH)" } }), workers(1));
    w.run();
    const labels = w.nodes.get("w00")?.metadata.labels ?? {};
    assert.equal(labels["example.com/version"], "v1.2.3");
    assert.equal(labels["example.com/hash"], `x-${HASH}`);
  });

  it("deciding twice on the same world asks for the same things (idempotent)", () => {
    const w = new SimWorld(aPlan({ concurrency: 2, cordon: true }), workers(4));
    const a = w.decide();
    const b = w.decide();
    assert.deepEqual(a.actions, b.actions);
  });
});

describe("decide: cordon", () => {
  it("cordons a node during its upgrade and uncordons it after", () => {
    const w = new SimWorld(aPlan({ cordon: true }), workers(1));
    w.reconcile();
    assert.equal(w.nodes.get("w00")?.spec?.unschedulable, true);
    assert.equal(w.nodes.get("w00")?.metadata.annotations?.[cordonedBy("up")], HASH);
    w.run();
    assert.notEqual(w.nodes.get("w00")?.spec?.unschedulable, true);
    assert.equal(w.nodes.get("w00")?.metadata.annotations?.[cordonedBy("up")], undefined);
  });

  it("leaves a node cordoned by someone else cordoned (SUC #341)", () => {
    const w = new SimWorld(aPlan({ cordon: true }), [aNode("w00", { unschedulable: true })]);
    const d = w.run();
    assert.equal(d.status.state, "Complete");
    assert.equal(w.nodes.get("w00")?.spec?.unschedulable, true);
  });

  it("an invalid Plan cordons nothing and releases what it held", () => {
    const w = new SimWorld(aPlan({ cordon: true }), workers(1));
    w.reconcile();
    assert.equal(w.nodes.get("w00")?.spec?.unschedulable, true);
    w.plan = { ...w.plan, spec: { ...w.plan.spec, drain: { deleteLocalData: true, deleteEmptydirData: true } } };
    const d = w.reconcile();
    assert.equal(d.status.state, "Invalid");
    assert.equal(w.condition("Validated")?.status, "False");
    assert.match(w.condition("Validated")?.message ?? "", /spec\.drain/);
    assert.notEqual(w.nodes.get("w00")?.spec?.unschedulable, true);
  });
});

describe("decide: failures", () => {
  const failOn = (node: string) => (pod: { spec?: { nodeName?: string } }) => (pod.spec?.nodeName === node ? { exitCode: 1 } : { exitCode: 0 });

  it("retries a failing apply, then halts with the reason and the pod to read", () => {
    const w = new SimWorld(aPlan({ concurrency: 1, cordon: true }), workers(3), { outcome: failOn("w00") });
    const d = w.run(200, (x) => x.status.state === "Halted");
    assert.equal(d.status.state, "Halted");
    const applies = w.created.filter((n) => n.includes("w00"));
    assert.equal(applies.length, 3, "first try + 2 retries");
    assert.equal(new Set(applies).size, 3, "each attempt has its own name");
    const halted = w.condition("Halted");
    assert.equal(halted?.status, "True");
    assert.match(halted?.message ?? "", /exit 1/);
    assert.match(halted?.message ?? "", /attempt 3\/3/);
    assert.match(halted?.message ?? "", /kubectl logs -n sys apply-/);
    // Halted: nothing else starts, and the failed node is not left cordoned.
    for (let i = 0; i < 20; i++) {
      w.tick();
      w.reconcile();
    }
    assert.deepEqual(w.started, ["w00"]);
    assert.notEqual(w.nodes.get("w00")?.spec?.unschedulable, true);
    assert.equal(d.status.failures?.[0]?.node, "w00");
  });

  it("onExhausted skip records the failure and moves on", () => {
    const w = new SimWorld(aPlan({ concurrency: 1, failurePolicy: { retries: 0, onExhausted: "skip" } }), workers(3), { outcome: failOn("w01") });
    const d = w.run(200, (x) => (x.status.counts?.pending ?? 1) === 0 && (x.status.counts?.applying ?? 1) === 0);
    assert.deepEqual(w.started, ["w00", "w01", "w02"]);
    assert.equal(d.status.counts?.failed, 1);
    assert.equal(d.status.counts?.complete, 2);
    assert.notEqual(w.condition("Complete")?.status, "True");
  });

  it("editing a halted Plan (new generation) retries the failed node", () => {
    let broken = true;
    const w = new SimWorld(aPlan({ concurrency: 1, failurePolicy: { retries: 0 } }), workers(2), {
      outcome: () => (broken ? { exitCode: 1 } : { exitCode: 0 }),
    });
    w.run(50, (x) => x.status.state === "Halted");
    broken = false;
    w.plan = { ...w.plan, metadata: { ...w.plan.metadata, generation: 2 }, spec: { ...w.plan.spec, upgrade: { image: "example/upgrade", args: ["--fixed"] } } };
    const d = w.run(100);
    assert.equal(d.status.state, "Complete");
  });
});

describe("decide: the prepare gate", () => {
  const prepareExits = (code: number) => (pod: { metadata: { name: string } }) =>
    pod.metadata.name.startsWith("prepare-") ? { exitCode: code } : { exitCode: 0 };

  for (const [code, state, cond] of [
    [4, "Held", "Held"],
    [2, "Blocked", "Blocked"],
    [3, "Blocked", "Blocked"],
  ] as const) {
    it(`exit ${code} makes the Plan ${state} and no further node starts`, () => {
      const w = new SimWorld(aPlan({ concurrency: 2, prepare: { image: "example/gate" } }), workers(4), { outcome: prepareExits(code) });
      const d = w.run(30, (x) => x.status.state === state);
      assert.equal(d.status.state, state);
      assert.equal(w.condition(cond)?.status, "True");
      for (let i = 0; i < 10; i++) {
        w.tick();
        w.reconcile();
      }
      assert.equal(w.created.filter((n) => n.startsWith("apply-")).length, 0, "no upgrade ran");
      assert.ok(w.started.length <= 2, "only the first slots' gates ran");
    });
  }

  for (const [code, state] of [
    [4, "Held"],
    [2, "Blocked"],
  ] as const) {
    it(`stays ${state} while the re-run of its gate runs (exit ${code}), and the new verdict replaces the old`, () => {
      const w = new SimWorld(aPlan({ concurrency: 1, prepare: { image: "example/gate" } }), workers(1), {
        outcome: prepareExits(code),
        config: { pollIntervalMs: 5000 },
      });
      w.run(10, (x) => x.status.state === state);
      const states: string[] = [];
      for (let i = 0; i < 20; i++) {
        w.tick();
        states.push(w.reconcile().status.state ?? "");
      }
      assert.deepEqual([...new Set(states)], [state], "never Applying between two verdicts");
      const gates = [...w.pods.values()].filter((p) => p.metadata.name.startsWith("prepare-"));
      assert.ok(w.created.filter((n) => n.startsWith("prepare-")).length >= 3, "the gate ran again");
      assert.ok(gates.length <= 2, `older verdicts are removed once a newer one is in: ${gates.map((p) => p.metadata.name).join(", ")}`);
    });
  }

  it("re-runs a held gate after the poll interval and proceeds once it passes", () => {
    let gate = 4;
    const w = new SimWorld(aPlan({ concurrency: 1, prepare: { image: "example/gate" } }), workers(1), {
      outcome: (pod) => (pod.metadata.name.startsWith("prepare-") ? { exitCode: gate } : { exitCode: 0 }),
      config: { pollIntervalMs: 5000 },
    });
    w.run(10, (x) => x.status.state === "Held");
    gate = 0;
    const d = w.run(50);
    assert.equal(d.status.state, "Complete");
    assert.equal(w.condition("Held")?.status, "False");
  });
});

describe("decide: the health gate", () => {
  const health = (unready: string[]) => new Map([["w00", { unready, readySince: undefined }]]);

  it("does not finish a node while pods on it are not Ready, and fails it after the timeout naming them", () => {
    const w = new SimWorld(aPlan({ concurrency: 1, gates: { health: { timeout: "10s" } } }), workers(2), { input: { podHealth: health(["app/web-1"]) } });
    const d = w.run(40, (x) => x.status.state === "Halted");
    assert.equal(d.status.state, "Halted");
    assert.equal(label(w, "w00"), undefined, "not labelled done");
    assert.match(w.condition("Halted")?.message ?? "", /pods on node w00 not Ready: app\/web-1/);
    assert.deepEqual(w.started, ["w00"], "the next node did not start");
  });

  it("finishes the node once its pods are Ready", () => {
    const w = new SimWorld(aPlan({ concurrency: 1, gates: { health: { timeout: "10s" } } }), workers(1), { input: { podHealth: health([]) } });
    assert.equal(w.run(20).status.state, "Complete");
  });

  it("waits for the soak after the pods became Ready", () => {
    const w = new SimWorld(aPlan({ concurrency: 1, gates: { health: { soak: "30s" } } }), workers(1), {
      input: { podHealth: new Map([["w00", { unready: [], readySince: Date.parse("2026-06-01T00:00:20Z") }]]) },
    });
    w.run(60);
    // Ready since 00:00:20 plus a 30 s soak: not done before 00:00:50.
    assert.ok(w.now >= Date.parse("2026-06-01T00:00:50Z"), new Date(w.now).toISOString());
    assert.equal(label(w, "w00"), HASH);
  });
});
