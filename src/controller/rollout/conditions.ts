// The Plan's conditions, one function each, written so a user knows what to do next; then their
// timestamps and the Events that announce a change.
import type { EventAction, Failure } from "./decision.ts";
import type { PlanGates } from "./admit-idle.ts";
import type { GateVerdict } from "./gates.ts";
import { LABEL_HOSTNAME, annotationRetry, labelPlanName } from "./keys.ts";
import type { Condition } from "./objects.ts";
import type { Rollout } from "./pass.ts";
import { postflightGate } from "./postflight.ts";
import { NOT_READY_WAITS, type Wait } from "./waits.ts";

export type PlanCondition = Omit<Condition, "lastTransitionTime" | "lastUpdateTime">;

const cond = (type: string, status: boolean, reason: string, message = ""): PlanCondition => ({ type, status: status ? "True" : "False", reason, message });

export interface Counts {
  readonly total: number;
  readonly complete: number;
  readonly applying: number;
  readonly failed: number;
  readonly pending: number;
  /** Selected but labelled disabled. */
  readonly skipped: number;
}

export function validated(r: Rollout): PlanCondition {
  const ok = r.errors.length === 0;
  return cond("Validated", ok, ok ? "PlanIsValid" : "Error", r.errors.map((p) => `${p.path}: ${p.message}`).join("; "));
}

export function latestResolved(r: Rollout): PlanCondition {
  const res = r.input.resolution;
  // Asked, not answered yet: not known to be wrong (no Warning), and status.waits says what is awaited.
  if (!("version" in res) && res.resolving !== undefined) return { type: "LatestResolved", status: "Unknown", reason: res.reason, message: res.message };
  if (!("version" in res)) return cond("LatestResolved", false, res.reason, res.message);
  if (res.error !== undefined) return cond("LatestResolved", false, res.error.reason, `${res.error.message}; still applying ${res.version}`);
  return cond("LatestResolved", true, res.source, res.message);
}

// One meaning each (README, "Held, Blocked, Halted"):
//   Held    waiting, nothing to do: the prepare gate's exit 4, alerts firing (they page themselves)
//   Blocked a person must act: the prepare gate's exit 2 or its error, alerts that cannot be read
//   Halted  the rollout stopped after failures: a node failed for good (failurePolicy halt)

/** The alerts gate's verdict when it is the alerts that hold (firing) or block (unreadable). */
const alertsAre = (gates: PlanGates, reason: string): GateVerdict | undefined =>
  !gates.alerts.open && gates.alerts.reason === reason ? gates.alerts : undefined;

export function held(r: Rollout, gates: PlanGates): PlanCondition {
  const v = r.pass.held ?? alertsAre(gates, "AlertsFiring");
  return v === undefined ? cond("Held", false, "NotHeld") : cond("Held", true, v.reason, v.message);
}

export function blocked(r: Rollout, gates: PlanGates): PlanCondition {
  const v = r.pass.blocked ?? alertsAre(gates, "AlertsUnknown") ?? gates.blocked;
  return v === undefined ? cond("Blocked", false, "NotBlocked") : cond("Blocked", true, v.reason, v.message);
}

const haltMessage = (r: Rollout, f: Failure): string =>
  `${f.message}; no further node starts until it is retried (plan-runner retry ${r.name} ${f.node}, or the annotation ${annotationRetry(r.name)} on the node) or node ${f.node} is labelled ${labelPlanName(r.name)}=disabled`;

export function halted(r: Rollout): PlanCondition {
  const f = r.pass.halted;
  return f !== undefined ? cond("Halted", true, "NodeFailed", haltMessage(r, f)) : cond("Halted", false, "NotHalted");
}

export function waiting(gates: PlanGates): PlanCondition {
  const w = gates.waiting;
  return w === undefined ? cond("Waiting", false, "NotWaiting") : cond("Waiting", true, w.reason, w.message);
}

const notReadyWaits = (r: Rollout): Wait[] => r.pass.waits.filter((w) => NOT_READY_WAITS.has(w.reason));

/**
 * Nodes the Plan waits for to become Ready: passed over at their turn (no slot held), or NotReady
 * after their upgrade (holding theirs). Each named with since when, so a Plan never stalls in silence.
 */
export function nodesNotReady(r: Rollout): PlanCondition {
  const waits = notReadyWaits(r);
  if (waits.length === 0) return cond("NodesNotReady", false, "NodesReady");
  const afterUpgrade = waits.some((w) => w.reason === "NodeNotReady");
  const shown = waits.slice(0, 3).map((w) => w.message);
  const more = waits.length > 3 ? `; and ${waits.length - 3} more` : "";
  return cond("NodesNotReady", true, afterUpgrade ? "NotReadyAfterUpgrade" : "PassedOverNotReady", `${shown.join("; ")}${more}`);
}

