// `plan-runner plan FILE --kubeconfig`: the dry run against a live cluster must show exactly
// what the controller then does: the same hash, the same nodes in the same order, the same pods.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { after, before, describe, it } from "node:test";
import { stringify } from "yaml";
import { main } from "../../src/cli/main.ts";
import { bufferIO } from "../../src/cli/io.ts";
import { resources } from "../../src/controller/kube/ports.ts";
import { type Env, PodWatch, aPlan, applyPlan, condition, optIn, runController, startEnv, waitForPlan } from "./controller-env.ts";

let env: Env;
before(async () => {
  env = await startEnv(4, 1);
});
after(async () => env?.stop());

describe("plan --kubeconfig (live dry run)", () => {
  it("predicts the controller's hash, order and pod names, and writes nothing", async () => {
    const ns = await env.cp.createNamespace("live");
    await env.kube.create(resources.secrets, ns, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "creds", namespace: ns },
      stringData: { token: "s3cret" },
    } as never);
    const label = "test.plan-runner.dev/live";
    await optIn(env, ["worker-3", "control-plane-1", "worker-1"], label);
    const plan = aPlan(ns, "live", {
      concurrency: 1,
      secrets: [{ name: "creds", path: "/creds" }],
      nodeSelector: { matchLabels: { [label]: "yes" } },
      tolerations: [{ operator: "Exists" }],
    });
    const dir = mkdtempSync(`${tmpdir()}/plan-live-`);
    writeFileSync(`${dir}/plan.yaml`, stringify(plan, { version: "1.1" }));
    const io = bufferIO();
    const code = await main(["plan", `${dir}/plan.yaml`, "--kubeconfig", env.cp.kubeconfigPath, "--pods", "all"], io);
    assert.equal(code, 0, io.stderr());
    const out = io.stdout();
    const predictedHash = /# {3}hash {9}(\S+)/.exec(out)?.[1];
    assert.ok(predictedHash !== undefined && predictedHash.length === 56, out.slice(0, 400));
    assert.doesNotMatch(out, /PROVISIONAL/, "live mode read the secret");
    assert.doesNotMatch(out, /s3cret|czNjcmV0/, "no secret value printed");
    const predictedPods = [...out.matchAll(/^ {2}name: (apply-\S+)$/gm)].map((m) => m[1]);
    assert.equal(predictedPods.length, 3);
    assert.equal((await env.kube.list(resources.plans, ns)).items.length, 0, "the dry run created nothing");

    const watch = new PodWatch(env, ns);
    const ctl = await runController(env, ns);
    try {
      await applyPlan(env, plan);
      const done = await waitForPlan(env, ns, "live", "Complete", (p) => condition(p, "Complete")?.status === "True");
      assert.equal(done.status?.latestHash, predictedHash);
      assert.deepEqual(watch.nodeOrder, ["control-plane-1", "worker-1", "worker-3"]);
      assert.deepEqual([...watch.seen.keys()], predictedPods);
    } finally {
      await watch.stop();
      await ctl.stop();
    }
  });
});
