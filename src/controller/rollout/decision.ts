// The vocabulary of decide(): what it is given, what it hands back, and the actions the
// wiring carries out. Types only; the rules are in decide.ts and the files it names.
import type { PlanStatus } from "../../generated/plan.ts";
import type { CompiledDrain, CompiledPlan } from "../../plan/compile.ts";
import type { Problem } from "../../plan/problem.ts";
import type { Node, Pod } from "./objects.ts";
import type { PodFacts } from "./pod-facts.ts";

export interface DecideConfig {
  /** How often a held or blocked prepare gate is run again. */
  readonly pollIntervalMs: number;
  /** Finished pods are kept this long so `kubectl logs` works, then deleted. */
  readonly podTtlMs: number;
  readonly defaultRetries: number;
  readonly defaultBackoffMs: number;
  /**
   * The node this controller runs on (NODE_NAME from the downward API), taken last in every Plan:
   * its upgrade may end the leader, so every other node is done first (seed incident 2026-05-11).
   */
  readonly ownNode?: string | undefined;
}

/**
 * A resolved version; `error` is set when the channel failed and the last known version is used.
 * `resolving` (what is awaited) is set while a channel has not answered yet: the last known
 * version, if any, is used for the nodes in flight and no node starts.
 */
export type Resolution =
  | {
      readonly version: string;
      readonly source: "Version" | "Channel";
      /** Where it came from, for the LatestResolved condition. */
      readonly message?: string;
      readonly error?: { readonly reason: string; readonly message: string };
      readonly resolving?: string;
    }
  | { readonly reason: string; readonly message: string; readonly resolving?: string };

/** Firing alerts that are not ignored, or why the gate could not be read. */
export type AlertReading = { readonly firing: readonly string[] } | { readonly error: string };

/** The pods on a node that finished its upgrade: which are not Ready, and since when all have been. */
export interface PodHealth {
  readonly unready: readonly string[];
  readonly readySince: number | undefined;
}

/** gates.cluster.minReadyPodsRatio: the running pods it counts, or why they cannot be read. */
export type PodReadiness = { readonly ready: number; readonly total: number; readonly unready: readonly string[] } | { readonly error: string };

/** The API server's /version, for gates.postflight. */
export type ServerVersion = { readonly gitVersion: string } | { readonly error: string };

export interface DecideInput {
  readonly plan: CompiledPlan;
  /** Validation errors of the Plan; any error stops everything but cleanup. */
  readonly problems: readonly Problem[];
  readonly resolution: Resolution;
  /** The Plan hash, or why it cannot be computed (a missing secret). */
  readonly hash: { readonly value: string } | { readonly error: string };
  readonly nodes: readonly Node[];
  /** This Plan's pods (pod-facts of pods labelled with the Plan). */
  readonly pods: readonly PodFacts[];
  /** Plans named in spec.after that are not Complete, or Complete and Unverified (named so). */
  readonly afterPending: readonly string[];
  /** Plans waiting for each other through spec.after, from this one back to it (gates.ts afterCycle); undefined: none. */
  readonly afterCycle?: readonly string[] | undefined;
  /** Nodes where another exclusive Plan is at work. */
  readonly exclusiveBusy: ReadonlySet<string>;
  /** When this Plan cordons: per node, another Plan that cordons or drains with a pod there not yet ended (node-holds.ts). */
  readonly podHolders?: ReadonlyMap<string, string> | undefined;
  /** undefined without gates.prometheus. */
  readonly alerts?: AlertReading | undefined;
  /** With gates.health: per node that waits for its soak. */
  readonly podHealth?: ReadonlyMap<string, PodHealth> | undefined;
  /** With gates.cluster: nodes whose Ready transitions belong to this rollout (see preflightGate). */
  readonly rolloutNodes?: ReadonlySet<string> | undefined;
  /** With gates.cluster.minReadyPodsRatio. */
  readonly clusterPods?: PodReadiness | undefined;
  /** With gates.postflight.apiServer. */
  readonly serverVersion?: ServerVersion | undefined;
  /**
   * The API server would refuse, or just refused, this Plan's pods (refusal.ts): no idle node is
   * started, so none is cordoned for a pod that cannot come. Nodes in flight go on.
   */
  readonly startsRefused?: boolean | undefined;
  /**
   * false: the done nodes' steps are not told again. Every pass of a term after the first: this
   * process told them when it completed each node, and only a process that died before its batch
   * was written leaves them untold (node-events.ts, tellDone), which the next term's first pass
   * tells. Default true.
   */
  readonly retellDone?: boolean | undefined;
  /** Renders this Plan's pods for a node (names are deterministic, so re-creating is harmless). */
  readonly render: PodRenderer;
  readonly now: number;
  readonly config: DecideConfig;
}

