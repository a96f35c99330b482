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

  it("shows what each node waits for with the time left, a disabled node as skipped, and the Plan's own wait", () => {
    const now = Date.parse("2026-06-01T00:00:00Z");
    const nodes = [aNode("w1"), aNode("w2", { unschedulable: true }), aNode("w3"), aNode("w4", { labels: { "plan.upgrade.cattle.io/workers": "disabled" } })];
    const soak = {
      node: "w1",
      reason: "Soaking",
      message: "node w1 upgraded; it and its pods must stay Ready until 2026-06-01T00:09:12Z",
      until: "2026-06-01T00:09:12Z",
    };
    const backoff = { node: "w2", reason: "Backoff", message: "attempt 1 of 3 failed; the next starts at 2026-06-01T00:10:00Z", until: "2026-06-01T00:10:00Z" };
    const text = renderStatus(
      [
        plan({
          state: "Applying",
          latestHash: HASH,
          counts: { total: 4, complete: 0, skipped: 1 },
          applying: ["w1", "w2"],
          waits: [soak, backoff],
          failures: [{ node: "w2", reason: "Retrying", message: "pod p failed: Error (exit 1) (attempt 1/3); retrying" }],
        }),
        {
          ...plan({
            state: "Waiting",
            latestHash: HASH,
            counts: { total: 1 },
            waits: [{ reason: "OutsideWindow", message: "outside the window; it opens at 2026-06-03T02:00:00Z", until: "2026-06-03T02:00:00Z" }],
          }),
          metadata: { name: "zz", namespace: "ns" },
        },
      ],
      nodes,
      now,
    );
    assert.match(text, /^ {2}w1 +soaking {2}node w1 upgraded; it and its pods must stay Ready until 2026-06-01T00:09:12Z \(9m12s left\)$/m);
    assert.match(text, /^ {2}w2 +backoff \(cordoned\) {2}attempt 1 of 3 failed; the next starts at 2026-06-01T00:10:00Z \(10m left\); pod p failed/m);
    assert.match(text, /^ {2}w3 +pending$/m);
    assert.match(text, /^ {2}w4 +skipped {2}labelled disabled for this Plan$/m);
    assert.match(text, /^ {2}waiting: outside the window; it opens at 2026-06-03T02:00:00Z \(2d2h left\)$/m, "the Plan's wait, with the time left");
    assert.match(text, /^ {2}w3 +pending {2}window opens 2026-06-03T02:00:00Z \(2d2h left\)$/m);
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
