// Whole rollouts on a real control plane (kwok plays the kubelets), each on a fresh one, with
// the controller running as the image runs it: the compiled JavaScript of `npm run build`, no
// TypeScript loader. Per scenario: the wall time against the ideal (waves x the median pod
// lifetime a watch saw), the slot gaps (slots.ts), the first pod's delay, the controller's own
// API writes per node by verb (from its /metrics) and its peak RSS (from /proc).
//
// BENCH_SCENARIOS picks them (comma-separated): NODES/CONCURRENCY, PLANSxNODES/CONCURRENCY
// (that many Plans at once, each over its own NODES nodes, CONCURRENCY each), +cordon.
// BENCH_RUN_FOR: how long each simulated upgrade runs (default 1s). BENCH_LOG: the controller's log.
// BENCH_ARGS: more flags for the controller (say --kube-api-qps 400), split on spaces;
// BENCH_NODE_ARGS: for node itself (say --cpu-prof --cpu-prof-dir=/tmp/prof), after the
// flags deploy/deployment.yaml's command gives it.
import { spawn, spawnSync } from "node:child_process";
import { parseAllDocuments } from "yaml";
import { existsSync, openSync, readFileSync, statSync } from "node:fs";
import { KubeAdapter } from "../../src/controller/kube/adapter.ts";
import type { Node, Pod } from "../../src/controller/rollout/objects.ts";
import { type Resource, resources } from "../../src/controller/kube/ports.ts";
import type { PlanObject } from "../../src/controller/wiring/reconciler.ts";
import { type ControlPlane, startControlPlane } from "../env/control-plane.ts";
import { freePorts } from "../env/free-port.ts";
import { waitFor } from "../env/wait.ts";
import { type Bench, type BenchTable, median } from "./bench.ts";
import { type NodeTimes, type PlanTimes, completionLags, lifetimes, noteFirstWrite, percentile, slotGaps } from "./slots.ts";

const DEFAULT_SCENARIOS = "1000/50,1000/50+cordon,5000/200,10x500/20";
const RUN_FOR = process.env["BENCH_RUN_FOR"] ?? "1s";
/** Simulated kubelets renew their leases every minute, not every 10 s: at 5,000 nodes the kubelet's default is 500 writes a second (BENCH_NODE_LEASE). */
const NODE_LEASE_SECONDS = Number(process.env["BENCH_NODE_LEASE"] ?? 240);
const WRITE_VERBS = new Set(["create", "update", "patch", "delete", "evict"]);
const LABEL_PLAN = "upgrade.cattle.io/plan";
const LABEL_NODE = "upgrade.cattle.io/node";
const CORDONED_BY = "cordoned.plan-runner.dev/";

export interface Scenario {
  readonly label: string;
  readonly plans: number;
  readonly nodesPerPlan: number;
  readonly concurrency: number;
  readonly cordon: boolean;
}

export function parseScenario(text: string): Scenario {
  const m = /^(?:(\d+)x)?(\d+)\/(\d+)(\+cordon)?$/.exec(text.trim());
  if (m === null) throw new Error(`BENCH_SCENARIOS: "${text}" is not NODES/CONCURRENCY, PLANSxNODES/CONCURRENCY or either with +cordon`);
  return { label: text.trim(), plans: Number(m[1] ?? 1), nodesPerPlan: Number(m[2]), concurrency: Number(m[3]), cordon: m[4] !== undefined };
}

