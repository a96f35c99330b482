// One pass of decide() over a Plan: what it was given, read once, and what it has found and
// asked for so far. Steps append to it; nothing else is shared between them.
import type { CompiledPlan } from "../../plan/compile.ts";
import type { Problem } from "../../plan/problem.ts";
import type { Action, DecideInput, EventAction, Failure, NodeState } from "./decision.ts";
import { type GateVerdict, prepareGate } from "./gates.ts";
import type { PodFacts } from "./pod-facts.ts";
import { type RetryBaseline, type RetryRecord, retriesOf } from "./retry.ts";
import type { Wait } from "./waits.ts";

export class Pass {
  readonly actions: Action[] = [];
  readonly wakeups: number[] = [];
  readonly nodeStates = new Map<string, NodeState>();
  readonly failures: Failure[] = [];
  /** Hostnames of nodes holding a slot (status.applying). */
  readonly applying: string[] = [];
  /** What nodes and the Plan wait for, and until when (status.waits). */
  readonly waits: Wait[] = [];
  /** The first prepare verdicts that hold or block the Plan, and the first failure that halts it. */
  held: GateVerdict | undefined;
  blocked: GateVerdict | undefined;
  halted: Failure | undefined;
  total = 0;
  complete = 0;
  /** Selected but labelled disabled: counted in the total, never started. */
  skipped = 0;

  constructor(private readonly now: number) {}

  wakeAt(t: number): void {
    this.wakeups.push(Math.max(0, t - this.now));
  }

  act(action: Action): void {
    this.actions.push(action);
  }

  /** An Event on the Plan (docs/architecture.md, "Events"); `key` makes a step told again count once. */
  tell(e: Omit<EventAction, "kind">): void {
    this.actions.push({ kind: "event", ...e });
  }

  wait(w: Wait): void {
    this.waits.push(w);
    if (w.until !== undefined) this.wakeAt(w.until);
  }

  fail(f: Failure, onExhausted: "halt" | "skip"): void {
    this.failures.push(f);
    if (onExhausted === "halt") this.halted ??= f;
  }
}

export interface Rollout {
  readonly input: DecideInput;
  readonly plan: CompiledPlan;
  readonly name: string;
  readonly now: number;
  readonly errors: readonly Problem[];
  readonly version: string | undefined;
  readonly hash: string | undefined;
  /** Valid, resolved and hashed: nodes may move. */
  readonly usable: boolean;
  readonly podsByNode: ReadonlyMap<string, readonly PodFacts[]>;
  readonly prepare: ReturnType<typeof prepareGate>;
  readonly pass: Pass;
  /** Retries asked for (plan-runner retry): per node, the attempts and drain failures that no longer count. */
  readonly retry: { readonly baselines: ReadonlyMap<string, RetryBaseline>; readonly record: RetryRecord | undefined };
}

/** A Rollout whose Plan can act: what the node steps get. */
export type UsableRollout = Rollout & { readonly hash: string; readonly version: string };

export function startRollout(input: DecideInput): Rollout {
  const errors = input.problems.filter((p) => p.severity === "error");
  const version = "version" in input.resolution ? input.resolution.version : undefined;
  const hash = "value" in input.hash ? input.hash.value : undefined;
  const podsByNode = new Map<string, PodFacts[]>();
  for (const p of input.pods) {
    const list = podsByNode.get(p.node);
    if (list === undefined) podsByNode.set(p.node, [p]);
    else list.push(p);
  }
  const pass = new Pass(input.now);
  const retry = hash === undefined ? { baselines: new Map<string, RetryBaseline>(), record: undefined } : retriesOf(input, hash, podsByNode, pass);
  return {
    input,
    plan: input.plan,
    name: input.plan.name,
    now: input.now,
    errors,
    version,
    hash,
    usable: errors.length === 0 && version !== undefined && hash !== undefined,
    podsByNode,
    prepare: prepareGate(input.config.pollIntervalMs, input.plan.namespace ?? "default"),
    pass,
    retry,
  };
}

export const isUsable = (r: Rollout): r is UsableRollout => r.usable;
