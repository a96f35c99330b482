// Drain through the Eviction API on a real control plane: the controller manager keeps PDB
// status and recreates evicted ReplicaSet pods, so a refusal here is the API server's own.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Pod } from "../../src/controller/rollout/objects.ts";
import { resources } from "../../src/controller/kube/ports.ts";
import { waitFor } from "../env/wait.ts";
import { type Env, aPlan, applyPlan, condition, getNode, kubectlApply, listPods, optIn, runController, startEnv, waitForPlan } from "./controller-env.ts";

let env: Env;
before(async () => {
  env = await startEnv(4, 1);
});
after(async () => env?.stop());

const POOL = "test.plan-runner.dev/pool";

function replicaSet(ns: string, name: string, replicas: number, extra: Record<string, unknown> = {}): unknown {
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: { name, namespace: ns },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { nodeSelector: { [POOL]: "yes" }, containers: [{ name: "c", image: "example.com/app" }], ...extra },
      },
    },
  };
}

const podsOn = async (ns: string, node: string, app?: string): Promise<Pod[]> =>
  (await listPods(env, ns)).filter(
    (p) => p.spec?.nodeName === node && p.metadata.deletionTimestamp === undefined && (app === undefined || p.metadata.labels?.["app"] === app),
  );

describe("controller: drain", () => {
  it("evicts workload pods, waits on a PDB until the timeout, then fails safe; never evicts the controller or DaemonSet pods", async () => {
    const ns = await env.cp.createNamespace("drain");
    const [target, spare] = ["worker-1", "worker-2"];
    await optIn(env, [target], POOL);
    await optIn(env, [target], "test.plan-runner.dev/drain");
    for (const obj of [
      replicaSet(ns, "web", 2, { volumes: [{ name: "scratch", emptyDir: {} }] }),
      replicaSet(ns, "db", 1),
      {
        apiVersion: "policy/v1",
        kind: "PodDisruptionBudget",
        metadata: { name: "db", namespace: ns },
        spec: { minAvailable: 1, selector: { matchLabels: { app: "db" } } },
      },
      {
        apiVersion: "apps/v1",
        kind: "DaemonSet",
        metadata: { name: "agent", namespace: ns },
        spec: {
          selector: { matchLabels: { app: "agent" } },
          template: {
            metadata: { labels: { app: "agent" } },
            spec: { nodeSelector: { [POOL]: "yes" }, containers: [{ name: "c", image: "example.com/agent" }] },
          },
        },
      },
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "controller-replica", namespace: ns, labels: { "upgrade.cattle.io/controller": "plan-runner" } },
        spec: { nodeName: target, containers: [{ name: "c", image: "example.com/plan-runner" }] },
      },
    ]) {
      const r = await kubectlApply(env, obj);
      assert.equal(r.code, 0, r.stderr);
    }
    await waitFor(
      async () =>
        (await podsOn(ns, target, "web")).length === 2 && (await podsOn(ns, target, "db")).length === 1 && (await podsOn(ns, target, "agent")).length === 1,
      { timeoutMs: 60_000, what: "workloads running on the target" },
    );
    await waitFor(async () => (await env.kube.get(resources.pdbs, ns, "db")).status !== undefined, { timeoutMs: 30_000, what: "PDB status computed" });
    await optIn(env, [spare], POOL); // evicted web pods have somewhere to go
    const webBefore = new Set((await podsOn(ns, target, "web")).map((p) => p.metadata.name));

    const ctl = await runController(env, ns);
    try {
      await applyPlan(
        env,
        aPlan(ns, "drainer", {
          drain: { timeout: "4s", deleteEmptydirData: true },
          failurePolicy: { retries: 0 },
          nodeSelector: { matchLabels: { "test.plan-runner.dev/drain": "yes" } },
        }),
      );
      const halted = await waitForPlan(env, ns, "drainer", "Halted by the drain timeout", (p) => p.status?.state === "Halted", 60_000);
      assert.match(condition(halted, "Halted")?.message ?? "", /drain/);
      const events = await env.kube.list(resources.events, "default", { fieldSelector: `involvedObject.name=${target}` });
      const timeout = events.items.find((e) => e["reason"] === "DrainTimeout");
      assert.ok(timeout !== undefined, "a DrainTimeout event on the node");
      assert.match(String(timeout["message"]), /PodDisruptionBudget \S*db/);
      // What the drain did and did not do.
      const webAfter = (await listPods(env, ns)).filter((p) => webBefore.has(p.metadata.name) && p.metadata.deletionTimestamp === undefined);
      assert.equal(webAfter.length, 0, "the web pods were evicted");
      await waitFor(async () => (await podsOn(ns, spare, "web")).length === 2, { timeoutMs: 30_000, what: "the ReplicaSet to recreate web on the spare node" });
      assert.equal((await podsOn(ns, target, "db")).length, 1, "the PDB kept db");
      assert.equal((await podsOn(ns, target, "agent")).length, 1, "DaemonSet pods are not evicted");
      assert.equal((await podsOn(ns, target)).filter((p) => p.metadata.name === "controller-replica").length, 1, "the controller's pod is never evicted");
      assert.notEqual((await getNode(env, target)).spec?.unschedulable, true, "a failed drain leaves the node uncordoned");
      assert.equal(
        (await listPods(env, ns)).filter((p) => p.metadata.labels?.["upgrade.cattle.io/plan"] === "drainer").length,
        0,
        "no upgrade pod on an undrained node",
      );

      // drain.unblockPDB: after the timeout the PDB-protected pod is deleted and the upgrade goes on.
      await applyPlan(
        env,
        aPlan(ns, "unblocker", {
          drain: { timeout: "3s", deleteEmptydirData: true, unblockPDB: true },
          nodeSelector: { matchLabels: { "test.plan-runner.dev/drain": "yes" } },
        }),
      );
      await waitForPlan(env, ns, "unblocker", "Complete", (p) => condition(p, "Complete")?.status === "True", 90_000);
      assert.notEqual((await getNode(env, target)).spec?.unschedulable, true);
    } finally {
      await ctl.stop();
    }
  });
});
