// Input assembly, pure: from what the caches show (the snapshot) and what the ports answered
// (the externals), everything decide() needs. The reconciler and the unit tests' simulated
// world both build their input here, so they cannot drift apart.
import type { Plan } from "../../generated/plan.ts";
import type { CompiledPlan } from "../../plan/compile.ts";
import type { Problem } from "../../plan/problem.ts";
import type { AlertReading, DecideConfig, DecideInput, PodHealth, PodReadiness, PodRenderer, Resolution, ServerVersion } from "./decision.ts";
import { afterCycle, afterStanding } from "./gates.ts";
import { planHash } from "./hash.ts";
import { LABEL_CONTROLLER, LABEL_EXCLUSIVE, LABEL_PLAN, annotationCordonedBy, labelPlanName } from "./keys.ts";
import type { Node, Pod, Secret } from "./objects.ts";
import { type PodFacts, podFacts } from "./pod-facts.ts";
import { renderContext, renderForPlan } from "./render-for-plan.ts";

/** What the caches show, for one Plan. */
export interface Snapshot {
  readonly plan: CompiledPlan;
  readonly problems: readonly Problem[];
  /** Every Plan in the namespace (spec.after and exclusive look at the others). */
  readonly plans: readonly Plan[];
  readonly nodes: readonly Node[];
  /** The controller's pods in the namespace. */
  readonly pods: readonly Pod[];
  readonly secrets: readonly Secret[];
}

/** What the ports answered: the channel, Prometheus, and the pods on nodes that soak. */
export interface Externals {
  readonly resolution: Resolution;
  readonly alerts?: AlertReading | undefined;
  /** With gates.health: every pod on each node soakingNodes() named. */
  readonly podsOnNodes?: ReadonlyMap<string, readonly Pod[]>;
  /** With gates.cluster.minReadyPodsRatio: the pods it counts (podNamespaces, else all), or why they cannot be read. */
  readonly clusterPods?: readonly Pod[] | { readonly error: string };
  /** With gates.postflight.apiServer: the API server's /version. */
  readonly serverVersion?: ServerVersion;
  /** Objects the Plan names are missing, or a pod of it was refused moments ago (refusal.ts). */
  readonly startsRefused?: boolean;
  /** The done nodes' steps told again (decision.ts, retellDone). */
  readonly retellDone?: boolean;
}

export interface InputConfig extends DecideConfig {
  readonly namespace: string;
  readonly controllerName: string;
  readonly defaultDeadlineSecs: number;
  readonly maxDeadlineSecs: number;
}

type HashOutcome = DecideInput["hash"];

function hashOf(s: Snapshot, resolution: Resolution, namespace: string): HashOutcome {
  if (!("version" in resolution)) return { error: "no version resolved" };
  const secrets = new Map(s.secrets.map((x) => [x.metadata.name, x]));
  const h = planHash(s.plan.source, resolution.version, (n) => {
    const x = secrets.get(n);
    return x === undefined ? undefined : { name: n, type: x.type ?? "", data: x.data, ...(x["immutable"] === true ? { immutable: true } : {}) };
  });
  return h.ok ? { value: h.hash } : { error: `secret ${namespace}/${h.missingSecret} (spec.secrets) not found: create it or remove it from the Plan` };
}

const planPods = (s: Snapshot): PodFacts[] =>
  s.pods
    .filter((p) => p.metadata.labels?.[LABEL_PLAN] === s.plan.name)
    .map(podFacts)
    .filter((p) => p !== undefined);

/** Each Plan of spec.after not yet done, as the gate's message names it. */
const afterPending = (s: Snapshot): string[] =>
  s.plan.after.flatMap((other) => {
    const standing = afterStanding(s.plans.find((p) => p.metadata.name === other)?.status);
    return standing === "done" ? [] : [standing === "unverified" ? `${other} (Unverified: its postflight found a version other than the release)` : other];
  });

/**
 * Plans of the namespace waiting for each other through spec.after, back to this one. Only Plans
 * that exist and are not done are waited for (a Complete one lets the Plans after it go), so
 * the cycle found is one that holds; this Plan counts as waiting, being asked with idle nodes.
 */
function afterCycleOf(s: Snapshot): string[] | undefined {
  if (s.plan.after.length === 0) return undefined;
  const byName = new Map(s.plans.map((p) => [p.metadata.name, p]));
  const waiting = (name: string): boolean => name === s.plan.name || (byName.has(name) && afterStanding(byName.get(name)?.status) !== "done");
  const afterOf = (name: string): readonly string[] => (name === s.plan.name ? s.plan.after : (byName.get(name)?.spec?.after ?? []));
  return afterCycle(s.plan.name, (name) => afterOf(name).filter(waiting));
}

/** Nodes where another exclusive Plan has a pod running or holds a cordon. */
function exclusiveBusy(s: Snapshot): Set<string> {
  const busy = new Set<string>();
  if (!s.plan.exclusive) return busy;
  for (const p of s.pods) {
    const l = p.metadata.labels ?? {};
    const running = p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed";
    if (l[LABEL_EXCLUSIVE] === "true" && l[LABEL_PLAN] !== s.plan.name && p.spec?.nodeName !== undefined && running) busy.add(p.spec.nodeName);
  }
  for (const other of s.plans) {
    if (other.metadata.name === s.plan.name || other.spec?.exclusive !== true) continue;
    for (const n of s.nodes) if (n.metadata.annotations?.[annotationCordonedBy(other.metadata.name)] !== undefined) busy.add(n.metadata.name);
  }
  return busy;
}

/**
 * Nodes where another Plan that cordons or drains (or one not in the namespace's list) has a pod
 * that has not ended: it holds the node before its mark is on it (its prepare gate), so this Plan,
 * if it cordons too, does not take the node (node-holds.ts). The first such Plan by name.
 */
