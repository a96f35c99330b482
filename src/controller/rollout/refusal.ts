// A call the API server refused for good (Pod Security, RBAC, an invalid object, a missing
// PriorityClass): retrying cannot fix it until the Plan or the cluster changes, so it is told on
// the Plan, once, and looked at again only after a long pause or a change. What can be seen
// before any call (a ServiceAccount, PriorityClass or Secret the Plan names that does not exist)
// is told the same way, before a node is cordoned: a refusal found after the cordon releases it.
import type { PlanSpec, PlanStatus } from "../../generated/plan.ts";
import type { EventAction, NodePatch } from "./decision.ts";
import { annotationCordonedBy, annotationDrainStarted } from "./keys.ts";
import { holds, uncordonPatch } from "./node-patches.ts";
import type { Condition, Node } from "./objects.ts";

export interface ApiRefusal {
  /** The refused call, e.g. `create pods apply-os-on-w1-with-abc (node w1)`. */
  readonly call: string;
  readonly status: number;
  readonly reason: string;
  readonly message: string;
  /** Seen before any call was made (an object the Plan names is missing): nothing was sent. */
  readonly foreseen?: boolean;
}

const CONDITION = "Refused";

/** What a referenced object's lookup found: undefined when it could not be read (the pod create will tell). */
export type Exists = (kind: "ServiceAccount" | "PriorityClass" | "Secret", name: string) => boolean | undefined;

/**
 * The objects the Plan's pods name that do not exist: the API server would refuse every pod, so
 * no node may be cordoned for them. Secrets with ignoreUpdates are mounted optional: not needed.
 */
export function missingReferences(spec: PlanSpec, namespace: string, exists: Exists): ApiRefusal[] {
  const missing: string[] = [];
  const sa = spec.serviceAccountName;
  if (sa !== undefined && sa !== "" && exists("ServiceAccount", sa) === false)
    missing.push(`spec.serviceAccountName: ServiceAccount ${namespace}/${sa} not found`);
  const pc = spec.priorityClassName;
  if (pc !== undefined && pc !== "" && exists("PriorityClass", pc) === false) missing.push(`spec.priorityClassName: PriorityClass ${pc} not found`);
  (spec.secrets ?? []).forEach((s, i) => {
    if (s.ignoreUpdates !== true && exists("Secret", s.name) === false) missing.push(`spec.secrets[${i}].name: Secret ${namespace}/${s.name} not found`);
  });
  return missing.map((message) => ({ call: "create pods", status: 404, reason: "NotFound", message, foreseen: true }));
}

/**
 * A node this Plan holds whose pod was refused: its cordon and marks go, so a refusal never leaves
 * it unschedulable. The Event's key is the cordon's, as when any other release tells it.
 */
export function releaseAfterRefusal(node: Node, plan: string): { patch: NodePatch; event: EventAction } | undefined {
  if (!holds(node, plan)) return undefined;
  const patch = uncordonPatch(node, plan, {});
  const n = node.metadata.name;
  const ann = node.metadata.annotations ?? {};
  const key = `${n}/uncordon/${ann[annotationCordonedBy(plan)] ?? ""}/${ann[annotationDrainStarted(plan)] ?? ""}/refused`;
  const message = `Plan ${plan} released node ${n}: the API server refused its pod (see the Plan's Refused condition)`;
  return { patch, event: { kind: "event", node: n, type: "Normal", reason: "Uncordoned", message, key } };
}

const span = (ms: number): string => (ms >= 60_000 ? `${Math.round(ms / 60_000)}m` : `${Math.max(1, Math.round(ms / 1000))}s`);

function refusedMessage(first: ApiRefusal, count: number, retryInMs: number): string {
  const more = count > 1 ? ` (and ${count - 1} more refused call(s))` : "";
  if (first.foreseen === true)
    return `${first.message}${more}: the API server would refuse the Plan's pods, so no node is cordoned or started until it exists (looked for again within ${span(retryInMs)})`;
  return `the API server refused ${first.call}: ${first.message}${more}; not retried until the Plan or the cluster changes (next look in ${span(retryInMs)})`;
}

/**
 * The status with the Refused condition: True naming the first refused call while any is
 * refused; False once a refusal clears; absent on a Plan that never had one. A Plan that only
 * waits for the refusal to clear reads "Refused", not "Applying".
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
  const next: Condition =
    first === undefined
      ? { type: CONDITION, status: "False", reason: "NotRefused", message: "" }
      : { type: CONDITION, status: "True", reason: first.reason, message: refusedMessage(first, refusals.length, retryInMs) };
  const same = previous !== undefined && previous.status === next.status && previous.reason === next.reason && previous.message === next.message;
  const stamped: Condition = same
    ? { ...next, lastTransitionTime: previous.lastTransitionTime ?? at, lastUpdateTime: previous.lastUpdateTime ?? at }
    : { ...next, lastTransitionTime: at, lastUpdateTime: at };
  const kept = conditions.filter((c) => c.type !== CONDITION);
  const stalled = first !== undefined && (status.applying ?? []).length === 0 && (status.state === "Applying" || status.state === "Waiting");
  const out: PlanStatus = {
    ...status,
    conditions: [...kept, stamped].map((c) => ({ ...c })),
    ...(first !== undefined ? { message: next.message ?? "" } : {}),
    ...(stalled ? { state: "Refused" } : {}),
  };
  const changed = !same && (first !== undefined || previous?.status === "True");
  const event: EventAction | undefined = !changed
    ? undefined
    : first !== undefined
      ? { kind: "event", type: "Warning", reason: "ApiRefused", message: next.message ?? "" }
      : { kind: "event", type: "Normal", reason: "RefusedCleared", message: "the API server accepts the Plan's calls again" };
  return { status: out, event };
}
