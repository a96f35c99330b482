// One node's kubeadm upgrade (seed: update_k8s.sh, run over SSH by the Job chain), rebuilt so
// that every step first looks at the host and does only what is still missing: a node already
// at the target changes nothing, and a run killed at any step (drain, reboot, crash) is
// completed by simply running it again.
import { rewriteSourceMinor, sourceMinor } from "./apt-source.ts";
import { isAt, madisonVersions, packageStates, type PackageState } from "./packages.ts";
import { APT_ENV, type ProcedureDeps } from "./procedure.ts";
import { StepFailure, checkFailed } from "./step-failure.ts";
import { compareParts, debianUpstream, versionParts, type Release } from "./versions.ts";

export type Role = "control-plane" | "worker";
export const ROLES: readonly Role[] = ["control-plane", "worker"];

export interface KubeadmUpgradeOptions {
  readonly role: Role;
  readonly release: Release;
  /** The Node object's name, for the final version check. */
  readonly node: string;
  /** The apt source of the Kubernetes repository. */
  readonly aptSource: string;
  /** How long the node may take to report the new kubelet version. */
  readonly verifyTimeoutMs: number;
  readonly pollIntervalMs: number;
  /**
   * kubeadm's patches directory on the host (what `kubeadm init --patches` / `patches.directory`
   * used). kubeadm does not remember it: without it again, `upgrade apply` and `upgrade node`
   * write stock static-pod manifests and the cluster silently loses its patches.
   */
  readonly patches?: string;
  /**
   * A kubeadm UpgradeConfiguration on the host, passed as `--config` to `upgrade plan`, `apply`
   * and `node`: where a cluster needs longer waits than kubeadm's (its `timeouts`) or keeps its
   * patches directory (`apply.patches`, `node.patches`). kubeadm refuses `--patches` beside it.
   */
  readonly config?: string;
  /** How long one kubeadm command may run. */
  readonly kubeadmTimeoutMs?: number;
  /** How long one apt-get or dpkg command may run. */
  readonly aptTimeoutMs?: number;
}

export const DEFAULT_APT_SOURCE = "/etc/apt/sources.list.d/kubernetes.list";
const NODE_KUBECONFIG = "/etc/kubernetes/kubelet.conf";
const ADMIN_KUBECONFIG = "/etc/kubernetes/admin.conf";
const APISERVER_MANIFEST = "/etc/kubernetes/manifests/kube-apiserver.yaml";
const PACKAGES = ["kubeadm", "kubelet", "kubectl"] as const;
// CoreDNS has a custom Corefile and its own version track (seed runbook): kubeadm must not touch it.
const LEAVE_COREDNS = ["--ignore-preflight-errors=CoreDNSMigration,CoreDNSUnsupportedPlugins", "--skip-phases=addon/coredns"];

// As the OS upgrade's: a slow mirror or a slow disk makes apt slow, not wrong, and a killed dpkg
// leaves packages half configured (the kubeadm e2e's TCG control plane needed over 10 minutes).
export const APT_TIMEOUT_MS = 30 * 60_000;
export const KUBEADM_TIMEOUT_MS = 20 * 60_000;

export type KubeadmOutcome = "already-at-target" | "upgraded";

async function nodeVersion(deps: ProcedureDeps, step: string, node: string): Promise<string | undefined> {
  try {
    const { stdout } = await deps.runner.run(
      step,
      ["kubectl", "--kubeconfig", NODE_KUBECONFIG, "get", "node", node, "-o", "jsonpath={.status.nodeInfo.kubeletVersion}"],
      { quiet: true, timeoutMs: 60_000 },
    );
    return stdout.trim();
  } catch (e: unknown) {
    // The API may be briefly away while the kubelet or the control plane restarts: keep asking.
    if (e instanceof StepFailure) return undefined;
    throw e;
  }
}

/** Points the apt source at the target minor's repository, atomically (temp file + rename). */
async function ensureAptSource(deps: ProcedureDeps, path: string, minor: string): Promise<void> {
  const { stdout } = await deps.runner.run("apt-source", ["cat", path], { quiet: true });
  const current = sourceMinor(stdout);
  if (current === undefined) throw checkFailed("apt-source", `${path} names no /vMAJOR.MINOR/ Kubernetes repository to point at v${minor}`);
  if (current === minor) {
    deps.log(`apt source ${path} already on v${minor}`);
    return;
  }
  deps.log(`apt source ${path}: v${current} -> v${minor}`);
  const tmp = `${path}.plan-runner.tmp`;
  await deps.runner.run("apt-source", ["tee", tmp], { input: rewriteSourceMinor(stdout, minor), quiet: true });
  await deps.runner.run("apt-source", ["mv", "-f", tmp, path]);
}

