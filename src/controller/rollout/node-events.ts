// The Events of a node's life, one per step a person would want to see, on the Plan. Each is
// told from what the world shows, as the phase is (node-life.ts): a pod that exists, failed or
// succeeded, this Plan's marks on the node. So a step is told on every pass that shows it, under
// a key naming the occurrence (a pod's name, a cordon), and the event writer counts each key
// once: a controller killed between a write and its Event tells it on the next pass, and no
// pass counts it twice. The steps that write tell in the same pass (the step functions call the
// same builders), so nobody waits a pass for the Event of a write that just went through.
import type { NodePatch } from "./decision.ts";
import { CORDONED_BY_PREFIX, annotationCordonedBy, annotationDrainFailed, annotationDrainStarted } from "./keys.ts";
import type { NodeLife } from "./node-life.ts";
import { drainFailures } from "./node-patches.ts";
import type { Node } from "./objects.ts";
import type { UsableRollout } from "./pass.ts";
import type { PodFacts } from "./pod-facts.ts";

/** The steps told from this Plan's marks on the node, which its completing or releasing patch removes. */
export const TOLD_FROM_MARKS: ReadonlySet<string> = new Set(["Cordoned", "Drained"]);

const attemptOf = (r: UsableRollout, attempt: number): string => `attempt ${attempt}/${r.plan.retries + 1}`;

/** The cordon: keyed by the hash and how many drains failed before, so a cordon after a failed drain is a new one. */
export function tellCordoned(r: UsableRollout, node: Node): void {
  const n = node.metadata.name;
  const draining = r.plan.drain !== undefined ? " and is draining it" : "";
  r.pass.tell({
    node: n,
    type: "Normal",
    reason: "Cordoned",
    message: `Plan ${r.name} cordoned node ${n}${draining}`,
    key: `${n}/cordon/${r.hash}/${drainFailures(node, r.name, r.hash)}`,
  });
}

/** An upgrade pod was created: the first attempt, or a retry. */
export function tellApplyPod(r: UsableRollout, n: string, pod: string, attempt: number): void {
  if (attempt <= 1)
    r.pass.tell({ node: n, type: "Normal", reason: "ApplyPodCreated", message: `Plan ${r.name} created upgrade pod ${pod} on node ${n}`, key: pod });
  else
    r.pass.tell({
      node: n,
      type: "Normal",
      reason: "Retried",
      message: `Plan ${r.name} retries node ${n}: upgrade pod ${pod}, ${attemptOf(r, attempt)}`,
      key: pod,
    });
}

/** How an upgrade pod failed, as `kubectl describe pod` would say it. */
export function podFailure(pod: PodFacts): string {
  const exit = pod.exitCode !== undefined ? ` (exit ${pod.exitCode})` : "";
  const said = pod.message !== undefined ? `: ${pod.message.trim().slice(0, 200)}` : "";
  return `${pod.reason ?? "Error"}${exit}${said}`;
}

/** An attempt failed and another follows (after the backoff); on the Node too. */
export function tellAttemptFailed(r: UsableRollout, n: string, pod: PodFacts, attempt: number, next: string): void {
  const message = `Plan ${r.name}: upgrade pod ${pod.name} on node ${n} failed: ${podFailure(pod)} (${attemptOf(r, attempt)}); ${next}`;
  r.pass.tell({ node: n, onNode: true, type: "Warning", reason: "AttemptFailed", message, key: pod.name });
}

/** The node failed for good (retries exhausted, a drain that kept failing, not Ready after its upgrade); on the Node too. */
export function tellNodeFailed(r: UsableRollout, n: string, reason: string, message: string, key: string): void {
  r.pass.tell({ node: n, onNode: true, type: "Warning", reason, message: `Plan ${r.name}: ${message}`, key: `${key}/${reason}` });
}

/**
 * The uncordon after a successful upgrade pod (before the soak with gates.health, with the done
 * label without): one per such pod, and a key the world still shows after the patch removed the
 * marks, so a later pass can tell it again (tellUncordonedSince).
 */
export const uncordonKey = (node: string, pod: string): string => `${node}/uncordon/${pod}`;

/**
 * The Plan's patch makes the node schedulable again (completion or release). `key`: the
 * success path's (uncordonKey); a release is keyed by the marks the patch removes, which name
 * this cordon (a later one carries another drain start or count).
 */
export function tellUncordoned(
  r: { readonly name: string; readonly pass: UsableRollout["pass"] },
  node: Node,
  patch: NodePatch,
  why: string,
  key?: string,
): void {
  if (patch.spec?.unschedulable !== null) return;
  const n = node.metadata.name;
  const ann = node.metadata.annotations ?? {};
  const marks = `${n}/uncordon/${ann[annotationCordonedBy(r.name)] ?? ""}/${ann[annotationDrainStarted(r.name)] ?? ""}/${ann[annotationDrainFailed(r.name)] ?? ""}`;
  r.pass.tell({ node: n, type: "Normal", reason: "Uncordoned", message: `Plan ${r.name} uncordoned node ${n}: ${why}`, key: key ?? marks });
}

/**
 * The success path's uncordon, told again from what it left: a Plan that cordons, its upgrade pod
 * succeeded, and the node is schedulable with no Plan's mark on it. A kill between the patch and
 * its Event (issue 9, item 10) would otherwise lose it: nothing else shows the cordon was ours.
 * A node whose cordon was not ours to lift (someone else's before the Plan, or another Plan's
 * still on it at completion), lifted by them while the upgrade pod is kept, would be told as
 * ours: the price of marks that leave with the patch.
 */
