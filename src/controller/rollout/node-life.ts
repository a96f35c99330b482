// A node's life under a Plan, read back from the world (its pods, labels and annotations), so a
// controller killed at any instant resumes where it was. docs/architecture.md draws it.
//
//   idle -> prepare -> cordon -> drain -> apply -> soak -> done
//                  \-> taken (another Plan holds the node)   \-> failed (retries left: apply again)
import { LABEL_HOSTNAME, annotationCordonedBy, annotationDrainStarted } from "./keys.ts";
import { otherHolder } from "./node-holds.ts";
import { cordonPatch, drainFailures } from "./node-patches.ts";
import type { NodePatch } from "./decision.ts";
import type { Node } from "./objects.ts";
import type { UsableRollout } from "./pass.ts";
import type { PodFacts } from "./pod-facts.ts";

export type NodeLife =
  /** Nothing under way: waits for admission. */
  | { readonly phase: "idle" }
  /** The prepare gate: no pod yet, or one that has not passed; `earlier`: the gate's older runs. */
  | { readonly phase: "prepare"; readonly pod: PodFacts | undefined; readonly earlier: readonly PodFacts[] }
  /** Another Plan that cordons or drains holds the node (node-holds.ts): this one waits, taking nothing. */
  | { readonly phase: "taken"; readonly by: string }
  | { readonly phase: "cordon"; readonly patch: NodePatch }
  | { readonly phase: "drain"; readonly drainAt: string | undefined }
  /** The upgrade pod: not created yet, running, or an older hash's pod still finishing. */
  | { readonly phase: "apply"; readonly waitingFor: PodFacts | undefined }
  /** The upgrade pod succeeded: postCompleteDelay and the health gate. */
  | { readonly phase: "soak"; readonly last: PodFacts }
  | { readonly phase: "failed"; readonly cause: FailureCause };

export type FailureCause =
  { readonly kind: "pod"; readonly last: PodFacts; readonly applies: readonly PodFacts[] } | { readonly kind: "drain"; readonly count: number };

export const latest = (pods: readonly PodFacts[]): PodFacts | undefined =>
  pods.reduce<PodFacts | undefined>((a, p) => (a === undefined || p.attempt > a.attempt ? p : a), undefined);

export const hostnameOf = (node: Node): string => node.metadata.labels?.[LABEL_HOSTNAME] ?? node.metadata.name;

/** Where an eligible node is in its life. */
export function lifeOf(r: UsableRollout, node: Node): NodeLife {
  const ann = node.metadata.annotations ?? {};
  const mine = r.podsByNode.get(node.metadata.name) ?? [];
  const current = mine.filter((p) => p.hash === r.hash);
  const older = mine.find((p) => p.hash !== r.hash && (p.phase === "Pending" || p.phase === "Running"));
  const cordoned = ann[annotationCordonedBy(r.name)] !== undefined;
  const drainAt = ann[annotationDrainStarted(r.name)];
  if (current.length === 0 && !cordoned && drainAt === undefined && older === undefined) {
    const count = drainFailures(node, r.name, r.hash) - (r.retry.baselines.get(node.metadata.name)?.drains ?? 0);
    return count > r.plan.retries ? { phase: "failed", cause: { kind: "drain", count } } : { phase: "idle" };
  }
  // A pod of an older hash finishes first: never kill an upgrade half-way.
  if (older !== undefined) return { phase: "apply", waitingFor: older };
  return inFlight(r, node, current, cordoned || drainAt !== undefined);
}

/** The attempt number of the next upgrade pod on a node: attempts never reuse a name, across retries too. */
export const nextAttempt = (r: UsableRollout, node: Node): number =>
  (r.podsByNode.get(node.metadata.name) ?? []).filter((p) => p.role === "apply" && p.hash === r.hash).reduce((a, p) => Math.max(a, p.attempt), 0) + 1;

/** The first phase of a node just admitted: as lifeOf would read it once it has no pods. */
export function firstPhase(r: UsableRollout, node: Node): NodeLife {
  return r.plan.hasPrepare ? { phase: "prepare", pod: undefined, earlier: [] } : afterPrepare(r, node, false);
}

/** `claimed`: this Plan already cordoned the node or started its drain. */
function inFlight(r: UsableRollout, node: Node, current: readonly PodFacts[], claimed: boolean): NodeLife {
  // After a retry (retry.ts) the attempts before it are history: the node starts again from its cordon.
  const from = r.retry.baselines.get(node.metadata.name)?.attempt ?? 0;
  const applies = current.filter((p) => p.role === "apply" && p.attempt > from);
  if (r.plan.hasPrepare && applies.length === 0) {
    const gates = current.filter((p) => p.role === "prepare");
    const pod = latest(gates);
    if (pod?.phase !== "Succeeded") return { phase: "prepare", pod, earlier: gates.filter((p) => p !== pod) };
  }
  const last = latest(applies);
  if (last === undefined) return afterPrepare(r, node, claimed);
  if (last.phase === "Succeeded") return { phase: "soak", last };
  if (last.phase === "Failed") return { phase: "failed", cause: { kind: "pod", last, applies } };
  return { phase: "apply", waitingFor: last };
}

function afterPrepare(r: UsableRollout, node: Node, claimed: boolean): NodeLife {
  if (r.plan.cordon && !claimed) {
    const by = otherHolder(node, r.name, true, r.input.podHolders);
    if (by !== undefined) return { phase: "taken", by };
    const patch = cordonPatch(node, r.name, r.hash, r.plan.drain !== undefined ? new Date(r.now).toISOString() : undefined);
    if (patch !== undefined) return { phase: "cordon", patch };
  }
  if (r.plan.drain === undefined) return { phase: "apply", waitingFor: undefined };
  const drainAt = node.metadata.annotations?.[annotationDrainStarted(r.name)];
  return { phase: "drain", drainAt };
}
