// Who holds a node: which Plans have taken it (cordoned or drained it) and whose pods have not
// ended on it. Two Plans that cordon or drain never work on one node at once, and a node this
// Plan is leaving (opted out, deselected, done by hand, the Plan unusable) keeps its slot and
// its cordon until this Plan's pods on it have ended (docs/adr/0004-one-plan-holds-a-node.md).
import { CORDONED_BY_PREFIX, DRAIN_STARTED_PREFIX } from "./keys.ts";
import type { Node } from "./objects.ts";
import type { PodFacts } from "./pod-facts.ts";

/** Plans whose cordon or drain mark is on the node, by name, each once, in code-unit order. */
export function markHolders(node: Node): string[] {
  const plans = new Set<string>();
  for (const key of Object.keys(node.metadata.annotations ?? {})) {
    if (key.startsWith(CORDONED_BY_PREFIX)) plans.add(key.slice(CORDONED_BY_PREFIX.length));
    else if (key.startsWith(DRAIN_STARTED_PREFIX)) plans.add(key.slice(DRAIN_STARTED_PREFIX.length));
  }
  return [...plans].sort();
}

/**
 * The other Plan that holds the node, if any: its mark is on it, or (`podHolders`, from the
 * pods) it has a pod there that has not ended, which covers its prepare gate, before it marks
 * the node. Only a Plan that cordons or drains takes part: one that does neither asks nothing
 * of the node's schedulability, so it neither holds a node nor waits for one.
 */
export function otherHolder(node: Node, plan: string, takesNodes: boolean, podHolders: ReadonlyMap<string, string> | undefined): string | undefined {
  if (!takesNodes) return undefined;
  const marked = markHolders(node).find((p) => p !== plan);
  return marked ?? podHolders?.get(node.metadata.name);
}

/** What a user reads about a node another Plan holds. */
export const heldMessage = (holder: string): string =>
  `held by Plan ${holder}: one Plan that cordons or drains works on a node at a time; it starts once ${holder} has released it`;

export const ended = (p: Pick<PodFacts, "phase">): boolean => p.phase === "Succeeded" || p.phase === "Failed";

/** This Plan's pods on the node that have not ended (any hash, any role): while one runs, the node is in flight. */
export const unfinishedPods = (pods: readonly PodFacts[] | undefined): PodFacts[] => (pods ?? []).filter((p) => !ended(p));
