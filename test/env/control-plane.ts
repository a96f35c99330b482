import { spawn, spawnSync } from "node:child_process";
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ApiextensionsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, loadYaml, setHeaderOptions } from "@kubernetes/client-node";
import type { V1CustomResourceDefinition, V1Node } from "@kubernetes/client-node";
import { ensureControlPlaneBinaries } from "./binaries.ts";
import { freePorts } from "./free-port.ts";
import { probe } from "./http-probe.ts";
import { writeKubeconfig } from "./kubeconfig.ts";
import { criLogLines, kwokConfig, logsCrdPath } from "./kwok-config.ts";
import { defaultNodeSpecs, roleLabel, simulatedNode } from "./nodes.ts";
import type { NodeRole, SimulatedNodeSpec } from "./nodes.ts";
import { groupAlive, logTail, onExitCleanup, signalGroup, startComponent, stopGroups } from "./processes.ts";
import type { Component } from "./processes.ts";
import { cleanupScript, startRealNode } from "./real-node.ts";
import type { RealNodeHandle } from "./real-node.ts";
import { ensureNodeImages } from "./images.ts";
import { waitFor } from "./wait.ts";

export interface ControlPlaneOptions {
  /** How many simulated nodes (the first `controlPlaneNodes` are control-plane nodes), or each one spelled out. Default 1. */
  nodes?: number | SimulatedNodeSpec[];
  /** With a numeric `nodes`: how many of them are control-plane nodes. Default 1. */
  controlPlaneNodes?: number;
  /** Where kubeconfigs, keys and logs go. Default: a fresh temp dir. Removed by stop() either way. */
  dir?: string;
  /** Processes outlive this Node process (npm run cluster:up); stop with stopControlPlaneAt(dir). */
  detached?: boolean;
  /** Ready binaries; default ensureControlPlaneBinaries() (builds on first use). */
  binDir?: string;
  /** Deadline for everything up to "all nodes Ready". Default 120s (a cold API server on 2 busy cores). */
  startTimeoutMs?: number;
  /**
   * How long the simulated kubelets' node leases last (kwok renews each at a quarter of it).
   * Default 40 s, the kubelet's. At 1,000 nodes the renewals are the API server's busiest
   * request (100 a second); the bench lengthens them, and the node lifecycle controller's grace
   * period with them, so the controller is measured and not the heartbeats.
   */
  nodeLeaseSeconds?: number;
  /** Keep the run dir (logs!) after stop(). Default: env PLAN_RUNNER_KEEP_CLUSTER=1. */
  keepDir?: boolean;
  /** Progress lines; default silent. */
  log?: (line: string) => void;
}

export interface AddRealNodeInput {
  name: string;
  role?: NodeRole;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** OCI archives imported into the node's containerd; default: the upgrade and pause images (built on first use). */
  images?: readonly string[];
}

export interface ComponentInfo {
  name: string;
  pid: number;
  logPath: string;
}

export interface AddNodeInput {
  name: string;
  role?: NodeRole;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  kubeletVersion?: string;
}

export interface ControlPlane {
  readonly dir: string;
  readonly binDir: string;
  /** The Kubernetes version of the binaries (and the default kubeletVersion of simulated nodes). */
  readonly version: string;
  /** Admin (system:masters) kubeconfig. */
  readonly kubeconfigPath: string;
  readonly kubeConfig: KubeConfig;
  readonly server: string;
  readonly components: readonly ComponentInfo[];
  /** Creates a Node like a joining kubelet would and waits until it is Ready and schedulable. */
  addNode(input: AddNodeInput): Promise<V1Node>;
  /**
   * Starts a real node (containerd + the kubelet, in this process's own network namespace: see
   * test/env/netns.sh) and waits until it is Ready, labelled and schedulable. Stopped with the plane.
   */
  addRealNode(input: AddRealNodeInput): Promise<RealNodeHandle>;
  /** Deletes a Node (a machine leaving the cluster) and waits until the object is gone. */
  removeNode(name: string): Promise<void>;
  /** What `kubectl logs` shows for a pod's container (all containers when `container` is omitted). */
  setPodLogs(namespace: string, pod: string, lines: readonly string[], container?: string): Promise<void>;
  /** A fresh namespace whose default ServiceAccount exists, so pods can be created in it at once. */
  createNamespace(prefix: string): Promise<string>;
  kubectl(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }>;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** What a detached control plane leaves in its dir so another process can find and stop it. */
export interface ControlPlaneState {
  binDir: string;
  server: string;
  kubeconfigPath: string;
  etcdDataDir: string;
  components: ComponentInfo[];
  startedAt: string;
}

const statePath = (dir: string): string => join(dir, "state.json");
const pgidsPath = (dir: string): string => join(dir, "pgids");

class StartError extends Error {
  constructor(
    message: string,
    readonly portInUse: boolean,
  ) {
    super(message);
    this.name = "ControlPlaneStartError";
  }
}

/**
 * A real control plane on this machine: etcd (data in /dev/shm, no fsync), kube-apiserver (token
 * auth, RBAC), kube-controller-manager, kube-scheduler, and kwok playing the kubelet of every
 * simulated Node. Resolves once every node is Ready and untainted and the controller manager has
 * created the default ServiceAccount. Port races with other processes are retried.
 */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const binDir = options.binDir ?? (await ensureControlPlaneBinaries());
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options, binDir);
    } catch (e: unknown) {
      if (!(e instanceof StartError && e.portInUse && attempt < 3)) throw e;
      options.log?.(`a port was taken while starting; retrying (attempt ${attempt + 1})`);
    }
  }
}