/** `a=b, c In (d, e)`: a label selector as a person writes it. */
function selectorText(sel: NonNullable<Rollout["plan"]["source"]["spec"]["nodeSelector"]>): string {
  const labels = Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  const exprs = (sel.matchExpressions ?? []).map((e) =>
    e.values !== undefined && e.values.length > 0 ? `${e.key} ${e.operator} (${e.values.join(", ")})` : `${e.key} ${e.operator}`,
  );
  const all = [...labels, ...exprs];
  return all.length === 0 ? "{} (every node)" : all.join(", ");
}

/**
 * A usable Plan that selects no node is Complete 0/0, as in SUC, but says so: a typo in a label
 * would otherwise look like a finished rollout (issue 9, item 9). It clears when a node matches.
 */
export function noNodes(r: Rollout, counts: Counts): PlanCondition {
  if (!r.usable || counts.total > 0) return cond("NoNodes", false, "NodesSelected");
  const sel = r.plan.source.spec.nodeSelector;
  if (sel === undefined)
    return cond("NoNodes", true, "NoNodesSelected", "spec.nodeSelector is not set, and a Plan without one selects no node (as in SUC); add one");
  const unnamed = r.input.nodes.filter((n) => n.metadata.labels?.[LABEL_HOSTNAME] === undefined).length;
  const why = unnamed > 0 ? ` (${unnamed} node(s) have no ${LABEL_HOSTNAME} label, which a Plan requires)` : "";
  return cond("NoNodes", true, "NoNodesSelected", `spec.nodeSelector ${selectorText(sel)} matches no node${why}; the Plan is Complete with 0/0 until one does`);
}

/** Every selected node done, or skipped (labelled disabled: SUC completes without it too). */
export const isComplete = (r: Rollout, counts: Counts): boolean => r.usable && counts.complete + counts.skipped === counts.total && counts.failed === 0;

function completeReason(r: Rollout, counts: Counts, gates: PlanGates): string {
  if (!r.usable) return r.errors.length > 0 ? "ValidationFailed" : r.version === undefined ? "Unresolved" : "SecretsMissing";
  if (isComplete(r, counts)) return "Complete";
  return r.pass.halted !== undefined ? "JobFailed" : gates.waiting !== undefined ? "Waiting" : "SyncJob";
}

export function completeMessage(r: Rollout, counts: Counts): string {
  const hash = r.input.hash;
  if (!r.usable && r.hash === undefined && "error" in hash) return hash.error;
  const skipped = counts.skipped > 0 ? `, ${counts.skipped} skipped (labelled ${labelPlanName(r.name)}=disabled)` : "";
  if (isComplete(r, counts)) return skipped === "" ? "" : `${counts.complete}/${counts.total} nodes upgraded${skipped}`;
  return `${counts.complete}/${counts.total} nodes upgraded${skipped}`;
}

export function complete(r: Rollout, counts: Counts, gates: PlanGates): PlanCondition {
  return cond("Complete", isComplete(r, counts), completeReason(r, counts, gates), completeMessage(r, counts));
}

/**
 * gates.postflight only (a SUC Plan has no such condition): Unknown until the Plan is Complete,
 * then whether every selected kubelet and the API server report the Plan's version.
 */
export function verified(r: Rollout, counts: Counts): PlanCondition | undefined {
  const postflight = r.plan.postflight;
  if (postflight === undefined) return undefined;
  if (!isComplete(r, counts) || r.version === undefined) {
    return { type: "Verified", status: "Unknown", reason: "RolloutNotComplete", message: "" };
  }
  const nodes = r.input.nodes.filter((n) => (r.pass.nodeStates.get(n.metadata.name) ?? "skipped") !== "skipped");
  const server = postflight.apiServer ? (r.input.serverVersion ?? { error: "not read" }) : undefined;
  const v = postflightGate.check({ target: r.version, nodes, server });
  return cond("Verified", v.open, v.reason, v.message);
}

/** In the order `kubectl describe plan` shows them. */
export function conditionsOf(r: Rollout, counts: Counts, gates: PlanGates): PlanCondition[] {
  const all = [
    validated(r),
    latestResolved(r),
    held(r, gates),
    blocked(r, gates),
    halted(r),
    waiting(gates),
    nodesNotReady(r),
    noNodes(r, counts),
    complete(r, counts, gates),
    verified(r, counts),
  ];
  return all.filter((c) => c !== undefined);
}

