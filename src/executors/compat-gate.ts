// The preflight compatibility gate (seed: compat-gate.py): is it safe to upgrade Kubernetes to
// a target? Every blocker is tagged so the controller can tell "we can fix this" (ACTIONABLE:
// Blocked, alerts) from "nothing to do but wait" (WAITING / PINNED: Held, quiet).
import type { AddonSpec, CompatMatrix, WorkloadRef } from "./compat-matrix.ts";
import { compareParts, formatMinor, minorOf, versionParts, type Minor } from "./versions.ts";

export type Tag = "ACTIONABLE" | "WAITING" | "PINNED";

export interface Reason {
  readonly tag: Tag;
  readonly message: string;
}

export const formatReason = (r: Reason): string => `[${r.tag}] ${r.message}`;

export interface NodeFacts {
  readonly name: string;
  readonly kubeletVersion: string;
  readonly containerRuntimeVersion: string;
}

/** The read-only view of the cluster the gate needs. */
export interface ClusterReader {
  /** Fails when the API cannot be read: without the nodes the gate cannot judge anything. */
  listNodes(): Promise<NodeFacts[]>;
  /** Images of the workload's containers; fails (with a message for the reason) when unreadable. */
  workloadImages(ref: WorkloadRef): Promise<string[]>;
}

export interface DeprecatedApi {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  readonly removedRelease: string;
}

/** Reads apiserver_requested_deprecated_apis; fails when Prometheus cannot answer. */
export interface DeprecatedApiReader {
  deprecatedApisInUse(): Promise<DeprecatedApi[]>;
}

export const EXIT_SAFE = 0;
export const EXIT_ACTIONABLE = 2;
export const EXIT_GATE_ERROR = 3;
export const EXIT_HELD = 4;

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));
const cmp = (a: Minor, b: Minor): number => compareParts(a, b);

/**
 * The running minor is the oldest kubelet's: a half-upgraded cluster is judged by its lowest
 * node. Undefined when no kubelet version can be read (then every check runs in full).
 */
export function runningMinor(nodes: readonly NodeFacts[]): Minor | undefined {
  let oldest: Minor | undefined;
  for (const n of nodes) {
    const m = minorOf(n.kubeletVersion);
    if (m !== undefined && (oldest === undefined || cmp(m, oldest) < 0)) oldest = m;
  }
  return oldest;
}

/** The running version of an addon, or why it cannot be read. */
export type AddonVersion = { readonly version: string } | { readonly unreadable: string };

export function addonVersionFromImages(addon: AddonSpec, images: readonly string[]): AddonVersion {
  const re = new RegExp(addon.imagePattern);
  for (const image of images) {
    const captured = re.exec(image)?.[1];
    if (captured === undefined) continue;
    if (versionParts(captured) === undefined) return { unreadable: `"${captured}" in image ${image} is not a version` };
    return { version: captured };
  }
  return {
    unreadable: images.length === 0 ? "its workload has no containers" : `no image matches the pattern "${addon.imagePattern}" (images: ${images.join(", ")})`,
  };
}

/** The ceiling for a running version: the entry with the highest floor at or below it. */
function ceilingFor(addon: AddonSpec, running: readonly number[]): string | undefined {
  let best: { floor: readonly number[]; max: string } | undefined;
  for (const [floor, max] of Object.entries(addon.maxKubernetes)) {
    const f = versionParts(floor);
    if (f === undefined || compareParts(running, f) < 0) continue;
    if (best === undefined || compareParts(f, best.floor) > 0) best = { floor: f, max };
  }
  return best?.max;
}

/** The smallest matrix version newer than the running one that supports the target, if any. */
function supportingUpgrade(addon: AddonSpec, target: Minor, running: readonly number[]): string | undefined {
  let best: { floor: readonly number[]; text: string } | undefined;
  for (const [floor, max] of Object.entries(addon.maxKubernetes)) {
    const f = versionParts(floor);
    const m = minorOf(max);
    if (f === undefined || m === undefined || cmp(m, target) < 0 || compareParts(f, running) <= 0) continue;
    if (best === undefined || compareParts(f, best.floor) < 0) best = { floor: f, text: floor };
  }
  return best?.text;
}

