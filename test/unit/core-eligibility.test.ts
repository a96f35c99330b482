import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Ineligibility, eligibility } from "../../src/controller/rollout/eligibility.ts";
import { type NodeBuilder, type PlanBuilder, aNode, aPlan } from "../fixtures/builders.ts";

const HASH = "a".repeat(56);

describe("eligibility: nodeSelector AND hostname label AND plan label not in (disabled, latestHash)", () => {
  const cases: Array<[string, PlanBuilder, NodeBuilder, Ineligibility | undefined]> = [
    ["an empty selector, a fresh node", aPlan("os"), aNode("w1"), undefined],
    ["no nodeSelector selects nothing (SUC)", aPlan("os").withoutNodeSelector(), aNode("w1"), "not-selected"],
    ["selector matches", aPlan("os").withNodeSelector({ matchLabels: { pool: "a" } }), aNode("w1").withLabel("pool", "a"), undefined],
    ["selector does not match", aPlan("os").withNodeSelector({ matchLabels: { pool: "a" } }), aNode("w1").withLabel("pool", "b"), "not-selected"],
    ["no kubernetes.io/hostname label", aPlan("os"), aNode("w1").withoutHostname(), "no-hostname-label"],
    ["plan label disabled", aPlan("os"), aNode("w1").withPlanLabel("os", "disabled"), "disabled"],
    ["plan label at latest hash: done", aPlan("os"), aNode("w1").withPlanLabel("os", HASH), "done"],
    ["plan label at an older hash: eligible again", aPlan("os"), aNode("w1").withPlanLabel("os", "b".repeat(56)), undefined],
    ["another plan's label does not count", aPlan("os"), aNode("w1").withPlanLabel("k8s", "disabled"), undefined],
    ["'Disabled' is not 'disabled'", aPlan("os"), aNode("w1").withPlanLabel("os", "Disabled"), undefined],
    ["the selector is checked first", aPlan("os").withoutNodeSelector(), aNode("w1").withPlanLabel("os", "disabled"), "not-selected"],
    [
      "a selector that excludes done nodes itself",
      aPlan("os").withNodeSelector({ matchExpressions: [{ key: "plan.upgrade.cattle.io/os", operator: "DoesNotExist" }] }),
      aNode("w1").withPlanLabel("os", HASH),
      "not-selected",
    ],
  ];
  for (const [name, plan, node, want] of cases) {
    test(name, () => assert.equal(eligibility(plan.build(), HASH)(node.build().labels), want));
  }
});
