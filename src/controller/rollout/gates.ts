// Gates: each is a small object with one question, answered as {open, reason, message}. A
// Plan-level gate holds every idle node; a node-level gate holds one node. decide() composes
// them (docs/architecture.md, "How to add a gate"); none of them acts.
import type { Plan } from "../../generated/plan.ts";
import type { AlertReading, PodHealth, PodReadiness } from "./decision.ts";
import type { Node } from "./objects.ts";
import type { PodFacts } from "./pod-facts.ts";

export interface GateVerdict {
  readonly open: boolean;
  /** A condition reason: CamelCase, stable, for alerts and `kubectl get plans`. */
  readonly reason: string;
  /** What a user reads: why, and what happens next. Empty when open. */
  readonly message: string;
}

export interface Gate<Subject> {
  check(subject: Subject): GateVerdict;
}

const open = (reason: string): GateVerdict => ({ open: true, reason, message: "" });
const closed = (reason: string, message: string): GateVerdict => ({ open: false, reason, message });

/**
 * How a Plan named in spec.after stands for the Plans after it: done once Complete, unless its
 * postflight (gates.postflight) found a node or the API server not at the release. An
 * Unverified control plane is not done: the workers after it would run kubelets newer than the
 * API server.
 */
export type AfterStanding = "done" | "unverified" | "pending";

export function afterStanding(status: Plan["status"]): AfterStanding {
  const is = (type: string) => status?.conditions?.find((c) => c.type === type)?.status;
  if (is("Complete") !== "True") return "pending";
  return is("Verified") === "False" ? "unverified" : "done";
}

/** spec.after: the Plans this one waits for must be Complete (and not Unverified). */
export const afterGate: Gate<readonly string[]> = {
  check: (pending) =>
    pending.length === 0 ? open("PlansComplete") : closed("WaitingForPlans", `waiting for Plan(s) ${pending.join(", ")} to complete (spec.after)`),
};

/**
 * Plans whose spec.after, followed from Plan to Plan, come back to this one: each waits for the
 * next to complete, so none ever starts. Only a person can end it (Blocked), by editing one.
 * `cycle` starts and ends with this Plan's name.
 */
export const afterCycleGate: Gate<readonly string[] | undefined> = {
  check: (cycle) =>
    cycle === undefined
      ? open("NoAfterCycle")
      : closed(
          "AfterCycle",
          `after cycle: ${cycle.join(" -> ")}: each waits for the next to complete, so none starts; remove one of them from another's spec.after`,
        ),
};

/**
 * The shortest cycle of waiting through `start`: `waitsFor(plan)` names the Plans `plan` still
 * waits for (spec.after, those that exist and are not Complete). Breadth first, in spec.after's
 * order, so the same Plans always give the same cycle. undefined when there is none.
 */
export function afterCycle(start: string, waitsFor: (plan: string) => readonly string[]): string[] | undefined {
  const parent = new Map<string, string>();
  let frontier = [start];
  while (frontier.length > 0) {
    const next: string[] = [];
    for (const plan of frontier) {
      for (const other of waitsFor(plan)) {
        if (other === start) {
          const path = [plan];
          for (let at = plan; at !== start;) path.push((at = parent.get(at) ?? start));
          return [...path.reverse(), start];
        }
        if (parent.has(other)) continue;
        parent.set(other, plan);
        next.push(other);
      }
    }
    frontier = next;
  }
  return undefined;
}

/** spec.window: outside it no new node starts (a node that started finishes). */
export const windowGate: Gate<{ readonly isOpen: ((now: Date) => boolean) | undefined; readonly now: number }> = {
  check: ({ isOpen, now }) =>
    isOpen === undefined || isOpen(new Date(now))
      ? open("InsideWindow")
      : closed("OutsideWindow", "outside the maintenance window (spec.window): no new node starts"),
};

/**
 * gates.prometheus: a firing alert holds the rollout (Held: the alert itself pages, and the
 * rollout goes on once it clears); alerts that cannot be read block it (Blocked: fail safe, and
 * a person must mend the gate).
 */
