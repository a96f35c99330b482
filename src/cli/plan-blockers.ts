// What the dry run can tell ahead of time will stop a Plan from moving, as warning lines: a
// closed window, an `after` Plan not Complete, a secret that does not exist, a downgrade. Pure: the
// command passes in what it read (live mode reads the cluster's Plans and secrets; offline mode
// knows only what its files say, and says what it cannot check).
import type { Plan } from "../generated/plan.ts";
import type { NodeView, SecretView } from "../controller/rollout/model.ts";
import { afterStanding } from "../controller/rollout/gates.ts";
import { compileWindow } from "../plan/window.ts";

export interface BlockerFacts {
  readonly namespace: string;
  readonly version: string;
  /** The eligible nodes. */
  readonly nodes: readonly NodeView[];
  /** The secrets of the Plan's namespace; undefined when unknown (offline without --secrets). */
  readonly secrets: readonly SecretView[] | undefined;
  /** The Plans in the Plan's namespace (live); undefined offline. */
  readonly plans: readonly Plan[] | undefined;
  readonly now: Date;
}

const MINUTE = 60_000;
/** Every window opens within a week; a day more covers the turn of a daylight-saving change. */
const WINDOW_HORIZON = 8 * 24 * 60;

/** The first whole minute after `now` at which the window is open, or undefined if none within 8 days. */
export function nextOpening(isOpen: (at: Date) => boolean, now: Date): Date | undefined {
  const first = Math.ceil(now.getTime() / MINUTE) * MINUTE;
  for (let i = 0; i <= WINDOW_HORIZON; i++) {
    const at = new Date(first + i * MINUTE);
    if (isOpen(at)) return at;
  }
  return undefined;
}

function windowBlocker(plan: Plan, now: Date): string[] {
  const w = plan.spec.window;
  if (w === undefined) return [];
  const isOpen = compileWindow(w);
  if (isOpen(now)) return [];
  const next = nextOpening(isOpen, now);
  return [
    `WARNING: outside spec.window at ${now.toISOString()}: no node starts until it opens (${next === undefined ? "it does not open within 8 days" : `next at ${next.toISOString()}`})`,
  ];
}

const verifiedMessage = (s: Plan["status"]): string => s?.conditions?.find((c) => c.type === "Verified")?.message ?? "";

function afterBlockers(plan: Plan, f: BlockerFacts): string[] {
  const after = plan.spec.after ?? [];
  if (after.length === 0) return [];
  if (f.plans === undefined) return [`NOTE: starts only once Plan(s) ${after.join(", ")} are Complete (spec.after); not checked offline`];
  return after.flatMap((name) => {
    const other = f.plans?.find((p) => p.metadata.name === name);
    if (other === undefined)
      return [`WARNING: waits for Plan ${name} (spec.after), which is not in namespace ${f.namespace}: nothing starts until it exists and is Complete`];
    const standing = afterStanding(other.status);
    if (standing === "done") return [];
    const s = other.status;
    if (standing === "unverified")
      return [
        `WARNING: waits for Plan ${name} (spec.after), which is Complete but Unverified: ${verifiedMessage(s) || "its postflight found a version other than the release"}`,
      ];
    return [`WARNING: waits for Plan ${name} (spec.after), which is not Complete (state ${s?.state ?? "none yet"}, ${s?.progress ?? "no progress yet"})`];
  });
}

function secretBlockers(plan: Plan, f: BlockerFacts): string[] {
  if (f.secrets === undefined) return [];
  const known = new Set(f.secrets.map((s) => s.name));
  return (plan.spec.secrets ?? [])
    .filter((s) => !known.has(s.name))
    .map((s) =>
      s.ignoreUpdates === true
        ? `WARNING: secret ${s.name} (spec.secrets) is not in namespace ${f.namespace}: the pods run without it (ignoreUpdates makes its volume optional)`
        : `WARNING: secret ${s.name} (spec.secrets) is not in namespace ${f.namespace}: the upgrade pods cannot start until it exists (its volume is not optional)`,
    );
}

/** "node v1.35.1" for each node whose kubelet is newer than a Kubernetes-looking version (v1.X.Y). */
function newerKubelets(nodes: readonly NodeView[], version: string): string[] {
  const target = /^v?1\.(\d+)\.(\d+)$/.exec(version);
  if (target === null) return [];
  const [minor, patch] = [Number(target[1]), Number(target[2])];
  return nodes.flatMap((n) => {
    const m = /^v?1\.(\d+)\.(\d+)/.exec(n.kubeletVersion ?? "");
    if (m === null) return [];
    const [nm, np] = [Number(m[1]), Number(m[2])];
    return nm > minor || (nm === minor && np > patch) ? [`${n.name} ${n.kubeletVersion ?? ""}`] : [];
  });
}

function downgradeBlocker(f: BlockerFacts): string[] {
  const newer = newerKubelets(f.nodes, f.version);
  if (newer.length === 0) return [];
  return [
    `WARNING: ${newer.length} eligible node(s) run a newer Kubernetes than ${f.version} (${newer.slice(0, 5).join(", ")}${newer.length > 5 ? ", ..." : ""}): a downgrade, which kubeadm-upgrade refuses and the compat gate blocks`,
  ];
}

/** Each thing that will hold the rollout, one line each, worst first. */
export function blockers(plan: Plan, f: BlockerFacts): string[] {
  return [...secretBlockers(plan, f), ...afterBlockers(plan, f), ...windowBlocker(plan, f.now), ...downgradeBlocker(f)];
}