async function startOnce(options: ControlPlaneOptions, binDir: string): Promise<ControlPlane> {
  const t0 = Date.now();
  const log = options.log ?? (() => undefined);
  const leaseSeconds = options.nodeLeaseSeconds ?? 40;
  const deadline = t0 + (options.startTimeoutMs ?? 120_000);
  const left = (): number => Math.max(1, deadline - Date.now());
  const keepDir = options.keepDir ?? process.env["PLAN_RUNNER_KEEP_CLUSTER"] === "1";
  const version = /k8s-(v[^_/]+)/.exec(binDir)?.[1] ?? "v0.0.0";

  const dir = resolve(options.dir ?? mkdtempSync(join(tmpdir(), "plan-runner-cp-")));
  if (existsSync(statePath(dir))) throw new Error(`${dir} already holds a running control plane (state.json); stop it first`);
  mkdirSync(join(dir, "pki"), { recursive: true });
  mkdirSync(join(dir, "logs"), { recursive: true });
  const etcdDataDir = existsSync("/dev/shm") ? mkdtempSync("/dev/shm/plan-runner-etcd-") : join(dir, "etcd");

  const components: Component[] = [];
  let reaperPid: number | undefined;
  let stopped = false;
  let starting = true;

  const killAllSync = (): void => {
    if (existsSync(join(dir, "nodes"))) spawnSync("bash", [cleanupScript, join(dir, "nodes"), realNodeCgroupPrefix(dir)], { stdio: "ignore" });
    for (const c of components) signalGroup(c.pid, "SIGKILL");
    removeDirs();
  };
  const removeDirs = (): void => {
    rmSync(etcdDataDir, { recursive: true, force: true });
    if (!keepDir) rmSync(dir, { recursive: true, force: true });
  };
  const unhook = options.detached ? () => true : onExitCleanup(killAllSync);
  if (!options.detached) reaperPid = startReaper(dir, etcdDataDir, keepDir);
  const realNodes: RealNodeHandle[] = [];

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const n of realNodes) await n.stop();
    await stopGroups(components.map((c) => c.pid));
    if (reaperPid !== undefined) signalGroup(reaperPid, "SIGKILL");
    removeDirs();
    unhook();
  };

  // A component that dies while we wait for the cluster fails the start at once, with its log.
  const startup = new AbortController();
  const launch = (name: string, args: string[], command = join(binDir, name)): Component => {
    const c = startComponent({ name, command, args, logPath: join(dir, "logs", `${name}.log`) });
    components.push(c);
    writeFileSync(pgidsPath(dir), components.map((x) => `${x.pid}\n`).join(""));
    void c.exited.then((s) => {
      const how = s.signal ?? `code ${s.code}`;
      if (starting) {
        const tail = logTail(c.logPath);
        startup.abort(new StartError(`${name} exited (${how}) during start-up; its log ends:\n${tail}`, /address already in use/.test(tail)));
      } else if (!stopped) {
        process.stderr.write(`[control-plane] ${name} exited (${how}) unexpectedly; log: ${c.logPath}\n${logTail(c.logPath, 20)}\n`);
      }
    });
    return c;
  };
  const wait = <T>(fn: () => T | undefined | null | false | Promise<T | undefined | null | false>, what: string): Promise<T> =>
    waitFor(fn, { timeoutMs: left(), what, signal: startup.signal });

  try {
    const pki = join(dir, "pki");
    const { privateKey, publicKey } = generateKeyPairSync("ec", {
      namedCurve: "prime256v1",
      privateKeyEncoding: { type: "sec1", format: "pem" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    });
    writeFileSync(join(pki, "sa.key"), privateKey, { mode: 0o600 });
    writeFileSync(join(pki, "sa.pub"), publicKey);
    const token = (): string => randomBytes(24).toString("hex");
    const users = {
      admin: { token: token(), name: "plan-runner-admin", groups: "system:masters" },
      controllerManager: { token: token(), name: "system:kube-controller-manager", groups: "" },
      scheduler: { token: token(), name: "system:kube-scheduler", groups: "" },
      kwok: { token: token(), name: "kwok", groups: "system:masters" },
      // Real nodes' kubelets (test only: the Node authorizer is not enabled here).
      kubelet: { token: token(), name: "plan-runner-kubelet", groups: "system:masters" },
    };
    writeFileSync(
      join(pki, "tokens.csv"),
      Object.values(users)
        .map((u) => `${u.token},${u.name},${u.name},"${u.groups}"\n`)
        .join(""),
      { mode: 0o600 },
    );

    const [etcdPort, etcdPeerPort, apiPort, kubeletPort] = (await freePorts(4)) as [number, number, number, number];
    const server = `https://127.0.0.1:${apiPort}`;

    log(`etcd on 127.0.0.1:${etcdPort}, data in ${etcdDataDir}`);
    launch("etcd", [
      "--name=plan-runner",
      `--data-dir=${etcdDataDir}`,
      `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-cluster=plan-runner=http://127.0.0.1:${etcdPeerPort}`,
      "--unsafe-no-fsync",
      "--log-level=warn",
    ]);
    await wait(async () => (await probe(`http://127.0.0.1:${etcdPort}/health`)).body.includes('"health":"true"'), "etcd /health");

    log(`kube-apiserver on ${server}`);
    launch("kube-apiserver", [
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${apiPort}`,
      `--cert-dir=${pki}`,
      "--service-cluster-ip-range=10.96.0.0/12",
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-account-key-file=${join(pki, "sa.pub")}`,
      `--service-account-signing-key-file=${join(pki, "sa.key")}`,
      `--token-auth-file=${join(pki, "tokens.csv")}`,
      "--authorization-mode=RBAC",
      "--allow-privileged=true",
      "--kubelet-preferred-address-types=InternalIP,Hostname",
      // The API server's own Endpoints would carry 127.0.0.1, which Endpoints validation forbids.
      "--endpoint-reconciler-type=none",
      "--profiling=false",
    ]);
    await wait(async () => (await probe(`${server}/readyz`, users.admin.token)).status === 200, "kube-apiserver /readyz");

    // Written by the API server at start-up: its serving cert followed by the CA that signed it.
    const caPem = readFileSync(join(pki, "apiserver.crt"), "utf8");
    const kubeconfigPath = join(dir, "kubeconfig");
    writeKubeconfig(kubeconfigPath, { server, caPem, user: users.admin.name, token: users.admin.token });
    const kubeconfigFor = (name: string, u: { name: string; token: string }): string => {
      const p = join(dir, `${name}.kubeconfig`);
      writeKubeconfig(p, { server, caPem, user: u.name, token: u.token });
      return p;
    };

    log("kube-controller-manager, kube-scheduler");
    launch("kube-controller-manager", [
      `--kubeconfig=${kubeconfigFor("kube-controller-manager", users.controllerManager)}`,
      "--leader-elect=false",
      "--bind-address=127.0.0.1",
      "--secure-port=0",
      `--service-account-private-key-file=${join(pki, "sa.key")}`,
      `--root-ca-file=${join(pki, "apiserver.crt")}`,
      // As kubeadm runs it: each controller acts as its own ServiceAccount with its own
      // bootstrap role; the kube-controller-manager user alone may not patch ClusterRoles etc.
      "--use-service-account-credentials=true",
      "--cluster-name=plan-runner",
      // A node whose lease was renewed within this is alive: longer than a renewal interval.
      `--node-monitor-grace-period=${Math.max(50, Math.ceil(leaseSeconds * 1.25))}s`,
      // The default 20 QPS makes untainting 1,000 new nodes take over a minute.
      "--kube-api-qps=500",
      "--kube-api-burst=1000",
      "--profiling=false",
    ]);
    launch("kube-scheduler", [
      `--kubeconfig=${kubeconfigFor("kube-scheduler", users.scheduler)}`,
      "--leader-elect=false",
      "--kube-api-qps=500",
      "--kube-api-burst=1000",
      "--bind-address=127.0.0.1",
      "--secure-port=0",
      "--profiling=false",
    ]);

    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kubeconfigPath);
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const extensions = kubeConfig.makeApiClient(ApiextensionsV1Api);
    const custom = kubeConfig.makeApiClient(CustomObjectsApi);

    const crd = loadYaml<V1CustomResourceDefinition>(readFileSync(logsCrdPath, "utf8"));
    await extensions.createCustomResourceDefinition({ body: crd });
    await wait(async () => {
      const got = await extensions.readCustomResourceDefinition({ name: crd.metadata?.name ?? "" });
      return got.status?.conditions?.some((c) => c.type === "Established" && c.status === "True");
    }, "the kwok Logs CRD to be established");

    const specs =
      typeof options.nodes === "object"
        ? options.nodes
        : defaultNodeSpecs(Math.min(options.controlPlaneNodes ?? 1, options.nodes ?? 1), Math.max(0, (options.nodes ?? 1) - (options.controlPlaneNodes ?? 1)));
    const names = new Set(specs.map((s) => s.name));
    if (names.size !== specs.length) throw new Error("simulated node names must be unique");
    // Sixteen creates in flight: a 1,000-node cluster registers in seconds, not one RTT per node.
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(16, specs.length) }, async () => {
        while (next < specs.length) {
          const ordinal = ++next;
          const spec = specs[ordinal - 1] as SimulatedNodeSpec;
          await core.createNode({ body: simulatedNode(spec, ordinal, { kubeletVersion: version }) });
        }
      }),
    );
    let ordinal = specs.length;

    const defaultLogsFile = join(dir, "logs", "default-container.log");
    writeFileSync(defaultLogsFile, criLogLines(["simulated container (kwok): no log lines were set for it"]));
    const kwokConfigPath = join(dir, "kwok.yaml");
    writeFileSync(kwokConfigPath, kwokConfig({ kubeletPort, defaultLogsFile, nodeLeaseSeconds: leaseSeconds }));
    log(`kwok (kubelet API on :${kubeletPort}) for ${specs.length} node(s)`);
    launch("kwok", [`--kubeconfig=${kubeconfigFor("kwok", users.kwok)}`, `--config=${kwokConfigPath}`]);

    const nodesReady = async (wanted: ReadonlySet<string>): Promise<boolean> => {
      const list = await core.listNode();
      const ready = list.items.filter((n) => wanted.has(n.metadata?.name ?? "") && schedulable(n));
      return ready.length === wanted.size;
    };
    await wait(() => nodesReady(names), `${names.size} node(s) to be Ready without not-ready taints`);
    await wait(
      async () => (await core.readNamespacedServiceAccount({ name: "default", namespace: "default" })).metadata?.name,
      "kube-controller-manager to create the default ServiceAccount",
    );
    starting = false;
    log(`control plane ready in ${Date.now() - t0}ms`);

    const infos: ComponentInfo[] = components.map((c) => ({ name: c.name, pid: c.pid, logPath: c.logPath }));
    const state: ControlPlaneState = {
      binDir,
      server,
      kubeconfigPath,
      etcdDataDir,
      components: infos,
      startedAt: new Date().toISOString(),
    };
    writeFileSync(statePath(dir), JSON.stringify(state, null, 2));

    const podLogs = new Map<string, { containers?: string[]; logsFile: string }[]>();
    const plane: ControlPlane = {
      dir,
      binDir,
      version,
      kubeconfigPath,
      kubeConfig,
      server,
      components: infos,
      async addNode(input) {
        ordinal++;
        const spec: SimulatedNodeSpec = { role: "worker", ...input };
        const node = await core.createNode({ body: simulatedNode(spec, ordinal, { kubeletVersion: version }) });
        names.add(input.name);
        await waitFor(() => nodesReady(new Set([input.name])), { timeoutMs: 60_000, what: `node ${input.name} to be Ready` });
        return node;
      },
      async addRealNode(input) {
        if (names.has(input.name)) throw new Error(`node ${input.name} already exists`);
        const images = input.images ?? (await ensureNodeImages());
        const [kubeletPort, healthzPort] = (await freePorts(2)) as [number, number];
        const handle = await startRealNode(
          {
            dir: join(dir, "nodes", input.name),
            cgroupPrefix: realNodeCgroupPrefix(dir),
            index: realNodes.length + 1,
            binDir,
            server,
            caPem,
            token: users.kubelet.token,
            kubeletPort,
            healthzPort,
            log,
            launch: (name, command, args) => launch(name, args, command),
          },
          input.name,
          images,
        );
        realNodes.push(handle);
        names.add(input.name);
        const role = input.role ?? "worker";
        try {
          await waitFor(async () => (await core.readNode({ name: input.name })).metadata?.uid, {
            timeoutMs: 60_000,
            what: `the kubelet of ${input.name} to register its Node (log: ${handle.kubeletLog})`,
          });
          // The kubelet may not set node-role labels on itself: the harness does, as kubeadm would.
          await core.patchNode(
            {
              name: input.name,
              body: { metadata: { labels: { [roleLabel(role)]: "", ...input.labels }, annotations: { ...input.annotations } } },
            },
            setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
          );
          await waitFor(() => nodesReady(new Set([input.name])), {
            timeoutMs: 90_000,
            what: `real node ${input.name} to be Ready (kubelet log: ${handle.kubeletLog})`,
          });
        } catch (e: unknown) {
          process.stderr.write(`--- ${handle.kubeletLog} ---\n${logTail(handle.kubeletLog, 30)}\n`);
          throw e;
        }
        return handle;
      },
      async removeNode(name) {
        await core.deleteNode({ name });
        names.delete(name);
        await waitFor(
          async () => {
            try {
              await core.readNode({ name });
              return false;
            } catch (e: unknown) {
              return httpStatus(e) === 404;
            }
          },
          { timeoutMs: 60_000, what: `node ${name} to be deleted` },
        );
      },
      async setPodLogs(namespace, pod, lines, container) {
        const key = `${namespace}/${pod}`;
        const logsFile = join(dir, "logs", `pod_${namespace}_${pod}_${container ?? "all"}_${Date.now()}.log`);
        writeFileSync(logsFile, criLogLines(lines));
        const entries = (podLogs.get(key) ?? []).filter((e) => (e.containers?.[0] ?? "") !== (container ?? ""));
        // kwok takes the first entry naming the container, else the first without containers.
        entries.unshift(container === undefined ? { logsFile } : { containers: [container], logsFile });
        podLogs.set(key, entries);
        const body = {
          apiVersion: "kwok.x-k8s.io/v1alpha1",
          kind: "Logs",
          metadata: { name: pod, namespace },
          spec: { logs: entries },
        };
        const ref = { group: "kwok.x-k8s.io", version: "v1alpha1", plural: "logs", namespace };
        try {
          await custom.createNamespacedCustomObject({ ...ref, body });
        } catch (e: unknown) {
          if (httpStatus(e) !== 409) throw e;
          const current = (await custom.getNamespacedCustomObject({ ...ref, name: pod })) as { metadata: { resourceVersion: string } };
          await custom.replaceNamespacedCustomObject({
            ...ref,
            name: pod,
            body: { ...body, metadata: { ...body.metadata, resourceVersion: current.metadata.resourceVersion } },
          });
        }
      },
      async createNamespace(prefix) {
        const ns = await core.createNamespace({ body: { metadata: { generateName: `${prefix}-` } } });
        const name = ns.metadata?.name ?? "";
        await waitFor(async () => (await core.readNamespacedServiceAccount({ name: "default", namespace: name })).metadata?.name, {
          timeoutMs: 30_000,
          what: `the default ServiceAccount in ${name}`,
        });
        return name;
      },
      kubectl: (args) => runKubectl(binDir, kubeconfigPath, args),
      stop,
      [Symbol.asyncDispose]: stop,
    };
    return plane;
  } catch (e: unknown) {
    starting = false;
    stopped = true;
    const message = e instanceof Error ? e.message : String(e);
    const tails = components.map((c) => `--- ${c.name} (${c.logPath}) ---\n${logTail(c.logPath, 25)}`).join("\n");
    for (const c of components) signalGroup(c.pid, "SIGKILL");
    if (reaperPid !== undefined) signalGroup(reaperPid, "SIGKILL");
    removeDirs();
    unhook();
    const portInUse = e instanceof StartError && e.portInUse;
    const kept = keepDir ? `kept ${dir}` : "run dir removed; PLAN_RUNNER_KEEP_CLUSTER=1 keeps it";
    const detail = `control plane failed to start after ${Date.now() - t0}ms (${kept}): ${message}\n${tails}`;
    if (!portInUse) process.stderr.write(`${detail}\n`);
    throw new StartError(detail, portInUse);
  }
}

