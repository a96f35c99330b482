import type { Pod } from "./objects.ts";

import { ANNOTATION_ATTEMPT, ANNOTATION_GENERATION, LABEL_HASH, LABEL_PLAN, LABEL_ROLE } from "./keys.ts";

export type PodRole = "prepare" | "apply";

export interface PodFacts {
  readonly name: string;
  readonly uid: string | undefined;
  readonly plan: string;
  readonly node: string;
  readonly hash: string;
  readonly role: PodRole;
  readonly attempt: number;
  readonly generation: number;
  readonly phase: "Pending" | "Running" | "Succeeded" | "Failed" | "Unknown";
  readonly terminating: boolean;
  /** The first non-zero exit code of a terminated container (init containers first), or 0. */
  readonly exitCode: number | undefined;
  readonly reason: string | undefined;
  readonly message: string | undefined;
  readonly finishedAt: number | undefined;
  readonly createdAt: number | undefined;
}

const ms = (iso: string | undefined): number | undefined => {
  if (iso === undefined) return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
};

/**
 * Facts read once per pod object: a cache holds each version of a pod as a new object (the
 * informer replaces, never edits), and every pass reads every pod of the Plan again.
 */
const read = new WeakMap<Pod, PodFacts | null>();

/** What an upgrade pod tells about its node's progress; undefined for pods that are not ours. */
export function podFacts(pod: Pod): PodFacts | undefined {
  const have = read.get(pod);
  if (have !== undefined) return have ?? undefined;
  const facts = readFacts(pod);
  read.set(pod, facts ?? null);
  return facts;
}

function readFacts(pod: Pod): PodFacts | undefined {
  const labels = pod.metadata.labels ?? {};
  const plan = labels[LABEL_PLAN];
  const hash = labels[LABEL_HASH];
  const role = labels[LABEL_ROLE];
  const node = pod.spec?.nodeName;
  if (plan === undefined || hash === undefined || node === undefined || (role !== "prepare" && role !== "apply")) return undefined;
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  const terminated = statuses.map((s) => s.state?.terminated).filter((t) => t !== undefined);
  const failed = terminated.find((t) => t.exitCode !== 0);
  const last = terminated.map((t) => ms(t.finishedAt)).filter((t) => t !== undefined);
  const phase = pod.status?.phase;
  const done = phase === "Succeeded" || phase === "Failed";
  const annotations = pod.metadata.annotations ?? {};
  // A pod the kubelet failed before any container ran (deadline, eviction) has no exit code: report 1 with the pod's reason.
  const exitCode = failed?.exitCode ?? (phase === "Failed" ? 1 : terminated.length > 0 ? 0 : undefined);
  return {
    name: pod.metadata.name,
    uid: pod.metadata.uid,
    plan,
    node,
    hash,
    role,
    attempt: Number(annotations[ANNOTATION_ATTEMPT] ?? "1") || 1,
    generation: Number(annotations[ANNOTATION_GENERATION] ?? "0") || 0,
    phase: phase === "Pending" || phase === "Running" || phase === "Succeeded" || phase === "Failed" ? phase : "Unknown",
    terminating: pod.metadata.deletionTimestamp !== undefined,
    exitCode,
    // The pod's own reason (DeadlineExceeded, Evicted) says more than its container's "Error".
    reason: pod.status?.reason ?? failed?.reason,
    message: failed?.message !== undefined && failed.message !== "" ? failed.message : pod.status?.message,
    finishedAt: done
      ? last.length > 0
        ? Math.max(...last)
        : (ms(pod.status?.conditions?.find((c) => c.type === "Ready")?.lastTransitionTime) ?? ms(pod.metadata.creationTimestamp))
      : undefined,
    createdAt: ms(pod.metadata.creationTimestamp),
  };
}
