// The controller may be killed at any instant (docs/architecture.md, "A node's life"): a new leader must resume without
// repeating or skipping a step. Run as separate OS processes so SIGKILL is real.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { once } from "node:events";
import type { KubeObject, Lease, Node, Pod } from "../../src/controller/rollout/objects.ts";
import type { PlanObject } from "../../src/controller/wiring/reconciler.ts";
import { resources } from "../../src/controller/kube/ports.ts";
import { waitFor } from "../env/wait.ts";
import { LABEL_HASH, LABEL_ROLE, annotationCordonedBy } from "../../src/controller/rollout/keys.ts";
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

/**
 * What the API server reported while a test ran, from watches begun before its first fault:
 * each upgrade pod by node and hash, and at every moment how many nodes had an unfinished
 * upgrade pod and how many were cordoned. A watch that ends early fails the test (it saw less).
 */
class Witness {
  /** `node/hash` → the upgrade pods created for it. */
  readonly applies = new Map<string, Set<string>>();
  maxRunning = 0;
  maxCordoned = 0;
  private readonly running = new Map<string, string>();
  private readonly cordoned = new Set<string>();
  private readonly abort = new AbortController();
  private readonly ended: string[] = [];
  private readonly watches: Promise<void>[];
  private seenNodes = 0;

  constructor(
    env: Env,
    namespace: string,
    private readonly nodes: ReadonlySet<string>,
  ) {
    const watch = <T extends KubeObject>(
      what: string,
      r: (typeof resources)[keyof typeof resources],
      ns: string | undefined,
      on: (type: string, o: T) => void,
    ) =>
      env.kube
        .watch<T>(
          r,
          ns,
          { allowWatchBookmarks: false, timeoutSeconds: 3600 },
          (e) => e.type !== "ERROR" && e.type !== "BOOKMARK" && on(e.type, e.object),
          this.abort.signal,
        )
        .catch(() => {})
        .finally(() => {
          if (!this.abort.signal.aborted) this.ended.push(what);
        });
    this.watches = [
      watch<Pod>("pods", resources.pods, namespace, (type, p) => this.pod(type, p)),
      watch<Node>("nodes", resources.nodes, undefined, (type, n) => this.node(type, n)),
    ];
  }

  private pod(type: string, p: Pod): void {
    if (p.metadata.labels?.[LABEL_ROLE] !== "apply") return;
    const node = p.spec?.nodeName ?? "";
    const key = `${node}/${p.metadata.labels?.[LABEL_HASH] ?? ""}`;
    const uid = p.metadata.uid ?? p.metadata.name;
    this.applies.set(key, (this.applies.get(key) ?? new Set()).add(uid));
    const ended = type === "DELETED" || p.status?.phase === "Succeeded" || p.status?.phase === "Failed";
    if (ended) this.running.delete(uid);
    else this.running.set(uid, node);
    this.maxRunning = Math.max(this.maxRunning, new Set(this.running.values()).size);
  }

  private node(type: string, n: Node): void {
    const name = n.metadata.name;
    if (!this.nodes.has(name)) return;
    this.seenNodes++;
    if (type !== "DELETED" && n.spec?.unschedulable === true) this.cordoned.add(name);
    else this.cordoned.delete(name);
    this.maxCordoned = Math.max(this.maxCordoned, this.cordoned.size);
  }

  /** The node watch has reported the nodes as they are: the faults may begin. */
  ready(): boolean {
    return this.seenNodes >= this.nodes.size;
  }

  async stop(): Promise<void> {
    assert.deepEqual(this.ended, [], "the watches ran for the whole test");
    this.abort.abort();
    await Promise.all(this.watches);
  }
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

