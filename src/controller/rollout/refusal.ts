// A call the API server refused for good (Pod Security, RBAC, an invalid object, a missing
// PriorityClass): retrying cannot fix it until the Plan or the cluster changes, so it is told on
// the Plan, once, and looked at again only after a long pause or a change.
import type { PlanStatus } from "../../generated/plan.ts";
import type { EventAction } from "./decision.ts";
import type { Condition } from "./objects.ts";

export interface ApiRefusal {
  /** The refused call, e.g. `create pods apply-os-on-w1-with-abc (node w1)`. */
  readonly call: string;
  readonly status: number;
  readonly reason: string;
  readonly message: string;
}

const CONDITION = "Refused";

/**
 * The status with the Refused condition: True naming the first refused call while any is
 * refused; False once a refusal clears; absent on a Plan that never had one.
 */
export function withRefusals(
  status: PlanStatus,
  before: PlanStatus | undefined,
  refusals: readonly ApiRefusal[],
  retryInMs: number,
  now: number,
): { status: PlanStatus; event: EventAction | undefined } {
  const conditions = (status.conditions ?? []) as Condition[];
  const previous = ((before?.conditions ?? []) as Condition[]).find((c) => c.type === CONDITION);
  const first = refusals[0];
  if (first === undefined && previous === undefined) return { status, event: undefined };
  const at = new Date(now).toISOString().replace(/\.\d{3}Z$/, "Z");
  const more = refusals.length > 1 ? ` (and ${refusals.length - 1} more refused call(s))` : "";
  const next: Condition =
    first === undefined
      ? { type: CONDITION, status: "False", reason: "NotRefused", message: "" }
      : {
          type: CONDITION,
          status: "True",
          reason: first.reason,
          message: `the API server refused ${first.call}: ${first.message}${more}; not retried until the Plan or the cluster changes (next look in ${Math.round(retryInMs / 60_000)}m)`,
        };
  const same = previous !== undefined && previous.status === next.status && previous.reason === next.reason && previous.message === next.message;
  const stamped: Condition = same
    ? { ...next, lastTransitionTime: previous.lastTransitionTime ?? at, lastUpdateTime: previous.lastUpdateTime ?? at }
    : { ...next, lastTransitionTime: at, lastUpdateTime: at };
  const kept = conditions.filter((c) => c.type !== CONDITION);
  const out: PlanStatus = { ...status, conditions: [...kept, stamped].map((c) => ({ ...c })), ...(first !== undefined ? { message: next.message ?? "" } : {}) };
  const changed = !same && (first !== undefined || previous?.status === "True");
  const event: EventAction | undefined = !changed
    ? undefined
    : first !== undefined
      ? { kind: "event", type: "Warning", reason: "ApiRefused", message: next.message ?? "" }
      : { kind: "event", type: "Normal", reason: "RefusedCleared", message: "the API server accepts the Plan's calls again" };
  return { status: out, event };
}
