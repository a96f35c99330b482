// A real node beside the simulated ones: Debian's containerd + runc and a kubelet built at the
// control plane's version, inside the test's own network namespace (test/env/netns.sh) with a
// private node address on its `lo`. Its pods are real containers from locally built images,
// imported into its own containerd; kwok leaves it alone (it only plays nodes annotated fake).
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { stringify } from "yaml";
import { writeKubeconfig } from "./kubeconfig.ts";
import { waitFor } from "./wait.ts";

const run = promisify(execFile);
export const cleanupScript = fileURLToPath(new URL("./real-node-cleanup.sh", import.meta.url));

/** The sandbox (pause) image the kubelet's pods start with; made locally by scripts/build-image.sh. */
export const PAUSE_IMAGE = "registry.k8s.io/pause:3.10";
/** Where Debian's containernetworking-plugins puts the loopback plugin. */
const CNI_BIN_DIR = "/usr/lib/cni";
const CGROUP_HIERARCHIES = ["blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids", "systemd", "unified"];

/** Private node addresses: 10.217.0.1 is the namespace's own, real nodes get .11, .12, ... */
export const realNodeIP = (index: number): string => `10.217.0.${10 + index}`;

/** Throws unless this process runs in the network namespace test/env/netns.sh made. */
export function assertOwnNetns(): void {
  const expected = process.env["PLAN_RUNNER_NETNS"];
  const actual = readlinkSync("/proc/self/ns/net");
  if (expected === undefined || expected !== actual) {
    throw new Error(
      "real nodes need a network namespace of the test's own (their node address must not exist in the machine's): " +
        "run the tests through test/env/netns.sh (npm run test:integration does)",
    );
  }
}

export interface RealNodeContext {
  /** The node's own directory (state, logs, sockets); removed by the cleanup. */
  dir: string;
  /** The cgroup every container of this node lives under: cgroupPrefix + node name. */
  cgroupPrefix: string;
  index: number;
  binDir: string;
  server: string;
  caPem: string;
  /** A bearer token the kubelet authenticates with. */
  token: string;
  kubeletPort: number;
  healthzPort: number;
  log: (line: string) => void;
  launch: (name: string, command: string, args: string[]) => { pid: number; logPath: string };
}

export interface RealNodeHandle {
  readonly name: string;
  readonly ip: string;
  readonly dir: string;
  readonly containerdSocket: string;
  readonly kubeletLog: string;
  readonly containerdLog: string;
  /** `ctr` against this node's containerd, in the k8s.io namespace. */
  ctr(args: readonly string[]): Promise<string>;
  /** Everything the node started, killed; its mounts and cgroups removed. */
  stop(): Promise<void>;
}

export async function startRealNode(ctx: RealNodeContext, name: string, images: readonly string[]): Promise<RealNodeHandle> {
  assertOwnNetns();
  for (const tool of ["/usr/bin/containerd", "/usr/bin/ctr", "/usr/sbin/runc", `${CNI_BIN_DIR}/loopback`, join(ctx.binDir, "kubelet")]) {
    if (!existsSync(tool)) throw new Error(`a real node needs ${tool}: run scripts/setup.sh --all`);
  }
  const ip = realNodeIP(ctx.index);
  await run("ip", ["addr", "add", `${ip}/32`, "dev", "lo"]).catch((e: { stderr?: string }) => {
    // Already there: an earlier test file in this namespace gave a node this address.
    if (!/File exists|already assigned/.test(e.stderr ?? "")) throw e;
  });

  const d = (p: string): string => join(ctx.dir, p);
  for (const p of ["containerd/root", "containerd/state", "cni", "kubelet", "pod-logs", "certs", "opt"]) mkdirSync(d(p), { recursive: true });
  const socket = d("containerd.sock");
  const cgroupRoot = `/${ctx.cgroupPrefix}${name}`;
  makeCgroupRoot(cgroupRoot);

  writeFileSync(d("cni/10-loopback.conflist"), JSON.stringify({ cniVersion: "1.0.0", name: "plan-runner-loopback", plugins: [{ type: "loopback" }] }));
  writeFileSync(d("containerd.toml"), containerdConfig({ dir: ctx.dir, socket }));
  const containerd = ctx.launch(`containerd-${name}`, "/usr/bin/containerd", ["--config", d("containerd.toml")]);
  const ctr = async (args: readonly string[]): Promise<string> =>
    (await run("/usr/bin/ctr", ["--address", socket, "--namespace", "k8s.io", ...args], { maxBuffer: 16 * 1024 * 1024 })).stdout;
  await waitFor(() => ctr(["version"]).then(() => true), { timeoutMs: 30_000, what: `containerd of ${name} to answer on ${socket}` });

  for (const archive of images) {
    ctx.log(`${name}: importing ${archive}`);
    await ctr(["images", "import", "--all-platforms", archive]);
  }
  const listed = await ctr(["images", "list", "--quiet"]);
  if (!listed.split("\n").includes(PAUSE_IMAGE)) throw new Error(`${name}: the pause image ${PAUSE_IMAGE} is not among the imported images:\n${listed}`);

  writeKubeconfig(d("kubelet.kubeconfig"), { server: ctx.server, caPem: ctx.caPem, user: `system:node:${name}`, token: ctx.token });
  writeFileSync(d("kubelet.yaml"), kubeletConfig({ ip, socket, cgroupRoot, podLogsDir: d("pod-logs"), port: ctx.kubeletPort, healthzPort: ctx.healthzPort }));
  const kubelet = ctx.launch(`kubelet-${name}`, join(ctx.binDir, "kubelet"), [
    `--config=${d("kubelet.yaml")}`,
    `--kubeconfig=${d("kubelet.kubeconfig")}`,
    `--root-dir=${d("kubelet")}`,
    `--cert-dir=${d("certs")}`,
    `--hostname-override=${name}`,
    `--node-ip=${ip}`,
    "--v=1",
  ]);

  let stopped = false;
  return {
    name,
    ip,
    dir: ctx.dir,
    containerdSocket: socket,
    kubeletLog: kubelet.logPath,
    containerdLog: containerd.logPath,
    ctr,
    async stop() {
      if (stopped) return;
      stopped = true;
      await run("bash", [cleanupScript, ctx.dir, ctx.cgroupPrefix + name]);
    },
  };
}

