// The rules of a rollout, as one pure function (style rule 2): from the Plan and what the API
// shows, compute the actions, the status and when to look again. No I/O, no client-node.
// Every step of a node's life is read back from the world (pods, node labels and
// annotations), so a controller killed at any instant resumes exactly where it was.
import type { Plan, PlanStatus } from "../../generated/plan.ts";
import type { Problem } from "../../plan/problem.ts";
import { admit } from "./admission.ts";
import { LABEL_HOSTNAME, eligibility, planLabelKey } from "./eligibility.ts";
import type { Condition, Node, Pod } from "./objects.ts";
import { orderBy } from "./order.ts";
import type { PodFacts } from "./pod-facts.ts";

const planLabel = planLabelKey;
/** Set when this Plan cordoned the node: only such nodes are uncordoned by it (SUC #341). */
export const cordonedBy = (plan: string): string => `cordoned.plan-runner.dev/${plan}`;
/** When this Plan's drain of the node started (RFC 3339), for drain.timeout. */
export const drainStarted = (plan: string): string => `drain.plan-runner.dev/${plan}`;
/** `<hash>/<failures>`: drains of this node for this hash that failed (refused or timed out). */
export const drainFailed = (plan: string): string => `drain-failed.plan-runner.dev/${plan}`;
const CORDON_PREFIX = "cordoned.plan-runner.dev/";
const HOSTNAME = LABEL_HOSTNAME;

export interface DecideConfig {
  /** How often a held or blocked prepare gate is run again. */
  readonly pollIntervalMs: number;
  /** Finished pods are kept this long so `kubectl logs` works, then deleted. */
  readonly podTtlMs: number;
  readonly defaultRetries: number;
  readonly defaultBackoffMs: number;
}

/** A resolved version; `error` is set when the channel failed and the last known version is used. */
export type Resolution =
  | { readonly version: string; readonly source: "Version" | "Channel"; readonly error?: { readonly reason: string; readonly message: string } }
  | { readonly reason: string; readonly message: string };

export interface DecideInput {
  readonly plan: Plan;
  /** Validation errors of the Plan (validatePlan); any error stops everything but cleanup. */
  readonly problems: readonly Problem[];
  readonly resolution: Resolution;
  /** The Plan hash, or why it cannot be computed (a missing secret). */
  readonly hash: { readonly value: string } | { readonly error: string };
  readonly nodes: readonly Node[];
  /** This Plan's pods (pod-facts of pods labelled with the Plan). */
  readonly pods: readonly PodFacts[];
  /** Plans named in spec.after that are not Complete, with why. */
  readonly afterPending: readonly string[];
  /** Nodes where another exclusive Plan is at work. */
  readonly exclusiveBusy: ReadonlySet<string>;
  /** Firing alerts that are not ignored, or why the gate could not be read; undefined without the gate. */
  readonly alerts?: { readonly firing: readonly string[] } | { readonly error: string } | undefined;
  readonly window: { readonly open: boolean; readonly message?: string; readonly opensInMs?: number };
  /**
   * With gates.health: the pods on each node whose upgrade finished and which waits for its
   * soak — which are not Ready, and since when all of them have been.
   */
  readonly podHealth?: ReadonlyMap<string, { readonly unready: readonly string[]; readonly readySince: number | undefined }>;
  readonly durations: { readonly postCompleteDelayMs: number; readonly backoffMs: number; readonly drainTimeoutMs: number | undefined; readonly soakMs: number; readonly healthTimeoutMs: number | undefined };
  /** Renders this Plan's pods for a node (names are deterministic, so re-creating is harmless). */
  readonly render: { readonly prepare: (node: Node, attempt: number) => Pod; readonly apply: (node: Node, attempt: number) => Pod };
  readonly now: number;
  readonly config: DecideConfig;
}

