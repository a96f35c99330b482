// What the notification webhook announces, decided from the Plan's status alone. The record of
// what was announced lives in the status too (status.notified), written in the same patch as
// the state that caused it: a restarted controller, or a new leader, reads the record back and
// finds nothing new to say.
import type { PlanStatus } from "../../generated/plan.ts";

export interface NotifiedRecord {
  readonly hash: string;
  readonly sent: readonly string[];
}

export interface Notice {
  /** Stable key of the message within one rollout (one latestHash). */
  readonly key: string;
  readonly text: string;
}

const GATES = ["Halted", "Blocked", "Held"] as const;

function readRecord(status: PlanStatus): NotifiedRecord | undefined {
  const n = status.notified;
  // Written by a controller, possibly another version of it: anything unreadable counts as nothing said.
  if (typeof n?.hash !== "string" || !Array.isArray(n.sent)) return undefined;
  return { hash: n.hash, sent: n.sent.filter((s) => typeof s === "string") };
}

/**
 * The messages `next` calls for that were not sent for its hash yet, and the record to store
 * with it. Each key is said once per rollout: a gate that opens and closes again with the same
 * reason (a prepare gate re-run every poll interval, alerts that flap) is not announced twice;
 * the Plan's conditions and Events still show every change. `previous` is the status as stored.
 */
export function notices(planId: string, previous: PlanStatus | undefined, next: PlanStatus): { notices: Notice[]; record: NotifiedRecord | undefined } {
  const hash = next.latestHash;
  const before = readRecord(next) ?? (previous !== undefined ? readRecord(previous) : undefined);
  // No hash: the Plan is invalid or unresolved; that is told by its conditions, not announced.
  if (hash === undefined) return { notices: [], record: before };
  const sent = new Set(before?.hash === hash ? before.sent : []);
  const out: Notice[] = [];
  const say = (key: string, text: string): void => {
    if (sent.has(key)) return;
    sent.add(key);
    out.push({ key, text });
  };
  const version = next.latestVersion ?? "?";
  const counts = next.counts ?? {};
  const total = counts.total ?? 0;
  const complete = counts.complete ?? 0;
  const conditionTrue = (type: string): { reason?: string | undefined; message?: string | undefined } | undefined =>
    next.conditions?.find((c) => c.type === type && c.status === "True");

  // Started: a node is being worked on; a gate that holds or blocks the first node is told as such, not as a start.
  if (next.state === "Applying" && (counts.applying ?? 0) > 0) {
    say("started", `plan-runner: ${planId} started upgrading ${total - complete} of ${total} nodes to ${version}`);
  }
  for (const f of next.failures ?? []) {
    if (f.node === undefined) continue;
    // The failure's message already counts the attempts and names the pod to read.
    say(`failed/${f.node}`, `plan-runner: ${planId}: node ${f.node} failed (${f.reason ?? "Error"}): ${f.message ?? ""}`.trimEnd());
  }
  for (const gate of GATES) {
    if (next.state !== gate) continue;
    const c = conditionTrue(gate);
    const reason = c?.reason ?? gate;
    say(`${gate}/${reason}`, `plan-runner: ${planId} is ${gate} (${reason}): ${c?.message ?? ""}`.trimEnd());
  }
  // Complete only follows a start: a Plan found already complete (nodes SUC upgraded, a Plan
  // that selects none, notifications just turned on) has nothing to announce.
  if (conditionTrue("Complete") !== undefined && sent.has("started")) {
    say("complete", `plan-runner: ${planId} is Complete: ${complete}/${total} nodes at ${version}`);
  }
  const record = { hash, sent: [...sent] };
  return { notices: out, record };
}

/** The status with the record in it (unchanged when there is nothing to record). */
export function withRecord(status: PlanStatus, record: NotifiedRecord | undefined): PlanStatus {
  if (record === undefined) return status;
  return { ...status, notified: { hash: record.hash, sent: [...record.sent] } };
}