/** What one scenario measured; the JSON the bench writes holds these. */
export interface RolloutResult {
  readonly scenario: string;
  readonly nodes: number;
  readonly concurrency: number;
  readonly plans: number;
  readonly cordon: boolean;
  readonly controlPlaneStartupS: number;
  readonly wallS: number;
  readonly idealS: number;
  readonly ratio: number;
  readonly medianPodS: number;
  readonly gapMedianMs: number;
  readonly gapP99Ms: number;
  /** Median time from a pod finishing to its node's done label: the part of the gap before the slot is handed on. */
  readonly completionLagMs: number;
  readonly meanPodS: number;
  readonly gapMeanMs: number;
  /** From the last pod finishing to the bench seeing every Plan Complete. */
  readonly tailS: number;
  /** From the Plans' creation (the API server's answer) to the first upgrade pod the watch saw. */
  readonly firstPodS: number;
  /** How long the API server took to answer the Plans' creation. */
  readonly planCreateS: number;
  readonly writesPerNode: number;
  readonly writesByVerb: Record<string, number>;
  readonly rssMiB: number;
  readonly podsTimed: number;
  /** Reconcile passes, their mean time, and the time requests waited for the client-side rate limit. */
  readonly passes: number;
  readonly passMeanMs: number;
  readonly throttledS: number;
  /** Reconciles that failed (a conflict, a refused call): each one backs off. */
  readonly errors: number;
  /** The controller's event loop delay (prom-client's, since its start), ms. */
  readonly loopLagMs: Record<string, number>;
  /** V8's heap (total, used) and external memory at the end, MiB. */
  readonly heapMiB: Record<string, number>;
  /** The API server's busiest request kinds during the rollout (everyone's: kwok's, the bench's, ours), per second. */
  readonly serverBusiest: readonly string[];
  /** Mean API latency of the controller's creates and patches, ms. */
  readonly latencyMs: Record<string, number>;
  readonly error?: string;
}

function peakRss(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m === null ? 0 : Number(m[1]) / 1024;
}

/** BENCH_HEAP_SNAPSHOT=1 (with BENCH_NODE_ARGS=--heapsnapshot-signal=SIGUSR2): a heap snapshot of the controller at the end, in its working directory. */
async function heapSnapshot(child: ReturnType<typeof spawn>): Promise<void> {
  const before = new Set(spawnSync("ls", ["."], { encoding: "utf8" }).stdout.split("\n"));
  child.kill("SIGUSR2");
  await waitFor(
    () =>
      spawnSync("ls", ["."], { encoding: "utf8" })
        .stdout.split("\n")
        .some((f) => f.endsWith(".heapsnapshot") && !before.has(f)),
    {
      timeoutMs: 120_000,
      what: "the heap snapshot",
    },
  );
  // Written once its size holds between two looks a second apart.
  let size = -1;
  await waitFor(
    () => {
      const now = Number(spawnSync("sh", ["-c", "cat *.heapsnapshot | wc -c"], { encoding: "utf8" }).stdout.trim());
      const still = now === size;
      size = now;
      return still;
    },
    { timeoutMs: 120_000, intervalMs: 1000, what: "the heap snapshot to be written" },
  );
}

/** node's own flags in the controller's command in deploy/deployment.yaml: the bench runs it the same way. */
function deployedNodeOptions(): string[] {
  const docs = parseAllDocuments(readFileSync("deploy/deployment.yaml", "utf8")).map((d) => d.toJS() as unknown);
  for (const doc of docs) {
    const containers = (doc as { spec?: { template?: { spec?: { containers?: Array<{ command?: string[] }> } } } }).spec?.template?.spec?.containers;
    const command = containers?.find((c) => c.command?.[0] === "node")?.command;
    if (command !== undefined) return command.slice(1).filter((a) => a.startsWith("--"));
  }
  return [];
}

/** dist/ as the image has it, built again when a source is newer. */
function compiledEntry(): string {
  const entry = "dist/cli/run.js";
  const newest = (dir: string): number => {
    const out = spawnSync("find", [dir, "-name", "*.ts", "-newer", entry], { encoding: "utf8" });
    return out.stdout.trim() === "" ? 0 : 1;
  };
  if (!existsSync(entry) || statSync(entry).size === 0 || newest("src") > 0) {
    const built = spawnSync("npm", ["run", "--silent", "build"], { stdio: "inherit" });
    if (built.status !== 0) throw new Error("npm run build failed");
  }
  return entry;
}

