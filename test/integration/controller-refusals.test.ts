// What retrying cannot fix, against the real API server's own refusals: the Plan says which call
// was refused and why, an Event says it once, and other Plans keep running.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { resources } from "../../src/controller/kube/ports.ts";
import type { KubeObject } from "../../src/controller/rollout/objects.ts";
import { waitFor } from "../env/wait.ts";
import { type Env, type RunningController, aPlan, applyPlan, condition, optIn, waitForPlan, startControllerEnv, stopControllerEnv } from "./controller-env.ts";

let env: Env;
let ns: string;
let ctl: RunningController;
before(async () => ({ env, ns, ctl } = await startControllerEnv(3, 1, "refusals")));
after(() => stopControllerEnv(ctl, env));

describe("controller: refusals reach the Plan", () => {
  it("a missing PriorityClass: Refused names the pod create and the API's reason, one Event; another Plan completes meanwhile", async () => {
    await optIn(env, ["worker-1"], "test.plan-runner.dev/refused");
    await optIn(env, ["worker-2"], "test.plan-runner.dev/fine");
    await applyPlan(
      env,
      aPlan(ns, "refused", { priorityClassName: "does-not-exist", nodeSelector: { matchLabels: { "test.plan-runner.dev/refused": "yes" } } }),
    );
    await applyPlan(env, aPlan(ns, "fine", { nodeSelector: { matchLabels: { "test.plan-runner.dev/fine": "yes" } } }));
    const refused = await waitForPlan(env, ns, "refused", "Refused", (p) => condition(p, "Refused")?.status === "True");
    const message = condition(refused, "Refused")?.message ?? "";
    assert.match(message, /create pods apply-refused-on-worker-1-with-/);
    assert.match(message, /does-not-exist/, "the API server's reason is quoted");
    await waitForPlan(env, ns, "fine", "Complete", (p) => condition(p, "Complete")?.status === "True");
    const events = await waitFor(
      async () => {
        const list = await env.kube.list<KubeObject & { reason?: string }>(resources.events, ns, { fieldSelector: "involvedObject.name=refused" });
        const hits = list.items.filter((e) => e.reason === "ApiRefused");
        return hits.length > 0 ? hits : false;
      },
      { timeoutMs: 30_000, what: "an ApiRefused Event on the Plan" },
    );
    assert.equal(events.length, 1, "one Event, not one per retry");
  });
});
