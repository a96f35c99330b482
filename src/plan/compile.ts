// Parse once: a Plan that passed (or failed) validation is compiled into the values the
// controller acts on: durations in milliseconds, the window and selectors as functions, the
// controller's defaults applied. The reconciler, decide, the hash and the dry run read this
// object; nothing downstream reads a raw spec string again.
import type { DrainSpec, OrderSpec, Plan } from "../generated/plan.ts";
import { parseDrainTimeout, parseGoDuration } from "./duration.ts";
import { type Labels, compileNodeSelector } from "./selector.ts";
import { type PlanProblem, validatePlan } from "./validate.ts";
import { compileWindow } from "./window.ts";

/** What a Plan leaves to the controller. */
export interface PlanDefaults {
  readonly defaultRetries: number;
  readonly defaultBackoffMs: number;
}

export interface CompiledDrain {
  /** kubectl drain's switches (force, ignoreDaemonSets, podSelector...), read by planDrain. */
  readonly spec: DrainSpec;
  /** undefined: no timeout (absent, zero or unreadable). */
  readonly timeoutMs: number | undefined;
  /** undefined: each pod's own grace period. */
  readonly gracePeriodSeconds: number | undefined;
  readonly disableEviction: boolean;
  readonly unblockPDB: boolean;
}

export interface CompiledAlerts {
  readonly url: string;
  /** Alert names matching it are ignored; a pattern that does not compile is `{ error }`. */
  readonly ignore: RegExp | undefined | { readonly error: string };
}

/** gates.cluster, the preflight: durations read, defaults applied (the same as the CRD's). */
export interface CompiledCluster {
  /** 0: no quiet period. Default 24h, the seed's baseline, as the CRD defaults it. */
  readonly quietMs: number;
  readonly minReadyPodsRatio: number | undefined;
  /** Empty: every namespace. */
  readonly podNamespaces: readonly string[];
}

/** The preflight's quiet period when gates.cluster leaves it out (the CRD's default too). */
export const DEFAULT_QUIET_MS = 24 * 3600_000;

export interface CompiledPlan {
  /** The Plan as written: rendering and the hash read the user's own fields from it. */
  readonly source: Plan;
  readonly name: string;
  readonly namespace: string | undefined;
  readonly generation: number;
  /** spec.concurrency as SUC reads it (0 selects nothing in the dry run); decide admits at least 1. */
  readonly concurrency: number;
  readonly selects: (labels: Labels) => boolean;
  readonly retries: number;
  readonly onExhausted: "halt" | "skip";
  readonly backoffMs: number;
  /** undefined when the Plan sets none (the pod TTL floor differs from an explicit 0). */
  readonly postCompleteDelayMs: number | undefined;
  /** cordon: true, or implied by drain. */
  readonly cordon: boolean;
  readonly drain: CompiledDrain | undefined;
  readonly hasPrepare: boolean;
  readonly health: { readonly soakMs: number; readonly timeoutMs: number | undefined } | undefined;
  /** undefined: no window, always open. */
  readonly windowOpen: ((now: Date) => boolean) | undefined;
  readonly alerts: CompiledAlerts | undefined;
  /** gates.cluster: the cluster must be healthy and quiet before a node starts. */
  readonly cluster: CompiledCluster | undefined;
  /** gates.postflight: the Plan's version is a Kubernetes release, verified once Complete. */
  readonly postflight: { readonly apiServer: boolean } | undefined;
  readonly after: readonly string[];
  readonly exclusive: boolean;
  readonly order: OrderSpec | undefined;
  readonly postCompleteLabels: Readonly<Record<string, string | undefined>>;
  /** spec.version when set and not empty; else the version comes from spec.channel. */
  readonly version: string | undefined;
  readonly channel: string | undefined;
}

/** A Go duration in ms, never negative; `fallback` when absent or unreadable (validation reports it). */
function ms(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const r = parseGoDuration(text);
  return r.ok ? Math.max(0, r.ms) : fallback;
}