/** From the controller's /metrics: requests by "verb resource", passes and their time, time throttled. */
async function counters(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out = new Map<string, number>();
  const add = (k: string, v: number): void => void out.set(k, (out.get(k) ?? 0) + v);
  for (const m of text.matchAll(/^plan_runner_api_requests_total\{verb="([^"]+)",resource="([^"]+)",code="([^"]+)"\} (\d+)/gm))
    add(`${m[1]} ${m[2]}`, Number(m[4]));
  for (const m of text.matchAll(/^plan_runner_reconcile_duration_seconds_(sum|count)\{[^}]*\} ([\d.e+-]+)/gm)) add(`passes ${m[1]}`, Number(m[2]));
  for (const m of text.matchAll(/^plan_runner_nodejs_(heap_size_total|heap_size_used|external_memory)_bytes ([\d.e+-]+)/gm))
    add(`memory ${m[1]}`, Number(m[2]));
  for (const m of text.matchAll(/^plan_runner_nodejs_heap_space_size_total_bytes\{space="([^"]+)"\} ([\d.e+-]+)/gm)) add(`memory space ${m[1]}`, Number(m[2]));
  for (const m of text.matchAll(/^plan_runner_nodejs_eventloop_lag_(mean|p99|max)_seconds ([\d.e+-]+)/gm)) add(`loop ${m[1]}`, Number(m[2]));
  for (const m of text.matchAll(/^plan_runner_reconcile_errors_total\{[^}]*\} (\d+)/gm)) add("errors", Number(m[1]));
  for (const m of text.matchAll(/^plan_runner_api_throttled_seconds_total ([\d.e+-]+)/gm)) add("throttled", Number(m[1]));
  for (const m of text.matchAll(/^plan_runner_api_request_duration_seconds_(sum|count)\{verb="([^"]+)"\} ([\d.e+-]+)/gm))
    add(`latency ${m[1]} ${m[2]}`, Number(m[3]));
  return out;
}

/** The API server's own count of requests, by "verb resource" (from its /metrics). */
async function serverRequests(cp: Pick<ControlPlane, "kubectl">): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const got = await cp.kubectl(["get", "--raw", "/metrics"]);
  if (got.code !== 0) return out;
  for (const line of got.stdout.split("\n")) {
    if (!line.startsWith("apiserver_request_total{")) continue;
    const verb = /verb="([^"]+)"/.exec(line)?.[1] ?? "";
    const resource = /resource="([^"]*)"/.exec(line)?.[1] ?? "";
    const sub = /subresource="([^"]+)"/.exec(line)?.[1];
    const key = `${verb} ${resource}${sub !== undefined ? `/${sub}` : ""}`;
    out.set(key, (out.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(" ") + 1)));
  }
  return out;
}

/** Watches `r` until aborted, resuming a watch the server ended. */
function watchAll<T extends Pod | Node | PlanObject>(
  kube: KubeAdapter,
  r: Resource,
  ns: string | undefined,
  on: (o: T) => void,
  signal: AbortSignal,
): Promise<void> {
  return (async () => {
    while (!signal.aborted) {
      await kube
        .watch<T>(
          r,
          ns,
          { timeoutSeconds: 600 },
          (e) => {
            if (e.type !== "ERROR" && e.type !== "BOOKMARK") on(e.object);
          },
          signal,
        )
        .catch(() => {});
    }
  })();
}

function planObject(name: string, s: Scenario, nodeNames: readonly string[]): PlanObject {
  return {
    apiVersion: "upgrade.cattle.io/v1",
    kind: "Plan",
    metadata: { name, namespace: "bench", annotations: { "sim.plan-runner.dev/run-for": RUN_FOR } },
    spec: {
      concurrency: s.concurrency,
      version: "v1.0.0",
      cordon: s.cordon,
      nodeSelector: { matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [...nodeNames] }] },
      tolerations: [{ operator: "Exists" }],
      upgrade: { image: "example.com/upgrade" },
    },
  } as unknown as PlanObject;
}

