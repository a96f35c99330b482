// Retrying after a failure without editing the Plan's spec (which GitOps would revert): a token
// in an annotation, on the Plan (every failed node) or on a node (that node). Each token is
// applied once: the Plan's status records the token and, per node, the attempts and drain
// failures that stopped counting then. The status outlives the controller, so a restart neither
// forgets a retry nor applies it twice. The failed pods stay, so `kubectl logs` still shows why.
import type { DecideInput } from "./decision.ts";
import { ANNOTATION_RETRY, annotationRetry, labelPlanName } from "./keys.ts";
import { drainFailures } from "./node-patches.ts";
import type { Node } from "./objects.ts";
import type { Pass } from "./pass.ts";
import type { PodFacts } from "./pod-facts.ts";

/** What no longer counts against a node's retries: its apply attempts up to `attempt`, and `drains` failed drains. */
export interface RetryBaseline {
  readonly node: string;
  readonly hash: string;
  readonly attempt: number;
  readonly drains: number;
  /** The node's retry annotation when this was recorded ("" when none): it is applied. */
  readonly token: string;
}

/** status.retry. */
export interface RetryRecord {
  /** The Plan's retry annotation last applied. */
  readonly token?: string;
  readonly nodes: readonly RetryBaseline[];
}

function previous(input: DecideInput): RetryRecord {
  const r = input.plan.source.status?.retry;
  const nodes: RetryBaseline[] = [];
  for (const n of r?.nodes ?? []) {
    if (n.node === undefined || n.hash === undefined || n.attempt === undefined || n.drains === undefined) continue;
    nodes.push({ node: n.node, hash: n.hash, attempt: n.attempt, drains: n.drains, token: n.token ?? "" });
  }
  return { ...(r?.token !== undefined ? { token: r.token } : {}), nodes };
}

/** Nodes the last status called failed for good at this hash. */
function failedNodes(input: DecideInput, hash: string): Set<string> {
  const failures = input.plan.source.status?.failures ?? [];
  return new Set(failures.filter((f) => f["reason"] !== "Retrying" && f["hash"] === hash).map((f) => String(f["node"] ?? "")));
}

const highestAttempt = (pods: readonly PodFacts[], hash: string): number =>
  pods.filter((p) => p.role === "apply" && p.hash === hash).reduce((a, p) => Math.max(a, p.attempt), 0);

/**
 * The retries in force for this pass, with those asked for since the last: each new one records
 * a baseline and one Event on the Plan saying what it did.
 */
export function retriesOf(
  input: DecideInput,
  hash: string,
  podsByNode: ReadonlyMap<string, readonly PodFacts[]>,
  pass: Pass,
): { baselines: Map<string, RetryBaseline>; record: RetryRecord | undefined } {
  const before = previous(input);
  const byNode = new Map(before.nodes.map((b) => [b.node, b]));
  const plan = input.plan.name;
  const planToken = input.plan.source.metadata.annotations?.[ANNOTATION_RETRY];
  const nodes = new Map(input.nodes.map((n) => [n.metadata.name, n]));
  const selected = (n: Node): boolean => n.metadata.labels?.[labelPlanName(plan)] !== hash;
  const baseline = (n: Node): RetryBaseline => ({
    node: n.metadata.name,
    hash,
    attempt: highestAttempt(podsByNode.get(n.metadata.name) ?? [], hash),
    drains: drainFailures(n, plan, hash),
    token: n.metadata.annotations?.[annotationRetry(plan)] ?? "",
  });
  let changed = false;
  let token = before.token;
  if (planToken !== undefined && planToken !== before.token) {
    const retried = [...failedNodes(input, hash)].map((n) => nodes.get(n)).filter((n): n is Node => n !== undefined && selected(n));
    for (const n of retried) byNode.set(n.metadata.name, baseline(n));
    token = planToken;
    changed = true;
    const what = retried.length === 0 ? "no node had failed, nothing to retry" : `node(s) ${retried.map((n) => n.metadata.name).join(", ")} start again`;
    pass.tell({
      type: "Normal",
      reason: "RetryRequested",
      message: `retry asked by annotation ${ANNOTATION_RETRY}=${planToken} on the Plan: ${what}`,
      key: `retry/${planToken}`,
    });
  }
  for (const n of input.nodes) {
    const asked = n.metadata.annotations?.[annotationRetry(plan)];
    if (asked === undefined || asked === "" || byNode.get(n.metadata.name)?.token === asked) continue;
    byNode.set(n.metadata.name, baseline(n));
    changed = true;
    const name = n.metadata.name;
    pass.tell({
      node: name,
      type: "Normal",
      reason: "RetryRequested",
      message: `retry asked by annotation ${annotationRetry(plan)}=${asked} on node ${name}: node ${name} starts again`,
      key: `${name}/retry/${asked}`,
    });
  }
  const record: RetryRecord | undefined =
    byNode.size === 0 && token === undefined
      ? undefined
      : { ...(token !== undefined ? { token } : {}), nodes: [...byNode.values()].sort((a, b) => a.node.localeCompare(b.node)) };
  const baselines = new Map([...byNode].filter(([, b]) => b.hash === hash));
  return { baselines, record: changed || record !== undefined ? record : undefined };
}
