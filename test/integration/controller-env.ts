// What the controller's integration tests share: one real control plane per test file, a
// namespace per test, the controller run in-process (fast) or as a child process (for
// SIGKILL and two-replica tests), and a watch on pods that measures concurrency from what
// the API server saw, not from what the controller reports.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse, stringify } from "yaml";
import { Controller, type ControllerConfig } from "../../src/controller/wiring/process.ts";
import { ControllerDefaults } from "../../src/controller/wiring/defaults.ts";
import { aPlan as aPlanBuilder } from "../fixtures/builders.ts";
import { KubeAdapter } from "../../src/controller/kube/adapter.ts";
import type { Node, Pod } from "../../src/controller/rollout/objects.ts";
import { type Logger, silentLogger, jsonLogger } from "../../src/controller/wiring/log.ts";
import { Metrics } from "../../src/controller/wiring/metrics.ts";
import { KubeError, resources } from "../../src/controller/kube/ports.ts";
import type { PlanObject } from "../../src/controller/wiring/reconciler.ts";
import type { Plan } from "../../src/generated/plan.ts";
import { type ControlPlane, startControlPlane } from "../env/control-plane.ts";
import type { SimulatedNodeSpec } from "../env/nodes.ts";
import { waitFor } from "../env/wait.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
export const crdPath = `${root}deploy/crd/plans.upgrade.cattle.io.yaml`;

export interface Env {
  readonly cp: ControlPlane;
  readonly kube: KubeAdapter;
  stop(): Promise<void>;
}

/** `nodes`: how many simulated nodes (the first `controlPlaneNodes` control planes), or each one spelled out. */
export async function startEnv(nodes: number | SimulatedNodeSpec[], controlPlaneNodes = 1): Promise<Env> {
  const cp = await startControlPlane({ nodes, controlPlaneNodes });
  try {
    const r = await cp.kubectl(["apply", "--server-side", "-f", crdPath]);
    if (r.code !== 0) throw new Error(`applying the CRD failed: ${r.stderr}`);
    await waitFor(async () => (await cp.kubectl(["get", "plans", "-A"])).code === 0, { timeoutMs: 30_000, what: "the Plan CRD to be served" });
  } catch (e: unknown) {
    await cp.stop();
    throw e;
  }
  return { cp, kube: new KubeAdapter({ kubeconfig: cp.kubeconfigPath }), stop: () => cp.stop() };
}

/** Timings small enough for tests; everything else as in production. */
export function testConfig(namespace: string, overrides: Partial<ControllerConfig> = {}): ControllerConfig {
  return {
    ...ControllerDefaults,
    namespace,
    relistMs: 60_000,
    leaderElection: false,
    leaseName: "plan-runner-leader",
    leaseDurationMs: 3000,
    renewDeadlineMs: 2000,
    retryPeriodMs: 500,
    metricsAddress: undefined,
    identity: `test-${randomBytes(3).toString("hex")}`,
    pollIntervalMs: 2000,
    defaultBackoffMs: 500,
    channelPollMs: 2000,
    channelTimeoutMs: 2000,
    alertsCacheMs: 500,
    protectedPods: new Set(),
    ...overrides,
  };
}

export interface RunningController {
  readonly controller: Controller;
  readonly metrics: Metrics;
  stop(): Promise<void>;
}

export async function runController(
  env: Env,
  namespace: string,
  overrides: Partial<ControllerConfig> = {},
  kubeconfig = env.cp.kubeconfigPath,
  /** Each request the controller sends (deploy-rbac.test.ts measures what it calls). */
  onRequest?: (verb: string, path: string, code: number) => void,
): Promise<RunningController> {
  const metrics = new Metrics(false);
  const kube = new KubeAdapter({
    kubeconfig,
    onRequest: (verb, resource, code, path) => {
      metrics.apiRequests.inc({ verb, resource, code: String(code) });
      onRequest?.(verb, path, code);
    },
  });
  const log = process.env["PLAN_RUNNER_TEST_LOG"] === "1" ? jsonLogger() : silentLogger;
  const controller = new Controller({ kube, metrics, log }, testConfig(namespace, overrides));
  await controller.start();
  return { controller, metrics, stop: () => controller.stop() };
}