/** One addon against the target, given its running version as read from the cluster. */
export function checkAddon(addon: AddonSpec, target: Minor, running: AddonVersion): Reason | undefined {
  if ("unreadable" in running) {
    // Fail safe: never upgrade past an addon whose version nobody could read; a human must look.
    return { tag: "ACTIONABLE", message: `addon ${addon.name}: cannot read its running version (${running.unreadable}); refusing to upgrade blind` };
  }
  const parts = versionParts(running.version) as number[];
  const max = ceilingFor(addon, parts);
  if (max === undefined) {
    return {
      tag: "ACTIONABLE",
      message: `addon ${addon.name} ${running.version} is older than every version in the compat matrix, so its Kubernetes support is unknown`,
    };
  }
  const maxMinor = minorOf(max);
  if (maxMinor === undefined || cmp(target, maxMinor) <= 0) return undefined;
  const t = formatMinor(target);
  const base = `addon ${addon.name} ${running.version} supports Kubernetes up to ${max}; target ${t} is beyond it`;
  // A pin wins even when a supporting version exists: taking it is a decision someone made not to.
  if (addon.pinned === true) return { tag: "PINNED", message: `${base}; pinned (${addon.pinReason ?? "deliberately held"}), holding` };
  const upgrade = supportingUpgrade(addon, target, parts);
  if (upgrade !== undefined) return { tag: "ACTIONABLE", message: `${base}; upgrade ${addon.name} to >= ${upgrade}` };
  return { tag: "WAITING", message: `${base}; no released ${addon.name} supports Kubernetes ${t} yet` };
}

/**
 * A target at or below the running minor crosses into no new minor: every installed addon is
 * already proven on it, so ceilings only constrain a true minor jump. Without this an addon
 * whose ceiling sits below the running minor would block every patch release.
 */
export function addonsApply(target: Minor, running: Minor | undefined): boolean {
  return running === undefined || cmp(target, running) > 0;
}

export function checkRemovedApis(target: Minor, inUse: readonly DeprecatedApi[] | { readonly error: string }): Reason[] {
  if ("error" in inUse) {
    return [{ tag: "ACTIONABLE", message: `removed-API check could not query Prometheus (${inUse.error}); refusing to upgrade blind` }];
  }
  const t = formatMinor(target);
  const seen = new Set<string>();
  const reasons: Reason[] = [];
  for (const api of inUse) {
    const removed = minorOf(api.removedRelease);
    if (removed === undefined || cmp(target, removed) < 0) continue;
    const message = `deprecated API ${api.group === "" ? "core" : api.group}/${api.version} ${api.resource} is still requested and is removed in Kubernetes ${api.removedRelease} (target ${t}); migrate its clients first`;
    // Every API server instance reports the same series: one line per API.
    if (seen.has(message)) continue;
    seen.add(message);
    reasons.push({ tag: "ACTIONABLE", message });
  }
  return reasons;
}

const containerdFloor = (matrix: CompatMatrix, target: Minor): string | undefined =>
  Object.entries(matrix.containerdMin ?? {}).find(([k]) => cmp(minorOf(k) as Minor, target) === 0)?.[1];

/**
 * Nodes a containerd floor cannot judge because they run another runtime (cri-o, say): named, so
 * nobody reads the gate's silence as "checked". They do not block: the matrix states nothing
 * for their runtime. A node reporting no runtime at all is a block (checkContainerd).
 */
export function otherRuntimes(matrix: CompatMatrix, target: Minor, nodes: readonly NodeFacts[]): string[] {
  const floor = containerdFloor(matrix, target);
  if (floor === undefined) return [];
  return nodes
    .filter((n) => n.containerRuntimeVersion !== "" && !n.containerRuntimeVersion.startsWith("containerd://"))
    .map(
      (n) =>
        `node ${n.name} runs ${n.containerRuntimeVersion}, not containerd: the containerd floor ${floor} for Kubernetes ${formatMinor(target)} does not apply to it; check its runtime supports ${formatMinor(target)} by hand`,
    );
}

