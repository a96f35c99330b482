// Leadership faults on real processes (issue 9, items 4, 5 and 1): a leader paused past its lease
// must not write when it resumes; a leader cut off from the API server must stand by and lead
// again, from the cluster's state; a Plan deleted while nobody leads must still release its nodes.
// Everything is asserted from watches started before the fault: apply pods per node, nodes held
// at once, cordons left, duplicate Events.
import assert from "node:assert/strict";
import { type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import { type Server, type Socket, connect, createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { parse, stringify } from "yaml";
import type { Lease, Node } from "../../src/controller/rollout/objects.ts";
import { KubeError, resources } from "../../src/controller/kube/ports.ts";
import type { PlanObject } from "../../src/controller/wiring/reconciler.ts";
import { waitFor } from "../env/wait.ts";
import {
  type Env,
  PodWatch,
  aPlan,
  applyPlan,
  condition,
  getNode,
  killAt,
  kubectlApply,
  listPods,
  optIn,
  runController,
  spawnController,
  startEnv,
  waitForPlan,
} from "./controller-env.ts";

let env: Env;
before(async () => {
  env = await startEnv(15, 1);
});
after(async () => env?.stop());

type Replica = ChildProcess & { output: () => string };

const alive = (c: ChildProcess): boolean => c.exitCode === null && c.signalCode === null;
const identityOf = (c: Replica): string | undefined => /"identity":"([^"]+)"/.exec(c.output())?.[1];

async function holderOf(ns: string): Promise<string | undefined> {
  try {
    return (await env.kube.get<Lease>(resources.leases, ns, "plan-runner-leader")).spec?.holderIdentity;
  } catch {
    return undefined;
  }
}

async function killAll(replicas: readonly Replica[]): Promise<void> {
  for (const c of replicas) {
    if (!alive(c)) continue;
    c.kill("SIGCONT");
    c.kill("SIGKILL");
    await once(c, "exit");
  }
}

/** Watches nodes and records the most that a Plan held (its cordon or drain mark) at the same time. */
class HeldWatch {
  maxHeld = 0;
  private readonly held = new Set<string>();
  private readonly abort = new AbortController();
  private readonly done: Promise<void>;

  constructor(plan: string) {
    const marks = [`cordoned.plan-runner.dev/${plan}`, `drain.plan-runner.dev/${plan}`];
    this.done = env.kube
      .watch<Node>(
        resources.nodes,
        undefined,
        {},
        (e) => {
          if (e.type === "ERROR" || e.type === "BOOKMARK") return;
          const ann = e.object.metadata.annotations ?? {};
          if (e.type !== "DELETED" && marks.some((m) => ann[m] !== undefined)) this.held.add(e.object.metadata.name);
          else this.held.delete(e.object.metadata.name);
          this.maxHeld = Math.max(this.maxHeld, this.held.size);
        },
        this.abort.signal,
      )
      .catch(() => {});
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.done;
  }
}

/** The Node Events a Plan recorded (Cordoned, Upgraded, ...), as "node reason" once per Event. */
async function nodeEvents(plan: string): Promise<string[]> {
  const list = await env.kube.list<{ metadata: { name: string }; involvedObject?: { kind?: string; name?: string }; reason?: string; message?: string }>(
    resources.events,
    "default",
  );
  return list.items
    .filter((e) => e.involvedObject?.kind === "Node" && (e.message ?? "").startsWith(`Plan ${plan} `))
    .map((e) => `${e.involvedObject?.name ?? ""} ${e.reason ?? ""}`);
}

const duplicates = (xs: readonly string[]): string[] => [...new Set(xs.filter((x, i) => xs.indexOf(x) !== i))];