/** A whole test file's world: the control plane with its simulated nodes, a namespace, and a controller in it. */
export async function startControllerEnv(
  nodes: number,
  controlPlaneNodes: number,
  namespace: string,
): Promise<{ env: Env; ns: string; ctl: RunningController }> {
  const env = await startEnv(nodes, controlPlaneNodes);
  const ns = await env.cp.createNamespace(namespace);
  return { env, ns, ctl: await runController(env, ns) };
}

/** Stops what startControllerEnv started (either may be missing if the start failed). */
export async function stopControllerEnv(ctl: RunningController | undefined, env: Env | undefined): Promise<void> {
  await ctl?.stop();
  await env?.stop();
}

/** The controller as its own OS process, as it runs in a pod; SIGKILL-able. */
export function spawnController(env: Env, namespace: string, extra: readonly string[] = []): ChildProcess & { output: () => string } {
  const args = [
    `${root}bin/plan-runner.js`,
    "controller",
    "--kubeconfig",
    env.cp.kubeconfigPath,
    "--namespace",
    namespace,
    "--metrics-address",
    "off",
    "--lease-duration",
    "3s",
    "--renew-deadline",
    "2s",
    "--retry-period",
    "500ms",
    "--poll-interval",
    "2s",
    ...extra,
  ];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
  let out = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (d: string) => {
    out = (out + d).slice(-200_000);
  });
  return Object.assign(child, { output: () => out });
}

/** The one Plan builder (test/fixtures/builders.ts), as these tests apply it: no nodeSelector unless the test gives one. */
export function aPlan(namespace: string, name: string, spec: Partial<Plan["spec"]>, annotations: Record<string, string> = {}): PlanObject {
  return aPlanBuilder(name)
    .inNamespace(namespace)
    .withAnnotations(annotations)
    .withVersion("v1.0.0")
    .withoutNodeSelector()
    .withUpgrade({ image: "example.com/upgrade" })
    .withSpec(spec)
    .build() as PlanObject;
}

export async function applyPlan(env: Env, plan: PlanObject): Promise<PlanObject> {
  try {
    return await env.kube.create(resources.plans, plan.metadata.namespace, plan);
  } catch (e: unknown) {
    if (!(e instanceof KubeError && e.alreadyExists)) throw e;
  }
  // A replace of what was read: the controller may write the status in between (409), then read again, as kubectl apply would not need to.
  for (let attempt = 1; ; attempt++) {
    const have = await env.kube.get<PlanObject>(resources.plans, plan.metadata.namespace, plan.metadata.name);
    try {
      return await env.kube.replace(resources.plans, plan.metadata.namespace, {
        ...plan,
        metadata: { ...plan.metadata, resourceVersion: have.metadata.resourceVersion },
      } as PlanObject);
    } catch (e: unknown) {
      if (!(e instanceof KubeError && e.conflict) || attempt >= 10) throw e;
    }
  }
}

export async function kubectlApply(env: Env, obj: unknown): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { writeFileSync, mkdtempSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const dir = mkdtempSync(`${tmpdir()}/plan-`);
  // JSON, not YAML: kubectl reads YAML 1.1, where a plain `yes` written by a YAML 1.2 library is a bool.
  writeFileSync(`${dir}/obj.json`, JSON.stringify(obj));
  return env.cp.kubectl(["apply", "-f", `${dir}/obj.json`]);
}

export function condition(plan: PlanObject | undefined, type: string): { status?: string; reason?: string; message?: string } | undefined {
  return plan?.status?.conditions?.find((c) => c.type === type);
}

export function waitForPlan(env: Env, namespace: string, name: string, what: string, ok: (p: PlanObject) => boolean, timeoutMs = 60_000): Promise<PlanObject> {
  return waitFor(
    async () => {
      const p = await env.kube.get<PlanObject>(resources.plans, namespace, name);
      if (ok(p)) return p;
      // Thrown, not returned: the timeout error then says what the Plan looked like last.
      const conditions = (p.status?.conditions ?? []).filter((c) => c.status === "True").map((c) => `${c.type}(${c.reason ?? ""}): ${c.message ?? ""}`);
      throw new Error(`state ${p.status?.state ?? "(none)"}; ${conditions.join("; ") || "no condition True"}`);
    },
    { timeoutMs, what: `Plan ${namespace}/${name}: ${what}`, intervalMs: 100 },
  );
}

