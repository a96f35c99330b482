import type { Plan } from "../../generated/plan.ts";
import { admit } from "./admission.ts";
import { type Ineligibility, eligibility } from "./eligibility.ts";
import type { NodeView } from "./model.ts";
import { orderNodes } from "./order.ts";

export interface SelectionInput {
  readonly plan: Plan;
  readonly nodes: readonly NodeView[];
  readonly latestHash: string;
  /** Node names with this Plan's work under way. */
  readonly inFlight: ReadonlySet<string>;
  /** Nodes where another exclusive Plan is at work; they matter only when this Plan is exclusive. */
  readonly exclusiveBusy?: ReadonlySet<string>;
}

export interface Skipped {
  readonly node: NodeView;
  readonly reason: Ineligibility;
}

export interface Selection {
  readonly concurrency: number;
  /** Every eligible node in rollout order (in flight included). */
  readonly ordered: NodeView[];
  readonly skipped: Skipped[];
  readonly inFlight: NodeView[];
  readonly start: NodeView[];
  readonly waiting: NodeView[];
  readonly blocked: NodeView[];
}

/** SUC selects nothing for concurrency 0; a missing value is plan-runner's default of 1. */
export const planConcurrency = (plan: Plan): number => plan.spec.concurrency ?? 1;

/**
 * One full node decision for one Plan: eligibility, order, admission. O(n log n) in the number
 * of nodes (the sort); this is what `npm run bench` times at 100,000 nodes.
 */
export function selectNodes(input: SelectionInput): Selection {
  const { plan } = input;
  const check = eligibility(plan, input.latestHash);
  const eligible: NodeView[] = [];
  const skipped: Skipped[] = [];
  for (const node of input.nodes) {
    const reason = check(node.labels);
    if (reason === undefined) eligible.push(node);
    else skipped.push({ node, reason });
  }
  const ordered = orderNodes(eligible, plan.spec.order);
  const concurrency = planConcurrency(plan);
  const blocked = plan.spec.exclusive === true ? input.exclusiveBusy : undefined;
  const a = admit({ ordered, inFlight: input.inFlight, ...(blocked === undefined ? {} : { blocked }), concurrency }, (n) => n.name);
  return { concurrency, ordered, skipped, ...a };
}

/** The waves a rollout of `ordered` takes at `concurrency` when every node takes as long as the others. */
export function waves<T>(ordered: readonly T[], concurrency: number): T[][] {
  if (concurrency < 1) return [];
  const size = Math.floor(concurrency);
  const out: T[][] = [];
  for (let i = 0; i < ordered.length; i += size) out.push(ordered.slice(i, i + size));
  return out;
}