/** What a user checks after a rollout: one apply pod per node, nothing cordoned or marked, every node labelled. */
async function assertCleanRollout(ns: string, plan: string, nodes: readonly string[], what: string): Promise<void> {
  const done = await env.kube.get<PlanObject>(resources.plans, ns, plan);
  const applies = (await listPods(env, ns)).filter((p) => p.metadata.labels?.["plan-runner.dev/role"] === "apply");
  for (const n of nodes) {
    assert.equal(applies.filter((p) => p.spec?.nodeName === n).length, 1, `${what}: exactly one apply pod on ${n}`);
    const node = await getNode(env, n);
    assert.equal(node.metadata.labels?.[`plan.upgrade.cattle.io/${plan}`], done.status?.latestHash, `${what}: ${n} labelled done`);
    assert.notEqual(node.spec?.unschedulable, true, `${what}: ${n} uncordoned`);
    assert.equal(node.metadata.annotations?.[`cordoned.plan-runner.dev/${plan}`], undefined, `${what}: ${n} released`);
  }
  const dup = duplicates(await nodeEvents(plan));
  assert.deepEqual(dup, [], `${what}: no Event recorded twice`);
}

/**
 * A TCP relay between a controller and the API server (TLS passes through untouched): cut() is an
 * outage as the controller sees it, connections reset and new ones refused, while the test and
 * the cluster keep talking to the API server directly.
 */
class ApiRelay {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private up = true;

