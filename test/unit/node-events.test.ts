// The Events decide() tells of a node's life: each step a person would want to see, named by
// what shows it happened, so a pass after a lost Event tells it again under the same key.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { EventAction } from "../../src/controller/rollout/decision.ts";
import { SimWorld, aNode, aPlan } from "./sim-world.ts";

const told = (w: SimWorld): EventAction[] => (w.last?.actions ?? []).filter((a): a is EventAction => a.kind === "event");

/** Every occurrence the world's history has told, once per key, as the event writer counts them. */
function counted(all: readonly EventAction[]): Map<string, EventAction[]> {
  const seen = new Set<string>();
  const out = new Map<string, EventAction[]>();
  for (const a of all) {
    if (a.key !== undefined && seen.has(`${a.reason}/${a.key}`)) continue;
    if (a.key !== undefined) seen.add(`${a.reason}/${a.key}`);
    out.set(a.reason, [...(out.get(a.reason) ?? []), a]);
  }
  return out;
}

describe("decide: the Events of a node's life", () => {
  it("a first attempt that fails: each step once, the failed attempt with its exit code (also on the Node), then the retry", () => {
    let attempts = 0;
    const w = new SimWorld(aPlan({ concurrency: 1, cordon: true, failurePolicy: { retries: 1, backoff: "2s" } }), [aNode("w1")], {
      outcome: (pod) => (pod.metadata.name.startsWith("apply-") && ++attempts === 1 ? { exitCode: 3 } : { exitCode: 0 }),
    });
    const history: EventAction[] = [];
    let d = w.reconcile();
    for (let i = 0; i < 50 && d.status.state !== "Complete"; i++) {
      history.push(...told(w));
      w.tick();
      d = w.reconcile();
    }
    history.push(...told(w));
    assert.equal(d.status.state, "Complete");
    const steps = counted(history.filter((a) => a.node === "w1"));
    assert.deepEqual(
      [...steps.keys()].sort(),
      ["ApplyPodCreated", "AttemptFailed", "Cordoned", "NodeComplete", "Retried", "Uncordoned", "Upgraded"],
      "each step a person wants to see",
    );
    for (const [reason, list] of steps) assert.equal(list.length, 1, `${reason} once`);
    const failed = steps.get("AttemptFailed")![0]!;
    assert.equal(failed.type, "Warning");
    assert.equal(failed.onNode, true);
    assert.match(failed.message, /node w1 failed: Error \(exit 3\) \(attempt 1\/2\); retrying in \ds/);
    assert.match(steps.get("Retried")![0]!.message, /attempt 2\/2/);
    assert.ok(
      history.filter((a) => a.node === "w1" && a.onNode === true).every((a) => a.type === "Warning"),
      "only what needs a look on the node goes on the Node",
    );
  });

  it("a cordon whose Event a kill cut off: the next pass tells it again, under the same key", () => {
    const w = new SimWorld(aPlan({ concurrency: 1, cordon: true }), [aNode("w1")], { outcome: () => "hang" });
    w.reconcile();
    const first = told(w).find((a) => a.reason === "Cordoned");
    assert.ok(first?.key !== undefined, "the cordon pass tells Cordoned");
    w.tick();
    w.reconcile(); // the node is cordoned and its pod runs: the Event is derived from the world
    const again = told(w).find((a) => a.reason === "Cordoned");
    assert.equal(again?.key, first.key, "the same occurrence, so the writer counts it once");
  });

  for (const health of [false, true]) {
    it(`an uncordon whose Event a kill cut off (${health ? "before the soak, gates.health" : "with the done label"}): later passes tell it again, under the same key`, () => {
      const spec = { concurrency: 1, cordon: true, ...(health ? { gates: { health: { soak: "5s" } } } : {}) };
      const w = new SimWorld(aPlan(spec), [aNode("w1")]);
      let first: EventAction | undefined;
      w.run(200, () => (first = told(w).find((a) => a.reason === "Uncordoned")) !== undefined);
      assert.ok(first?.key !== undefined, "the uncordoning pass tells Uncordoned");
      // The patch went through, its Event did not: every later pass (and the done node while its pod is kept) tells it.
      const again = w.run(200, (d) => {
        const u = told(w).find((a) => a.reason === "Uncordoned");
        assert.equal(u?.key, first?.key, "told again, the same occurrence");
        return d.status.state === "Complete";
      });
      assert.equal(again.status.state, "Complete");
      w.tick();
      w.reconcile();
      assert.equal(told(w).find((a) => a.reason === "Uncordoned")?.key, first.key, "told by a pass after completion too");
    });
  }

  it("a done node's steps: told again by a term's first pass (retellDone), not by the passes after it", () => {
    const w = new SimWorld(aPlan({ concurrency: 1 }), [aNode("w1"), aNode("w2")]);
    w.run(200, (d) => d.status.state === "Complete");
    const reasons = (d: ReturnType<SimWorld["decide"]>): string[] =>
      d.actions.filter((a): a is EventAction => a.kind === "event" && a.node === "w1").map((a) => a.reason);
    assert.deepEqual(reasons(w.decide()), ["ApplyPodCreated", "Upgraded", "NodeComplete"], "a new term tells what the world shows of a done node");
    const later = new SimWorld(w.plan, [...w.nodes.values()], { input: { retellDone: false } });
    for (const [k, p] of w.pods) later.pods.set(k, p);
    later.now = w.now;
    assert.deepEqual(reasons(later.decide()), [], "a later pass of the same term does not");
  });

  it("a node that was not ours to uncordon (cordoned by someone else) is not told as uncordoned", () => {
    const w = new SimWorld(aPlan({ concurrency: 1, cordon: true }), [aNode("w1", { unschedulable: true })]);
    const history: EventAction[] = [];
    w.run(200, (d) => {
      history.push(...told(w));
      return d.status.state === "Complete";
    });
    w.tick();
    w.reconcile();
    history.push(...told(w));
    assert.deepEqual(
      history.filter((a) => a.reason === "Uncordoned" || a.reason === "Cordoned"),
      [],
    );
  });

  it("a condition change told in a pass whose status was not written is told again under the same key", () => {
    const w = new SimWorld(aPlan({ concurrency: 1 }), [aNode("w1")]);
    const keys = (): string[] =>
      told(w)
        .filter((a) => a.node === undefined)
        .map((a) => `${a.reason} ${a.key ?? "(no key)"}`);
    w.decide();
    const first = keys();
    assert.ok(first.length > 0 && first.every((k) => !k.endsWith("(no key)")), first.join(", "));
    w.decide();
    assert.deepEqual(keys(), first, "the same changes, the same keys: counted once");
    const completeKey = (): string | undefined => told(w).find((a) => a.reason === "Complete")?.key;
    w.run();
    const once = completeKey();
    w.plan = { ...w.plan, spec: { ...w.plan.spec, version: "v2" } };
    w.run();
    const twice = completeKey();
    assert.ok(once !== undefined && twice !== undefined && once !== twice, `a second completion is a new occurrence: ${once} / ${twice}`);
  });

  for (const [code, reason, type, onNode] of [
    [4, "PrepareHeld", "Normal", false],
    [2, "PrepareBlocked", "Warning", true],
  ] as const) {
    it(`a prepare gate that exits ${code}: ${reason} on the Plan naming the node${onNode ? ", and on the Node" : " (quiet: not on the Node)"}, once per run of the gate`, () => {
      const w = new SimWorld(aPlan({ concurrency: 1, prepare: { image: "example/gate" } }), [aNode("w1")], {
        outcome: (pod) => (pod.metadata.name.startsWith("prepare-") ? { exitCode: code } : { exitCode: 0 }),
        config: { pollIntervalMs: 5000 },
      });
      const history: EventAction[] = [];
      w.reconcile();
      for (let i = 0; i < 12; i++) {
        history.push(...told(w));
        w.tick();
        w.reconcile();
      }
      history.push(...told(w));
      const verdicts = counted(history).get(reason) ?? [];
      const runs = w.created.filter((n) => n.startsWith("prepare-")).length;
      assert.ok(runs >= 2, "the gate ran again");
      assert.ok(verdicts.length >= runs - 1 && verdicts.length <= runs, `${verdicts.length} verdicts told for ${runs} runs`);
      assert.equal(verdicts[0]?.type, type);
      assert.equal(verdicts[0]?.onNode === true, onNode);
      assert.match(verdicts[0]?.message ?? "", /node w1/);
    });
  }

  it("a node that failed for good is told once as UpgradeFailed, on the Plan and the Node, with the pod to read", () => {
    const w = new SimWorld(aPlan({ concurrency: 1, failurePolicy: { retries: 0 } }), [aNode("w1")], { outcome: () => ({ exitCode: 1 }) });
    const history: EventAction[] = [];
    w.run(20, (d) => {
      history.push(...told(w));
      return d.status.state === "Halted";
    });
    const failed = counted(history).get("UpgradeFailed");
    assert.equal(failed?.length, 1);
    assert.equal(failed[0]?.onNode, true);
    assert.match(failed[0]?.message ?? "", /kubectl logs -n sys apply-up-on-w1-/);
  });
});