export interface PodRenderer {
  readonly prepare: (node: Node, attempt: number) => Pod;
  readonly apply: (node: Node, attempt: number) => Pod;
}

export interface NodePatch {
  readonly metadata: {
    readonly labels?: Record<string, string | null>;
    readonly annotations?: Record<string, string | null>;
    /** A precondition: the API server refuses the patch (409) if the node changed since it was read. */
    readonly resourceVersion?: string;
  };
  readonly spec?: { readonly unschedulable: boolean | null };
}

export interface DrainAction {
  readonly kind: "drain";
  readonly node: string;
  readonly startedAt: number;
  /** After this, pods a PDB protects are deleted (unblockPDB) or the drain fails. */
  readonly deadline: number | undefined;
  /** Past this with pods left, the drain fails (unblockPDB gets one more timeout of deleting). */
  readonly failAt: number | undefined;
  readonly rules: CompiledDrain;
  readonly then: Pod;
  /** Releases the node and counts the failure, when the drain is refused or times out. */
  readonly onFail: NodePatch;
}

/**
 * An Event on the Plan (in its namespace). One object per Plan and reason holds them all: its
 * count says how often, its message names the latest nodes (docs/architecture.md, "Events").
 */
export interface EventAction {
  readonly kind: "event";
  /** The node the step concerns: its message names it, and it follows the node's writes. */
  readonly node?: string;
  /** Also on the Node itself: what a person must look at on that node (failures). */
  readonly onNode?: boolean;
  readonly type: "Normal" | "Warning";
  readonly reason: string;
  readonly message: string;
  /**
   * What makes it one occurrence (a pod's name, a cordon's hash): a step told again on a later
   * pass, or after a restart, is counted once. Without a key every telling counts.
   */
  readonly key?: string;
}

export type Action =
  | { readonly kind: "createPod"; readonly node: string; readonly pod: Pod; readonly why: string }
  | { readonly kind: "deletePod"; readonly name: string; readonly uid: string | undefined; readonly why: string }
  | { readonly kind: "patchNode"; readonly node: string; readonly patch: NodePatch; readonly why: "cordon" | "uncordon" | "complete" | "release" }
  | DrainAction
  | EventAction;

/** soaking: postCompleteDelay and the health gate; backoff: waiting to retry; skipped: labelled disabled. */
export type NodeState = "complete" | "applying" | "soaking" | "backoff" | "pending" | "failed" | "held" | "blocked" | "skipped";

/** Every NodeState, in the order metrics list them. */
export const NODE_STATES: readonly NodeState[] = ["complete", "applying", "soaking", "backoff", "pending", "failed", "held", "blocked", "skipped"];

/** States that hold a concurrency slot. */
export const SLOT_STATES: ReadonlySet<NodeState> = new Set(["applying", "soaking", "backoff", "held", "blocked"]);

export interface Decision {
  readonly actions: readonly Action[];
  readonly status: PlanStatus;
  readonly requeueAfterMs: number | undefined;
  /** For metrics: per-node state. */
  readonly nodeStates: ReadonlyMap<string, NodeState>;
}

export interface Failure {
  readonly node: string;
  readonly reason: string;
  readonly message: string;
  readonly attempts: number;
  readonly pod?: string;
  readonly hash: string;
}