export function checkContainerd(matrix: CompatMatrix, target: Minor, nodes: readonly NodeFacts[]): Reason[] {
  const t = formatMinor(target);
  const floor = containerdFloor(matrix, target);
  if (floor === undefined) return [];
  const floorParts = versionParts(floor) as number[];
  const reasons: Reason[] = [];
  for (const n of nodes) {
    const runtime = n.containerRuntimeVersion;
    if (runtime === "") {
      reasons.push({ tag: "ACTIONABLE", message: `node ${n.name} reports no container runtime version; refusing to upgrade blind` });
      continue;
    }
    if (!runtime.startsWith("containerd://")) continue;
    const raw = runtime.slice("containerd://".length);
    const parts = versionParts(raw);
    if (parts === undefined) {
      reasons.push({ tag: "ACTIONABLE", message: `node ${n.name}: cannot read its containerd version ("${raw}"); refusing to upgrade blind` });
    } else if (compareParts(parts, floorParts) < 0) {
      reasons.push({ tag: "ACTIONABLE", message: `node ${n.name} runs containerd ${raw}, below the ${floor} Kubernetes ${t} needs; upgrade containerd first` });
    }
  }
  return reasons;
}

/**
 * A target older than the kubelet of the node being upgraded would be a downgrade, which kubeadm
 * cannot do and the upgrade refuses: a person must correct the Plan, so it is actionable.
 * `target` is the parts the Plan gives (X.Y or X.Y.Z); a kubelet is compared on as many parts.
 * Only the gate's own node is judged: other nodes may rightly run newer (a control plane ahead of
 * the workers it waits for).
 */
export function checkDowngrade(target: readonly number[], nodes: readonly NodeFacts[]): Reason[] {
  const t = target.join(".");
  return nodes.flatMap((n): Reason[] => {
    const parts = versionParts(n.kubeletVersion);
    if (parts === undefined || compareParts(parts.slice(0, target.length), target) <= 0) return [];
    return [
      {
        tag: "ACTIONABLE",
        message: `node ${n.name} runs ${n.kubeletVersion}, newer than the target ${t}: plan-runner never downgrades; correct the Plan's version or channel`,
      },
    ];
  });
}

/** 0 safe, 2 actionable, 4 held. Held wins: while anything waits, acting on the rest is premature. */
export function verdict(reasons: readonly Reason[]): number {
  if (reasons.length === 0) return EXIT_SAFE;
  return reasons.some((r) => r.tag !== "ACTIONABLE") ? EXIT_HELD : EXIT_ACTIONABLE;
}

export interface GateDeps {
  readonly cluster: ClusterReader;
  /** null: the removed-API check was switched off by the operator. */
  readonly deprecatedApis: DeprecatedApiReader | null;
}

export interface GateResult {
  readonly reasons: readonly Reason[];
  /** What the gate could not judge but does not block on (a node whose runtime is not containerd). */
  readonly notes: readonly string[];
  readonly exitCode: number;
  readonly running: Minor | undefined;
  readonly addonsChecked: boolean;
}

/** Runs every check. Read-only. Fails only when the nodes cannot be listed (the gate's own error). */
export interface GateTarget {
  readonly minor: Minor;
  /** The parts the target gives (X.Y or X.Y.Z), for the downgrade check. */
  readonly version: readonly number[];
  /** The node the gate runs for (SYSTEM_UPGRADE_NODE_NAME): judged for a downgrade. */
  readonly node?: string | undefined;
}

export async function compatGate(deps: GateDeps, matrix: CompatMatrix, target: Minor, upgrade: Partial<GateTarget> = {}): Promise<GateResult> {
  const nodes = await deps.cluster.listNodes();
  const running = runningMinor(nodes);
  const reasons: Reason[] = [];
  const addonsChecked = addonsApply(target, running);
  if (addonsChecked) {
    for (const addon of matrix.addons) {
      let version: AddonVersion;
      try {
        version = addonVersionFromImages(addon, await deps.cluster.workloadImages(addon.workload));
      } catch (e: unknown) {
        version = { unreadable: errorText(e) };
      }
      const r = checkAddon(addon, target, version);
      if (r !== undefined) reasons.push(r);
    }
  }
  if (deps.deprecatedApis !== null) {
    let inUse: DeprecatedApi[] | { error: string };
    try {
      inUse = await deps.deprecatedApis.deprecatedApisInUse();
    } catch (e: unknown) {
      inUse = { error: errorText(e) };
    }
    reasons.push(...checkRemovedApis(target, inUse));
  }
  reasons.push(...checkContainerd(matrix, target, nodes));
  if (upgrade.node !== undefined)
    reasons.push(
      ...checkDowngrade(
        upgrade.version ?? target,
        nodes.filter((n) => n.name === upgrade.node),
      ),
    );
  return { reasons, notes: otherRuntimes(matrix, target, nodes), exitCode: verdict(reasons), running, addonsChecked };
}
