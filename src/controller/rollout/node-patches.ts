// The node patches a Plan writes: cordon, release and completion. Each is one merge patch, so a
// crash can never split a label from its uncordon.
import type { NodePatch } from "./decision.ts";
import { CORDON_SHARED, annotationCordonedBy, annotationDrainFailed, annotationDrainStarted, labelPlanName } from "./keys.ts";
import { markHolders } from "./node-holds.ts";
import type { Node } from "./objects.ts";

/**
 * Cordons (and marks the drain start); undefined when someone else's cordon already holds the node
 * and there is no drain. It is how a Plan takes a node, so it carries the node's resourceVersion
 * as a precondition: two Plans that read the node free in the same instant cannot both take it,
 * the second is refused (409) and, reading again, finds the first one's mark.
 */
export function cordonPatch(node: Node, plan: string, hash: string, drainAt: string | undefined): NodePatch | undefined {
  const already = node.spec?.unschedulable === true;
  if (already && drainAt === undefined) return undefined; // cordoned by someone else: leave it theirs
  const annotations: Record<string, string> = {};
  if (!already) annotations[annotationCordonedBy(plan)] = hash;
  if (drainAt !== undefined) annotations[annotationDrainStarted(plan)] = drainAt;
  const rv = node.metadata.resourceVersion;
  const metadata = rv === undefined ? { annotations } : { annotations, resourceVersion: rv };
  return already ? { metadata } : { metadata, spec: { unschedulable: true } };
}

/** Does this Plan hold the node (cordoned it or started draining it)? */
export function holds(node: Node, plan: string): boolean {
  const ann = node.metadata.annotations ?? {};
  return ann[annotationCordonedBy(plan)] !== undefined || ann[annotationDrainStarted(plan)] !== undefined;
}

/**
 * Drops this Plan's marks. The node becomes schedulable only if a Plan cordoned it and no other
 * Plan's mark is left: whoever leaves last uncordons, and a cordon no Plan made stays. If the
 * Plans left hold it with a drain mark only (they found it cordoned by this one, under a version
 * that let two Plans share a node), this Plan's cordon passes to them, so the last one still
 * uncordons.
 */
export function uncordonPatch(node: Node, plan: string, labels: Record<string, string> = {}): NodePatch {
  const ann = node.metadata.annotations ?? {};
  const ours = ann[annotationCordonedBy(plan)] !== undefined;
  const others = markHolders(node).filter((p) => p !== plan);
  const annotations: Record<string, string | null> = {};
  if (ours) annotations[annotationCordonedBy(plan)] = null;
  if (ann[annotationDrainStarted(plan)] !== undefined) annotations[annotationDrainStarted(plan)] = null;
  if (ours && !others.some((p) => ann[annotationCordonedBy(p)] !== undefined)) for (const p of others) annotations[annotationCordonedBy(p)] = CORDON_SHARED;
  const metadata: NodePatch["metadata"] = Object.keys(labels).length > 0 ? { labels, annotations } : { annotations };
  return ours && others.length === 0 ? { metadata, spec: { unschedulable: null } } : { metadata };
}

function withAnnotation(patch: NodePatch, key: string, value: string | null): NodePatch {
  return { ...patch, metadata: { ...patch.metadata, annotations: { ...patch.metadata.annotations, [key]: value } } };
}

/** How many drains of this node for this hash failed. */
export function drainFailures(node: Node, plan: string, hash: string): number {
  const [failedHash, failedCount] = (node.metadata.annotations?.[annotationDrainFailed(plan)] ?? "").split("/");
  return failedHash === hash ? Number(failedCount) || 0 : 0;
}

/** The release after a failed drain, counting the failure on the node. */
export function drainFailedPatch(node: Node, plan: string, hash: string): NodePatch {
  return withAnnotation(uncordonPatch(node, plan, {}), annotationDrainFailed(plan), `${hash}/${drainFailures(node, plan, hash) + 1}`);
}

/** Done label, postCompleteLabels (with $(LATEST_VERSION) and $(LATEST_HASH)) and the uncordon in one patch. */
export function completePatch(node: Node, plan: string, hash: string, version: string, extra: Readonly<Record<string, string | undefined>>): NodePatch {
  const labels: Record<string, string> = { [labelPlanName(plan)]: hash };
  for (const [k, v] of Object.entries(extra)) {
    if (v !== undefined) labels[k] = v.replaceAll("$(LATEST_VERSION)", version).replaceAll("$(LATEST_HASH)", hash);
  }
  const patch = uncordonPatch(node, plan, labels);
  return node.metadata.annotations?.[annotationDrainFailed(plan)] !== undefined ? withAnnotation(patch, annotationDrainFailed(plan), null) : patch;
}