export const alertsGate: Gate<AlertReading | undefined> = {
  check: (reading) => {
    if (reading === undefined) return open("NoAlertsGate");
    if ("error" in reading) return closed("AlertsUnknown", `cannot read alerts, no node starts (fail safe) until Prometheus answers: ${reading.error}`);
    return reading.firing.length > 0
      ? closed("AlertsFiring", `alerts firing: ${reading.firing.join(", ")}; no node starts until they clear (gates.prometheus)`)
      : open("NoAlertsFiring");
  },
};

/** After its upgrade a node must be Ready, and (gates.health) the pods on it Ready. */
export const healthGate: Gate<{ readonly node: Node; readonly pods: PodHealth | undefined }> = {
  check: ({ node, pods }) => {
    const name = node.metadata.name;
    if (!nodeReady(node).ready) return closed("NodeNotReady", awaitingReady(node));
    const unready = pods?.unready ?? [];
    if (unready.length === 0) return open("Healthy");
    const more = unready.length > 5 ? ` and ${unready.length - 5} more` : "";
    return closed("PodsNotReady", `pods on node ${name} not Ready: ${unready.slice(0, 5).join(", ")}${more}`);
  },
};

/**
 * A node NotReady when its turn comes is not started (no cordon, no pod): an upgrade pod there
 * would not run, and its drain would empty a node nobody can check. It holds no slot; the nodes
 * after it in order go ahead, and it starts once Ready (its Ready change wakes the controller).
 */
export const readyToStartGate: Gate<Node> = {
  check: (node) =>
    nodeReady(node).ready
      ? open("NodeReady")
      : closed("PassedOverNotReady", `${awaitingReady(node)}; not started: the nodes after it go ahead, it starts once Ready`),
};

/** The node's Ready condition, and since when it has held its status. */
export function nodeReady(n: Node): { ready: boolean; since: number | undefined } {
  const c = n.status?.conditions?.find((x) => x.type === "Ready");
  const since = c?.lastTransitionTime === undefined ? undefined : Date.parse(c.lastTransitionTime);
  return { ready: c?.status === "True", since: Number.isNaN(since) ? undefined : since };
}

/** `NotReady since 2026-12-02T01:10:00Z`: how a node is not Ready, and since when. */
export function notReadyDetail(n: Node): string {
  const c = n.status?.conditions?.find((x) => x.type === "Ready");
  const { since } = nodeReady(n);
  const when = since === undefined ? "" : ` since ${iso(since)}`;
  if (c === undefined) return "NotReady: no Ready condition reported";
  return c.status === "Unknown" ? `NotReady${when}: Ready is Unknown, its kubelet stopped posting status` : `NotReady${when}`;
}

/** `waiting for w1 to become Ready (NotReady since 2026-12-02T01:10:00Z)`: what a NotReady node's wait says. */
export const awaitingReady = (n: Node): string => `waiting for ${n.metadata.name} to become Ready (${notReadyDetail(n)})`;

/**
 * The prepare pod's exit code: 0 goes on, 4 holds (waiting on upstream or pinned: quiet), 2 blocks
 * (action needed), anything else blocks too (a gate error fails safe).
 */
export function prepareGate(pollIntervalMs: number, namespace: string): Gate<PodFacts> {
  return {
    check: (pod) => {
      if (pod.phase === "Succeeded") return open("PreparePassed");
      if (pod.phase !== "Failed") return closed("PrepareRunning", `prepare pod ${pod.name} is running`);
      if (pod.exitCode === 4) {
        const every = Math.round(pollIntervalMs / 1000);
        return closed("PrepareHeld", `prepare pod ${pod.name} exited 4 (waiting on upstream or pinned); re-checked every ${every}s; no further node starts`);
      }
      const actionable = pod.exitCode === 2;
      const why = actionable ? " (action needed)" : " (gate error: treated as a block)";
      return closed(
        actionable ? "PrepareBlocked" : "PrepareFailed",
        `prepare pod ${pod.name} exited ${pod.exitCode ?? "?"}${why}; see kubectl logs -n ${namespace} ${pod.name}`,
      );
    },
  };
}

/** exclusive: a node where another exclusive Plan is at work waits, without holding a slot. */
export const exclusiveGate: Gate<{ readonly node: string; readonly exclusiveBusy: ReadonlySet<string> }> = {
  check: ({ node, exclusiveBusy }) =>
    exclusiveBusy.has(node) ? closed("ExclusivePlanBusy", `another exclusive Plan is at work on node ${node}`) : open("NodeFree"),
};

