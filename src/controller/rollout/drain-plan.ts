import type { DrainSpec } from "../../generated/plan.ts";
import type { CompiledDrain } from "../../plan/compile.ts";
import { matchesSelector } from "../../plan/selector.ts";
import type { Pod } from "./objects.ts";
import { ANNOTATION_MIRROR_POD, LABEL_CONTROLLER } from "./keys.ts";

export interface DrainPlan {
  /** Pods to evict (or delete, with disableEviction). */
  readonly evict: readonly Pod[];
  /** Pods still going away: the drain is not done until they are gone. */
  readonly terminating: readonly Pod[];
  /** Why the drain cannot go on as configured (kubectl drain's refusals), one line per pod. */
  readonly refusals: readonly string[];
}

/**
 * Which pods a drain of a node must remove, with kubectl drain's rules: DaemonSet pods are
 * skipped (ignoreDaemonSets, default true) and mirror pods always; a pod with no controller
 * needs force; emptyDir data needs deleteEmptydirData (or deleteLocalData); podSelector
 * narrows the set. Never the controller's own pods or upgrade pods: they carry the
 * upgrade.cattle.io/controller label, which is also how a drain cannot evict the process that
 * runs it (seed incident 2026-05-11).
 */
export function planDrain(pods: readonly Pod[], spec: DrainSpec, now: number, protectedPods: ReadonlySet<string> = new Set()): DrainPlan {
  const evict: Pod[] = [];
  const terminating: Pod[] = [];
  const refusals: string[] = [];
  const ignoreDaemonSets = spec.ignoreDaemonSets ?? true;
  const deleteEmptyDir = spec.deleteEmptydirData === true || spec.deleteLocalData === true;
  for (const pod of pods) {
    const id = `${pod.metadata.namespace ?? ""}/${pod.metadata.name}`;
    const labels = pod.metadata.labels ?? {};
    if (labels[LABEL_CONTROLLER] !== undefined || protectedPods.has(id)) continue;
    if (pod.metadata.annotations?.[ANNOTATION_MIRROR_POD] !== undefined) continue;
    if (spec.podSelector !== undefined && !matchesSelector(spec.podSelector, labels, "matches-everything")) continue;
    const phase = pod.status?.phase;
    if (pod.metadata.deletionTimestamp !== undefined) {
      const since = Date.parse(pod.metadata.deletionTimestamp);
      const skipAfter = spec.skipWaitForDeleteTimeout ?? 0;
      if (skipAfter > 0 && !Number.isNaN(since) && now - since > skipAfter * 1000) continue;
      terminating.push(pod);
      continue;
    }
    const owner = pod.metadata.ownerReferences?.find((o) => o.controller === true);
    if (owner?.kind === "DaemonSet") {
      if (!ignoreDaemonSets) refusals.push(`${id}: managed by DaemonSet ${owner.name} (set drain.ignoreDaemonSets)`);
      continue;
    }
    if (phase !== "Succeeded" && phase !== "Failed") {
      if (owner === undefined && spec.force !== true) {
        refusals.push(`${id}: not managed by a controller, so it would not come back (set drain.force to delete it)`);
        continue;
      }
      if (!deleteEmptyDir && (pod.spec?.volumes ?? []).some((v) => v.emptyDir !== undefined)) {
        refusals.push(`${id}: uses emptyDir storage that a drain would delete (set drain.deleteEmptydirData)`);
        continue;
      }
    }
    evict.push(pod);
  }
  return { evict, terminating, refusals };
}

/** How one pod leaves the node in this pass of a drain. */
export interface Removal {
  readonly pod: Pod;
  /** Eviction respects PodDisruptionBudgets; delete is disableEviction, or unblockPDB past the deadline. */
  readonly how: "evict" | "delete";
  readonly gracePeriodSeconds: number | undefined;
}

export interface DrainPass {
  readonly removals: readonly Removal[];
  readonly terminating: readonly Pod[];
  readonly refusals: readonly string[];
}

/** One pass of a drain: which pods go and how, so the actuator only carries it out. */
export function planDrainPass(
  pods: readonly Pod[],
  rules: CompiledDrain,
  deadline: number | undefined,
  now: number,
  protectedPods: ReadonlySet<string>,
): DrainPass {
  const plan = planDrain(pods, rules.spec, now, protectedPods);
  const overdue = deadline !== undefined && now >= deadline;
  const how = rules.disableEviction || (overdue && rules.unblockPDB) ? "delete" : "evict";
  return {
    removals: plan.evict.map((pod) => ({ pod, how, gracePeriodSeconds: rules.gracePeriodSeconds })),
    terminating: plan.terminating,
    refusals: plan.refusals,
  };
}
