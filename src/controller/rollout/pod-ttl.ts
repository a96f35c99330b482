import type { Rollout } from "./pass.ts";

/**
 * Pods whose job is done are kept for their TTL (kubectl logs), then removed. Evidence of a node
 * that failed for good stays until the Plan is edited or the node leaves.
 */
export function expirePods(r: Rollout): void {
  const { pass, now } = r;
  const failedNodes = new Set(pass.failures.filter((f) => f.reason !== "Retrying").map((f) => f.node));
  for (const p of r.input.pods) {
    if (p.finishedAt === undefined || p.terminating || failedNodes.has(p.node)) continue;
    const state = pass.nodeStates.get(p.node);
    const obsolete = p.hash !== r.hash || state === "complete" || state === undefined;
    if (!obsolete) continue;
    const at = p.finishedAt + r.input.config.podTtlMs;
    if (now >= at) pass.act({ kind: "deletePod", name: p.name, uid: p.uid, why: "ttl" });
    else pass.wakeAt(at);
  }
}