/** unhold -> install exact versions -> hold, for the packages not yet at the target; hold the rest. */
async function installHeld(
  deps: ProcedureDeps,
  stepSuffix: string,
  names: readonly string[],
  states: Map<string, PackageState>,
  target: string,
  debVersions: Map<string, string>,
  aptTimeoutMs: number,
): Promise<boolean> {
  const { runner } = deps;
  const missing = names.filter((n) => !isAt(states.get(n), target));
  const unheld = names.filter((n) => !(states.get(n)?.held ?? false));
  if (missing.length > 0) {
    const held = missing.filter((n) => states.get(n)?.held ?? false);
    if (held.length > 0) await runner.run(`unhold-${stepSuffix}`, ["apt-mark", "unhold", ...held]);
    const pins = missing.map((n) => `${n}=${debVersions.get(n) ?? ""}`);
    await runner.run(`install-${stepSuffix}`, ["apt-get", "install", "-y", "-q", "-o", "Dpkg::Options::=--force-confold", ...pins], {
      env: APT_ENV,
      timeoutMs: aptTimeoutMs,
    });
  }
  const toHold = [...new Set([...missing, ...unheld])];
  if (toHold.length > 0) await runner.run(`hold-${stepSuffix}`, ["apt-mark", "hold", ...toHold]);
  return missing.length > 0;
}

