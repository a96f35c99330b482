import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { markHolders, otherHolder, unfinishedPods } from "../../src/controller/rollout/node-holds.ts";
import { cordonPatch, uncordonPatch } from "../../src/controller/rollout/node-patches.ts";
import type { Node } from "../../src/controller/rollout/objects.ts";
import type { PodFacts } from "../../src/controller/rollout/pod-facts.ts";

const cordonedBy = (p: string): string => `cordoned.plan-runner.dev/${p}`;
const drainOf = (p: string): string => `drain.plan-runner.dev/${p}`;

function node(annotations: Record<string, string>, unschedulable = false, resourceVersion?: string): Node {
  return {
    metadata: { name: "w1", annotations, ...(resourceVersion !== undefined ? { resourceVersion } : {}) },
    spec: unschedulable ? { unschedulable: true } : {},
  };
}

describe("node holds: which Plans hold a node", () => {
  const cases: Array<[string, Record<string, string>, string[]]> = [
    ["no marks", {}, []],
    ["a cordon mark", { [cordonedBy("os")]: "h" }, ["os"]],
    ["a drain mark alone (the node was cordoned by someone else)", { [drainOf("k8s")]: "2026-01-01T00:00:00Z" }, ["k8s"]],
    ["both marks of one Plan count once", { [cordonedBy("os")]: "h", [drainOf("os")]: "t" }, ["os"]],
    ["two Plans, by name", { [cordonedBy("os")]: "h", [drainOf("k8s")]: "t" }, ["k8s", "os"]],
    [
      "a failed-drain count, a retry token, a done label's Plan do not hold",
      { "drain-failed.plan-runner.dev/os": "h/1", "retry.plan-runner.dev/os": "1", "plan.upgrade.cattle.io/os": "h" },
      [],
    ],
  ];
  for (const [name, annotations, want] of cases) test(name, () => assert.deepEqual(markHolders(node(annotations)), want));

  const pods = new Map([["w1", "prep"]]);
  const holders: Array<[string, Record<string, string>, boolean, ReadonlyMap<string, string> | undefined, string | undefined]> = [
    ["free", {}, true, undefined, undefined],
    ["its own mark is not another's", { [cordonedBy("os")]: "h" }, true, undefined, undefined],
    ["another Plan's mark", { [cordonedBy("os")]: "h", [drainOf("k8s")]: "t" }, true, undefined, "k8s"],
    ["another Plan's pod not ended (its prepare gate, before its mark)", {}, true, pods, "prep"],
    ["a mark names the holder before a pod does", { [cordonedBy("k8s")]: "h" }, true, pods, "k8s"],
    ["a Plan that neither cordons nor drains waits for nobody", { [cordonedBy("k8s")]: "h" }, false, pods, undefined],
  ];
  for (const [name, annotations, takes, podHolders, want] of holders) {
    test(`other holder: ${name}`, () => assert.equal(otherHolder(node(annotations), "os", takes, podHolders), want));
  }

  test("unfinished pods: Pending, Running and Unknown have not ended; Succeeded and Failed have", () => {
    const of = (phase: PodFacts["phase"]) => ({ phase }) as PodFacts;
    const all = [of("Pending"), of("Running"), of("Unknown"), of("Succeeded"), of("Failed")];
    assert.deepEqual(
      unfinishedPods(all).map((p) => p.phase),
      ["Pending", "Running", "Unknown"],
    );
  });
});

describe("node patches: a node is uncordoned only when no Plan's mark is left on it", () => {
  const cases: Array<[string, Node, Record<string, string | null>, boolean]> = [
    [
      "ours alone: uncordoned, marks gone",
      node({ [cordonedBy("os")]: "h", [drainOf("os")]: "t" }, true),
      { [cordonedBy("os")]: null, [drainOf("os")]: null },
      true,
    ],
    [
      "another Plan's cordon stays: ours goes, the node stays cordoned",
      node({ [cordonedBy("os")]: "h", [cordonedBy("k8s")]: "h2" }, true),
      { [cordonedBy("os")]: null },
      false,
    ],
    [
      "another Plan holds it with a drain mark only: the cordon passes to it",
      node({ [cordonedBy("os")]: "h", [drainOf("k8s")]: "t" }, true),
      { [cordonedBy("os")]: null, [cordonedBy("k8s")]: "shared" },
      false,
    ],
    ["a cordon left to us (shared): the last to leave uncordons", node({ [cordonedBy("os")]: "shared" }, true), { [cordonedBy("os")]: null }, true],
    ["someone else's cordon, our drain mark: the cordon stays theirs", node({ [drainOf("os")]: "t" }, true), { [drainOf("os")]: null }, false],
    [
      "someone else's cordon, two Plans' drain marks: nobody uncordons",
      node({ [drainOf("os")]: "t", [drainOf("k8s")]: "t" }, true),
      { [drainOf("os")]: null },
      false,
    ],
  ];
  for (const [name, n, annotations, uncordons] of cases) {
    test(name, () => {
      const patch = uncordonPatch(n, "os");
      assert.deepEqual(patch.metadata.annotations, annotations);
      assert.equal(patch.spec?.unschedulable === null, uncordons);
    });
  }

  test("the cordon that takes a node is a compare-and-swap on what was read (two Plans cannot both take it)", () => {
    assert.equal(cordonPatch(node({}, false, "41"), "os", "h", undefined)?.metadata.resourceVersion, "41");
    assert.equal(cordonPatch(node({}, true, "42"), "os", "h", "2026-01-01T00:00:00Z")?.metadata.resourceVersion, "42");
    assert.equal(cordonPatch(node({}, true, "43"), "os", "h", undefined), undefined, "someone else's cordon, no drain: nothing to write");
  });
});