export async function runScenario(s: Scenario, entry: string): Promise<RolloutResult> {
  const total = s.plans * s.nodesPerPlan;
  const t0 = Date.now();
  const cp = await startControlPlane({ nodes: total, controlPlaneNodes: 0, startTimeoutMs: 900_000, nodeLeaseSeconds: NODE_LEASE_SECONDS });
  const startup = (Date.now() - t0) / 1000;
  const port = (await freePorts(1))[0] ?? 0;
  const extra = (process.env["BENCH_ARGS"] ?? "").split(" ").filter((a) => a !== "");
  const args = [
    entry,
    "controller",
    "--kubeconfig",
    cp.kubeconfigPath,
    "--namespace",
    "bench",
    "--leader-elect",
    "false",
    "--metrics-address",
    `127.0.0.1:${port}`,
    ...extra,
  ];
  const log = process.env["BENCH_LOG"];
  const nodeArgs = [...deployedNodeOptions(), ...(process.env["BENCH_NODE_ARGS"] ?? "").split(" ")].filter((a) => a !== "");
  const child = spawn(process.execPath, [...nodeArgs, ...args], { stdio: ["ignore", "ignore", log !== undefined ? openSync(log, "w") : "ignore"] });
  const abort = new AbortController();
  try {
    const kube = new KubeAdapter({ kubeconfig: cp.kubeconfigPath });
    const crd = await cp.kubectl(["apply", "--server-side", "-f", "deploy/crd/plans.upgrade.cattle.io.yaml"]);
    if (crd.code !== 0) throw new Error(crd.stderr);
    await kube.create(resources.namespaces, undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name: "bench" } });
    await waitFor(
      async () => (await cp.kubectl(["get", "plans", "-n", "bench"])).code === 0 && (await cp.kubectl(["get", "sa", "default", "-n", "bench"])).code === 0,
      { timeoutMs: 60_000, what: "CRD and namespace ready" },
    );
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok, { timeoutMs: 300_000, what: "controller ready" });
    const names = (await kube.list<Node>(resources.nodes, undefined)).items.map((n) => n.metadata.name).sort();
    const planOf = new Map<string, string>();
    const times = new Map<string, PlanTimes>();
    for (let p = 0; p < s.plans; p++) {
      const plan = `bench-${p + 1}`;
      times.set(plan, new Map());
      for (const n of names.slice(p * s.nodesPerPlan, (p + 1) * s.nodesPerPlan)) planOf.set(n, plan);
    }
    const entryFor = (plan: string | undefined, node: string | undefined): NodeTimes | undefined => {
      const t = plan === undefined || node === undefined ? undefined : times.get(plan);
      if (t === undefined || node === undefined) return undefined;
      const have = t.get(node) ?? {};
      t.set(node, have);
      return have;
    };
    // When each Plan was first seen Complete: the end of its rollout.
    const completeAt = new Map<string, number>();
    const watching = Promise.all([
      watchAll<PlanObject>(
        kube,
        resources.plans,
        "bench",
        (plan) => {
          const done = plan.status?.conditions?.some((c) => c.type === "Complete" && c.status === "True") === true;
          if (done && times.has(plan.metadata.name) && !completeAt.has(plan.metadata.name)) completeAt.set(plan.metadata.name, Date.now());
        },
        abort.signal,
      ),
      watchAll<Pod>(
        kube,
        resources.pods,
        "bench",
        (pod) => {
          const now = Date.now();
          const t = entryFor(pod.metadata.labels?.[LABEL_PLAN], pod.metadata.labels?.[LABEL_NODE]);
          if (t === undefined) return;
          t.podAdded ??= now;
          noteFirstWrite(t, now);
          if (t.podDone === undefined && (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed")) t.podDone = now;
        },
        abort.signal,
      ),
      watchAll<Node>(
        kube,
        resources.nodes,
        undefined,
        (node) => {
          const plan = planOf.get(node.metadata.name);
          if (plan === undefined) return;
          const cordoned = node.metadata.annotations?.[`${CORDONED_BY}${plan}`] !== undefined;
          const labelled = node.metadata.labels?.[`plan.upgrade.cattle.io/${plan}`] !== undefined;
          if (!cordoned && !labelled) return;
          const t = entryFor(plan, node.metadata.name);
          if (t === undefined) return;
          if (cordoned) noteFirstWrite(t, Date.now());
          if (labelled) t.labelled ??= Date.now();
        },
        abort.signal,
      ),
    ]);
    const before = await counters(port);
    const serverBefore = await serverRequests(cp);
    const start = Date.now();
    await Promise.all(
      [...times.keys()].map((plan) =>
        kube.create(
          resources.plans,
          "bench",
          planObject(
            plan,
            s,
            [...planOf].filter(([, p]) => p === plan).map(([n]) => n),
          ),
        ),
      ),
    );
    const created = Date.now();
    await waitFor(() => completeAt.size === times.size, { timeoutMs: 60 * 60_000, what: "every rollout to complete", intervalMs: 100 });
    const wall = (Math.max(...completeAt.values()) - start) / 1000;
    const after = await counters(port);
    const serverAfter = await serverRequests(cp);
    const serverBusiest = [...serverAfter]
      .map(([k, v]) => [k, v - (serverBefore.get(k) ?? 0)] as const)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 6)
      .map(([k, v]) => `${k} ${(v / wall).toFixed(0)}/s`);
    const rss = peakRss(child.pid ?? 0);
    if (process.env["BENCH_HEAP_SNAPSHOT"] === "1") await heapSnapshot(child);
    abort.abort();
    await watching;
    const all = [...times.values()];
    const perPod = median(all.flatMap(lifetimes));
    const ideal = Math.ceil(s.nodesPerPlan / s.concurrency) * perPod;
    const gaps = all.flatMap((t) => slotGaps(t, s.concurrency));
    const lags = all.flatMap(completionLags);
    const firstWrites = all.flatMap((t) => [...t.values()].map((x) => x.podAdded).filter((x) => x !== undefined));
    const writesByVerb: Record<string, number> = {};
    for (const [k, v] of after) {
      const d = v - (before.get(k) ?? 0);
      if (d > 0 && WRITE_VERBS.has(k.split(" ")[0] ?? "")) writesByVerb[k] = d;
    }
    const totalWrites = Object.values(writesByVerb).reduce((a, b) => a + b, 0);
    const delta = (k: string): number => (after.get(k) ?? 0) - (before.get(k) ?? 0);
    return {
      scenario: s.label,
      nodes: total,
      concurrency: s.concurrency,
      plans: s.plans,
      cordon: s.cordon,
      controlPlaneStartupS: startup,
      wallS: wall,
      idealS: ideal,
      ratio: wall / ideal,
      medianPodS: perPod,
      gapMedianMs: percentile(gaps, 50),
      gapP99Ms: percentile(gaps, 99),
      completionLagMs: percentile(lags, 50),
      meanPodS: mean(all.flatMap(lifetimes)),
      gapMeanMs: mean(gaps),
      tailS: (start + wall * 1000 - Math.max(...all.flatMap((t) => [...t.values()].map((x) => x.podDone ?? 0)))) / 1000,
      firstPodS: (Math.min(...firstWrites) - created) / 1000,
      planCreateS: (created - start) / 1000,
      writesPerNode: totalWrites / total,
      writesByVerb,
      rssMiB: rss,
      podsTimed: all.reduce((n, t) => n + lifetimes(t).length, 0),
      passes: delta("passes count"),
      passMeanMs: (delta("passes sum") / Math.max(1, delta("passes count"))) * 1000,
      throttledS: delta("throttled"),
      errors: delta("errors"),
      heapMiB: Object.fromEntries(
        [...after.keys()].filter((k) => k.startsWith("memory ")).map((k) => [k.slice("memory ".length).replace("space ", ""), (after.get(k) ?? 0) / 2 ** 20]),
      ),
      loopLagMs: { mean: (after.get("loop mean") ?? 0) * 1000, p99: (after.get("loop p99") ?? 0) * 1000, max: (after.get("loop max") ?? 0) * 1000 },
      serverBusiest,
      latencyMs: Object.fromEntries(["create", "patch"].map((v) => [v, (delta(`latency sum ${v}`) / Math.max(1, delta(`latency count ${v}`))) * 1000])),
    };
  } finally {
    abort.abort();
    child.kill("SIGTERM");
    await cp.stop();
  }
}

