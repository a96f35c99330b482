// plan-runner report: one headline per Plan, the gate's reasons grouped under a HELD or BLOCKED one.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { renderReport } from "../../src/cli/commands/report.ts";
import type { Pod } from "../../src/controller/rollout/objects.ts";
import type { PlanObject } from "../../src/controller/wiring/reconciler.ts";

const plan = (name: string, state: string, extra: Record<string, unknown> = {}): PlanObject =>
  ({
    apiVersion: "upgrade.cattle.io/v1",
    kind: "Plan",
    metadata: { name, namespace: "system-upgrade" },
    spec: { concurrency: 1, upgrade: { image: "x" } },
    status: { state, latestVersion: "v1.35.2", counts: { total: 3, complete: 1 }, ...extra },
  }) as unknown as PlanObject;

const preparePod = (planName: string, exitCode: number, message: string): Pod => ({
  metadata: { name: `prepare-${planName}-${exitCode}`, labels: { "upgrade.cattle.io/plan": planName, "plan-runner.dev/role": "prepare" } },
  status: { phase: "Failed", containerStatuses: [{ name: "prepare", state: { terminated: { exitCode, message } } }] },
});

const held = { type: "Held", status: "True", reason: "PrepareHeld", message: "prepare pod p exited 4 (waiting on upstream or pinned)" };

describe("renderReport", () => {
  const rows: { name: string; plans: PlanObject[]; pods?: Pod[]; want: string[] }[] = [
    {
      name: "complete",
      plans: [plan("k8s-workers", "Complete", { counts: { total: 3, complete: 3 } })],
      want: ["COMPLETE  k8s-workers: v1.35.2 on 3/3 nodes"],
    },
    {
      name: "applying names the nodes",
      plans: [plan("k8s-workers", "Applying", { applying: ["w-2"] })],
      want: ["APPLYING  k8s-workers: v1.35.2, 1/3 nodes done, on w-2"],
    },
    {
      name: "held: the reasons grouped by tag, in the order ACTIONABLE, WAITING, PINNED, repeats across nodes once",
      plans: [plan("k8s-control-plane", "Held", { conditions: [held] })],
      pods: [
        preparePod(
          "k8s-control-plane",
          4,
          "[PINNED] addon gpu-operator pinned\n[WAITING] no released kyverno supports 1.36\n[ACTIONABLE] upgrade calico to >= 3.30",
        ),
        preparePod("k8s-control-plane", 4, "[WAITING] no released kyverno supports 1.36"),
        preparePod("other-plan", 4, "[WAITING] not this Plan's"),
        preparePod("k8s-control-plane", 0, "safe"),
      ],
      want: [
        "HELD  k8s-control-plane: v1.35.2, 1/3 nodes done: prepare pod p exited 4 (waiting on upstream or pinned)",
        "  ACTIONABLE:",
        "    - upgrade calico to >= 3.30",
        "  WAITING:",
        "    - no released kyverno supports 1.36",
        "  PINNED:",
        "    - addon gpu-operator pinned",
      ],
    },
    {
      name: "blocked with its actionable reasons",
      plans: [plan("p", "Blocked", { conditions: [{ type: "Blocked", status: "True", reason: "PrepareBlocked", message: "exited 2" }] })],
      pods: [preparePod("p", 2, "compat-gate: target v1.36.0\n[ACTIONABLE] node w-1 runs containerd 1.7.1")],
      want: ["BLOCKED  p: v1.35.2, 1/3 nodes done: exited 2", "  ACTIONABLE:", "    - node w-1 runs containerd 1.7.1"],
    },
    {
      name: "halted",
      plans: [plan("p", "Halted", { conditions: [{ type: "Halted", status: "True", reason: "NodeFailed", message: "node w-1 failed" }] })],
      want: ["HALTED  p: v1.35.2, 1/3 nodes done: node w-1 failed"],
    },
    {
      name: "any other state by its name",
      plans: [plan("p", "Error", { message: "channel http://c: unexpected HTTP 502" })],
      want: ["ERROR  p: v1.35.2: channel http://c: unexpected HTTP 502"],
    },
    {
      name: "Plans sorted by name",
      plans: [plan("b", "Complete"), plan("a", "Complete")],
      want: ["COMPLETE  a: v1.35.2 on 1/3 nodes", "COMPLETE  b: v1.35.2 on 1/3 nodes"],
    },
    { name: "no Plans", plans: [], want: ["no Plans in namespace system-upgrade"] },
  ];
  for (const r of rows)
    it(r.name, () =>
      assert.deepEqual(
        renderReport(r.plans, r.pods ?? [], "system-upgrade")
          .trimEnd()
          .split("\n"),
        r.want,
      ),
    );
});
