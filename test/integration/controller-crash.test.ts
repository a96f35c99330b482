// The controller may be killed at any instant (docs/architecture.md, "A node's life"): a new leader must resume without
// repeating or skipping a step. Run as separate OS processes so SIGKILL is real.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { once } from "node:events";
import type { KubeObject, Lease } from "../../src/controller/rollout/objects.ts";
import { resources } from "../../src/controller/kube/ports.ts";
import { waitFor } from "../env/wait.ts";
import { type Env, killAt, aPlan, applyPlan, condition, getNode, listPods, optIn, spawnController, startEnv, waitForPlan } from "./controller-env.ts";

let env: Env;
before(async () => {
  env = await startEnv(11, 1);
});
after(async () => env?.stop());

/** A deterministic pseudo-random sequence, so a failing run can be repeated. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

describe("controller: crashes and replicas", () => {
  it("SIGKILLed at 10 random moments of a 10-node rollout, every node is upgraded exactly once", async () => {
    const ns = await env.cp.createNamespace("crash");
    const label = "test.plan-runner.dev/crash";
    const nodes = (await env.kube.list(resources.nodes, undefined)).items
      .map((n) => n.metadata.name)
      .filter((n) => n.startsWith("worker"))
      .slice(0, 10);
    assert.equal(nodes.length, 10);
    await optIn(env, nodes, label);
    await applyPlan(
      env,
      aPlan(ns, "crash", { concurrency: 2, cordon: true, nodeSelector: { matchLabels: { [label]: "yes" } } }, { "sim.plan-runner.dev/run-for": "800ms" }),
    );
    const seed = Number(process.env["PLAN_RUNNER_CRASH_SEED"] ?? Date.now() % 100_000);
    const random = rng(seed);
    let kills = 0;
    for (; kills < 10; kills++) {
      const child = spawnController(env, ns);
      // Somewhere between start-up and well into the work; the lease (3s) must expire before the next leader acts.
      await killAt(child, 500 + Math.floor(random() * 4500));
      const p = await env.kube.get(resources.plans, ns, "crash");
      if (condition(p as never, "Complete")?.status === "True") break;
    }
    const last = spawnController(env, ns);
    try {
      const done = await waitForPlan(env, ns, "crash", "Complete after the kills", (p) => condition(p, "Complete")?.status === "True", 180_000);
      assert.equal(done.status?.progress, "10/10", `seed ${seed}`);
      const applies = (await listPods(env, ns)).filter((p) => p.metadata.labels?.["plan-runner.dev/role"] === "apply");
      const perNode = new Map<string, number>();
      for (const p of applies) perNode.set(p.spec?.nodeName ?? "", (perNode.get(p.spec?.nodeName ?? "") ?? 0) + 1);
      for (const n of nodes) {
        assert.equal(perNode.get(n), 1, `node ${n}: exactly one upgrade pod (seed ${seed}, ${kills} kills)`);
        const node = await getNode(env, n);
        assert.equal(node.metadata.labels?.["plan.upgrade.cattle.io/crash"], done.status?.latestHash, `${n} labelled`);
        assert.notEqual(node.spec?.unschedulable, true, `${n} uncordoned`);
        assert.equal(node.metadata.annotations?.["cordoned.plan-runner.dev/crash"], undefined, `${n} released`);
      }
      // Each step of each node counted once on the Plan's Events: a step whose Event a kill cut off
      // is told by the next leader, and one told twice is not counted twice.
      const counts = await waitFor(
        async () => {
          const items = (
            await env.kube.list<KubeObject & { reason?: string; count?: number }>(resources.events, ns, { fieldSelector: "involvedObject.name=crash" })
          ).items;
          const by = new Map(items.map((e) => [e.reason ?? "", e.count ?? 0]));
          return by.get("NodeComplete") === 10 ? by : undefined;
        },
        { timeoutMs: 30_000, what: `NodeComplete counted for each of the 10 nodes (seed ${seed})` },
      );
      for (const reason of ["ApplyPodCreated", "Upgraded", "NodeComplete"])
        assert.equal(counts.get(reason), 10, `${reason} once per node (seed ${seed}, ${kills} kills)`);
      // A cordon is told while the node is in flight; only kills in both its passes could lose it (docs/architecture.md, "Events").
      assert.ok((counts.get("Cordoned") ?? 0) <= 10, `Cordoned never counted twice (seed ${seed})`);
    } finally {
      last.kill("SIGKILL");
      await once(last, "exit");
    }
  });

  it("with two replicas only the leader acts; on SIGTERM the other takes over", async () => {
    const ns = await env.cp.createNamespace("replicas");
    const label = "test.plan-runner.dev/replicas";
    await optIn(env, ["worker-1", "worker-2"], label);
    const a = spawnController(env, ns);
    const b = spawnController(env, ns);
    try {
      await applyPlan(env, aPlan(ns, "first", { concurrency: 1, nodeSelector: { matchLabels: { [label]: "yes" } } }));
      await waitForPlan(env, ns, "first", "Complete", (p) => condition(p, "Complete")?.status === "True", 60_000);
      const acted = [a, b].filter((c) => c.output().includes('"msg":"created pod"'));
      assert.equal(acted.length, 1, "exactly one replica created pods");
      const leader = acted[0]!;
      const standby = leader === a ? b : a;
      assert.ok(!standby.output().includes("became leader"));
      const lease = await env.kube.get<Lease>(resources.leases, ns, "plan-runner-leader");
      assert.ok(lease.spec?.holderIdentity !== undefined && lease.spec.holderIdentity !== "");
      leader.kill("SIGTERM");
      const [code] = (await once(leader, "exit")) as [number | null];
      assert.equal(code, 0, "graceful shutdown");
      await applyPlan(env, aPlan(ns, "second", { concurrency: 1, nodeSelector: { matchLabels: { [label]: "yes" } } }));
      await waitForPlan(env, ns, "second", "Complete by the new leader", (p) => condition(p, "Complete")?.status === "True", 60_000);
      await waitFor(() => standby.output().includes("became leader"), { timeoutMs: 5000, what: "the standby to report leadership" });
    } finally {
      for (const c of [a, b])
        if (c.exitCode === null && c.signalCode === null) {
          c.kill("SIGKILL");
          await once(c, "exit");
        }
    }
  });
});