/** Timestamps change only with the condition, or every write would re-trigger our own watch. */
export function stamp(previous: readonly Condition[], next: readonly PlanCondition[], now: number): Condition[] {
  const at = new Date(now).toISOString().replace(/\.\d{3}Z$/, "Z");
  return next.map((c) => {
    const before = previous.find((p) => p.type === c.type);
    const same = before !== undefined && before.status === c.status && before.reason === c.reason && before.message === c.message;
    if (same) return { ...c, lastTransitionTime: before.lastTransitionTime ?? at, lastUpdateTime: before.lastUpdateTime ?? at };
    return { ...c, lastTransitionTime: before?.status === c.status ? (before.lastTransitionTime ?? at) : at, lastUpdateTime: at };
  });
}

// Told when they turn True (and when their message changes meanwhile), and when they clear: never
// for a Plan that merely starts without them.
const GATED = new Set(["Held", "Blocked", "Halted", "Waiting", "NodesNotReady", "NoNodes"]);

function eventReason(c: PlanCondition): string | undefined {
  const on = c.status === "True";
  switch (c.type) {
    case "Validated":
      return on ? "Validated" : "ValidateFailed";
    case "LatestResolved":
      return on ? "Resolved" : c.status === "False" ? "ResolveFailed" : undefined;
    case "Verified":
      return c.status === "True" ? "Verified" : c.status === "False" ? "VerifyFailed" : undefined;
    case "Complete":
      // Why a Plan is not complete is told by Validated, Held, Blocked, Halted and Waiting.
      return on ? "Complete" : undefined;
    case "NoNodes":
      return on ? "NoNodesSelected" : "NoNodesCleared";
    default:
      return on ? c.type : `${c.type}Cleared`;
  }
}

/** A condition that is wrong when False; the others are wrong when True (Verified is Unknown until it can be told). */
const wrongWhenFalse = (type: string): boolean => type === "Validated" || type === "LatestResolved" || type === "Verified";

/** True, these need a person: a Warning Event. */
const WARNING_WHEN_TRUE = new Set(["Blocked", "Halted", "NoNodes"]);

/**
 * Events only when a condition changes state or reason (not on every progress message), named as
 * SUC names them. Each change is keyed by the Plan (`plan`: its uid) and the condition it
 * replaces as last written: a pass repeated after a kill before its status write tells the same
 * change under the same key, and the event writer counts it once.
 */
export function conditionEvents(previous: readonly Condition[], next: readonly Condition[], plan = ""): EventAction[] {
  const out: EventAction[] = [];
  for (const c of next) {
    const before = previous.find((p) => p.type === c.type);
    const gated = GATED.has(c.type);
    const changed =
      before === undefined
        ? c.status === "True" || !gated
        : before.status !== c.status ||
          before.reason !== c.reason ||
          (before.message !== c.message && ((gated && c.status === "True") || (c.type === "Verified" && c.status === "False")));
    const reason = changed ? eventReason(c) : undefined;
    if (reason === undefined) continue;
    const bad = wrongWhenFalse(c.type) ? c.status === "False" : WARNING_WHEN_TRUE.has(c.type) && c.status === "True";
    const message = c.message !== undefined && c.message !== "" ? c.message : `${c.type} is ${c.status} (${c.reason ?? ""})`;
    const since = before === undefined ? "-" : `${before.status}/${before.lastUpdateTime ?? before.lastTransitionTime ?? ""}`;
    out.push({ kind: "event", type: bad ? "Warning" : "Normal", reason, message, key: `${plan}/${c.type}/${c.status}/${c.reason ?? ""}/${since}` });
  }
  return out;
}

/** The one word `kubectl get plans` shows. */
export function planState(r: Rollout, counts: Counts, gates: PlanGates): string {
  if (r.errors.length > 0) return "Invalid";
  if (!r.usable) return r.version === undefined && r.input.resolution.resolving !== undefined ? "Waiting" : "Error";
  if (r.pass.halted !== undefined) return "Halted";
  if (r.pass.blocked !== undefined || alertsAre(gates, "AlertsUnknown") !== undefined || gates.blocked !== undefined) return "Blocked";
  if (r.pass.held !== undefined || alertsAre(gates, "AlertsFiring") !== undefined) return "Held";
  if (isComplete(r, counts)) return verified(r, counts)?.status === "False" ? "Unverified" : "Complete";
  // Nothing in flight and only NotReady nodes left to start: it waits for them.
  const waits = gates.waiting !== undefined || notReadyWaits(r).length > 0;
  return waits && counts.applying === 0 ? "Waiting" : "Applying";
}

/** The first condition that is wrong and says why; else the progress. */
export function planMessage(conditions: readonly PlanCondition[], fallback: string): string {
  const wrong = conditions.find((c) => c.status === (wrongWhenFalse(c.type) ? "False" : "True") && c.type !== "Complete" && c.message !== "");
  return wrong?.message ?? fallback;
}
