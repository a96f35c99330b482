// Admission of idle nodes: the free concurrency slots go to idle nodes in rollout order, unless
// a Plan-level gate or a held, blocked or halted node holds the Plan. A node another Plan holds
// (node-holds.ts) is passed over, as one busy with an exclusive Plan is: it waits, taking no slot.
import { type Admission, admit } from "./admission.ts";
import { nextOpening } from "../../plan/window-opening.ts";
import { type GateVerdict, afterCycleGate, afterGate, alertsGate, exclusiveGate, preflightGate, readyToStartGate, windowGate } from "./gates.ts";
import { SLOT_STATES } from "./decision.ts";
import { firstPhase, hostnameOf } from "./node-life.ts";
import { step } from "./node-steps.ts";
import type { Node } from "./objects.ts";
import { orderBy } from "./order.ts";
import { heldMessage, otherHolder } from "./node-holds.ts";
import { type Rollout, type UsableRollout, isUsable } from "./pass.ts";
import { instant } from "./waits.ts";

/** The Plan-level gates' verdicts of this pass: what holds the idle nodes. */
export interface PlanGates {
  readonly alerts: GateVerdict;
  /** spec.after, then the window, then the preflight (gates.cluster); only asked when there are idle nodes to start. */
  readonly waiting: GateVerdict | undefined;
  /** An after cycle: nothing ends it but an edit (asked, like `waiting`, only with idle nodes). */
  readonly blocked?: GateVerdict | undefined;
}

export function planGates(r: Rollout, idle: readonly Node[]): PlanGates {
  // An invalid Plan is only Validated=False: its alerts gate (a bad regex, say) says nothing more.
  const alerts = r.usable ? alertsGate.check(r.input.alerts) : NO_ALERTS;
  if (alerts.reason === "AlertsFiring" && idle.length > 0) r.pass.wait({ reason: alerts.reason, message: alerts.message });
  const resolving = r.input.resolution.resolving;
  // No version yet: nothing else can be asked; the wait says what comes first.
  if (resolving !== undefined && r.version === undefined) r.pass.wait({ reason: RESOLVING, message: resolving });
  if (!r.usable || idle.length === 0) return { alerts, waiting: undefined };
  const cycle = afterCycleGate.check(r.input.afterCycle);
  if (!cycle.open) return { alerts, waiting: undefined, blocked: cycle };
  // The last known version carries the nodes in flight; a new one starts with what the channel answers.
  if (resolving !== undefined) {
    r.pass.wait({ reason: RESOLVING, message: resolving });
    return { alerts, waiting: { open: false, reason: RESOLVING, message: `${resolving}: no node starts until it answers` } };
  }
  const window = windowGate.check({ isOpen: r.plan.windowOpen, now: r.now });
  if (!window.open) r.pass.wakeAt(r.now + 60_000); // windows open on the minute
  const after = afterGate.check(r.input.afterPending);
  const waiting = !after.open ? after : !window.open ? windowWait(r, window) : preflight(r);
  if (waiting !== undefined)
    r.pass.wait({ reason: waiting.reason, message: waiting.message, ...(untilOf(waiting) !== undefined ? { until: untilOf(waiting)! } : {}) });
  return { alerts, waiting };
}

const RESOLVING = "ResolvingChannel";

const NO_ALERTS: GateVerdict = { open: true, reason: "NoAlertsGate", message: "" };

type Timed = GateVerdict & { readonly recheckAt?: number };
const untilOf = (v: Timed): number | undefined => v.recheckAt;

/** A closed window says when it opens next, so a person knows when the rollout goes on. */
function windowWait(r: Rollout, closed: GateVerdict): Timed {
  const spec = r.plan.source.spec.window;
  const opens = spec === undefined ? undefined : nextOpening(spec, r.now);
  if (opens === undefined) return { ...closed, message: `${closed.message}; it does not open within 8 days` };
  return { ...closed, message: `${closed.message}; it opens at ${instant(opens)}`, recheckAt: opens };
}

/** gates.cluster: closed, it says when to look again (the end of the quiet period, or the next poll for pods). */
function preflight(r: Rollout): Timed | undefined {
  const cluster = r.plan.cluster;
  if (cluster === undefined) return undefined;
  const verdict = preflightGate.check({
    nodes: r.input.nodes,
    rolloutNodes: r.input.rolloutNodes ?? new Set(),
    quietMs: cluster.quietMs,
    minReadyPodsRatio: cluster.minReadyPodsRatio,
    pods: r.input.clusterPods,
    now: r.now,
  });
  if (verdict.open) return undefined;
  // Node changes wake the controller through its watch; pods elsewhere and the clock do not.
  r.pass.wakeAt(verdict.recheckAt ?? r.now + r.input.config.pollIntervalMs);
  return verdict;
}

