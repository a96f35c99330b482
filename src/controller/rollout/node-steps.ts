// One step function per phase of a node's life (node-life.ts): each reads the node's phase,
// asks its gates, appends the actions that move the node on, and says what state it is in.
import type { NodeState } from "./decision.ts";
import { type GateVerdict, healthGate, nodeReady, notReadyDetail } from "./gates.ts";
import { annotationCordonedBy, annotationDrainStarted } from "./keys.ts";
import { podFailure, tellApplyPod, tellAttemptFailed, tellComplete, tellCordoned, tellNodeFailed, tellUncordoned, uncordonKey } from "./node-events.ts";
import { type Ineligibility, INELIGIBILITY_TEXT } from "./eligibility.ts";
import { heldMessage, unfinishedPods } from "./node-holds.ts";
import { type FailureCause, type NodeLife, hostnameOf, latest, nextAttempt } from "./node-life.ts";
import { completePatch, drainFailedPatch, holds, uncordonPatch } from "./node-patches.ts";
import type { Node } from "./objects.ts";
import type { Rollout, UsableRollout } from "./pass.ts";
import type { PodFacts } from "./pod-facts.ts";
import { instant } from "./waits.ts";

type Step<P extends NodeLife["phase"]> = (r: UsableRollout, node: Node, life: Extract<NodeLife, { phase: P }>) => NodeState;

const stepPrepare: Step<"prepare"> = (r, node, { pod, earlier }) => {
  const { pass, now } = r;
  if (pod === undefined) {
    pass.act({ kind: "createPod", node: node.metadata.name, pod: r.input.render.prepare(node, 1), why: "prepare" });
    return "applying";
  }
  const ended = pod.phase === "Failed";
  // A newer verdict is in: the older runs of the gate have said all they had to say.
  if (ended) for (const old of earlier) if (!old.terminating) pass.act({ kind: "deletePod", name: old.name, uid: old.uid, why: "superseded prepare gate" });
  // While a held or blocked gate runs again, the Plan stays as its last verdict said.
  const last = ended ? pod : latest(earlier.filter((p) => p.phase === "Failed"));
  if (last === undefined) return "applying";
  if (ended && !pod.terminating) {
    // The re-run is the next attempt's pod: the finished one keeps the verdict visible meanwhile.
    const rerunAt = (pod.finishedAt ?? now) + r.input.config.pollIntervalMs;
    if (now >= rerunAt)
      pass.act({ kind: "createPod", node: node.metadata.name, pod: r.input.render.prepare(node, pod.attempt + 1), why: "re-run the prepare gate" });
    else if (pod.exitCode === 4)
      pass.wait({ node: node.metadata.name, reason: "PrepareHeld", message: `its prepare gate runs again at ${instant(rerunAt)}`, until: rerunAt });
    else pass.wakeAt(rerunAt);
  }
  const verdict = r.prepare.check(last);
  if (verdict.reason === "PrepareHeld") {
    pass.held ??= verdict;
    return "held";
  }
  pass.blocked ??= verdict;
  return "blocked";
};

/** Another Plan holds the node: this one waits, its slot kept, until that Plan has released it. */
const stepTaken: Step<"taken"> = (r, node, { by }) => {
  r.pass.wait({ node: node.metadata.name, reason: "HeldByPlan", message: heldMessage(by) });
  r.pass.wakeAt(r.now + 10_000);
  return "applying";
};

const stepCordon: Step<"cordon"> = (r, node, { patch }) => {
  const n = node.metadata.name;
  r.pass.act({ kind: "patchNode", node: n, patch, why: "cordon" });
  // A node someone else cordoned only gets the drain's start mark: not our cordon to announce.
  if (patch.spec?.unschedulable === true) tellCordoned(r, node);
  return "applying";
};

const stepDrain: Step<"drain"> = (r, node, { drainAt }) => {
  const rules = r.plan.drain;
  if (rules === undefined) return stepApply(r, node, { phase: "apply", waitingFor: undefined });
  const started = drainAt === undefined ? r.now : Date.parse(drainAt);
  const startedAt = Number.isNaN(started) ? r.now : started;
  const timeout = rules.timeoutMs;
  const deadline = timeout === undefined ? undefined : startedAt + timeout;
  // unblockPDB gets one more timeout's worth of deleting before it fails too, so pods that keep
  // coming back (pinned by nodeName) cannot hold a node cordoned forever.
  const failAt = deadline === undefined || timeout === undefined ? undefined : rules.unblockPDB ? deadline + timeout : deadline;
  const then = r.input.render.apply(node, nextAttempt(r, node));
  r.pass.act({ kind: "drain", node: node.metadata.name, startedAt, deadline, failAt, rules, then, onFail: drainFailedPatch(node, r.name, r.hash) });
  return "applying";
};

const stepApply: Step<"apply"> = (r, node, { waitingFor }) => {
  if (waitingFor !== undefined) return "applying";
  const attempt = nextAttempt(r, node);
  const pod = r.input.render.apply(node, attempt);
  r.pass.act({ kind: "createPod", node: node.metadata.name, pod, why: "apply" });
  tellApplyPod(r, node.metadata.name, pod.metadata.name, attempt);
  return "applying";
};