function tellUncordonedSince(r: UsableRollout, node: Node, succeeded: PodFacts | undefined): void {
  if (!r.plan.cordon || succeeded === undefined || node.spec?.unschedulable === true) return;
  const ann = node.metadata.annotations ?? {};
  if (Object.keys(ann).some((k) => k.startsWith(CORDONED_BY_PREFIX)) || ann[annotationDrainStarted(r.name)] !== undefined) return;
  const n = node.metadata.name;
  const why = r.plan.health !== undefined ? "its upgrade pod succeeded; it soaks carrying its pods (gates.health)" : "its upgrade is complete";
  r.pass.tell({ node: n, type: "Normal", reason: "Uncordoned", message: `Plan ${r.name} uncordoned node ${n}: ${why}`, key: uncordonKey(n, succeeded.name) });
}

/** The upgrade pod of the latest attempt, if it succeeded. */
const succeededPod = (applies: readonly PodFacts[]): PodFacts | undefined =>
  [...applies].sort((a, b) => b.attempt - a.attempt).find((p, i) => i === 0 && p.phase === "Succeeded");

/** The node is labelled done. `uncordoned`: the same patch made it schedulable. */
export function tellComplete(r: UsableRollout, n: string, uncordoned: boolean): void {
  const tail = uncordoned ? "; node uncordoned" : "";
  r.pass.tell({
    node: n,
    type: "Normal",
    reason: "NodeComplete",
    message: `Plan ${r.name} completed node ${n} at ${r.version}${tail}`,
    key: `${n}/complete/${r.hash}`,
  });
}

/**
 * The steps the world shows were taken by a node in flight, told again (each counted once):
 * the prepare gate's verdicts, the cordon, the drain, each upgrade pod and how it ended. The
 * latest failed attempt is the failed step's to tell (it knows whether another follows).
 */
export function tellLife(r: UsableRollout, node: Node, life: NodeLife): void {
  const n = node.metadata.name;
  const ann = node.metadata.annotations ?? {};
  const mine = (r.podsByNode.get(n) ?? []).filter((p) => p.hash === r.hash);
  for (const p of mine.filter((x) => x.role === "prepare")) tellGate(r, n, p);
  if (life.phase === "idle" || life.phase === "prepare" || life.phase === "taken" || life.phase === "cordon") return;
  if (ann[annotationCordonedBy(r.name)] === r.hash) tellCordoned(r, node);
  const applies = mine.filter((p) => p.role === "apply");
  const drainAt = ann[annotationDrainStarted(r.name)];
  if (r.plan.drain !== undefined && drainAt !== undefined && applies.length > 0) {
    r.pass.tell({ node: n, type: "Normal", reason: "Drained", message: `Plan ${r.name} drained node ${n}`, key: `${n}/drain/${drainAt}` });
  }
  tellApplies(r, n, applies);
  if (life.phase === "soak") tellUncordonedSince(r, node, succeededPod(applies));
}

/** Each upgrade pod: created (or a retry), and how it ended; the latest failure is not told here. */
function tellApplies(r: UsableRollout, n: string, applies: readonly PodFacts[]): void {
  const latestAttempt = Math.max(0, ...applies.map((p) => p.attempt));
  for (const p of applies) {
    tellApplyPod(r, n, p.name, p.attempt);
    if (p.phase === "Succeeded") tellUpgraded(r, n, p);
    else if (p.phase === "Failed" && p.attempt < latestAttempt) tellAttemptFailed(r, n, p, p.attempt, "retried");
  }
}

/**
 * A done node whose upgrade pods are still kept: their story, the uncordon and the completion,
 * told again (a kill right after the completing patch cut the first telling). The cordon and
 * drain marks are gone with that patch: those steps are not told again.
 */
export function tellDone(r: UsableRollout, node: Node): void {
  const n = node.metadata.name;
  const applies = (r.podsByNode.get(n) ?? []).filter((p) => p.hash === r.hash && p.role === "apply");
  const succeeded = succeededPod(applies);
  if (succeeded === undefined) return;
  tellApplies(r, n, applies);
  tellUncordonedSince(r, node, succeeded);
  tellComplete(r, n, false);
}

function tellUpgraded(r: UsableRollout, n: string, pod: PodFacts): void {
  const soak = r.plan.health !== undefined || (r.plan.postCompleteDelayMs ?? 0) > 0 ? "; its gates decide when it is complete" : "";
  r.pass.tell({ node: n, type: "Normal", reason: "Upgraded", message: `Plan ${r.name}: upgrade pod ${pod.name} succeeded on node ${n}${soak}`, key: pod.name });
}

/** The prepare gate's verdict on the node: passed, held (quiet) or blocked (a person must look). */
function tellGate(r: UsableRollout, n: string, pod: PodFacts): void {
  if (pod.phase === "Succeeded") {
    r.pass.tell({
      node: n,
      type: "Normal",
      reason: "PreparePassed",
      message: `Plan ${r.name}: the prepare gate passed node ${n} (pod ${pod.name})`,
      key: pod.name,
    });
    return;
  }
  if (pod.phase !== "Failed") return;
  const verdict = r.prepare.check(pod);
  const held = verdict.reason === "PrepareHeld";
  r.pass.tell({
    node: n,
    onNode: !held,
    type: held ? "Normal" : "Warning",
    reason: verdict.reason,
    message: `Plan ${r.name}: the prepare gate on node ${n}: ${verdict.message}`,
    key: pod.name,
  });
}