/**
 * The kubelet (cgroupfs driver) wants its cgroup root to exist in every hierarchy; cpuset's
 * must also be given the CPUs and memory nodes before anything can join it.
 */
function makeCgroupRoot(cgroupRoot: string): void {
  for (const h of CGROUP_HIERARCHIES) {
    const base = `/sys/fs/cgroup/${h}`;
    if (!existsSync(base)) continue;
    mkdirSync(`${base}${cgroupRoot}`, { recursive: true });
    if (h === "cpuset") {
      for (const f of ["cpuset.cpus", "cpuset.mems"]) writeFileSync(`${base}${cgroupRoot}/${f}`, readFileSync(`${base}/${f}`, "utf8"));
    }
  }
}

function containerdConfig(o: { dir: string; socket: string }): string {
  const cri = `plugins."io.containerd.grpc.v1.cri"`;
  // Written by hand rather than with a TOML library: the keys below are all there is.
  return `version = 2
root = "${o.dir}/containerd/root"
state = "${o.dir}/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "${o.socket}"

[ttrpc]
  address = "${o.socket}.ttrpc"

[debug]
  level = "warn"

[plugins."io.containerd.internal.v1.opt"]
  path = "${o.dir}/opt"

[${cri}]
  sandbox_image = "${PAUSE_IMAGE}"
  # Without it every sandbox fails "can't get final child's PID from pipe: EOF" here (the
  # sandbox may not lower oom_score_adj).
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
  max_container_log_line_size = 16384

[${cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[${cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[${cri}.containerd.runtimes.runc.options]
  SystemdCgroup = false
  BinaryName = "/usr/sbin/runc"

[${cri}.cni]
  bin_dir = "${CNI_BIN_DIR}"
  conf_dir = "${o.dir}/cni"
`;
}

function kubeletConfig(o: { ip: string; socket: string; cgroupRoot: string; podLogsDir: string; port: number; healthzPort: number }): string {
  return stringify({
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    address: o.ip,
    port: o.port,
    readOnlyPort: 0,
    healthzBindAddress: o.ip,
    healthzPort: o.healthzPort,
    containerRuntimeEndpoint: `unix://${o.socket}`,
    cgroupDriver: "cgroupfs",
    cgroupRoot: o.cgroupRoot,
    // 1.35+ refuses cgroup v1 otherwise, and this machine has v1.
    failCgroupV1: false,
    failSwapOn: false,
    podLogsDir: o.podLogsDir,
    // The API server reads logs through the kubelet API; in a test anyone on this namespace may.
    authentication: { anonymous: { enabled: true }, webhook: { enabled: false } },
    authorization: { mode: "AlwaysAllow" },
    // Images are imported, never pulled: nothing may collect them.
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    imageMinimumGCAge: "87600h",
    evictionHard: { "memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%", "nodefs.inodesFree": "1%" },
    serializeImagePulls: false,
    resolvConf: "",
    nodeStatusUpdateFrequency: "4s",
    nodeStatusReportFrequency: "10s",
    syncFrequency: "10s",
    shutdownGracePeriod: "0s",
  });
}
