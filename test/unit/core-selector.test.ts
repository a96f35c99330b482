import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { LabelSelector } from "../../src/generated/plan.ts";
import { matchesNodeSelector, matchesSelector, nodeSelectorMiss, selectorProblems } from "../../src/plan/selector.ts";

const labels = { app: "web", tier: "front", "kubernetes.io/os": "linux", empty: "" };

describe("matchesSelector: Kubernetes semantics", () => {
  const cases: Array<[string, LabelSelector, boolean]> = [
    ["empty selector matches everything", {}, true],
    ["matchLabels equal", { matchLabels: { app: "web" } }, true],
    ["matchLabels different value", { matchLabels: { app: "db" } }, false],
    ["matchLabels missing key", { matchLabels: { zone: "a" } }, false],
    ["matchLabels empty value matches an empty label", { matchLabels: { empty: "" } }, true],
    ["In with the value", { matchExpressions: [{ key: "tier", operator: "In", values: ["back", "front"] }] }, true],
    ["In without the value", { matchExpressions: [{ key: "tier", operator: "In", values: ["back"] }] }, false],
    ["In on a missing key", { matchExpressions: [{ key: "zone", operator: "In", values: ["a"] }] }, false],
    ["NotIn with the value", { matchExpressions: [{ key: "tier", operator: "NotIn", values: ["front"] }] }, false],
    ["NotIn without the value", { matchExpressions: [{ key: "tier", operator: "NotIn", values: ["back"] }] }, true],
    ["NotIn on a missing key matches", { matchExpressions: [{ key: "zone", operator: "NotIn", values: ["a"] }] }, true],
    ["Exists present", { matchExpressions: [{ key: "empty", operator: "Exists" }] }, true],
    ["Exists absent", { matchExpressions: [{ key: "zone", operator: "Exists" }] }, false],
    ["DoesNotExist absent", { matchExpressions: [{ key: "zone", operator: "DoesNotExist" }] }, true],
    ["DoesNotExist present", { matchExpressions: [{ key: "app", operator: "DoesNotExist" }] }, false],
    ["labels and expressions are ANDed (both true)", { matchLabels: { app: "web" }, matchExpressions: [{ key: "tier", operator: "Exists" }] }, true],
    ["labels and expressions are ANDed (one false)", { matchLabels: { app: "web" }, matchExpressions: [{ key: "zone", operator: "Exists" }] }, false],
  ];
  for (const [name, sel, want] of cases) void test(name, () => assert.equal(matchesSelector(sel, labels, "matches-nothing"), want));

  test("an unknown operator (unvalidated input) matches nothing", () => {
    const sel = { matchExpressions: [{ key: "app", operator: "Equals" }] } as unknown as LabelSelector;
    assert.equal(matchesSelector(sel, labels, "matches-everything"), false);
  });
});

describe("an absent selector", () => {
  test("a Plan without nodeSelector selects no node (SUC: labels.Nothing())", () => assert.equal(matchesNodeSelector(undefined, labels), false));
  test("the caller can ask for 'no restriction' instead", () => assert.equal(matchesSelector(undefined, labels, "matches-everything"), true));
  test("an empty nodeSelector selects every node", () => assert.equal(matchesNodeSelector({}, {}), true));
});

describe("selectorProblems", () => {
  const cases: Array<[string, LabelSelector, string[]]> = [
    ["a good selector", { matchLabels: { "example.com/role": "worker" }, matchExpressions: [{ key: "a", operator: "In", values: ["x"] }] }, []],
    ["In without values", { matchExpressions: [{ key: "a", operator: "In", values: [] }] }, ["spec.nodeSelector.matchExpressions[0].values"]],
    ["NotIn with values missing", { matchExpressions: [{ key: "a", operator: "NotIn" }] }, ["spec.nodeSelector.matchExpressions[0].values"]],
    ["Exists with values", { matchExpressions: [{ key: "a", operator: "Exists", values: ["x"] }] }, ["spec.nodeSelector.matchExpressions[0].values"]],
    [
      "DoesNotExist with values",
      { matchExpressions: [{ key: "a", operator: "DoesNotExist", values: ["x"] }] },
      ["spec.nodeSelector.matchExpressions[0].values"],
    ],
    ["bad key in an expression", { matchExpressions: [{ key: "-bad", operator: "Exists" }] }, ["spec.nodeSelector.matchExpressions[0].key"]],
    [
      "bad value in an expression",
      { matchExpressions: [{ key: "a", operator: "In", values: ["ok", "not ok"] }] },
      ["spec.nodeSelector.matchExpressions[0].values[1]"],
    ],
    ["bad matchLabels key", { matchLabels: { "Example.com/x": "y" } }, ['spec.nodeSelector.matchLabels["Example.com/x"]']],
    ["matchLabels value too long", { matchLabels: { a: "v".repeat(64) } }, ["spec.nodeSelector.matchLabels.a"]],
  ];
  for (const [name, sel, paths] of cases) {
    test(name, () =>
      assert.deepEqual(
        selectorProblems(sel, "spec.nodeSelector").map((p) => p.path),
        paths,
      ),
    );
  }
  test("an unknown operator is named", () => {
    const sel = { matchExpressions: [{ key: "a", operator: "Equals" }] } as unknown as LabelSelector;
    const [p] = selectorProblems(sel, "spec.nodeSelector");
    assert.equal(p?.path, "spec.nodeSelector.matchExpressions[0].operator");
    assert.match(p?.message ?? "", /Equals/);
  });
  test("every problem is an error", () => {
    const all = selectorProblems({ matchExpressions: [{ key: "a", operator: "In" }] }, "x");
    assert.ok(all.length > 0 && all.every((p) => p.severity === "error"));
  });
  test("no selector, no problem", () => assert.deepEqual(selectorProblems(undefined, "spec.nodeSelector"), []));
});

describe("nodeSelectorMiss: why a node is not selected, naming the label", () => {
  const sel = {
    matchLabels: { tier: "workers" },
    matchExpressions: [
      { key: "plan-runner.io/kubeadm-upgrade", operator: "In" as const, values: ["enabled"] },
      { key: "node-role.kubernetes.io/control-plane", operator: "DoesNotExist" as const },
    ],
  };
  const cases: Array<[string, Record<string, string>, string | undefined]> = [
    ["matchLabels first", {}, "has no label tier, spec.nodeSelector.matchLabels needs tier=workers"],
    [
      "a wrong value",
      { tier: "workers", "plan-runner.io/kubeadm-upgrade": "no" },
      "has plan-runner.io/kubeadm-upgrade=no, spec.nodeSelector needs plan-runner.io/kubeadm-upgrade In (enabled)",
    ],
    [
      "a label that must be absent",
      { tier: "workers", "plan-runner.io/kubeadm-upgrade": "enabled", "node-role.kubernetes.io/control-plane": "" },
      "has label node-role.kubernetes.io/control-plane, spec.nodeSelector needs node-role.kubernetes.io/control-plane DoesNotExist",
    ],
    ["a match", { tier: "workers", "plan-runner.io/kubeadm-upgrade": "enabled" }, undefined],
  ];
  for (const [name, labels, want] of cases) test(name, () => assert.equal(nodeSelectorMiss(sel, labels), want));
  test("no selector", () => assert.equal(nodeSelectorMiss(undefined, {}), "the Plan has no spec.nodeSelector, which selects no node"));
});