export const listPods = async (env: Env, namespace: string): Promise<Pod[]> => (await env.kube.list<Pod>(resources.pods, namespace)).items;
export const getNode = (env: Env, name: string): Promise<Node> => env.kube.get<Node>(resources.nodes, undefined, name);

/** Labels nodes so only this test's Plans select them. */
export async function optIn(env: Env, nodes: readonly string[], label: string): Promise<void> {
  for (const n of nodes) await env.kube.patch(resources.nodes, undefined, n, { metadata: { labels: { [label]: "yes" } } });
}

/**
 * Watches the namespace's pods and records the most upgrade pods that were not finished at the
 * same time, per role, as the API server reported them.
 */
export class PodWatch {
  private readonly active = new Map<string, string>();
  maxActive = 0;
  readonly seen = new Map<string, Pod>();
  private readonly abort = new AbortController();
  private readonly done: Promise<void>;

  constructor(
    env: Env,
    namespace: string,
    private readonly role: "apply" | "prepare" = "apply",
  ) {
    this.done = env.kube
      .watch<Pod>(
        resources.pods,
        namespace,
        { allowWatchBookmarks: false },
        (e) => {
          if (e.type === "ERROR" || e.type === "BOOKMARK") return;
          const pod = e.object;
          if (pod.metadata.labels?.["plan-runner.dev/role"] !== this.role) return;
          this.seen.set(pod.metadata.name, pod);
          const node = pod.spec?.nodeName ?? "";
          if (!this.nodeOrder.includes(node)) this.nodeOrder.push(node);
          const finished = pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed" || e.type === "DELETED";
          if (finished) this.active.delete(pod.metadata.name);
          else this.active.set(pod.metadata.name, pod.spec?.nodeName ?? "");
          this.maxActive = Math.max(this.maxActive, new Set(this.active.values()).size);
        },
        this.abort.signal,
      )
      .catch(() => {});
  }

  /** Node names in the order their first pod appeared (watch events come in creation order). */
  readonly nodeOrder: string[] = [];

  async stop(): Promise<void> {
    this.abort.abort();
    await this.done;
  }
}

/**
 * SIGKILLs a child at a chosen moment and waits for it to be gone. The moment is the test's
 * input (a crash at an arbitrary instant), not a wait for a condition.
 */
export async function killAt(child: ChildProcess, ms: number): Promise<void> {
  const { setTimeout: sleep } = await import("node:timers/promises");
  await sleep(ms);
  child.kill("SIGKILL");
  if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once("exit", r));
}

/**
 * A kubeconfig that authenticates as a ServiceAccount (a token from the API server), so a
 * controller run with it has exactly the RBAC bound to that account, as in its pod.
 */
export async function serviceAccountKubeconfig(env: Env, namespace: string, name: string): Promise<string> {
  const token = await env.cp.kubectl(["create", "token", name, "-n", namespace, "--duration=1h"]);
  if (token.code !== 0) throw new Error(`kubectl create token ${name}: ${token.stderr}`);
  const admin = parse(readFileSync(env.cp.kubeconfigPath, "utf8")) as {
    clusters: unknown[];
    "current-context": string;
    contexts: Array<{ name: string; context: { cluster: string } }>;
  };
  const cluster = admin.contexts.find((c) => c.name === admin["current-context"])?.context.cluster;
  const path = `${env.cp.dir}/${namespace}.${name}.kubeconfig`;
  writeFileSync(
    path,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: admin.clusters,
      users: [{ name, user: { token: token.stdout.trim() } }],
      contexts: [{ name, context: { cluster, user: name } }],
      "current-context": name,
    }),
  );
  return path;
}

/** A logger that keeps every line as JSON, so a test can say what the controller logged, or never did. */
export function keptLogger(): { log: Logger; logs: string[] } {
  const logs: string[] = [];
  const keep =
    (level: string) =>
    (msg: string, fields?: Record<string, unknown>): void => {
      logs.push(JSON.stringify({ level, msg, ...fields }));
    };
  return { log: { debug: keep("debug"), info: keep("info"), warn: keep("warn"), error: keep("error") }, logs };
}