  constructor(private readonly target: URL) {
    this.server = createServer((client) => {
      if (!this.up) {
        client.destroy();
        return;
      }
      const upstream = connect(Number(target.port), target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
  }

  async listen(): Promise<string> {
    this.server.listen(0, "127.0.0.1");
    await once(this.server, "listening");
    return `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  cut(): void {
    this.up = false;
    for (const s of this.sockets) s.destroy();
  }

  restore(): void {
    this.up = true;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((r) => this.server.close(r));
  }
}

/** The admin kubeconfig, pointed at another server address. */
function kubeconfigVia(server: string): string {
  const doc = parse(readFileSync(env.cp.kubeconfigPath, "utf8")) as { clusters: Array<{ cluster: { server: string } }> };
  for (const c of doc.clusters) c.cluster.server = server;
  const path = `${env.cp.dir}/relayed-${Date.now()}.kubeconfig`;
  writeFileSync(path, stringify(doc), { mode: 0o600 });
  return path;
}

/** Lines a controller logs only after a write went through. */
const WRITES = /"msg":"(created pod|deleted pod|node [a-z ]+|event)"/g;

describe("controller: leadership faults", () => {
  it("a leader paused past its lease writes nothing when it resumes, and stands by; the rollout never exceeds its concurrency", async () => {
    const ns = await env.cp.createNamespace("paused");
    const label = "test.plan-runner.dev/paused";
    const nodes = ["worker-1", "worker-2", "worker-3", "worker-4", "worker-5", "worker-6", "worker-7", "worker-8"];
    await optIn(env, nodes, label);
    const pods = new PodWatch(env, ns);
    const held = new HeldWatch("paused");
    const replicas: Replica[] = [spawnController(env, ns), spawnController(env, ns)];
    try {
      await waitFor(() => replicas.every((r) => identityOf(r) !== undefined), { timeoutMs: 90_000, what: "both replicas to start" });
      await applyPlan(
        env,
        aPlan(ns, "paused", { concurrency: 2, cordon: true, nodeSelector: { matchLabels: { [label]: "yes" } } }, { "sim.plan-runner.dev/run-for": "2500ms" }),
      );
      for (let round = 1; round <= 2; round++) {
        const holder = await waitFor(() => holderOf(ns), { timeoutMs: 30_000, what: `round ${round}: a leader` });
        const leader = replicas.find((r) => identityOf(r) === holder);
        assert.ok(leader !== undefined && alive(leader), `round ${round}: the lease holder ${holder} is one of the running replicas`);
        // Paused with work in flight: an apply pod of this leader's running.
        await waitFor(() => [...pods.seen.values()].some((p) => p.status?.phase === "Running"), {
          timeoutMs: 60_000,
          what: `round ${round}: an apply pod running`,
        });
        const startedBefore = pods.seen.size;
        leader.kill("SIGSTOP");
        // An operator would restart a replica that exited; so does the test, to keep a standby.
        if (!replicas.some((r) => r !== leader && alive(r))) replicas.push(spawnController(env, ns));
        await waitFor(
          async () => {
            const now = await holderOf(ns);
            if (now !== holder && pods.seen.size > startedBefore) return true;
            throw new Error(
              `holder ${String(now)}, ${pods.seen.size} apply pods (${startedBefore} at the pause), replicas alive: ${replicas.map(alive).join(",")}`,
            );
          },
          {
            timeoutMs: 60_000,
            what: `round ${round}: another replica to take the lease and start a node`,
          },
        );
        const mark = leader.output().length;
        leader.kill("SIGCONT");
        await waitFor(() => leader.output().slice(mark).includes("lost leadership") || !alive(leader), {
          timeoutMs: 30_000,
          what: `round ${round}: the resumed replica to notice it lost the lease`,
        });
        // A replica that exits on the loss (as main did) is shutting down now: let it finish, so the next round counts it gone.
        if (leader.output().slice(mark).includes('"msg":"stopping"'))
          await waitFor(() => !alive(leader), { timeoutMs: 30_000, what: "the exiting replica to exit" });
        const wrote = [...leader.output().slice(mark).matchAll(WRITES)].map((m) => m[1]);
        assert.deepEqual(wrote, [], `round ${round}: the resumed leader, whose lease had passed to another replica, wrote nothing`);
      }
      await waitForPlan(env, ns, "paused", "Complete", (p) => condition(p, "Complete")?.status === "True", 180_000);
      assert.ok(pods.maxActive <= 2, `at most 2 apply pods at once, saw ${pods.maxActive}`);
      assert.ok(held.maxHeld <= 2, `at most 2 nodes held at once, saw ${held.maxHeld}`);
      await assertCleanRollout(ns, "paused", nodes, "after two paused leaders");
      assert.ok(
        replicas.slice(0, 2).every(alive),
        `both replicas still run (exit codes ${replicas.map((r) => String(r.exitCode)).join(", ")}): a lost lease is not an exit`,
      );
    } finally {
      await killAll(replicas);
      await pods.stop();
      await held.stop();
    }
  });

  it("a single replica cut off from the API server past its lease stands by, then leads again from the cluster's state", async () => {
    const ns = await env.cp.createNamespace("outage");
    const label = "test.plan-runner.dev/outage";
    const nodes = ["worker-9", "worker-10", "worker-11"];
    await optIn(env, nodes, label);
    const relay = new ApiRelay(new URL(env.cp.server));
    const relayed = kubeconfigVia(await relay.listen());
    const pods = new PodWatch(env, ns);
    const held = new HeldWatch("outage");
    const a = spawnController(env, ns, ["--kubeconfig", relayed]);
    const replicas: Replica[] = [a];
    try {
      await waitFor(() => a.output().includes("became leader"), { timeoutMs: 30_000, what: "the replica to lead" });
      await applyPlan(
        env,
        aPlan(ns, "outage", { concurrency: 1, cordon: true, nodeSelector: { matchLabels: { [label]: "yes" } } }, { "sim.plan-runner.dev/run-for": "1500ms" }),
      );
      await waitFor(() => pods.seen.size >= 1, { timeoutMs: 60_000, what: "the first apply pod" });
      const mark = a.output().length;
      relay.cut();
      await waitFor(() => a.output().slice(mark).includes("lost leadership"), {
        timeoutMs: 60_000,
        what: "the replica to give the lease up during the outage",
      });
      // Meanwhile another replica leads and moves the rollout on, then goes away.
      const b = spawnController(env, ns);
      replicas.push(b);
      await waitFor(() => pods.seen.size >= 2, { timeoutMs: 60_000, what: "the other replica to start the next node" });
      b.kill("SIGKILL");
      await once(b, "exit");
      relay.restore();
      assert.ok(alive(a), `the cut-off replica still runs after the outage (exit code ${String(a.exitCode)})`);
      await waitForPlan(env, ns, "outage", "Complete after the outage", (p) => condition(p, "Complete")?.status === "True", 120_000);
      assert.ok(alive(a), "the replica still runs");
      assert.ok(
        (
          a
            .output()
            .slice(mark)
            .match(/"msg":"became leader"/g) ?? []
        ).length >= 1,
        "it led again after the outage",
      );
      assert.ok(pods.maxActive <= 1, `at most 1 apply pod at once, saw ${pods.maxActive}`);
      assert.ok(held.maxHeld <= 1, `at most 1 node held at once, saw ${held.maxHeld}`);
      await assertCleanRollout(ns, "outage", nodes, "after the outage");
    } finally {
      await killAll(replicas);
      await relay.close();
      await pods.stop();
      await held.stop();
    }
  });

  it("a Plan deleted while no replica leads has its nodes released by the next leader, through kills at any moment", async () => {
    const ns = await env.cp.createNamespace("orphan");
    const label = "test.plan-runner.dev/orphan";
    const nodes = ["worker-12", "worker-13"];
    await optIn(env, nodes, label);
    const replicas: Replica[] = [];
    try {
      const first = spawnController(env, ns);
      replicas.push(first);
      await applyPlan(
        env,
        aPlan(ns, "orphan", { concurrency: 2, cordon: true, nodeSelector: { matchLabels: { [label]: "yes" } } }, { "sim.plan-runner.dev/outcome": "hang" }),
      );
      await waitFor(
        async () => {
          for (const n of nodes) {
            const node = await getNode(env, n);
            if (node.spec?.unschedulable !== true || node.metadata.annotations?.["cordoned.plan-runner.dev/orphan"] === undefined) return false;
          }
          return true;
        },
        { timeoutMs: 60_000, what: "both nodes cordoned by the Plan" },
      );
      first.kill("SIGKILL");
      await once(first, "exit");
      await env.kube.delete(resources.plans, ns, "orphan");
      // Replicas killed at arbitrary moments of their start-up and release.
      for (const ms of [400, 1200, 2600, 3400]) {
        const c = spawnController(env, ns);
        replicas.push(c);
        await killAt(c, ms);
      }
      replicas.push(spawnController(env, ns));
      await waitFor(
        async () => {
          for (const n of nodes) {
            const node = await getNode(env, n);
            const marks = Object.keys(node.metadata.annotations ?? {}).filter((k) => k.endsWith("plan-runner.dev/orphan"));
            if (node.spec?.unschedulable === true || marks.length > 0)
              throw new Error(`${n}: unschedulable=${String(node.spec?.unschedulable)} marks=${marks.join(",")}`);
          }
          return true;
        },
        { timeoutMs: 60_000, what: "the next leader to release the deleted Plan's nodes" },
      );
      await waitFor(
        async () => {
          try {
            await env.kube.get(resources.plans, ns, "orphan");
            return false;
          } catch (e: unknown) {
            return e instanceof KubeError && e.notFound;
          }
        },
        { timeoutMs: 30_000, what: "the deleted Plan to be gone" },
      );
    } finally {
      await killAll(replicas);
    }
  });

  it("a SUC Plan applies, completes, and `kubectl delete` returns with its node released", async () => {
    const ns = await env.cp.createNamespace("suc-delete");
    const ctl = await runController(env, ns);
    try {
      const suc = {
        apiVersion: "upgrade.cattle.io/v1",
        kind: "Plan",
        metadata: { name: "k3s-server", namespace: ns },
        spec: {
          concurrency: 1,
          cordon: true,
          nodeSelector: { matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: ["worker-14"] }] },
          serviceAccountName: "default",
          version: "v1.30.4+k3s1",
          upgrade: { image: "rancher/k3s-upgrade" },
        },
      };
      const applied = await kubectlApply(env, suc);
      assert.equal(applied.code, 0, applied.stderr);
      await waitForPlan(env, ns, "k3s-server", "Complete", (p) => condition(p, "Complete")?.status === "True");
      const deleted = await env.cp.kubectl(["delete", "plan", "-n", ns, "k3s-server", "--timeout=30s"]);
      assert.equal(deleted.code, 0, `kubectl delete: ${deleted.stderr}`);
      const node = await getNode(env, "worker-14");
      assert.notEqual(node.spec?.unschedulable, true, "worker-14 schedulable");
      assert.deepEqual(
        Object.keys(node.metadata.annotations ?? {}).filter((k) => k.includes("plan-runner.dev/k3s-server")),
        [],
        "no mark of the deleted Plan on the node",
      );
    } finally {
      await ctl.stop();
    }
  });
});
