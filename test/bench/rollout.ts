// A whole rollout on a real control plane: 1,000 simulated nodes, concurrency 50, pods that
// complete as fast as kwok lets them. Compares the wall time with the ideal (waves x the
// median pod lifetime the API server recorded), counts the controller's API writes per node
// from its own metrics, and reads its peak RSS from /proc.
import { spawn } from "node:child_process";
import { openSync, readFileSync } from "node:fs";
import { KubeAdapter } from "../../src/controller/kube/adapter.ts";
import type { Pod } from "../../src/controller/rollout/objects.ts";
import { resources } from "../../src/controller/kube/ports.ts";
import type { PlanObject } from "../../src/controller/wiring/reconciler.ts";
import { startControlPlane } from "../env/control-plane.ts";
import { freePorts } from "../env/free-port.ts";
import { waitFor } from "../env/wait.ts";
import { type Bench, type BenchTable, median } from "./bench.ts";

const NODES = Number(process.env["BENCH_NODES"] ?? 1000);
const CONCURRENCY = Number(process.env["BENCH_CONCURRENCY"] ?? 50);
/** How long each simulated upgrade runs; the comparison with the ideal needs pods that take some time. */
const RUN_FOR = process.env["BENCH_RUN_FOR"] ?? "1s";
const WRITE_VERBS = new Set(["create", "update", "patch", "delete", "evict"]);

function peakRss(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m === null ? 0 : Number(m[1]) / 1024;
}

async function run(): Promise<BenchTable> {
  const t0 = Date.now();
  const cp = await startControlPlane({ nodes: NODES, controlPlaneNodes: 1, startTimeoutMs: 300_000 });
  const startup = (Date.now() - t0) / 1000;
  const port = (await freePorts(1))[0] ?? 0;
  const child = spawn(
    process.execPath,
    [
      "bin/plan-runner.js",
      "controller",
      "--kubeconfig",
      cp.kubeconfigPath,
      "--namespace",
      "bench",
      "--leader-elect",
      "false",
      "--metrics-address",
      `127.0.0.1:${port}`,
      "--workers",
      "4",
    ],
    { stdio: ["ignore", "ignore", process.env["BENCH_LOG"] !== undefined ? openSync(process.env["BENCH_LOG"], "w") : "ignore"] },
  );
  try {
    const kube = new KubeAdapter({ kubeconfig: cp.kubeconfigPath });
    const crd = await cp.kubectl(["apply", "--server-side", "-f", "deploy/crd/plans.upgrade.cattle.io.yaml"]);
    if (crd.code !== 0) throw new Error(crd.stderr);
    await kube.create(resources.namespaces, undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name: "bench" } });
    await waitFor(
      async () => (await cp.kubectl(["get", "plans", "-n", "bench"])).code === 0 && (await cp.kubectl(["get", "sa", "default", "-n", "bench"])).code === 0,
      { timeoutMs: 60_000, what: "CRD and namespace ready" },
    );
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok, { timeoutMs: 60_000, what: "controller ready" });
    const before = await writes(port);
    const plan = {
      apiVersion: "upgrade.cattle.io/v1",
      kind: "Plan",
      metadata: { name: "bench", namespace: "bench", annotations: { "sim.plan-runner.dev/run-for": RUN_FOR } },
      spec: {
        concurrency: CONCURRENCY,
        version: "v1.0.0",
        nodeSelector: { matchExpressions: [{ key: "kubernetes.io/hostname", operator: "Exists" }] },
        tolerations: [{ operator: "Exists" }],
        upgrade: { image: "example.com/upgrade" },
      },
    };
    // Pod lifetimes as this process sees them through a watch (ms precision; API timestamps have 1 s).
    const seen = new Map<string, { added: number; done?: number }>();
    const abort = new AbortController();
    const watching = (async () => {
      // A watch can end (server timeout); resume it until the rollout is over.
      while (!abort.signal.aborted) {
        await kube
          .watch<Pod>(
            resources.pods,
            "bench",
            { timeoutSeconds: 600 },
            (e) => {
              if (e.type === "ERROR" || e.type === "BOOKMARK") return;
              const name = e.object.metadata.name;
              const entry = seen.get(name) ?? { added: Date.now() };
              seen.set(name, entry);
              if (entry.done === undefined && (e.object.status?.phase === "Succeeded" || e.object.status?.phase === "Failed")) entry.done = Date.now();
            },
            abort.signal,
          )
          .catch(() => {});
      }
    })();
    const start = Date.now();
    await kube.create(resources.plans, "bench", plan as unknown as PlanObject);
    await waitFor(
      async () =>
        (await kube.get<PlanObject>(resources.plans, "bench", "bench")).status?.conditions?.some((c) => c.type === "Complete" && c.status === "True") === true,
      { timeoutMs: 30 * 60_000, what: "the rollout to complete", intervalMs: 500 },
    );
    const wall = (Date.now() - start) / 1000;
    abort.abort();
    await watching;
    const after = await writes(port);
    const rss = peakRss(child.pid ?? 0);
    const pods = (await kube.list<Pod>(resources.pods, "bench")).items;
    const lifetimes = [...seen.values()].filter((x) => x.done !== undefined).map((x) => (x.done! - x.added) / 1000);
    const perPod = median(lifetimes);
    const waves = Math.ceil(NODES / CONCURRENCY);
    const ideal = waves * perPod;
    const byVerb = new Map<string, number>();
    for (const [k, v] of after) byVerb.set(k, v - (before.get(k) ?? 0));
    const totalWrites = [...byVerb.entries()].filter(([k]) => WRITE_VERBS.has(k.split(" ")[0] ?? "")).reduce((n, [, v]) => n + v, 0);
    const detail = [...byVerb.entries()]
      .filter(([k, v]) => WRITE_VERBS.has(k.split(" ")[0] ?? "") && v > 0)
      .map(([k, v]) => `${k}=${v}`)
      .join(", ");
    return {
      title: `rollout: ${NODES} simulated nodes, concurrency ${CONCURRENCY}, each upgrade pod runs ${RUN_FOR} (control plane up in ${startup.toFixed(0)}s)`,
      columns: ["measure", "value", "target"],
      rows: [
        ["wall time (s)", wall.toFixed(1), ""],
        ["ideal: waves x median pod lifetime (s)", `${waves} x ${perPod.toFixed(2)} = ${ideal.toFixed(1)}`, ""],
        ["wall / ideal", (wall / ideal).toFixed(2), "<= 1.5"],
        ["controller overhead per wave (s)", ((wall - ideal) / waves).toFixed(2), ""],
        ["API writes per node", (totalWrites / NODES).toFixed(2), "<= 8"],
        ["controller peak RSS (MiB)", rss.toFixed(0), "< 200"],
        ["upgrade pods created", pods.length, String(NODES)],
        ["pods timed by the watch", lifetimes.length, String(NODES)],
      ],
      notes: [
        `writes by verb and resource: ${detail}`,
        "pod lifetime: from the pod's creation to its Succeeded status, as a watch in this process saw them (kwok's own start and finish delays)",
      ],
    };
  } finally {
    child.kill("SIGTERM");
    await cp.stop();
  }
}

async function writes(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^plan_runner_api_requests_total\{verb="([^"]+)",resource="([^"]+)",code="([^"]+)"\} (\d+)/gm)) {
    const key = `${m[1]} ${m[2]}`;
    out.set(key, (out.get(key) ?? 0) + Number(m[4]));
  }
  return out;
}

export const rolloutBench: Bench = { name: "rollout", description: "a 1,000-node rollout on a real control plane", run };
