export interface AdmissionInput<T> {
  /** Eligible nodes in rollout order. */
  readonly ordered: readonly T[];
  /** Nodes with this Plan's work under way; each holds a slot whether or not it is still eligible. */
  readonly inFlight: ReadonlySet<string>;
  /** Nodes that may not start now (busy with another exclusive Plan); they wait without holding a slot. */
  readonly blocked?: ReadonlySet<string>;
  readonly concurrency: number;
}

export interface Admission<T> {
  /** Eligible nodes already in flight, in order. */
  readonly inFlight: T[];
  /** Nodes to start now, in order. */
  readonly start: T[];
  /** Eligible nodes left for later, in order. */
  readonly waiting: T[];
  /** Eligible nodes skipped this time because they are blocked, in order. */
  readonly blocked: T[];
}

/**
 * Concurrency admission. Invariant: in flight + started never exceeds `concurrency` (SUC #38,
 * #77, #132, #134 were races breaking it). Nodes in flight keep their slots, the free ones go to
 * the first nodes in order that are neither in flight nor blocked. A blocked node does not stop
 * the nodes behind it, so one busy node never stalls the Plan.
 */
export function admit<T>(input: AdmissionInput<T>, nameOf: (item: T) => string): Admission<T> {
  const free = Math.max(0, Math.floor(input.concurrency) - input.inFlight.size);
  const out: Admission<T> = { inFlight: [], start: [], waiting: [], blocked: [] };
  for (const item of input.ordered) {
    const name = nameOf(item);
    if (input.inFlight.has(name)) out.inFlight.push(item);
    else if (input.blocked?.has(name) === true) out.blocked.push(item);
    else if (out.start.length < free) out.start.push(item);
    else out.waiting.push(item);
  }
  return out;
}
