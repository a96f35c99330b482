// The node patches a Plan writes: cordon, release and completion. Each is one merge patch, so a
// crash can never split a label from its uncordon.
import type { NodePatch } from "./decision.ts";
import { CORDONED_BY_PREFIX, annotationCordonedBy, annotationDrainFailed, annotationDrainStarted, labelPlanName } from "./keys.ts";
import type { Node } from "./objects.ts";

/** Cordons (and marks the drain start); undefined when someone else's cordon already holds the node and there is no drain. */
export function cordonPatch(node: Node, plan: string, hash: string, drainAt: string | undefined): NodePatch | undefined {
  const already = node.spec?.unschedulable === true;
  if (already && drainAt === undefined) return undefined; // cordoned by someone else: leave it theirs
  const annotations: Record<string, string> = {};
  if (!already) annotations[annotationCordonedBy(plan)] = hash;
  if (drainAt !== undefined) annotations[annotationDrainStarted(plan)] = drainAt;
  return already ? { metadata: { annotations } } : { metadata: { annotations }, spec: { unschedulable: true } };
}

/** Does this Plan hold the node (cordoned it or started draining it)? */
export function holds(node: Node, plan: string): boolean {
  const ann = node.metadata.annotations ?? {};
  return ann[annotationCordonedBy(plan)] !== undefined || ann[annotationDrainStarted(plan)] !== undefined;
}

/** Drops this Plan's claims; the node becomes schedulable only if we cordoned it and no other Plan holds it. */
export function uncordonPatch(node: Node, plan: string, labels: Record<string, string> = {}): NodePatch {
  const ann = node.metadata.annotations ?? {};
  const ours = ann[annotationCordonedBy(plan)] !== undefined;
  const others = Object.keys(ann).some((k) => k.startsWith(CORDONED_BY_PREFIX) && k !== annotationCordonedBy(plan));
  const annotations: Record<string, null> = {};
  if (ours) annotations[annotationCordonedBy(plan)] = null;
  if (ann[annotationDrainStarted(plan)] !== undefined) annotations[annotationDrainStarted(plan)] = null;
  const metadata: NodePatch["metadata"] = Object.keys(labels).length > 0 ? { labels, annotations } : { annotations };
  return ours && !others ? { metadata, spec: { unschedulable: null } } : { metadata };
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
