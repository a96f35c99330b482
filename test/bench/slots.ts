// What a rollout bench measures from the outside, through one watch of the pods and one of the
// nodes: per Plan, when each node was first written (its cordon or its pod), when its pod
// finished, and from those the slot gaps: how long a freed concurrency slot stayed idle.

export interface NodeTimes {
  /** The controller's first write seen: the cordon, or the upgrade pod's creation. */
  firstWrite?: number;
  podAdded?: number;
  podDone?: number;
  /** The done label first seen on the node (the controller saw the pod finish and completed the node). */
  labelled?: number;
}

/** One Plan's nodes, by name, as the watches saw them (ms since the epoch). */
export type PlanTimes = Map<string, NodeTimes>;

export function noteFirstWrite(t: NodeTimes, at: number): void {
  if (t.firstWrite === undefined || at < t.firstWrite) t.firstWrite = at;
}

/**
 * With concurrency C, the (i+C)-th start (in time order) takes the slot the i-th finish freed:
 * the gap between them is the time the controller left that slot idle. A start before the finish
 * it is paired with (a slot free for another reason) counts as 0. Milliseconds.
 */
export function slotGaps(times: PlanTimes, concurrency: number): number[] {
  const starts = [...times.values()].map((t) => t.firstWrite).filter((x) => x !== undefined);
  const dones = [...times.values()].map((t) => t.podDone).filter((x) => x !== undefined);
  starts.sort((a, b) => a - b);
  dones.sort((a, b) => a - b);
  const gaps: number[] = [];
  for (let i = 0; i + concurrency < starts.length && i < dones.length; i++) gaps.push(Math.max(0, (starts[i + concurrency] ?? 0) - (dones[i] ?? 0)));
  return gaps;
}

/** Pod lifetimes (creation to Succeeded, as the watch saw them), seconds. */
export const lifetimes = (times: PlanTimes): number[] =>
  [...times.values()].filter((t) => t.podAdded !== undefined && t.podDone !== undefined).map((t) => (t.podDone! - t.podAdded!) / 1000);

export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? Number.NaN;
}

/** Per node: from its pod finishing to its done label, the first half of a slot's gap (ms). */
export const completionLags = (times: PlanTimes): number[] =>
  [...times.values()].filter((t) => t.podDone !== undefined && t.labelled !== undefined).map((t) => Math.max(0, t.labelled! - t.podDone!));