  it("50 SIGKILLs of the leader, each right after it wrote, across rollouts: one pod per node per hash, concurrency kept, nothing left cordoned, each step told once", async () => {
    const ns = await env.cp.createNamespace("storm");
    const label = "test.plan-runner.dev/storm";
    const nodes = Array.from({ length: 10 }, (_, i) => `worker-${i + 1}`);
    const concurrency = 3;
    await optIn(env, nodes, label);
    const witness = new Witness(env, ns, new Set(nodes));
    await waitFor(() => witness.ready(), { timeoutMs: 30_000, what: "the node watch to report every node" });
    const seed = Number(process.env["PLAN_RUNNER_CRASH_SEED"] ?? Date.now() % 100_000);
    const random = rng(seed);
    // A lease of 1s: the next leader acts about a second after each kill.
    const fast = ["--lease-duration", "1s", "--renew-deadline", "600ms", "--retry-period", "200ms"];
    const writes = /"msg":"(created pod|deleted pod|node [a-z]+)"/g;
    const writesOf = (c: ReturnType<typeof spawnController>): number => c.output().match(writes)?.length ?? 0;
    const spec = (version: string) =>
      aPlan(ns, "storm", { concurrency, cordon: true, version, nodeSelector: { matchLabels: { [label]: "yes" } } }, { "sim.plan-runner.dev/run-for": "300ms" });
    const replicas = [spawnController(env, ns, fast), spawnController(env, ns, fast)];
    const started = Date.now();
    let rollouts = 1;
    let kills = 0;
    try {
      await applyPlan(env, spec("v1.0.1"));
      while (kills < 50) {
        // The leader is whichever replica writes. Half the kills come at its 1st to 3rd write since
        // it started, half at its first completing patch (whose Events follow the pass's other
        // writes). A rollout that completes meanwhile is followed by the next one (a new version).
        const onComplete = random() < 0.5;
        const at = 1 + Math.floor(random() * 3);
        const due = (c: ReturnType<typeof spawnController>): boolean => (onComplete ? c.output().includes('"msg":"node complete"') : writesOf(c) >= at);
        let looked = 0;
        const leader = await waitFor(
          async () => {
            const writer = replicas.find(due);
            if (writer !== undefined) return writer;
            if (Date.now() - looked < 200) return undefined;
            looked = Date.now();
            const p = await env.kube.get<PlanObject>(resources.plans, ns, "storm");
            if (p.status?.latestVersion === `v1.0.${rollouts}` && condition(p, "Complete")?.status === "True") await applyPlan(env, spec(`v1.0.${++rollouts}`));
            return undefined;
          },
          { timeoutMs: 60_000, intervalMs: 5, what: `a replica to write (kill ${kills + 1}, seed ${seed})` },
        );
        leader.kill("SIGKILL");
        await once(leader, "exit");
        kills++;
        replicas.splice(replicas.indexOf(leader), 1, spawnController(env, ns, fast));
      }
      const done = await waitForPlan(
        env,
        ns,
        "storm",
        `Complete at v1.0.${rollouts} after ${kills} kills`,
        (p) => p.status?.latestVersion === `v1.0.${rollouts}` && condition(p, "Complete")?.status === "True",
        180_000,
      );
      const wall = Date.now() - started;
      assert.equal(done.status?.progress, `${nodes.length}/${nodes.length}`, `seed ${seed}`);
      // Every rollout's pods: exactly one per node per hash, however the kills fell.
      const hashes = new Set([...witness.applies.keys()].map((k) => k.slice(k.indexOf("/") + 1)));
      assert.equal(hashes.size, rollouts, `one hash per rollout (seed ${seed})`);
      const twice = [...witness.applies].filter(([, pods]) => pods.size !== 1).map(([k, pods]) => `${k}: ${pods.size}`);
      assert.deepEqual(twice, [], `one upgrade pod per node per hash (seed ${seed})`);
      assert.equal(witness.applies.size, nodes.length * rollouts, "every node upgraded in every rollout");
      assert.ok(witness.maxRunning <= concurrency, `at most ${concurrency} nodes with an unfinished upgrade pod, saw ${witness.maxRunning} (seed ${seed})`);
      assert.ok(witness.maxCordoned <= concurrency, `at most ${concurrency} nodes cordoned at once, saw ${witness.maxCordoned} (seed ${seed})`);
      for (const n of nodes) {
        const node = await getNode(env, n);
        assert.notEqual(node.spec?.unschedulable, true, `${n} uncordoned`);
        assert.equal(node.metadata.annotations?.[annotationCordonedBy("storm")], undefined, `${n} released`);
      }
      // Each step of each node in each rollout counted once, the cordon too: Events a kill cut off
      // are told by the next leader, before the completing patch takes the marks away.
      const want = nodes.length * rollouts;
      const counts = await waitFor(
        async () => {
          const items = (
            await env.kube.list<KubeObject & { reason?: string; count?: number }>(resources.events, ns, { fieldSelector: "involvedObject.name=storm" })
          ).items;
          const by = new Map<string, number>();
          for (const e of items) by.set(e.reason ?? "", (by.get(e.reason ?? "") ?? 0) + (e.count ?? 0));
          return by.get("NodeComplete") === want ? by : undefined;
        },
        { timeoutMs: 30_000, what: `NodeComplete counted ${want} times (seed ${seed})` },
      );
      const told = Object.fromEntries(["Cordoned", "ApplyPodCreated", "Upgraded", "Uncordoned", "NodeComplete"].map((r) => [r, counts.get(r) ?? 0]));
      assert.deepEqual(
        told,
        { Cordoned: want, ApplyPodCreated: want, Upgraded: want, Uncordoned: want, NodeComplete: want },
        `each step once per node per rollout (seed ${seed}, ${kills} kills)`,
      );
      console.log(
        `# storm: ${kills} kills, ${rollouts} rollouts of ${nodes.length} nodes at concurrency ${concurrency} in ${(wall / 1000).toFixed(1)}s; ` +
          `max in flight ${witness.maxRunning}, max cordoned ${witness.maxCordoned}; seed ${seed}`,
      );
    } finally {
      for (const c of replicas) {
        c.kill("SIGKILL");
        if (c.exitCode === null && c.signalCode === null) await once(c, "exit");
      }
      await witness.stop();
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
