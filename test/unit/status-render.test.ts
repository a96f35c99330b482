import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { progressBar, renderStatus } from "../../src/cli/commands/status.ts";
import type { PlanObject } from "../../src/controller/wiring/reconciler.ts";
import { aNode } from "./sim-world.ts";

const HASH = "abc";

function plan(status: PlanObject["status"]): PlanObject {
  return {
    apiVersion: "upgrade.cattle.io/v1",
    kind: "Plan",
    metadata: { name: "workers", namespace: "ns" },
    spec: { nodeSelector: { matchLabels: { upgrade: "yes" } }, upgrade: { image: "x" } },
    status,
  } as PlanObject;
}

describe("plan-runner status: what a terminal shows", () => {
  it("draws progress bars", () => {
    assert.equal(progressBar(0, 4), `[${".".repeat(24)}]`);
    assert.equal(progressBar(2, 4), `[${"#".repeat(12)}${".".repeat(12)}]`);
    assert.equal(progressBar(0, 0), `[${"#".repeat(24)}]`, "nothing to do is done");
  });

  it("shows each selected node's state, with the failure message, and skips unselected nodes", () => {
    const nodes = [
      aNode("w1", { labels: { "plan.upgrade.cattle.io/workers": HASH } }),
      aNode("w2", { unschedulable: true }),
      aNode("w3"),
      aNode("w4"),
      aNode("other", { labels: { upgrade: "no" } }),
    ];
    const text = renderStatus(
      [
        plan({
          state: "Halted",
          latestVersion: "v1.2.3",
          latestHash: HASH,
          message: "node w3 failed",
          counts: { total: 4, complete: 1 },
          applying: ["w2"],
          failures: [{ node: "w3", reason: "UpgradeFailed", message: "exit 1" }],
        }),
      ],
      nodes,
      Date.parse("2026-06-01T00:00:00Z"),
    );
    assert.match(text, /^workers {2}Halted {2}version v1\.2\.3 {2}\[#{6}\.{18}\] 1\/4$/m);
    assert.match(text, /^ {2}node w3 failed$/m);
    assert.match(text, /^ {2}w1 +complete$/m);
    assert.match(text, /^ {2}w2 +applying \(cordoned\)$/m);
    assert.match(text, /^ {2}w3 +failed {2}exit 1$/m);
    assert.match(text, /^ {2}w4 +pending$/m);
    assert.doesNotMatch(text, /other/);
  });

  it("says so when there is no Plan", () => {
    assert.equal(renderStatus([], []), "no Plans found\n");
  });
});
