import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { OrderSpec } from "../../src/generated/plan.ts";
import { isControlPlane, orderBy, orderNodes } from "../../src/controller/rollout/order.ts";
import { aNode, names, nodes } from "../fixtures/builders.ts";

describe("order: control plane first, then priority groups, then name", () => {
  const cases: Array<[string, OrderSpec | undefined, ReturnType<typeof nodes>, string[]]> = [
    ["by name by default", undefined, nodes("w3", "w1", "w2"), ["w1", "w2", "w3"]],
    ["control plane first", undefined, nodes("a-worker", aNode("z-cp").asControlPlane(), "b-worker"), ["z-cp", "a-worker", "b-worker"]],
    ["the legacy master label counts", undefined, nodes("a", aNode("m").asLegacyMaster()), ["m", "a"]],
    ["control planes by name among themselves", undefined, nodes(aNode("cp-2").asControlPlane(), aNode("cp-1").asControlPlane(), "w"), ["cp-1", "cp-2", "w"]],
    ["controlPlaneFirst false", { controlPlaneFirst: false }, nodes("a", aNode("z").asControlPlane()), ["a", "z"]],
    [
      "priority groups in order, unmatched last",
      { groups: [{ matchLabels: { zone: "b" } }, { matchLabels: { zone: "a" } }] },
      nodes(aNode("n1").withLabel("zone", "a"), aNode("n2").withLabel("zone", "c"), aNode("n3").withLabel("zone", "b"), aNode("n0").withLabel("zone", "a")),
      ["n3", "n0", "n1", "n2"],
    ],
    [
      "a node in two groups goes with the first",
      { groups: [{ matchLabels: { canary: "true" } }, { matchLabels: { zone: "a" } }] },
      nodes(aNode("a1").withLabel("zone", "a"), aNode("a2").withLabel("zone", "a").withLabel("canary", "true")),
      ["a2", "a1"],
    ],
    [
      "control plane outranks the groups",
      { groups: [{ matchLabels: { canary: "true" } }] },
      nodes(aNode("w").withLabel("canary", "true"), aNode("cp").asControlPlane()),
      ["cp", "w"],
    ],
    [
      "groups apply among control planes too",
      { groups: [{ matchLabels: { zone: "b" } }] },
      nodes(aNode("cp-a").asControlPlane().withLabel("zone", "a"), aNode("cp-b").asControlPlane().withLabel("zone", "b")),
      ["cp-b", "cp-a"],
    ],
    [
      "without controlPlaneFirst the groups decide",
      { controlPlaneFirst: false, groups: [{ matchExpressions: [{ key: "gpu", operator: "Exists" }] }] },
      nodes(aNode("cp").asControlPlane(), aNode("g").withLabel("gpu", "1"), "a"),
      ["g", "a", "cp"],
    ],
    ["code-unit order, not locale", undefined, nodes("b", "B", "a", "10", "9"), ["10", "9", "B", "a", "b"]],
    ["empty", undefined, [], []],
  ];
  for (const [name, spec, input, want] of cases) void test(name, () => assert.deepEqual(names(orderNodes(input, spec)), want));

  test("stable and total: every permutation gives one order", () => {
    const input = nodes(aNode("cp").asControlPlane(), "w2", "w1", aNode("w0").withLabel("zone", "b"), "w3");
    const spec = { groups: [{ matchLabels: { zone: "b" } }] };
    const want = names(orderNodes(input, spec));
    for (let i = 0; i < input.length; i++) {
      const rotated = [...input.slice(i), ...input.slice(0, i)];
      assert.deepEqual(names(orderNodes(rotated, spec)), want);
      assert.deepEqual(names(orderNodes(rotated.reverse(), spec)), want);
    }
    assert.deepEqual(want, ["cp", "w0", "w1", "w2", "w3"]);
  });
  test("equal names fall back to the uid", () => {
    const a = aNode("same").withUid("2").build();
    const b = aNode("same").withUid("1").build();
    assert.deepEqual(
      orderNodes([a, b], undefined).map((n) => n.uid),
      ["1", "2"],
    );
  });
  test("does not change its input", () => {
    const input = nodes("b", "a");
    orderNodes(input, undefined);
    assert.deepEqual(names(input), ["b", "a"]);
  });
  test("orderBy works on any shape", () => {
    const items = [
      { id: "x", l: {} },
      { id: "y", l: { "node-role.kubernetes.io/control-plane": "" } },
    ];
    assert.deepEqual(
      orderBy(items, undefined, (i) => ({ name: i.id, labels: i.l })).map((i) => i.id),
      ["y", "x"],
    );
  });
  test("a node marked last follows every rank, even a control plane and a priority group", () => {
    const items = [
      { id: "own", l: { "node-role.kubernetes.io/control-plane": "", canary: "true" } },
      { id: "w", l: {} },
      { id: "cp", l: { "node-role.kubernetes.io/control-plane": "" } },
    ];
    const spec = { groups: [{ matchLabels: { canary: "true" } }] };
    assert.deepEqual(
      orderBy(items, spec, (i) => ({ name: i.id, labels: i.l, last: i.id === "own" })).map((i) => i.id),
      ["cp", "w", "own"],
    );
    assert.deepEqual(
      orderBy(items, spec, (i) => ({ name: i.id, labels: i.l, last: i.id === "own" }), 2).map((i) => i.id),
      ["cp", "w"],
    );
  });
  test("isControlPlane", () => {
    assert.equal(isControlPlane({ "node-role.kubernetes.io/control-plane": "" }), true);
    assert.equal(isControlPlane({ "node-role.kubernetes.io/master": "true" }), true);
    assert.equal(isControlPlane({ "node-role.kubernetes.io/worker": "" }), false);
  });
});
