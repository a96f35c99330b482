import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { parse } from "yaml";
import type { Node } from "../../src/controller/rollout/objects.ts";
import { toNodeView } from "../../src/controller/rollout/model.ts";
import { planConcurrency, selectNodes, waves } from "../../src/controller/rollout/select.ts";
import { aNode, aPlan, names, nodes } from "../fixtures/builders.ts";

const HASH = "c".repeat(56);
const cluster = nodes(
  aNode("cp-1").asControlPlane(),
  "w3",
  "w1",
  aNode("w2").withPlanLabel("os", "disabled"),
  aNode("w4").withPlanLabel("os", HASH),
  aNode("w5").withoutHostname(),
  aNode("w6").withLabel("pool", "gpu"),
);

describe("selectNodes: eligibility + order + admission for one Plan", () => {
  test("a first pass at concurrency 2", () => {
    const s = selectNodes({ plan: aPlan("os").withConcurrency(2).build(), nodes: cluster, latestHash: HASH, inFlight: new Set() });
    assert.deepEqual(names(s.ordered), ["cp-1", "w1", "w3", "w6"]);
    assert.deepEqual(names(s.start), ["cp-1", "w1"]);
    assert.deepEqual(names(s.waiting), ["w3", "w6"]);
    assert.deepEqual(
      s.skipped.map((k) => `${k.node.name}:${k.reason}`),
      ["w2:disabled", "w4:done", "w5:no-hostname-label"],
    );
  });
  test("in flight keeps its slot; the rest wait", () => {
    const s = selectNodes({ plan: aPlan("os").withConcurrency(2).build(), nodes: cluster, latestHash: HASH, inFlight: new Set(["w3"]) });
    assert.deepEqual(names(s.inFlight), ["w3"]);
    assert.deepEqual(names(s.start), ["cp-1"]);
  });
  test("exclusive Plans pass over nodes busy with another exclusive Plan", () => {
    const busy = new Set(["cp-1"]);
    const s = selectNodes({ plan: aPlan("os").exclusive().build(), nodes: cluster, latestHash: HASH, inFlight: new Set(), exclusiveBusy: busy });
    assert.deepEqual(names(s.blocked), ["cp-1"]);
    assert.deepEqual(names(s.start), ["w1"]);
  });
  test("non-exclusive Plans ignore exclusive work", () => {
    const s = selectNodes({ plan: aPlan("os").build(), nodes: cluster, latestHash: HASH, inFlight: new Set(), exclusiveBusy: new Set(["cp-1"]) });
    assert.deepEqual(names(s.start), ["cp-1"]);
  });
  test("without a nodeSelector nothing is selected", () => {
    const s = selectNodes({ plan: aPlan("os").withoutNodeSelector().build(), nodes: cluster, latestHash: HASH, inFlight: new Set() });
    assert.equal(s.ordered.length, 0);
    assert.equal(s.skipped.length, cluster.length);
  });
  test("a node joining is ranked on the next pass; a node leaving is dropped", () => {
    const plan = aPlan("os").build();
    const before = selectNodes({ plan, nodes: nodes("w2", "w3"), latestHash: HASH, inFlight: new Set() });
    const after = selectNodes({ plan, nodes: nodes("w1", "w3"), latestHash: HASH, inFlight: new Set() });
    assert.deepEqual(
      [names(before.ordered), names(after.ordered)],
      [
        ["w2", "w3"],
        ["w1", "w3"],
      ],
    );
  });
  test("concurrency: missing is 1, given is kept", () => {
    assert.equal(planConcurrency(aPlan().withConcurrency(undefined).build()), 1);
    assert.equal(planConcurrency(aPlan().withConcurrency(4).build()), 4);
  });
});

describe("waves", () => {
  const cases: Array<[number, number, number[]]> = [
    [5, 1, [1, 1, 1, 1, 1]],
    [5, 2, [2, 2, 1]],
    [4, 2, [2, 2]],
    [3, 10, [3]],
    [0, 2, []],
    [3, 0, []],
  ];
  for (const [n, c, sizes] of cases) {
    test(`${n} nodes at concurrency ${c}`, () =>
      assert.deepEqual(
        waves(
          Array.from({ length: n }, (_, i) => i),
          c,
        ).map((w) => w.length),
        sizes,
      ));
  }
});

describe("the shipped node lists", () => {
  const load = (f: string) => (parse(readFileSync(new URL(`../fixtures/nodes/${f}`, import.meta.url), "utf8")) as { items: Node[] }).items.map(toNodeView);
  test("cluster-5: cp-1 first; worker-3 opted out of k8s-workers", () => {
    const s = selectNodes({ plan: aPlan("k8s-workers").withConcurrency(2).build(), nodes: load("cluster-5.yaml"), latestHash: HASH, inFlight: new Set() });
    assert.deepEqual(names(s.ordered), ["cp-1", "worker-1", "worker-2", "worker-4"]);
    assert.deepEqual(
      s.skipped.map((k) => k.node.name),
      ["worker-3"],
    );
    assert.equal(s.ordered.find((n) => n.name === "worker-2")?.ready, false);
  });
  test("cluster-123: three control planes first, including the legacy-labelled one", () => {
    const all = load("cluster-123.yaml");
    const s = selectNodes({ plan: aPlan("k8s-workers").build(), nodes: all, latestHash: HASH, inFlight: new Set() });
    assert.equal(all.length, 123);
    assert.deepEqual(names(s.ordered.slice(0, 3)), ["cp-1.prod.example.net", "cp-2.prod.example.net", "cp-3.prod.example.net"]);
    assert.equal(s.skipped.length, 7);
  });
});
