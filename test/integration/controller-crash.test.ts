// The controller may be killed at any instant (docs/architecture.md, "A node's life"): a new leader must resume without
// repeating or skipping a step. Run as separate OS processes so SIGKILL is real.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import type { KubeObject, Lease, Node } from "../../src/controller/rollout/objects.ts";
import type { PlanObject } from "../../src/controller/wiring/reconciler.ts";
import { resources } from "../../src/controller/kube/ports.ts";
import { waitFor } from "../env/wait.ts";
import { type Env, PodWatch, aPlan, applyPlan, condition, getNode, listPods, optIn, spawnController, startEnv, waitForPlan } from "./controller-env.ts";

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

/** A controller whose lease is short: a killed leader's successor waits about a second, not three. */
const quickLeader = ["--lease-duration", "1200ms", "--renew-deadline", "800ms", "--retry-period", "200ms"];
const KILLS = 50;
const NODES = 10;

type TallyEvent = KubeObject & { reason?: string; count?: number };

/** Every node: exactly one upgrade pod per rollout (per hash), labelled with the last, uncordoned, released. */
async function checkNodes(ns: string, nodes: readonly string[], done: PlanObject, rollouts: number, why: () => string): Promise<void> {
  const applies = (await listPods(env, ns)).filter((p) => p.metadata.labels?.["plan-runner.dev/role"] === "apply");
  const perNode = new Map<string, number>();
  for (const p of applies) {
    const k = `${p.spec?.nodeName ?? ""}/${p.metadata.labels?.["plan-runner.dev/hash"] ?? ""}`;
    perNode.set(k, (perNode.get(k) ?? 0) + 1);
  }
  assert.equal(perNode.size, nodes.length * rollouts, `one upgrade pod per node per rollout, no more (${why()})`);
  for (const [k, n] of perNode) assert.equal(n, 1, `${k}: exactly one upgrade pod (${why()})`);
  for (const n of nodes) {
    const node = await getNode(env, n);
    assert.equal(node.metadata.labels?.["plan.upgrade.cattle.io/crash"], done.status?.latestHash, `${n} labelled`);
    assert.notEqual(node.spec?.unschedulable, true, `${n} uncordoned`);
    assert.equal(node.metadata.annotations?.["cordoned.plan-runner.dev/crash"], undefined, `${n} released`);
  }
}