/** Every real node's cgroups start with this, unique per run dir, so a cleanup finds exactly its own. */
function realNodeCgroupPrefix(dir: string): string {
  return `plan-runner-${createHash("sha256").update(dir).digest("hex").slice(0, 10)}-`;
}

/** Ready=True and none of the taints the node lifecycle controller sets on unready nodes. */
function schedulable(n: V1Node): boolean {
  const ready = n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
  const tainted = n.spec?.taints?.some((t) => t.key === "node.kubernetes.io/not-ready" || t.key === "node.kubernetes.io/unreachable") ?? false;
  return ready && !tainted;
}

function httpStatus(e: unknown): number | undefined {
  return typeof e === "object" && e !== null && "code" in e && typeof e.code === "number" ? e.code : undefined;
}

/**
 * A watchdog for SIGKILL of the test process, which no exit hook survives: once its parent is
 * gone it kills every process group listed in the run dir and removes the dirs. Polling once a
 * second is fine here: it never delays a test, only bounds how long orphans live.
 */
function startReaper(dir: string, etcdDataDir: string, keepDir: boolean): number | undefined {
  const script = [
    'parent="$1"; dir="$2"; data="$3"; keep="$4"; cleanup="$5"; prefix="$6"',
    'while kill -0 "$parent" 2>/dev/null; do sleep 1; done',
    '[ -d "$dir/nodes" ] && bash "$cleanup" "$dir/nodes" "$prefix"',
    'if [ -f "$dir/pgids" ]; then while read -r g; do kill -9 "-$g" 2>/dev/null; done < "$dir/pgids"; fi',
    'rm -rf -- "$data"',
    '[ "$keep" = 1 ] || rm -rf -- "$dir"',
  ].join("\n");
  const args = [String(process.pid), dir, etcdDataDir, keepDir ? "1" : "0", cleanupScript, realNodeCgroupPrefix(dir)];
  const child = spawn("sh", ["-c", script, "reaper", ...args], {
    detached: true,
    stdio: "ignore",
  });
  child.on("error", () => undefined);
  child.unref();
  return child.pid;
}

