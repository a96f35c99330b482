// The rules of a rollout as one pure function: from the compiled Plan and what the API shows,
// the actions, the status and when to look again. No I/O. Every step of a node's life is read
// back from the world (node-life.ts), so a controller killed at any instant resumes exactly
// where it was. docs/architecture.md walks through it.
import type { PlanStatus } from "../../generated/plan.ts";
import { type PlanGates, admitIdle, planGates } from "./admit-idle.ts";
import { type Counts, conditionEvents, conditionsOf, completeMessage, planMessage, planState, stamp } from "./conditions.ts";
import { type DecideInput, type Decision, type NodeState, SLOT_STATES } from "./decision.ts";
import { eligibility } from "./eligibility.ts";
import { tellDone, tellLife, tellUncordoned } from "./node-events.ts";
import { hostnameOf, lifeOf } from "./node-life.ts";
import { holds, uncordonPatch } from "./node-patches.ts";
import { stayWhilePodsRun, step } from "./node-steps.ts";
import type { Condition, Node } from "./objects.ts";
import { type Rollout, isUsable, startRollout } from "./pass.ts";
import { expirePods } from "./pod-ttl.ts";
import { instant, waitingLine } from "./waits.ts";

export type * from "./decision.ts";

export function decide(input: DecideInput): Decision {
  const r = startRollout(input);
  const idle = visitNodes(r);
  const gates = planGates(r, idle);
  if (input.startsRefused !== true) admitIdle(r, idle, gates);
  expirePods(r);
  return conclude(r, gates);
}

/**
 * Release every node this Plan holds when it cannot act on it (unselected, disabled, done, or
 * the Plan unusable): a bad Plan must never leave a node cordoned (SUC #71).
 */
function release(r: Rollout, node: Node, why: string): void {
  if (!holds(node, r.name)) return;
  const patch = uncordonPatch(node, r.name, {});
  r.pass.act({ kind: "patchNode", node: node.metadata.name, patch, why: "release" });
  tellUncordoned(r, node, patch, why);
}

/** Moves every node in flight one step on; returns the idle ones, for admission. */
function visitNodes(r: Rollout): Node[] {
  const { pass } = r;
  const idle: Node[] = [];
  const candidate = eligibility(r.plan.source, r.hash ?? "");
  for (const node of r.input.nodes) {
    const n = node.metadata.name;
    const why = candidate(node.metadata.labels ?? {});
    // Leaving the Plan does not end a pod already running there: the node stays in flight until it has.
    if ((why !== undefined || !isUsable(r)) && stayWhilePodsRun(r, node, why)) continue;
    if (why === "disabled") {
      // Opted out, still one of the Plan's nodes: 3/4 with one skipped, never 3/3.
      pass.total++;
      pass.skipped++;
      pass.nodeStates.set(n, "skipped");
      release(r, node, "it is labelled disabled for this Plan");
      continue;
    }
    if (why !== undefined && why !== "done") {
      release(r, node, "it is no longer selected by the Plan");
      continue;
    }
    pass.total++;
    if (why === "done" && r.hash !== undefined) {
      pass.complete++;
      pass.nodeStates.set(n, "complete");
      release(r, node, "its upgrade is complete");
      if (isUsable(r) && r.input.retellDone !== false) tellDone(r, node);
      continue;
    }
    if (!isUsable(r)) {
      release(r, node, "the Plan cannot be applied (see its conditions)");
      pass.nodeStates.set(n, "pending");
      continue;
    }
    const life = lifeOf(r, node);
    // Told before the step's writes: a completing patch takes away the marks that show the cordon
    // and the drain, and the actuator writes these Events before it (actuator.ts, apply).
    tellLife(r, node, life);
    const state = step(r, node, life);
    pass.nodeStates.set(n, state);
    if (life.phase === "idle") idle.push(node);
    // The node holds a concurrency slot from here on, until it completes or fails for good.
    else if (state !== "failed" && state !== "complete") pass.applying.push(hostnameOf(node));
  }
  return idle;
}

function countNodes(r: Rollout): Counts {
  const states = [...r.pass.nodeStates.values()];
  const count = (of: (s: NodeState) => boolean): number => states.filter(of).length;
  return {
    total: r.pass.total,
    complete: r.pass.complete,
    applying: count((s) => SLOT_STATES.has(s)),
    failed: count((s) => s === "failed"),
    pending: count((s) => s === "pending"),
    skipped: r.pass.skipped,
  };
}

function conclude(r: Rollout, gates: PlanGates): Decision {
  const { pass, plan } = r;
  const counts = countNodes(r);
  const conditions = conditionsOf(r, counts, gates);
  const previous = (plan.source.status?.conditions ?? []) as Condition[];
  const next = stamp(previous, conditions, r.now);
  const uid = plan.source.metadata["uid"];
  pass.actions.push(...conditionEvents(previous, next, typeof uid === "string" ? uid : ""));
  const status: PlanStatus = {
    ...(plan.source.status ?? {}),
    conditions: next.map((c) => ({ ...c })),
    applying: [...new Set(pass.applying)].sort(),
    counts: { ...counts },
    failures: pass.failures.map((f) => ({ ...f })),
    state: planState(r, counts, gates),
    progress: `${counts.complete}/${counts.total}`,
    message: planMessage(conditions, completeMessage(r, counts)),
    waiting: waitingLine(pass.waits),
    waits: pass.waits.map(({ until, ...w }) => ({ ...w, ...(until !== undefined ? { until: instant(until) } : {}) })),
    observedGeneration: plan.generation,
  };
  if (r.retry.record !== undefined) status.retry = { ...r.retry.record, nodes: r.retry.record.nodes.map((n) => ({ ...n })) };
  if (r.version !== undefined) status.latestVersion = r.version;
  if (r.hash !== undefined) status.latestHash = r.hash;
  if (pass.actions.some((a) => a.kind !== "event")) pass.wakeups.push(1000);
  if (counts.applying > 0) pass.wakeups.push(15_000);
  // A kubelet reports its new version when it restarts, the API server without any event: look again.
  if (conditions.some((c) => c.type === "Verified" && c.status === "False")) pass.wakeups.push(r.input.config.pollIntervalMs);
  const requeueAfterMs = pass.wakeups.length > 0 ? Math.min(...pass.wakeups) : undefined;
  return { actions: pass.actions, status, requeueAfterMs, nodeStates: pass.nodeStates };
}