function podHolders(s: Snapshot): Map<string, string> {
  const out = new Map<string, string>();
  if (!s.plan.cordon) return out;
  const takes = new Map(s.plans.map((p) => [p.metadata.name, p.spec?.cordon === true || p.spec?.drain !== undefined]));
  for (const p of s.pods) {
    const plan = p.metadata.labels?.[LABEL_PLAN];
    const node = p.spec?.nodeName;
    const ended = p.status?.phase === "Succeeded" || p.status?.phase === "Failed";
    if (plan === undefined || plan === s.plan.name || node === undefined || ended || takes.get(plan) === false) continue;
    const first = out.get(node);
    if (first === undefined || plan < first) out.set(node, plan);
  }
  return out;
}

/** gates.health: the nodes whose upgrade pod succeeded and that are not done yet; their pods are read through a port. */
export function soakingNodes(s: Snapshot, resolution: Resolution, config: InputConfig): string[] {
  const hash = hashOf(s, resolution, config.namespace);
  if (s.plan.health === undefined || !("value" in hash)) return [];
  const label = labelPlanName(s.plan.name);
  const nodes = new Map(s.nodes.map((n) => [n.metadata.name, n]));
  const done = (node: string): boolean => nodes.get(node)?.metadata.labels?.[label] === hash.value;
  return [
    ...new Set(
      planPods(s)
        .filter((p) => p.role === "apply" && p.hash === hash.value && p.phase === "Succeeded" && !done(p.node))
        .map((p) => p.node),
    ),
  ];
}

/** Which of a node's pods are not Ready (our own upgrade pods aside), and since when all have been. */
export function podHealth(pods: readonly Pod[]): PodHealth {
  const live = pods.filter((p) => p.metadata.labels?.[LABEL_CONTROLLER] === undefined && p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed");
  const ready = live.map((p) => p.status?.conditions?.find((c) => c.type === "Ready"));
  const unready = live.filter((_, i) => ready[i]?.status !== "True").map((p) => `${p.metadata.namespace ?? ""}/${p.metadata.name}`);
  const since = ready.map((c) => (c?.lastTransitionTime === undefined ? Number.NaN : Date.parse(c.lastTransitionTime))).filter((t) => !Number.isNaN(t));
  return { unready, readySince: since.length > 0 ? Math.max(...since) : undefined };
}

/** gates.cluster.minReadyPodsRatio: running pods (our own upgrade pods aside) and which are not Ready. */
export function podReadiness(pods: readonly Pod[] | { readonly error: string }): PodReadiness {
  if ("error" in pods) return pods;
  const live = pods.filter((p) => p.metadata.labels?.[LABEL_CONTROLLER] === undefined && p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed");
  const unready = podHealth(live).unready;
  return { ready: live.length - unready.length, total: live.length, unready };
}

/**
 * Nodes whose Ready transitions are this rollout's own, exempt from the preflight's quiet period:
 * those this Plan is at work on or finished at its hash, and those a Plan in spec.after finished at
 * its latest hash (the workers Plan must not wait 24h because the control plane's kubelet restarted).
 */
function rolloutNodes(s: Snapshot, hash: HashOutcome): Set<string> {
  const out = new Set<string>();
  if (s.plan.cluster === undefined) return out;
  const own = "value" in hash ? hash.value : undefined;
  for (const p of planPods(s)) if (p.hash === own) out.add(p.node);
  const finished = [{ plan: s.plan.name, hash: own }];
  for (const other of s.plans) if (s.plan.after.includes(other.metadata.name)) finished.push({ plan: other.metadata.name, hash: other.status?.latestHash });
  for (const n of s.nodes) {
    const labels = n.metadata.labels ?? {};
    if (finished.some((f) => f.hash !== undefined && labels[labelPlanName(f.plan)] === f.hash)) out.add(n.metadata.name);
  }
  return out;
}

function unusable(): never {
  throw new Error("no pod can be rendered without a plan hash");
}

function renderer(s: Snapshot, hash: HashOutcome, resolution: Resolution, config: InputConfig): PodRenderer {
  if (!("value" in hash)) return { prepare: unusable, apply: unusable };
  const version = "version" in resolution ? resolution.version : "";
  return renderForPlan(s.plan, renderContext(config, hash.value, version));
}

export function buildDecideInput(s: Snapshot, externals: Externals, config: InputConfig, now: number): DecideInput {
  const hash = hashOf(s, externals.resolution, config.namespace);
  const podsOnNodes = externals.podsOnNodes;
  return {
    plan: s.plan,
    problems: s.problems,
    resolution: externals.resolution,
    hash,
    nodes: s.nodes,
    pods: planPods(s),
    afterPending: afterPending(s),
    afterCycle: afterCycleOf(s),
    exclusiveBusy: exclusiveBusy(s),
    podHolders: podHolders(s),
    alerts: externals.alerts,
    ...(podsOnNodes !== undefined && s.plan.health !== undefined ? { podHealth: new Map([...podsOnNodes].map(([n, pods]) => [n, podHealth(pods)])) } : {}),
    rolloutNodes: rolloutNodes(s, hash),
    ...(externals.clusterPods !== undefined ? { clusterPods: podReadiness(externals.clusterPods) } : {}),
    ...(externals.serverVersion !== undefined ? { serverVersion: externals.serverVersion } : {}),
    ...(externals.startsRefused === true ? { startsRefused: true } : {}),
    ...(externals.retellDone === false ? { retellDone: false } : {}),
    render: renderer(s, hash, externals.resolution, config),
    now,
    config,
  };
}
