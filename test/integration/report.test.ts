// plan-runner report against the real control plane: a Plan held by its gate shows HELD with the
// gate's reasons (read from the prepare pod's termination message), a finished one COMPLETE.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { run as report } from "../../src/cli/commands/report.ts";
import { bufferIO } from "../../src/cli/io.ts";
import { type Env, type RunningController, aPlan, applyPlan, condition, optIn, runController, startEnv, waitForPlan } from "./controller-env.ts";

let env: Env;
let ns: string;
let ctl: RunningController;
before(async () => {
  env = await startEnv(3, 1);
  ns = await env.cp.createNamespace("report");
  ctl = await runController(env, ns);
});
after(async () => {
  await ctl?.stop();
  await env?.stop();
});

describe("plan-runner report", () => {
  it("one headline per Plan: HELD with its reasons grouped, COMPLETE; exit 0", async () => {
    await optIn(env, ["worker-1"], "test.plan-runner.dev/report");
    const selector = { matchLabels: { "test.plan-runner.dev/report": "yes" } };
    const gateSays =
      "compat-gate: target v1.36.0\n[WAITING] no released kyverno supports Kubernetes 1.36 yet\n[PINNED] gpu-operator pinned (driver/OS coupling), holding";
    await applyPlan(
      env,
      aPlan(
        ns,
        "held",
        { prepare: { image: "example.com/gate" }, nodeSelector: selector },
        { "sim.plan-runner.dev/exit-code.prepare": "4", "sim.plan-runner.dev/message": gateSays },
      ),
    );
    await applyPlan(env, aPlan(ns, "done", { nodeSelector: selector }));
    await waitForPlan(env, ns, "held", "Held", (p) => p.status?.state === "Held");
    await waitForPlan(env, ns, "done", "Complete", (p) => condition(p, "Complete")?.status === "True");

    const io = bufferIO();
    assert.equal(await report(["--kubeconfig", env.cp.kubeconfigPath, "--namespace", ns], io), 0);
    const lines = io.stdout().trimEnd().split("\n");
    assert.deepEqual(lines[0], "COMPLETE  done: v1.0.0 on 1/1 nodes");
    assert.match(lines[1] ?? "", /^HELD {2}held: v1\.0\.0, 0\/1 nodes done: prepare pod \S+ exited 4/);
    assert.deepEqual(lines.slice(2), [
      "  WAITING:",
      "    - no released kyverno supports Kubernetes 1.36 yet",
      "  PINNED:",
      "    - gpu-operator pinned (driver/OS coupling), holding",
    ]);
  });

  it("an unreachable cluster: a REPORT FAILED line, still exit 0 (the CronJob's log says it)", async () => {
    const io = bufferIO();
    assert.equal(await report(["--kubeconfig", "/nonexistent/kubeconfig", "--namespace", ns], io), 0);
    assert.match(io.stdout(), /^REPORT FAILED: /);
  });
});