export function admitIdle(r: Rollout, idle: readonly Node[], gates: PlanGates): void {
  const { pass } = r;
  const stopped =
    pass.held !== undefined ||
    pass.blocked !== undefined ||
    pass.halted !== undefined ||
    !gates.alerts.open ||
    gates.waiting !== undefined ||
    gates.blocked !== undefined;
  if (!isUsable(r) || stopped) return;
  const busy = new Set([...pass.nodeStates].filter(([, s]) => SLOT_STATES.has(s)).map(([n]) => n));
  const concurrency = Math.max(1, r.plan.concurrency);
  const exclusiveBusy = r.input.exclusiveBusy;
  const notReady = new Set(idle.filter((n) => !readyToStartGate.check(n).open).map((n) => n.metadata.name));
  const heldBy = heldByOthers(r, idle);
  const free = Math.max(0, concurrency - busy.size);
  // Only as many candidates as there are free slots (plus the ones another Plan holds, or NotReady).
  const wanted = free + exclusiveBusy.size + heldBy.size + notReady.size;
  const keyOf = (node: Node) => ({
    name: node.metadata.name,
    labels: node.metadata.labels ?? {},
    // The node hosting the controller goes last: its upgrade may end the leader (seed incident 2026-05-11).
    last: node.metadata.name === r.input.config.ownNode,
    ...(node.metadata.uid !== undefined ? { uid: node.metadata.uid } : {}),
  });
  const ordered = wanted === 0 ? [] : orderBy(idle, r.plan.order, keyOf, wanted);
  const names = ordered.map((n) => n.metadata.name);
  const blocked = new Set(names.filter((node) => notReady.has(node) || heldBy.has(node) || !exclusiveGate.check({ node, exclusiveBusy }).open));
  const admission = admit({ ordered, inFlight: busy, blocked, concurrency }, (node) => node.metadata.name);
  for (const node of admission.start) {
    pass.nodeStates.set(node.metadata.name, "applying");
    pass.applying.push(hostnameOf(node));
    step(r, node, firstPhase(r, node));
  }
  // A held node that a free slot would have gone to says who holds it; one behind the free slots would not start anyway.
  for (const node of names.slice(0, free)) {
    const by = heldBy.get(node);
    if (by !== undefined) pass.wait({ node, reason: "HeldByPlan", message: heldMessage(by) });
  }
  // Another Plan's pod ending does not wake this one; a node becoming Ready does (the node watch).
  if (admission.blocked.length > 0) pass.wakeAt(r.now + 10_000);
  passOver(r, ordered, admission, notReady);
}

/** Passed-over nodes named in status.waits: enough to see who waits, bounded (status is one object). */
const MAX_PASSED_OVER = 10;

/**
 * The NotReady nodes whose turn it is (ranked before the first Ready node still waiting for a
 * slot) wait, and say so: node by node, up to MAX_PASSED_OVER, then one line for the rest.
 */
function passOver(r: Rollout, ordered: readonly Node[], admission: Admission<Node>, notReady: ReadonlySet<string>): void {
  if (notReady.size === 0) return;
  const firstWaiting = admission.waiting[0];
  const cut = firstWaiting === undefined ? ordered.length : ordered.indexOf(firstWaiting);
  const turn = admission.blocked.filter((n) => notReady.has(n.metadata.name) && ordered.indexOf(n) < cut);
  for (const node of turn.slice(0, MAX_PASSED_OVER)) {
    const v = readyToStartGate.check(node);
    r.pass.wait({ node: node.metadata.name, reason: v.reason, message: v.message });
  }
  const more = turn.length - MAX_PASSED_OVER;
  if (more > 0) r.pass.wait({ reason: "PassedOverNotReady", message: `and ${more} more node(s) NotReady, passed over until Ready` });
}

/** Idle nodes another Plan that cordons or drains holds, and which (only when this Plan cordons too). */
function heldByOthers(r: UsableRollout, idle: readonly Node[]): Map<string, string> {
  const out = new Map<string, string>();
  if (!r.plan.cordon) return out;
  for (const node of idle) {
    const by = otherHolder(node, r.name, true, r.input.podHolders);
    if (by !== undefined) out.set(node.metadata.name, by);
  }
  return out;
}