function compileDrain(spec: DrainSpec | undefined): CompiledDrain | undefined {
  if (spec === undefined) return undefined;
  const timeout = spec.timeout === undefined ? undefined : parseDrainTimeout(spec.timeout);
  return {
    spec,
    timeoutMs: timeout?.ok === true && timeout.ms > 0 ? timeout.ms : undefined,
    gracePeriodSeconds: spec.gracePeriod !== undefined && spec.gracePeriod >= 0 ? spec.gracePeriod : undefined,
    disableEviction: spec.disableEviction === true,
    unblockPDB: spec.unblockPDB === true,
  };
}

function compileAlerts(plan: Plan): CompiledAlerts | undefined {
  const gate = plan.spec.gates?.prometheus;
  if (gate === undefined) return undefined;
  const pattern = gate.ignoreAlerts;
  if (pattern === undefined || pattern === "") return { url: gate.url, ignore: undefined };
  try {
    return { url: gate.url, ignore: new RegExp(`^(?:${pattern})$`) };
  } catch (e: unknown) {
    return { url: gate.url, ignore: { error: e instanceof Error ? e.message : String(e) } };
  }
}

function compileCluster(plan: Plan): CompiledCluster | undefined {
  const gate = plan.spec.gates?.cluster;
  if (gate === undefined) return undefined;
  return { quietMs: ms(gate.quietPeriod, DEFAULT_QUIET_MS), minReadyPodsRatio: gate.minReadyPodsRatio, podNamespaces: gate.podNamespaces ?? [] };
}

/** Compiles any Plan, valid or not: an invalid one still needs its selector to release its nodes. */
export function compilePlan(plan: Plan, defaults: PlanDefaults): CompiledPlan {
  const spec = plan.spec;
  const delay = spec.postCompleteDelay === undefined ? undefined : parseGoDuration(spec.postCompleteDelay);
  const health = spec.gates?.health;
  return {
    source: plan,
    name: plan.metadata.name,
    namespace: plan.metadata.namespace,
    generation: Number(plan.metadata["generation"] ?? 0),
    concurrency: spec.concurrency ?? 1,
    selects: compileNodeSelector(spec.nodeSelector),
    retries: spec.failurePolicy?.retries ?? defaults.defaultRetries,
    onExhausted: spec.failurePolicy?.onExhausted ?? "halt",
    backoffMs: ms(spec.failurePolicy?.backoff, defaults.defaultBackoffMs),
    postCompleteDelayMs: delay?.ok === true ? delay.ms : undefined,
    cordon: spec.cordon === true || spec.drain !== undefined,
    drain: compileDrain(spec.drain),
    hasPrepare: spec.prepare !== undefined,
    health:
      health === undefined ? undefined : { soakMs: ms(health.soak, 0), timeoutMs: health.timeout === undefined ? undefined : ms(health.timeout, 600_000) },
    windowOpen: spec.window === undefined ? undefined : compileWindow(spec.window),
    alerts: compileAlerts(plan),
    cluster: compileCluster(plan),
    postflight: spec.gates?.postflight === undefined ? undefined : { apiServer: spec.gates.postflight.apiServer !== false },
    after: spec.after ?? [],
    exclusive: spec.exclusive === true,
    order: spec.order,
    postCompleteLabels: spec.postCompleteLabels ?? {},
    version: spec.version !== undefined && spec.version !== "" ? spec.version : undefined,
    channel: spec.channel !== undefined && spec.channel !== "" ? spec.channel : undefined,
  };
}

/** Validation that hands back what it read: the problems, and the Plan compiled for the controller. */
export function checkPlan(plan: Plan, defaults: PlanDefaults): { readonly problems: PlanProblem[]; readonly compiled: CompiledPlan } {
  return { problems: validatePlan(plan), compiled: compilePlan(plan, defaults) };
}
