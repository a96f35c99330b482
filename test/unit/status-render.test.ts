import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { STATUS_OPTIONS, progressBar, renderStatus, run as status } from "../../src/cli/commands/status.ts";
import { bufferIO } from "../../src/cli/io.ts";
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
  });

  it("draws a Plan that selects no node as an empty bar, and says why", () => {
    assert.equal(progressBar(0, 0), `[${".".repeat(24)}]`);
    const text = renderStatus([plan({ state: "Complete", latestVersion: "v1.2.3", latestHash: HASH, counts: { total: 0, complete: 0 } })], [aNode("w1")]);
    assert.match(text, /^workers {2}Complete {2}version v1\.2\.3 {2}\[\.{24}\] 0\/0$/m);
    assert.match(text, /^ {2}selects no node \(check spec\.nodeSelector and the nodes' labels\)$/m);
  });

  it("draws no bar for a Plan no controller has reconciled", () => {
    const text = renderStatus([plan(undefined)], [aNode("w1", { labels: { upgrade: "yes" } })]);
    assert.match(text, /^workers {2}no status yet: no controller has reconciled it \(is one running and watching this namespace\?\)$/m);
    assert.doesNotMatch(text, /\[/, "no bar at all");
    assert.doesNotMatch(text, /w1/, "no node states without a status to read them from");
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

describe("plan-runner status: the command line", () => {
  it("--help documents every option it accepts, exit 0", async () => {
    const io = bufferIO();
    assert.equal(await status(["--help"], io), 0);
    const help = io.stdout();
    for (const [name, o] of Object.entries(STATUS_OPTIONS)) {
      const short = "short" in o ? `-${o.short}, ` : "";
      assert.match(help, new RegExp(`^ {2}${short}--${name}\\b`, "m"), `--${name} is documented`);
    }
    assert.match(help, /^ {2}PLAN /m);
  });

  it("refuses an --interval that is not a duration, naming the flag (exit 2)", async () => {
    const io = bufferIO({ KUBECONFIG: "/nonexistent" });
    assert.equal(await status(["--watch", "--interval", "soon"], io), 2);
    assert.match(io.stderr(), /--interval: invalid duration "soon"/);
  });
});