function runKubectl(binDir: string, kubeconfigPath: string, args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(join(binDir, "kubectl"), [`--kubeconfig=${kubeconfigPath}`, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.once("error", reject);
    child.once("close", (code) => resolvePromise({ code, stdout, stderr }));
  });
}

/**
 * Stops a control plane started with `detached: true` (possibly by another process) from the
 * state it left in `dir`, then removes the dir and the etcd data. Returns false if none was there.
 */
export async function stopControlPlaneAt(dir: string): Promise<boolean> {
  const abs = resolve(dir);
  const state = existsSync(statePath(abs)) ? (JSON.parse(readFileSync(statePath(abs), "utf8")) as ControlPlaneState) : undefined;
  const listed = existsSync(pgidsPath(abs)) ? readFileSync(pgidsPath(abs), "utf8").split("\n").filter(Boolean).map(Number) : [];
  if (listed.length === 0 && state === undefined) return false;
  // After a reboot the recorded ids may belong to strangers: only signal our own binaries.
  const pgids = listed.filter((pid) => state === undefined || startedFrom(pid, state.binDir));
  await stopGroups(pgids);
  if (state !== undefined) rmSync(state.etcdDataDir, { recursive: true, force: true });
  rmSync(abs, { recursive: true, force: true });
  return true;
}

/**
 * The state of a detached control plane in `dir` if every one of its components still runs;
 * undefined if there is none or it is (partly) dead.
 */
export function runningControlPlaneAt(dir: string): ControlPlaneState | undefined {
  const p = statePath(resolve(dir));
  if (!existsSync(p)) return undefined;
  const state = JSON.parse(readFileSync(p, "utf8")) as ControlPlaneState;
  const alive = state.components.every((c) => groupAlive(c.pid) && startedFrom(c.pid, state.binDir));
  return alive ? state : undefined;
}

function startedFrom(pid: number, binDir: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith(`${binDir}/`);
  } catch {
    return !existsSync("/proc/self");
  }
}