export type Action =
  | { readonly kind: "createPod"; readonly node: string; readonly pod: Pod; readonly why: string }
  | { readonly kind: "deletePod"; readonly name: string; readonly uid: string | undefined; readonly why: string }
  | { readonly kind: "patchNode"; readonly node: string; readonly patch: NodePatch; readonly why: "cordon" | "uncordon" | "complete" | "release" }
  | {
      readonly kind: "drain";
      readonly node: string;
      readonly startedAt: number;
      /** After this, pods a PDB protects are deleted (unblockPDB) or the drain fails. */
      readonly deadline: number | undefined;
      readonly then: Pod;
      /** Releases the node and counts the failure, when the drain is refused or times out. */
      readonly onFail: NodePatch;
    }
  | { readonly kind: "event"; readonly on: "plan" | "node"; readonly node?: string; readonly type: "Normal" | "Warning"; readonly reason: string; readonly message: string };

export interface NodePatch {
  readonly metadata: { readonly labels?: Record<string, string | null>; readonly annotations?: Record<string, string | null> };
  readonly spec?: { readonly unschedulable: boolean | null };
}

export interface Decision {
  readonly actions: readonly Action[];
  readonly status: PlanStatus;
  readonly requeueAfterMs: number | undefined;
  /** For metrics: per-node state. */
  readonly nodeStates: ReadonlyMap<string, NodeState>;
}

export type NodeState = "complete" | "applying" | "pending" | "failed" | "held" | "blocked";

interface Failure {
  node: string;
  reason: string;
  message: string;
  attempts: number;
  pod?: string;
  hash: string;
}

const latest = (pods: readonly PodFacts[]): PodFacts | undefined =>
  pods.reduce<PodFacts | undefined>((a, p) => (a === undefined || p.attempt > a.attempt ? p : a), undefined);

const isReady = (n: Node): { ready: boolean; since: number | undefined } => {
  const c = n.status?.conditions?.find((x) => x.type === "Ready");
  const since = c?.lastTransitionTime === undefined ? undefined : Date.parse(c.lastTransitionTime);
  return { ready: c?.status === "True", since: Number.isNaN(since) ? undefined : since };
};