async function clusterVersion(deps: ProcedureDeps): Promise<string> {
  const { stdout } = await deps.runner.run(
    "cluster-version",
    ["kubectl", "--kubeconfig", ADMIN_KUBECONFIG, "-n", "kube-system", "get", "configmap", "kubeadm-config", "-o", "jsonpath={.data.ClusterConfiguration}"],
    { quiet: true, timeoutMs: 60_000 },
  );
  const m = /^kubernetesVersion:\s*["']?(v?[\w.+-]+)/m.exec(stdout);
  if (m === null) throw checkFailed("cluster-version", "the kubeadm-config ConfigMap has no kubernetesVersion");
  return m[1] as string;
}

async function localControlPlaneVersion(deps: ProcedureDeps): Promise<string> {
  const { stdout } = await deps.runner.run("local-version", ["cat", APISERVER_MANIFEST], { quiet: true });
  const m = /image:\s*["']?\S*kube-apiserver:(v[\w.+-]+)/.exec(stdout);
  if (m === null) throw checkFailed("local-version", `${APISERVER_MANIFEST} has no kube-apiserver image`);
  return m[1] as string;
}

/**
 * The first control plane runs `kubeadm upgrade apply` (after `kubeadm upgrade plan` agrees);
 * once the cluster configuration carries the target, the other control planes and every
 * worker run `kubeadm upgrade node`. Each is skipped when its result is already there.
 */
async function upgradeKubeadmManaged(deps: ProcedureDeps, opts: KubeadmUpgradeOptions, kubeletDone: boolean): Promise<void> {
  const { runner, log } = deps;
  const v = `v${opts.release.text}`;
  const config = opts.config === undefined ? [] : [`--config=${opts.config}`];
  const patches = [...(opts.patches === undefined ? [] : [`--patches=${opts.patches}`]), ...config];
  const timeoutMs = opts.kubeadmTimeoutMs ?? KUBEADM_TIMEOUT_MS;
  if (opts.role === "worker") {
    // kubelet is installed only after `upgrade node` succeeded, so a target kubelet means it ran.
    if (kubeletDone) return log("kubeadm upgrade node already done (kubelet is at the target)");
    await runner.run("upgrade-node", ["kubeadm", "upgrade", "node", ...patches], { timeoutMs });
    return;
  }
  const cluster = await clusterVersion(deps);
  if (cluster !== v) {
    const plan = await runner.run("upgrade-plan", ["kubeadm", "upgrade", "plan", v, ...config], { timeoutMs });
    if (!`${plan.stdout}\n${plan.stderr}`.includes(`upgrade apply ${v}`)) {
      throw checkFailed("upgrade-plan", `kubeadm upgrade plan does not offer "kubeadm upgrade apply ${v}" (cluster at ${cluster})`);
    }
    await runner.run("upgrade-apply", ["kubeadm", "upgrade", "apply", v, "--yes", ...LEAVE_COREDNS, ...patches], { timeoutMs });
    return;
  }
  const local = await localControlPlaneVersion(deps);
  if (local === v) return log(`control plane on this node already at ${v}`);
  log(`cluster configuration already at ${v}; upgrading this control-plane node with kubeadm upgrade node`);
  await runner.run("upgrade-node", ["kubeadm", "upgrade", "node", "--skip-phases=addon/coredns", ...patches], { timeoutMs });
}

async function restartAndVerify(deps: ProcedureDeps, opts: KubeadmUpgradeOptions): Promise<void> {
  const { runner } = deps;
  const v = `v${opts.release.text}`;
  await runner.run("daemon-reload", ["systemctl", "daemon-reload"]);
  await runner.run("restart-kubelet", ["systemctl", "restart", "kubelet"]);
  const deadline = deps.now() + opts.verifyTimeoutMs;
  let reported: string | undefined;
  for (;;) {
    reported = await nodeVersion(deps, "verify", opts.node);
    if (reported === v) {
      deps.log(`node ${opts.node} reports ${v}`);
      return;
    }
    if (deps.now() >= deadline) break;
    await deps.sleep(opts.pollIntervalMs);
  }
  throw checkFailed(
    "verify",
    `node ${opts.node} reports ${reported === undefined ? "nothing (API unreachable)" : reported || "no version"}, not ${v}, ${Math.round(opts.verifyTimeoutMs / 1000)}s after the kubelet restart`,
  );
}

/**
 * A target older than what the node runs is never applied: kubeadm cannot downgrade, and apt
 * would happily install the older packages. Refused before anything changes on the host.
 */
function refuseDowngrade(states: Map<string, PackageState>, release: Release): void {
  const target = [release.major, release.minor, release.patch];
  const newer = PACKAGES.flatMap((p) => {
    const s = states.get(p);
    if (s === undefined || !s.installed) return [];
    const installed = debianUpstream(s.version);
    const parts = versionParts(installed);
    return parts !== undefined && compareParts(parts, target) > 0 ? [`${p} ${installed}`] : [];
  });
  if (newer.length > 0) {
    throw checkFailed(
      "no-downgrade",
      `the node runs ${newer.join(", ")}, newer than the target v${release.text}: plan-runner never downgrades (kubeadm cannot); correct the Plan's version or channel`,
    );
  }
}

export async function kubeadmUpgrade(deps: ProcedureDeps, opts: KubeadmUpgradeOptions): Promise<KubeadmOutcome> {
  const { runner, log } = deps;
  const target = opts.release.text;
  const v = `v${target}`;
  const aptTimeoutMs = opts.aptTimeoutMs ?? APT_TIMEOUT_MS;
  log(`kubeadm-upgrade: ${opts.role} ${opts.node} -> ${v}`);

  const states = await packageStates(runner, "inspect", PACKAGES);
  refuseDowngrade(states, opts.release);
  const allAt = PACKAGES.every((p) => isAt(states.get(p), target));
  const allHeld = PACKAGES.every((p) => states.get(p)?.held ?? false);
  if (allAt && allHeld) {
    if ((await nodeVersion(deps, "node-version", opts.node)) === v) {
      log(`already at ${v}: kubeadm, kubelet and kubectl installed and held, node reports ${v}; nothing to do`);
      return "already-at-target";
    }
    // Packages are in place but the kubelet was not restarted onto them (a crash after the install).
    log(`packages at ${v} but the node does not report it yet: restarting the kubelet`);
    await restartAndVerify(deps, opts);
    return "upgraded";
  }

  const minor = `${opts.release.major}.${opts.release.minor}`;
  if (!allAt) {
    await ensureAptSource(deps, opts.aptSource, minor);
    await runner.run("apt-update", ["apt-get", "update", "-q"], { env: APT_ENV, timeoutMs: aptTimeoutMs });
  }
  const missing = PACKAGES.filter((p) => !isAt(states.get(p), target));
  let debVersions = new Map<string, string>();
  if (missing.length > 0) {
    const { stdout } = await runner.run("resolve-version", ["apt-cache", "madison", ...missing], { quiet: true });
    debVersions = madisonVersions(stdout, target);
    const absent = missing.filter((p) => !debVersions.has(p));
    if (absent.length > 0)
      throw checkFailed("resolve-version", `${absent.join(", ")} ${target} not offered by the configured repositories (apt-cache madison)`);
    // A crash inside dpkg leaves packages half-configured and apt refusing to install anything.
    await runner.run("dpkg-configure", ["dpkg", "--configure", "-a"], { env: APT_ENV, timeoutMs: aptTimeoutMs });
  }

  await installHeld(deps, "kubeadm", ["kubeadm"], states, target, debVersions, aptTimeoutMs);
  await upgradeKubeadmManaged(deps, opts, isAt(states.get("kubelet"), target));
  await installHeld(deps, "kubelet", ["kubelet", "kubectl"], states, target, debVersions, aptTimeoutMs);
  await restartAndVerify(deps, opts);
  log(`kubeadm-upgrade: ${opts.node} upgraded to ${v}`);
  return "upgraded";
}