/** What the preflight (gates.cluster) looks at: every node of the cluster, and the pods it counts. */
export interface PreflightSubject {
  readonly nodes: readonly Node[];
  /** Nodes whose Ready transitions are this rollout's own (upgraded by this Plan or one in spec.after): no quiet period. */
  readonly rolloutNodes: ReadonlySet<string>;
  readonly quietMs: number;
  readonly minReadyPodsRatio: number | undefined;
  /** undefined when no ratio is asked for. */
  readonly pods: PodReadiness | undefined;
  readonly now: number;
}

/** A closed preflight says when the quiet period ends, so the controller looks again then. */
export type PreflightVerdict = GateVerdict & { readonly recheckAt?: number };

const PRESSURES = ["MemoryPressure", "DiskPressure", "PIDPressure"] as const;
const few = (xs: readonly string[]): string => (xs.length > 5 ? `${xs.slice(0, 5).join(", ")} and ${xs.length - 5} more` : xs.join(", "));
const span = (ms: number): string => (ms % 3600_000 === 0 ? `${ms / 3600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : `${ms / 1000}s`);
const iso = (t: number): string => new Date(t).toISOString().replace(/\.\d{3}Z$/, "Z");

function pressures(n: Node): string[] {
  return PRESSURES.filter((t) => n.status?.conditions?.some((c) => c.type === t && c.status === "True"));
}

/** Nodes whose Ready condition changed within the quiet period, and when the last of those periods ends. */
function unquiet(s: PreflightSubject): { names: string[]; until: number } {
  let until = 0;
  const names: string[] = [];
  for (const n of s.nodes) {
    const since = nodeReady(n).since;
    if (s.rolloutNodes.has(n.metadata.name) || since === undefined || since + s.quietMs <= s.now) continue;
    names.push(n.metadata.name);
    until = Math.max(until, since + s.quietMs);
  }
  return { names, until };
}

function podsVerdict(s: PreflightSubject): PreflightVerdict {
  const want = s.minReadyPodsRatio;
  if (want === undefined) return open("ClusterHealthy");
  const pods = s.pods;
  if (pods === undefined || "error" in pods)
    return closed("PodsUnknown", `cannot count Ready pods, holding the rollout (fail safe): ${pods?.error ?? "not read"}`);
  const ratio = pods.total === 0 ? 1 : pods.ready / pods.total;
  if (ratio >= want) return open("ClusterHealthy");
  return closed(
    "PodsNotReady",
    `${pods.ready}/${pods.total} pods Ready (${ratio.toFixed(2)}), below gates.cluster.minReadyPodsRatio ${want}; not Ready: ${few(pods.unready)}; no node starts`,
  );
}

/**
 * gates.cluster, the seed's preflight: every node Ready, none under memory, disk or PID pressure,
 * none whose Ready condition changed within the quiet period (a node that just rebooted defers
 * the rollout: seed sentinel gate, 24h soak), and optionally enough Ready pods. Each reason
 * names the nodes; waiting for any of them is a wait, not a block: the cluster heals or quiets.
 */
export const preflightGate: { check(s: PreflightSubject): PreflightVerdict } = {
  check: (s) => {
    const notReady = s.nodes.filter((n) => !nodeReady(n).ready).map((n) => n.metadata.name);
    if (notReady.length > 0) return closed("NodesNotReady", `node(s) not Ready: ${few(notReady)}; no node starts until every node is Ready (gates.cluster)`);
    const pressed = s.nodes.map((n) => [n.metadata.name, pressures(n)] as const).filter(([, p]) => p.length > 0);
    if (pressed.length > 0) {
      const list = few(pressed.map(([n, p]) => `${n} (${p.join(", ")})`));
      return closed("NodePressure", `node(s) under pressure: ${list}; no node starts until it clears (gates.cluster)`);
    }
    const quiet = unquiet(s);
    if (quiet.names.length > 0) {
      const message = `node(s) ${few(quiet.names)} changed Ready within the quiet period (gates.cluster.quietPeriod ${span(s.quietMs)}); no node starts before ${iso(quiet.until)}`;
      return { ...closed("ClusterNotQuiet", message), recheckAt: quiet.until };
    }
    return podsVerdict(s);
  },
};