const mean = (xs: readonly number[]): number => (xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length);
const f = (x: number, digits: number): string => (Number.isFinite(x) ? x.toFixed(digits) : "-");

/** The one table: a row per scenario. */
export function rolloutTable(results: readonly RolloutResult[], runFor: string): BenchTable {
  return {
    title: `rollouts on a real control plane, simulated nodes, each upgrade pod runs ${runFor}; the controller as compiled JavaScript`,
    columns: ["scenario", "nodes", "conc", "wall s", "ideal s", "ratio", "gap p50 ms", "gap p99 ms", "first pod s", "writes/node", "RSS MiB"],
    rows: results.map((r) =>
      r.error !== undefined
        ? [r.scenario, r.nodes, r.concurrency, "failed", "", "", "", "", "", "", ""]
        : [
            r.scenario,
            r.nodes,
            r.concurrency * r.plans,
            f(r.wallS, 1),
            f(r.idealS, 1),
            f(r.ratio, 2),
            f(r.gapMedianMs, 0),
            f(r.gapP99Ms, 0),
            f(r.firstPodS, 2),
            f(r.writesPerNode, 2),
            f(r.rssMiB, 0),
          ],
    ),
    notes: [
      "targets: ratio <= 1.1 at 1,000/50 and <= 1.25 at 5,000; gap p50 < 50 ms, p99 < 500 ms; first pod < 0.5 s; writes/node <= 2.5 (<= 4.5 with cordon); RSS <= 100 MiB at 1,000, <= 200 at 5,000",
      `the controller: node ${[...deployedNodeOptions(), process.env["BENCH_NODE_ARGS"] ?? ""].join(" ").trim()} dist/cli/run.js controller ${process.env["BENCH_ARGS"] ?? ""}`.trim(),
      `simulated node leases last ${NODE_LEASE_SECONDS} s (kwok renews each every ${NODE_LEASE_SECONDS / 4} s; the kubelet's 40 s would be 1 renewal a second per 10 nodes)`,
      "ideal: waves x the median pod lifetime (creation to Succeeded, as the bench's watch saw it); gap: a freed slot's idle time (slots.ts)",
      ...results.map((r) =>
        r.error !== undefined
          ? `${r.scenario}: ${r.error}`
          : `${r.scenario}: control plane up in ${r.controlPlaneStartupS.toFixed(0)} s, ${r.podsTimed} pods timed (mean ${f(r.meanPodS, 2)} s), gap mean ${f(r.gapMeanMs, 0)} ms, last pod to Complete ${f(r.tailS, 2)} s, pod finished to node labelled ${f(r.completionLagMs, 0)} ms (median), Plans created in ${f(r.planCreateS, 2)} s, ${r.passes} passes of ${f(r.passMeanMs, 0)} ms on average (${r.errors} failed), at the end heap ${Object.entries(
              r.heapMiB,
            )
              .map(([k, v]) => `${k} ${f(v, 0)}`)
              .join(", ")} MiB, event loop delay ${Object.entries(r.loopLagMs)
              .map(([k, v]) => `${k} ${f(v, 0)} ms`)
              .join(", ")}, requests throttled ${f(r.throttledS, 1)} s in all, mean latency ${Object.entries(r.latencyMs)
              .map(([k, v]) => `${k} ${f(v, 0)} ms`)
              .join(", ")}; API server busiest: ${r.serverBusiest.join(", ")}; writes: ${Object.entries(r.writesByVerb)
              .map(([k, v]) => `${k} ${(v / r.nodes).toFixed(2)}`)
              .join(", ")}`,
      ),
    ],
  };
}

