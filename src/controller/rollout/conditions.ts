// The Plan's conditions, one function each, written so a user knows what to do next; then their
// timestamps and the Events that announce a change.
import type { EventAction, Failure } from "./decision.ts";
import type { PlanGates } from "./admit-idle.ts";
import type { GateVerdict } from "./gates.ts";
import { annotationRetry, labelPlanName } from "./keys.ts";
import type { Condition } from "./objects.ts";
import type { Rollout } from "./pass.ts";
import { postflightGate } from "./postflight.ts";

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
  const v = r.pass.blocked ?? alertsAre(gates, "AlertsUnknown");
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
  const all = [validated(r), latestResolved(r), held(r, gates), blocked(r, gates), halted(r), waiting(gates), complete(r, counts, gates), verified(r, counts)];
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

const GATED = new Set(["Held", "Blocked", "Halted", "Waiting"]);

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
    default:
      return on ? c.type : `${c.type}Cleared`;
  }
}

/** A condition that is wrong when False; the others are wrong when True (Verified is Unknown until it can be told). */
const wrongWhenFalse = (type: string): boolean => type === "Validated" || type === "LatestResolved" || type === "Verified";

/** Events only when a condition changes state or reason (not on every progress message), named as SUC names them. */
export function conditionEvents(previous: readonly Condition[], next: readonly Condition[]): EventAction[] {
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
    const bad = wrongWhenFalse(c.type) ? c.status === "False" : (c.type === "Blocked" || c.type === "Halted") && c.status === "True";
    const message = c.message !== undefined && c.message !== "" ? c.message : `${c.type} is ${c.status} (${c.reason ?? ""})`;
    out.push({ kind: "event", type: bad ? "Warning" : "Normal", reason, message });
  }
  return out;
}

/** The one word `kubectl get plans` shows. */
export function planState(r: Rollout, counts: Counts, gates: PlanGates): string {
  if (r.errors.length > 0) return "Invalid";
  if (!r.usable) return r.version === undefined && r.input.resolution.resolving !== undefined ? "Waiting" : "Error";
  if (r.pass.halted !== undefined) return "Halted";
  if (r.pass.blocked !== undefined || alertsAre(gates, "AlertsUnknown") !== undefined) return "Blocked";
  if (r.pass.held !== undefined || alertsAre(gates, "AlertsFiring") !== undefined) return "Held";
  if (isComplete(r, counts)) return verified(r, counts)?.status === "False" ? "Unverified" : "Complete";
  return gates.waiting !== undefined && counts.applying === 0 ? "Waiting" : "Applying";
}

/** The first condition that is wrong and says why; else the progress. */
export function planMessage(conditions: readonly PlanCondition[], fallback: string): string {
  const wrong = conditions.find((c) => c.status === (wrongWhenFalse(c.type) ? "False" : "True") && c.type !== "Complete" && c.message !== "");
  return wrong?.message ?? fallback;
}
