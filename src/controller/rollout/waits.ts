// What a Plan is waiting for, and until when: a soak, postCompleteDelay, a backoff before a retry,
// a re-run of a held gate, a closed window, `after`, the preflight, a node to become Ready, a
// node another Plan holds, a node leaving the Plan whose pod has not ended. Each names an instant, never a
// countdown: status carries `until` and the reader computes the time left, so a wait does not
// rewrite the status (and wake our own watch) every pass.

export interface Wait {
  /** The node that waits; absent when the whole Plan waits (window, after, preflight, alerts). */
  readonly node?: string;
  readonly reason: string;
  /** What a user reads: what is awaited and what ends it. */
  readonly message: string;
  /** When it ends or is looked at again (ms since the epoch); absent when no clock ends it. */
  readonly until?: number;
}

/** The state a waiting node shows (`plan_runner_plan_nodes{state}`, `plan-runner status`). */
export type WaitingNodeState = "soaking" | "backoff" | "held" | "pending";

const NODE_STATE: Readonly<Record<string, WaitingNodeState>> = {
  Soaking: "soaking",
  PostCompleteDelay: "soaking",
  NodeNotReady: "soaking",
  PodsNotReady: "soaking",
  Backoff: "backoff",
  PrepareHeld: "held",
  // NotReady when its turn came: not started, it holds no slot.
  PassedOverNotReady: "pending",
};

/** Waits for a node to become Ready: before its start (passed over) or after its upgrade (NodeNotReady). */
export const NOT_READY_WAITS: ReadonlySet<string> = new Set(["PassedOverNotReady", "NodeNotReady"]);

export const waitingNodeState = (reason: string): WaitingNodeState | undefined => NODE_STATE[reason];

export const instant = (t: number): string => new Date(t).toISOString().replace(/\.\d{3}Z$/, "Z");

/** A few words for a column: `worker-1 soaking until 2026-12-02T01:10:00Z`. */
export function waitSummary(w: Wait): string {
  const at = w.until === undefined ? "" : instant(w.until);
  const who = w.node === undefined ? "" : `${w.node} `;
  switch (w.reason) {
    case "Soaking":
      return `${who}soaking until ${at}`;
    case "PostCompleteDelay":
      return `${who}postCompleteDelay until ${at}`;
    case "NodeNotReady":
      return at === "" ? `${who}NotReady after its upgrade` : `${who}NotReady after its upgrade, fails at ${at}`;
    case "PodsNotReady":
      return at === "" ? `${who}not healthy yet` : `${who}not healthy yet, fails at ${at}`;
    case "PassedOverNotReady":
      return `${who}NotReady, passed over`;
    case "Backoff":
      return `${who}retries at ${at}`;
    case "PrepareHeld":
      return `${who}gate runs again at ${at}`;
    case "HeldByPlan":
      // The message starts "held by Plan <name>:" (node-holds.ts); a Plan's name has no colon.
      return `${who}${w.message.split(":")[0] ?? ""}`;
    case "PodNotEnded":
      return `${who}leaves once its pod ends`;
    case "OutsideWindow":
      return at === "" ? "window closed for 8 days" : `window opens ${at}`;
    case "WaitingForPlans":
    case "AlertsFiring":
    case "ResolvingChannel":
      return w.message;
    default:
      return at === "" ? `${who}${w.reason}` : `${who}${w.reason} until ${at}`;
  }
}

/** One line for `kubectl get plans -o wide`: the first wait, and how many more. */
export function waitingLine(waits: readonly Wait[]): string {
  const [first] = waits;
  if (first === undefined) return "";
  return waits.length === 1 ? waitSummary(first) : `${waitSummary(first)} (+${waits.length - 1} more)`;
}

/** `9m12s`, `1d2h`: the time left until `until`, for a terminal. */
export function timeLeft(until: number, now: number): string {
  const s = Math.max(0, Math.round((until - now) / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${s % 60 > 0 ? `${s % 60}s` : ""}`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${m % 60 > 0 ? `${m % 60}m` : ""}`;
  return `${Math.floor(h / 24)}d${h % 24 > 0 ? `${h % 24}h` : ""}`;
}