/** The last run's figures (run.ts's JSON), to print beside this run's. */
function lastRun(): { at: string; figures: RolloutResult[] } | undefined {
  const file = `${process.env["BENCH_OUT"] ?? ".bench"}/rollout.json`;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as { at: string; figures: RolloutResult[] };
  } catch {
    return undefined;
  }
}

function comparison(results: readonly RolloutResult[], last: { at: string; figures: RolloutResult[] } | undefined): string[] {
  if (last === undefined) return [];
  return results.flatMap((r) => {
    const was = last.figures.find((x) => x.scenario === r.scenario);
    if (was === undefined || r.error !== undefined || was.error !== undefined) return [];
    const pair = (a: number, b: number, d: number): string => `${f(a, d)} -> ${f(b, d)}`;
    return [
      `${r.scenario} against the run of ${last.at}: ratio ${pair(was.ratio, r.ratio, 2)}, gap p50 ${pair(was.gapMedianMs, r.gapMedianMs, 0)} ms, p99 ${pair(was.gapP99Ms, r.gapP99Ms, 0)} ms, first pod ${pair(was.firstPodS, r.firstPodS, 2)} s, writes/node ${pair(was.writesPerNode, r.writesPerNode, 2)}, RSS ${pair(was.rssMiB, r.rssMiB, 0)} MiB`,
    ];
  });
}