export function decide(input: DecideInput): Decision {
  const { plan, now, config } = input;
  const name = plan.metadata.name;
  const generation = Number(plan.metadata["generation"] ?? 0);
  const actions: Action[] = [];
  const wakeups: number[] = [];
  const wakeAt = (t: number): void => void wakeups.push(Math.max(0, t - now));
  const conditions = new Map<string, Omit<Condition, "lastTransitionTime" | "lastUpdateTime">>();
  const set = (type: string, status: boolean, reason: string, message = ""): void => void conditions.set(type, { type, status: status ? "True" : "False", reason, message });
  const nodeStates = new Map<string, NodeState>();
  const failures: Failure[] = [];
  const applying: string[] = [];

  const errors = input.problems.filter((p) => p.severity === "error");
  set("Validated", errors.length === 0, errors.length === 0 ? "PlanIsValid" : "Error", errors.map((p) => `${p.path}: ${p.message}`).join("; "));
  if ("version" in input.resolution && input.resolution.error !== undefined) set("LatestResolved", false, input.resolution.error.reason, `${input.resolution.error.message}; still applying ${input.resolution.version}`);
  else if ("version" in input.resolution) set("LatestResolved", true, input.resolution.source);
  else set("LatestResolved", false, input.resolution.reason, input.resolution.message);

  const version = "version" in input.resolution ? input.resolution.version : undefined;
  const hash = "value" in input.hash ? input.hash.value : undefined;
  const usable = errors.length === 0 && version !== undefined && hash !== undefined;
  const spec = plan.spec;
  const needsCordon = spec.cordon === true || spec.drain !== undefined;
  const retries = spec.failurePolicy?.retries ?? config.defaultRetries;
  const onExhausted = spec.failurePolicy?.onExhausted ?? "halt";

  // Release every node this Plan holds when it cannot act on it (unselected, disabled, done,
  // or the Plan unusable): a bad Plan must never leave a node cordoned (SUC #71).
  const release = (node: Node, why: string): void => {
    const ann = node.metadata.annotations ?? {};
    if (ann[cordonedBy(name)] === undefined && ann[drainStarted(name)] === undefined) return;
    actions.push({ kind: "patchNode", node: node.metadata.name, patch: uncordonPatch(node, name, {}), why: "release" });
    actions.push({ kind: "event", on: "node", node: node.metadata.name, type: "Normal", reason: "Uncordoned", message: `Plan ${name} released node ${node.metadata.name}: ${why}` });
  };

  /** Cordons (and marks the drain start) unless someone else's cordon already holds the node; true when it asked. */
  const cordon = (node: Node): boolean => {
    const patch = cordonPatch(node, name, hash ?? "", spec.drain !== undefined ? new Date(now).toISOString() : undefined);
    if (patch === undefined) return false;
    const n = node.metadata.name;
    actions.push({ kind: "patchNode", node: n, patch, why: "cordon" });
    actions.push({ kind: "event", on: "node", node: n, type: "Normal", reason: "Cordoned", message: `Plan ${name} cordoned node ${n}${spec.drain !== undefined ? " and is draining it" : ""}` });
    return true;
  };

  const podsByNode = new Map<string, PodFacts[]>();
  for (const p of input.pods) podsByNode.set(p.node, [...(podsByNode.get(p.node) ?? []), p]);

  let held: PodFacts | undefined;
  let blocked: PodFacts | undefined;
  let halted: Failure | undefined;
  const idle: Node[] = [];
  let total = 0;
  let complete = 0;

  const candidate = eligibility(plan, hash ?? "");
  for (const node of input.nodes) {
    const n = node.metadata.name;
    const labels = node.metadata.labels ?? {};
    const ann = node.metadata.annotations ?? {};
    const mine = podsByNode.get(n) ?? [];
    const why = candidate(labels);
    if (why !== undefined && why !== "done") {
      release(node, "it is no longer selected by the Plan");
      continue;
    }
    total++;
    if (why === "done" && hash !== undefined) {
      complete++;
      nodeStates.set(n, "complete");
      release(node, "its upgrade is complete");
      continue;
    }
    if (!usable) {
      release(node, "the Plan cannot be applied (see its conditions)");
      nodeStates.set(n, "pending");
      continue;
    }
    const current = mine.filter((p) => p.hash === hash);
    const stale = mine.filter((p) => p.hash !== hash && (p.phase === "Pending" || p.phase === "Running"));
    const cordoned = ann[cordonedBy(name)] !== undefined;
    const drainAt = ann[drainStarted(name)];
    const inFlight = current.length > 0 || cordoned || drainAt !== undefined || stale.length > 0;
    if (!inFlight) {
      const [failedHash, failedCount] = (ann[drainFailed(name)] ?? "").split("/");
      const drainFailures = failedHash === hash ? Number(failedCount) || 0 : 0;
      if (drainFailures > retries) {
        const f: Failure = { node: n, reason: "DrainFailed", message: `the drain of node ${n} failed ${drainFailures} time(s) (see kubectl describe node ${n} for the pods that blocked it)`, attempts: drainFailures, hash: hash };
        failures.push(f);
        if (onExhausted === "halt") halted ??= f;
        nodeStates.set(n, "failed");
        continue;
      }
      idle.push(node);
      nodeStates.set(n, "pending");
      continue;
    }

    // Made only for nodes in flight: a function declared in the loop body would be created
    // for every node on every pass (a third of decide's time at 100,000 nodes).
    const fail = (pod: PodFacts, reason: string, message: string, applies: readonly PodFacts[]): NodeState => {
      const f: Failure = { node: n, reason, message, attempts: applies.filter((p) => p.phase === "Failed" && p.generation === generation).length, pod: pod.name, hash: hash };
      failures.push(f);
      if (onExhausted === "halt") halted ??= f;
      // A failed node is not left cordoned by us (kured #63, SUC #71): it runs its old version.
      if (cordoned || drainAt !== undefined) {
        actions.push({ kind: "patchNode", node: n, patch: uncordonPatch(node, name, {}), why: "release" });
        actions.push({ kind: "event", on: "node", node: n, type: "Warning", reason: "UpgradeFailed", message: `Plan ${name}: ${message}; node uncordoned` });
      }
      return "failed";
    };

    const advance = (): NodeState => {
      if (stale.length > 0) return "applying"; // a pod of an older hash finishes first: never kill an upgrade half-way
      const prep = latest(current.filter((p) => p.role === "prepare"));
      const applies = current.filter((p) => p.role === "apply");
      if (spec.prepare !== undefined && applies.length === 0) {
        if (prep === undefined) {
          actions.push({ kind: "createPod", node: n, pod: input.render.prepare(node, 1), why: "prepare" });
          return "applying";
        }
        if (prep.phase !== "Succeeded") {
          if (prep.phase !== "Failed" || prep.terminating) return "applying";
          const rerunAt = (prep.finishedAt ?? now) + config.pollIntervalMs;
          if (now >= rerunAt) actions.push({ kind: "deletePod", name: prep.name, uid: prep.uid, why: "re-run the prepare gate" });
          else wakeAt(rerunAt);
          if (prep.exitCode === 4) {
            held ??= prep;
            return "held";
          }
          blocked ??= prep;
          return "blocked";
        }
      }
      if (needsCordon && applies.length === 0 && drainAt === undefined && !cordoned) {
        if (cordon(node)) return "applying";
      }
      const last = latest(applies);
      if (last === undefined) {
        const pod = input.render.apply(node, 1);
        if (spec.drain !== undefined) {
          const started = drainAt === undefined ? now : Date.parse(drainAt);
          const startedAt = Number.isNaN(started) ? now : started;
          const timeout = input.durations.drainTimeoutMs;
          const [failedHash, failedCount] = (ann[drainFailed(name)] ?? "").split("/");
          const count = (failedHash === hash ? Number(failedCount) || 0 : 0) + 1;
          const onFail = uncordonPatch(node, name, {});
          actions.push({
            kind: "drain",
            node: n,
            startedAt,
            deadline: timeout === undefined ? undefined : startedAt + timeout,
            then: pod,
            onFail: { ...onFail, metadata: { ...onFail.metadata, annotations: { ...onFail.metadata.annotations, [drainFailed(name)]: `${hash}/${count}` } } },
          });
        } else {
          actions.push({ kind: "createPod", node: n, pod, why: "apply" });
        }
        return "applying";
      }
      if (last.phase === "Succeeded") {
        const finished = last.finishedAt ?? now;
        const health = isReady(node);
        const podsOnNode = input.podHealth?.get(n);
        const soakFrom = Math.max(finished, health.since ?? finished, podsOnNode?.readySince ?? finished);
        const due = Math.max(finished + input.durations.postCompleteDelayMs, soakFrom + input.durations.soakMs);
        const unready = podsOnNode?.unready ?? [];
        if (!health.ready || unready.length > 0) {
          const timeout = input.durations.healthTimeoutMs;
          if (timeout !== undefined && now > finished + timeout) {
            const what = !health.ready ? `node ${n} did not come back Ready` : `pods on node ${n} not Ready: ${unready.slice(0, 5).join(", ")}${unready.length > 5 ? ` and ${unready.length - 5} more` : ""}`;
            return fail(last, "NodeNotReady", `${what} within ${Math.round(timeout / 1000)}s after its upgrade (spec.gates.health)`, applies);
          }
          wakeAt(now + 5000);
          return "applying";
        }
        if (now < due) {
          wakeAt(due);
          return "applying";
        }
        actions.push({ kind: "patchNode", node: n, patch: completePatch(node, name, hash, version, spec.postCompleteLabels ?? {}), why: "complete" });
        actions.push({ kind: "event", on: "node", node: n, type: "Normal", reason: "Upgraded", message: `Plan ${name} upgraded node ${n} to ${version}` });
        // Its slot is free in this very pass: the reconciler writes completions before it
        // starts new nodes, so a crash in between can never leave more than concurrency running.
        complete++;
        return "complete";
      }
      if (last.phase !== "Failed") return "applying";
      const failedNow = applies.filter((p) => p.phase === "Failed" && p.generation === generation).length;
      const detail = `pod ${last.name} failed: ${last.reason ?? "Error"}${last.exitCode !== undefined ? ` (exit ${last.exitCode})` : ""}${last.message !== undefined ? `: ${last.message.trim().slice(0, 200)}` : ""}`;
      if (failedNow <= retries && !last.terminating) {
        const retryAt = (last.finishedAt ?? now) + input.durations.backoffMs * 2 ** Math.max(0, failedNow - 1);
        failures.push({ node: n, reason: "Retrying", message: `${detail} (attempt ${failedNow}/${retries + 1}); retrying`, attempts: failedNow, pod: last.name, hash: hash });
        if (now >= retryAt) {
          const nextAttempt = Math.max(...applies.map((p) => p.attempt)) + 1;
          actions.push({ kind: "createPod", node: n, pod: input.render.apply(node, nextAttempt), why: `retry ${nextAttempt}` });
        } else wakeAt(retryAt);
        return "applying";
      }
      return fail(last, "UpgradeFailed", `${detail} (attempt ${failedNow}/${retries + 1}); see kubectl logs -n ${plan.metadata.namespace ?? "default"} ${last.name}`, applies);
    };

    // The node holds a concurrency slot from here on, until it completes or fails for good.
    const step = advance();
    nodeStates.set(n, step);
    if (step !== "failed" && step !== "complete") applying.push(labels[HOSTNAME] ?? n);

  }

  // Admission: free slots go to idle nodes in order, unless something holds the Plan.
  const concurrency = Math.max(1, spec.concurrency ?? 1);
  const firing = input.alerts !== undefined && "firing" in input.alerts && input.alerts.firing.length > 0 ? input.alerts.firing : undefined;
  const alertError = input.alerts !== undefined && "error" in input.alerts ? input.alerts.error : undefined;
  let waiting: string | undefined;
  if (usable && idle.length > 0) {
    if (input.afterPending.length > 0) waiting = `waiting for Plan(s) ${input.afterPending.join(", ")} to complete (spec.after)`;
    else if (!input.window.open) waiting = input.window.message ?? "outside the maintenance window";
    if (!input.window.open && input.window.opensInMs !== undefined) wakeAt(now + input.window.opensInMs);
  }
  const stopped = !usable || held !== undefined || blocked !== undefined || halted !== undefined || firing !== undefined || alertError !== undefined || waiting !== undefined;
  if (!stopped) {
    const busy = new Set([...nodeStates].filter(([, s]) => s === "applying" || s === "held" || s === "blocked").map(([n]) => n));
    // Only as many candidates as there are free slots (plus the ones another exclusive Plan holds).
    const wanted = Math.max(0, concurrency - busy.size) + input.exclusiveBusy.size;
    const ordered = wanted === 0 ? [] : orderBy(idle, spec.order, (node) => ({ name: node.metadata.name, labels: node.metadata.labels ?? {}, ...(node.metadata.uid !== undefined ? { uid: node.metadata.uid } : {}) }), wanted);
    const admission = admit({ ordered, inFlight: busy, blocked: input.exclusiveBusy, concurrency }, (node) => node.metadata.name);
    for (const node of admission.start) {
      const n = node.metadata.name;
      nodeStates.set(n, "applying");
      applying.push(node.metadata.labels?.[HOSTNAME] ?? n);
      if (spec.prepare !== undefined) actions.push({ kind: "createPod", node: n, pod: input.render.prepare(node, 1), why: "prepare" });
      else if (!(needsCordon && cordon(node))) actions.push({ kind: "createPod", node: n, pod: input.render.apply(node, 1), why: "apply" });
    }
    if (admission.blocked.length > 0) wakeAt(now + 10_000);
  }

  // Pods whose job is done are kept for their TTL (kubectl logs), then removed. Evidence of a
  // node that failed for good stays until the Plan is edited or the node leaves.
  const failedNodes = new Set(failures.filter((f) => f.reason !== "Retrying").map((f) => f.node));
  for (const p of input.pods) {
    if (p.finishedAt === undefined || p.terminating || failedNodes.has(p.node)) continue;
    const state = nodeStates.get(p.node);
    const obsolete = p.hash !== hash || state === "complete" || state === undefined;
    if (!obsolete) continue;
    const at = p.finishedAt + config.podTtlMs;
    if (now >= at) actions.push({ kind: "deletePod", name: p.name, uid: p.uid, why: "ttl" });
    else wakeAt(at);
  }

  const counts = {
    total,
    complete,
    applying: [...nodeStates.values()].filter((s) => s === "applying" || s === "held" || s === "blocked").length,
    failed: [...nodeStates.values()].filter((s) => s === "failed").length,
    pending: [...nodeStates.values()].filter((s) => s === "pending").length,
  };
  const isComplete = usable && counts.complete === counts.total && counts.failed === 0;
  // Conditions: one reason each, written so a user knows what to do next.
  set("Held", held !== undefined, held !== undefined ? "PrepareHeld" : "NotHeld", held !== undefined ? `prepare pod ${held.name} exited 4 (waiting on upstream or pinned); re-checked every ${Math.round(config.pollIntervalMs / 1000)}s; no further node starts` : "");
  set("Blocked", blocked !== undefined, blocked !== undefined ? (blocked.exitCode === 2 ? "PrepareBlocked" : "PrepareFailed") : "NotBlocked", blocked !== undefined ? `prepare pod ${blocked.name} exited ${blocked.exitCode ?? "?"}${blocked.exitCode === 2 ? " (action needed)" : " (gate error: treated as a block)"}; see kubectl logs -n ${plan.metadata.namespace ?? "default"} ${blocked.name}` : "");
  const haltMessage = halted !== undefined ? `${halted.message}; no further node starts until the Plan is edited or node ${halted.node} is labelled ${planLabel(name)}=disabled` : firing !== undefined ? `alerts firing: ${firing.join(", ")}` : alertError !== undefined ? `cannot read alerts, holding the rollout (fail safe): ${alertError}` : "";
  set("Halted", halted !== undefined || firing !== undefined || alertError !== undefined, halted !== undefined ? "NodeFailed" : firing !== undefined ? "AlertsFiring" : alertError !== undefined ? "AlertsUnknown" : "NotHalted", haltMessage);
  set("Waiting", waiting !== undefined, waiting !== undefined ? (input.afterPending.length > 0 ? "WaitingForPlans" : "OutsideWindow") : "NotWaiting", waiting ?? "");
  const completeReason = !usable ? (errors.length > 0 ? "ValidationFailed" : version === undefined ? "Unresolved" : "SecretsMissing") : isComplete ? "Complete" : halted !== undefined ? "JobFailed" : waiting !== undefined ? "Waiting" : "SyncJob";
  const completeMessage = !usable && hash === undefined && "error" in input.hash ? input.hash.error : isComplete ? "" : `${counts.complete}/${counts.total} nodes upgraded`;
  set("Complete", isComplete, completeReason, completeMessage);

  const state = errors.length > 0 ? "Invalid" : !usable ? "Error" : halted !== undefined || firing !== undefined || alertError !== undefined ? "Halted" : blocked !== undefined ? "Blocked" : held !== undefined ? "Held" : isComplete ? "Complete" : waiting !== undefined && counts.applying === 0 ? "Waiting" : "Applying";
  const message = [...conditions.values()].find((c) => c.status === (c.type === "Validated" || c.type === "LatestResolved" ? "False" : "True") && c.type !== "Complete" && c.message !== "")?.message ?? completeMessage;

  const previous = (plan.status?.conditions ?? []) as Condition[];
  const stamp = new Date(now).toISOString().replace(/\.\d{3}Z$/, "Z");
  const nextConditions: Condition[] = [...conditions.values()].map((c) => {
    const before = previous.find((p) => p.type === c.type);
    const same = before !== undefined && before.status === c.status && before.reason === c.reason && before.message === c.message;
    // Timestamps change only with the condition, or every write would re-trigger our own watch (style rule 10).
    return same ? { ...c, lastTransitionTime: before.lastTransitionTime ?? stamp, lastUpdateTime: before.lastUpdateTime ?? stamp } : { ...c, lastTransitionTime: before?.status === c.status ? (before.lastTransitionTime ?? stamp) : stamp, lastUpdateTime: stamp };
  });
  // Events only when a condition changes state or reason (not on every progress message),
  // named as SUC names them where SUC has a name.
  for (const c of nextConditions) {
    const before = previous.find((p) => p.type === c.type);
    const gated = c.type === "Held" || c.type === "Blocked" || c.type === "Halted" || c.type === "Waiting";
    const changed = before === undefined ? c.status === "True" || !gated : before.status !== c.status || before.reason !== c.reason || (gated && c.status === "True" && before.message !== c.message);
    if (!changed) continue;
    const reason = eventReason(c);
    if (reason === undefined) continue;
    const bad = c.type === "Validated" || c.type === "LatestResolved" ? c.status === "False" : (c.type === "Blocked" || c.type === "Halted") && c.status === "True";
    actions.push({ kind: "event", on: "plan", type: bad ? "Warning" : "Normal", reason, message: c.message !== undefined && c.message !== "" ? c.message : `${c.type} is ${c.status} (${c.reason ?? ""})` });
  }

  const status: PlanStatus = {
    ...(plan.status ?? {}),
    conditions: nextConditions.map((c) => ({ ...c })),
    applying: [...new Set(applying)].sort(),
    counts,
    failures: failures.map((f) => ({ ...f })),
    state,
    progress: `${counts.complete}/${counts.total}`,
    message,
    observedGeneration: generation,
  };
  if (version !== undefined) status.latestVersion = version;
  if (hash !== undefined) status.latestHash = hash;
  if (actions.some((a) => a.kind !== "event")) wakeups.push(1000);
  if (counts.applying > 0) wakeups.push(15_000);
  const requeueAfterMs = wakeups.length > 0 ? Math.min(...wakeups) : undefined;
  return { actions, status, requeueAfterMs, nodeStates };
}