describe("controller: crashes and replicas", () => {
  it(`SIGKILLed ${KILLS} times across rollouts of ${NODES} nodes, at random and right after node patches: each node upgraded once per rollout, each step told once`, async () => {
    const ns = await env.cp.createNamespace("crash");
    const label = "test.plan-runner.dev/crash";
    const nodes = (await env.kube.list(resources.nodes, undefined)).items
      .map((n) => n.metadata.name)
      .filter((n) => n.startsWith("worker"))
      .slice(0, NODES);
    assert.equal(nodes.length, NODES);
    await optIn(env, nodes, label);
    const seed = Number(process.env["PLAN_RUNNER_CRASH_SEED"] ?? Date.now() % 100_000);
    const random = rng(seed);
    const why = (): string => `seed ${seed}, ${kills} kills, ${rollouts} rollouts`;
    let child: ReturnType<typeof spawnController> | undefined;
    let alive: Array<ReturnType<typeof spawnController>> = [];
    let kills = 0;
    let rollouts = 0;
    // Targeted kills: the moment the API server shows a cordon or a completion, the controller
    // that wrote it dies, most likely before that pass's Events (written after all its writes).
    let targeted = 0;
    const shown = new Map<string, string>();
    const abort = new AbortController();
    const watching = env.kube
      .watch<Node>(
        resources.nodes,
        undefined,
        {},
        (e) => {
          if (e.type !== "ADDED" && e.type !== "MODIFIED") return;
          const n = e.object;
          const now = `${n.spec?.unschedulable === true}/${n.metadata.labels?.["plan.upgrade.cattle.io/crash"] ?? ""}`;
          const before = shown.get(n.metadata.name);
          shown.set(n.metadata.name, now);
          if (before === undefined || before === now || child === undefined || child.exitCode !== null || child.signalCode !== null) return;
          if (random() < 0.6) {
            child.kill("SIGKILL");
            targeted++;
          }
        },
        abort.signal,
      )
      .catch(() => {});
    const pods = new PodWatch(env, ns);
    try {
      for (; kills < KILLS; rollouts++) {
        // A new version is a new hash: a new rollout over the same nodes.
        const spec = { concurrency: 2, cordon: true, version: `v1.0.${rollouts}`, nodeSelector: { matchLabels: { [label]: "yes" } } };
        await applyPlan(env, aPlan(ns, "crash", spec, { "sim.plan-runner.dev/run-for": "800ms" }));
        for (;;) {
          // Two replicas, as deployed: the standby has started and synced while the leader worked,
          // so a kill costs a lease expiry, not a start-up.
          alive = alive.filter((x) => x.exitCode === null && x.signalCode === null);
          while (alive.length < 2) alive.push(spawnController(env, ns, quickLeader));
          const c = await waitFor(() => alive.find((x) => x.output().includes("became leader")), { timeoutMs: 60_000, what: `a leader (${why()})` });
          child = c;
          // At a random moment of its term, unless a node patch came first.
          const exited = c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : once(c, "exit");
          await Promise.race([exited, sleep(Math.floor(random() * 2500))]);
          c.kill("SIGKILL");
          await exited;
          alive = alive.filter((x) => x !== c);
          kills++;
          const p = await env.kube.get<PlanObject>(resources.plans, ns, "crash");
          if (condition(p, "Complete")?.status === "True" && p.status?.latestVersion === spec.version) break;
        }
      }
      assert.ok(targeted > 0, `some kills came right after a node patch (${why()})`);
      // The last rollout completed under kills; the standby tells what the last kill cut off.
      child = undefined;
      const done = await waitForPlan(env, ns, "crash", "Complete after the kills", (p) => condition(p, "Complete")?.status === "True", 60_000);
      assert.equal(done.status?.progress, `${NODES}/${NODES}`, why());
      await checkNodes(ns, nodes, done, rollouts, why);
      assert.ok(pods.maxActive <= 2, `never more than concurrency (2) upgrade pods at once; saw ${pods.maxActive} (${why()})`);
      // Each step of each node counted once per rollout on the Plan's Events: a step whose Event a
      // kill cut off is told by the next leader, and one told twice is not counted twice.
      const want = NODES * rollouts;
      const counts = await waitFor(
        async () => {
          const items = (await env.kube.list<TallyEvent>(resources.events, ns, { fieldSelector: "involvedObject.name=crash" })).items;
          const by = new Map(items.map((e) => [e.reason ?? "", e.count ?? 0]));
          return by.get("NodeComplete") === want && by.get("Uncordoned") === want ? by : undefined;
        },
        { timeoutMs: 30_000, what: `NodeComplete and Uncordoned counted for each node of each rollout, ${want} (${why()})` },
      ).catch((e: unknown) => {
        throw new Error(`${e instanceof Error ? e.message : String(e)}; targeted kills ${targeted}`);
      });
      for (const reason of ["Cordoned", "ApplyPodCreated", "Upgraded", "Uncordoned", "NodeComplete"])
        assert.equal(counts.get(reason), want, `${reason} once per node per rollout (${why()}, ${targeted} targeted)`);
      assert.equal(counts.get("Complete"), rollouts, `the Plan's Complete told once per rollout (${why()})`);
    } finally {
      abort.abort();
      await watching;
      await pods.stop();
      for (const c of alive)
        if (c.exitCode === null && c.signalCode === null) {
          c.kill("SIGKILL");
          await once(c, "exit");
        }
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