const span = (ms: number): string => (ms % 3600_000 === 0 ? `${ms / 3600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : `${ms / 1000}s`);

/**
 * With gates.health the node is uncordoned as soon as its upgrade pod succeeded, so the soak
 * watches the node carrying its workloads again: "its pods are Ready" then means the pods that
 * came back, not only DaemonSets (docs/adr/0003-uncordon-before-the-soak.md). A SUC Plan (no
 * gates.health) keeps SUC's order: uncordoned with the done label, after postCompleteDelay.
 */
function uncordonForSoak(r: UsableRollout, node: Node, last: PodFacts): void {
  const soak = r.plan.health?.soakMs;
  if (soak === undefined || !holds(node, r.name)) return;
  const n = node.metadata.name;
  const patch = uncordonPatch(node, r.name, {});
  r.pass.act({ kind: "patchNode", node: n, patch, why: "uncordon" });
  tellUncordoned(r, node, patch, `its upgrade pod succeeded; it soaks ${span(soak)} carrying its pods (gates.health)`, uncordonKey(n, last.name));
}

// A node NotReady after its upgrade says since when (issue 9, item 6): the Plan's message and the
// node's line repeat its wait, so "Applying" never stands alone.
function unhealthyWait(health: GateVerdict, failAt: number | undefined): string {
  const notReady = health.reason === "NodeNotReady";
  if (failAt !== undefined) return `${health.message}${notReady ? "" : " yet"}; it fails at ${instant(failAt)} (gates.health.timeout)`;
  return notReady ? `${health.message}; no deadline (gates.health.timeout sets one)` : `${health.message} yet`;
}

function unhealthyFailure(node: Node, health: GateVerdict, timeoutMs: number): string {
  const within = `within ${Math.round(timeoutMs / 1000)}s after its upgrade (spec.gates.health.timeout)`;
  if (health.reason !== "NodeNotReady") return `${health.message} ${within}`;
  return `node ${node.metadata.name} did not become Ready ${within}: ${notReadyDetail(node)}`;
}

const stepSoak: Step<"soak"> = (r, node, { last }) => {
  const { pass, now, plan } = r;
  const n = node.metadata.name;
  const finished = last.finishedAt ?? now;
  const pods = r.input.podHealth?.get(n);
  uncordonForSoak(r, node, last);
  const health = healthGate.check({ node, pods });
  if (!health.open) {
    const timeout = plan.health?.timeoutMs;
    if (timeout !== undefined && now > finished + timeout) return failNode(r, node, last, "NodeNotReady", unhealthyFailure(node, health, timeout));
    const failAt = timeout === undefined ? undefined : finished + timeout;
    pass.wait({ node: n, reason: health.reason, message: unhealthyWait(health, failAt), ...(failAt !== undefined ? { until: failAt } : {}) });
    pass.wakeAt(now + 5000);
    return "soaking";
  }
  const soakFrom = Math.max(finished, nodeReady(node).since ?? finished, pods?.readySince ?? finished);
  const delayEnds = finished + (plan.postCompleteDelayMs ?? 0);
  const soakEnds = soakFrom + (plan.health?.soakMs ?? 0);
  const due = Math.max(delayEnds, soakEnds);
  if (now < due) {
    const soaking = soakEnds >= delayEnds && plan.health?.soakMs !== undefined;
    const message = soaking
      ? `node ${n} upgraded; it and its pods must stay Ready until ${instant(due)} (gates.health.soak ${span(plan.health?.soakMs ?? 0)}) before it is done`
      : `node ${n} upgraded; postCompleteDelay until ${instant(due)}, then it is done`;
    pass.wait({ node: n, reason: soaking ? "Soaking" : "PostCompleteDelay", message, until: due });
    return "soaking";
  }
  const patch = completePatch(node, r.name, r.hash, r.version, plan.postCompleteLabels);
  pass.act({ kind: "patchNode", node: n, patch, why: "complete" });
  tellUncordoned(r, node, patch, "its upgrade is complete", uncordonKey(n, last.name));
  tellComplete(r, n, patch.spec?.unschedulable === null);
  // Its slot is free in this very pass: the reconciler writes completions before it starts new
  // nodes, so a crash in between can never leave more than concurrency running.
  pass.complete++;
  return "complete";
};

const stepFailed: Step<"failed"> = (r, node, { cause }) => (cause.kind === "drain" ? drainExhausted(r, node, cause.count) : podFailed(r, node, cause));

function drainExhausted(r: UsableRollout, node: Node, count: number): NodeState {
  const n = node.metadata.name;
  const message = `the drain of node ${n} failed ${count} time(s) (see kubectl describe node ${n} for the pods that blocked it)`;
  r.pass.fail({ node: n, reason: "DrainFailed", message, attempts: count, hash: r.hash }, r.plan.onExhausted);
  tellNodeFailed(r, n, "DrainFailed", message, `${n}/${r.hash}/${count}`);
  return "failed";
}

/** Failed attempts that count: of this generation, since the last retry. */
const failedAttempts = (r: UsableRollout, applies: readonly PodFacts[]): number => {
  const from = r.retry.baselines.get(applies[0]?.node ?? "")?.attempt ?? 0;
  return applies.filter((p) => p.phase === "Failed" && p.generation === r.plan.generation && p.attempt > from).length;
};

/** The upgrade pod failed: retry after the backoff while retries are left, else the node fails. */
function podFailed(r: UsableRollout, node: Node, { last, applies }: Extract<FailureCause, { kind: "pod" }>): NodeState {
  const { pass, now, plan } = r;
  const failedNow = failedAttempts(r, applies);
  const detail = `pod ${last.name} failed: ${podFailure(last)} (attempt ${failedNow}/${plan.retries + 1})`;
  if (failedNow > plan.retries || last.terminating) {
    return failNode(r, node, last, "UpgradeFailed", `${detail}; see kubectl logs -n ${plan.namespace ?? "default"} ${last.name}`, applies);
  }
  const retryAt = (last.finishedAt ?? now) + plan.backoffMs * 2 ** Math.max(0, failedNow - 1);
  pass.failures.push({ node: node.metadata.name, reason: "Retrying", message: `${detail}; retrying`, attempts: failedNow, pod: last.name, hash: r.hash });
  const n = node.metadata.name;
  if (now < retryAt) {
    tellAttemptFailed(r, n, last, failedNow, `retrying in ${Math.ceil((retryAt - now) / 1000)}s (spec.failurePolicy.backoff)`);
    const message = `attempt ${failedNow} of ${plan.retries + 1} failed; the next starts at ${instant(retryAt)} (failurePolicy.backoff)`;
    pass.wait({ node: n, reason: "Backoff", message, until: retryAt });
    return "backoff";
  }
  tellAttemptFailed(r, n, last, failedNow, "retrying now");
  const nextAttempt = Math.max(...applies.map((p) => p.attempt)) + 1;
  const pod = r.input.render.apply(node, nextAttempt);
  pass.act({ kind: "createPod", node: n, pod, why: `retry ${nextAttempt}` });
  tellApplyPod(r, n, pod.metadata.name, nextAttempt);
  return "applying";
}

/** The node fails for good. It is not left cordoned by us (kured #63, SUC #71): it runs its old version. */
function failNode(r: UsableRollout, node: Node, pod: PodFacts, reason: string, message: string, applies?: readonly PodFacts[]): NodeState {
  const n = node.metadata.name;
  const all = applies ?? (r.podsByNode.get(n) ?? []).filter((p) => p.hash === r.hash && p.role === "apply");
  r.pass.fail({ node: n, reason, message, attempts: failedAttempts(r, all), pod: pod.name, hash: r.hash }, r.plan.onExhausted);
  const ann = node.metadata.annotations ?? {};
  const held = ann[annotationCordonedBy(r.name)] !== undefined || ann[annotationDrainStarted(r.name)] !== undefined;
  if (held) {
    const patch = uncordonPatch(node, r.name, {});
    r.pass.act({ kind: "patchNode", node: n, patch, why: "release" });
    tellUncordoned(r, node, patch, `its upgrade failed (${reason})`);
  }
  // Told while the node stays failed (its pod kept), counted once: a kill cannot lose it.
  tellNodeFailed(r, n, reason, held ? `${message}; node released` : message, pod.name);
  return "failed";
}

/**
 * A node leaving the Plan (opted out, deselected, labelled done by hand, the Plan unusable) while
 * one of the Plan's pods on it has not ended: it stays in flight, its slot and its cordon kept,
 * and is released once the pod has ended (docs/adr/0004-one-plan-holds-a-node.md). False when
 * nothing of the Plan's runs there.
 */
export function stayWhilePodsRun(r: Rollout, node: Node, why: Ineligibility | undefined): boolean {
  const [pod] = unfinishedPods(r.podsByNode.get(node.metadata.name));
  if (pod === undefined) return false;
  const n = node.metadata.name;
  const leaving = why === undefined ? "belongs to a Plan that cannot be applied (see its conditions)" : INELIGIBILITY_TEXT[why];
  r.pass.total++;
  r.pass.nodeStates.set(n, "applying");
  r.pass.applying.push(hostnameOf(node));
  const message = `node ${n} ${leaving}, but pod ${pod.name} has not ended: it keeps its slot and its cordon until the pod ends`;
  r.pass.wait({ node: n, reason: "PodNotEnded", message });
  return true;
}

/** Moves a node in flight (or just admitted) one step on; "idle" waits for admission. */
export function step(r: UsableRollout, node: Node, life: NodeLife): NodeState {
  switch (life.phase) {
    case "idle":
      return "pending";
    case "prepare":
      return stepPrepare(r, node, life);
    case "taken":
      return stepTaken(r, node, life);
    case "cordon":
      return stepCordon(r, node, life);
    case "drain":
      return stepDrain(r, node, life);
    case "apply":
      return stepApply(r, node, life);
    case "soak":
      return stepSoak(r, node, life);
    case "failed":
      return stepFailed(r, node, life);
  }
}