function eventReason(c: Omit<Condition, "lastTransitionTime" | "lastUpdateTime">): string | undefined {
  const on = c.status === "True";
  switch (c.type) {
    case "Validated":
      return on ? "Validated" : "ValidateFailed";
    case "LatestResolved":
      return on ? "Resolved" : "ResolveFailed";
    case "Complete":
      // Why a Plan is not complete is told by Validated, Held, Blocked, Halted and Waiting.
      return on ? "Complete" : undefined;
    default:
      return on ? c.type : `${c.type}Cleared`;
  }
}

function cordonPatch(node: Node, plan: string, hash: string, drainAt: string | undefined): NodePatch | undefined {
  const already = node.spec?.unschedulable === true;
  if (already && drainAt === undefined) return undefined; // cordoned by someone else: leave it theirs
  const annotations: Record<string, string> = {};
  if (!already) annotations[cordonedBy(plan)] = hash;
  if (drainAt !== undefined) annotations[drainStarted(plan)] = drainAt;
  return already ? { metadata: { annotations } } : { metadata: { annotations }, spec: { unschedulable: true } };
}

/** Drops this Plan's claims; the node becomes schedulable only if we cordoned it and no other Plan holds it. */
export function uncordonPatch(node: Node, plan: string, labels: Record<string, string> = {}): NodePatch {
  const ann = node.metadata.annotations ?? {};
  const ours = ann[cordonedBy(plan)] !== undefined;
  const others = Object.keys(ann).some((k) => k.startsWith(CORDON_PREFIX) && k !== cordonedBy(plan));
  const annotations: Record<string, null> = {};
  if (ann[cordonedBy(plan)] !== undefined) annotations[cordonedBy(plan)] = null;
  if (ann[drainStarted(plan)] !== undefined) annotations[drainStarted(plan)] = null;
  const metadata: NodePatch["metadata"] = Object.keys(labels).length > 0 ? { labels, annotations } : { annotations };
  return ours && !others ? { metadata, spec: { unschedulable: null } } : { metadata };
}

/** One patch: done label, postCompleteLabels, and the uncordon — atomic, so a crash cannot split them. */
function completePatch(node: Node, plan: string, hash: string, version: string, extra: Record<string, string | undefined>): NodePatch {
  const labels: Record<string, string> = { [planLabel(plan)]: hash };
  const clearFailures = node.metadata.annotations?.[drainFailed(plan)] !== undefined;
  for (const [k, v] of Object.entries(extra)) {
    if (v !== undefined) labels[k] = v.replaceAll("$(LATEST_VERSION)", version).replaceAll("$(LATEST_HASH)", hash);
  }
  const patch = uncordonPatch(node, plan, labels);
  return clearFailures ? { ...patch, metadata: { ...patch.metadata, annotations: { ...patch.metadata.annotations, [drainFailed(plan)]: null } } } : patch;
}