async function run(): Promise<BenchTable> {
  const last = lastRun();
  const scenarios = (process.env["BENCH_SCENARIOS"] ?? DEFAULT_SCENARIOS).split(",").map(parseScenario);
  const entry = compiledEntry();
  const results: RolloutResult[] = [];
  for (const s of scenarios) {
    process.stderr.write(`rollout ${s.label}...\n`);
    try {
      results.push(await runScenario(s, entry));
    } catch (e: unknown) {
      const message = e instanceof Error ? e.message : String(e);
      results.push({ ...failed(s), error: message.slice(0, 500) });
    }
  }
  const table = rolloutTable(results, RUN_FOR);
  return { ...table, notes: [...(table.notes ?? []), ...comparison(results, last)], json: results };
}

const failed = (s: Scenario): RolloutResult => ({
  scenario: s.label,
  nodes: s.plans * s.nodesPerPlan,
  concurrency: s.concurrency,
  plans: s.plans,
  cordon: s.cordon,
  controlPlaneStartupS: Number.NaN,
  wallS: Number.NaN,
  idealS: Number.NaN,
  ratio: Number.NaN,
  medianPodS: Number.NaN,
  gapMedianMs: Number.NaN,
  gapP99Ms: Number.NaN,
  completionLagMs: Number.NaN,
  meanPodS: Number.NaN,
  gapMeanMs: Number.NaN,
  tailS: Number.NaN,
  firstPodS: Number.NaN,
  planCreateS: Number.NaN,
  writesPerNode: Number.NaN,
  writesByVerb: {},
  rssMiB: Number.NaN,
  podsTimed: 0,
  passes: 0,
  passMeanMs: Number.NaN,
  throttledS: Number.NaN,
  errors: 0,
  loopLagMs: {},
  heapMiB: {},
  serverBusiest: [],
  latencyMs: {},
});

export const rolloutBench: Bench = { name: "rollout", description: "rollouts of 1,000 and 5,000 nodes on a real control plane", run };
