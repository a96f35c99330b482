// An in-memory world for testing decide(): nodes and pods as the API would show them, the
// actions applied as the reconciler would apply them, and pods that finish as a test says.
// Pure logic only; the real API server is exercised by the integration tests.
import type { Plan } from "../../src/generated/plan.ts";
import { type Action, type DecideConfig, type Decision, type DecideInput, type NodePatch, decide } from "../../src/controller/rollout/decide.ts";
import { type InputConfig, buildDecideInput } from "../../src/controller/rollout/decide-input.ts";
import { planHash } from "../../src/controller/rollout/hash.ts";
import type { Node, Pod } from "../../src/controller/rollout/objects.ts";
import { ControllerDefaults } from "../../src/controller/wiring/defaults.ts";
import { checkPlan } from "../../src/plan/compile.ts";
import { aPlan as aPlanBuilder } from "../fixtures/builders.ts";

export function aNode(name: string, opts: { controlPlane?: boolean; labels?: Record<string, string>; unschedulable?: boolean } = {}): Node {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      uid: `uid-${name}`,
      labels: {
        "kubernetes.io/hostname": name,
        upgrade: "yes",
        ...(opts.controlPlane === true ? { "node-role.kubernetes.io/control-plane": "" } : {}),
        ...opts.labels,
      },
      annotations: {},
    },
    spec: opts.unschedulable === true ? { unschedulable: true } : {},
    status: { conditions: [{ type: "Ready", status: "True", lastTransitionTime: "2026-01-01T00:00:00Z" }] },
  };
}

/** The one Plan builder (test/fixtures/builders.ts), set up as these tests' world expects. */
export function aPlan(spec: Partial<Plan["spec"]> = {}, name = "up"): Plan {
  return aPlanBuilder(name)
    .inNamespace("sys")
    .withUid("plan-uid")
    .withGeneration(1)
    .withVersion("v1.2.3")
    .withNodeSelector({ matchLabels: { upgrade: "yes" } })
    .withUpgrade({ image: "example/upgrade" })
    .withSpec(spec)
    .build();
}

/** The hash of every Plan the tests build here (same version, no secrets, no service account). */
export const HASH = ((h) => (h.ok ? h.hash : ""))(planHash(aPlan(), "v1.2.3", () => undefined));

export type Outcome = { exitCode: number } | "hang";

export interface SimOptions {
  /** How a pod ends; default: exit 0. */
  outcome?: (pod: Pod) => Outcome;
  config?: Partial<DecideConfig>;
  input?: Partial<DecideInput>;
}

const T0 = Date.parse("2026-06-01T00:00:00Z");

/** Applies a JSON merge patch (RFC 7386) to a plain object. */
export function mergePatch<T>(target: T, patch: unknown): T {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch as T;
  const out: Record<string, unknown> = { ...(target as Record<string, unknown>) };
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k] ?? {}, v);
  }
  return out as T;
}

export class SimWorld {
  readonly nodes = new Map<string, Node>();
  readonly pods = new Map<string, Pod>();
  readonly events: Array<Extract<Action, { kind: "event" }>> = [];
  readonly created: string[] = [];
  now = T0;
  plan: Plan;
  last: Decision | undefined;
  /** Most pods of the Plan not finished at once, seen after any step. */
  maxRunning = 0;
  /** Nodes that had a pod created, in order of their first pod. */
  readonly started: string[] = [];

  constructor(
    plan: Plan,
    nodes: readonly Node[],
    private readonly opts: SimOptions = {},
  ) {
    this.plan = plan;
    for (const n of nodes) this.nodes.set(n.metadata.name, n);
  }

  /** The reconciler's own input assembly, over this world instead of the caches. */
  decide(): Decision {
    const plan = this.plan;
    const config: InputConfig = {
      ...ControllerDefaults,
      namespace: "sys",
      controllerName: "test",
      maxDeadlineSecs: 3600,
      pollIntervalMs: 60_000,
      podTtlMs: 3_600_000,
      defaultRetries: 2,
      defaultBackoffMs: 1000,
      ...this.opts.config,
    };
    const { problems, compiled } = checkPlan(plan, config);
    const snapshot = { plan: compiled, problems, plans: [plan], nodes: [...this.nodes.values()], pods: [...this.pods.values()], secrets: [] };
    const input = buildDecideInput(snapshot, { resolution: { version: plan.spec.version ?? "v0", source: "Version" } }, config, this.now);
    const d = decide({ ...input, ...this.opts.input });
    this.last = d;
    return d;
  }

  /** One reconcile: decide and apply, then the status is written back like the real one. */
  reconcile(): Decision {
    const d = this.decide();
    for (const a of d.actions) this.apply(a);
    this.plan = { ...this.plan, status: d.status };
    return d;
  }

  apply(a: Action): void {
    switch (a.kind) {
      case "createPod":
        this.createPod(a.pod);
        break;
      case "deletePod":
        this.pods.delete(a.name);
        break;
      case "patchNode":
        this.patchNode(a.node, a.patch);
        break;
      case "drain":
        this.createPod(a.then);
        break;
      case "event":
        this.events.push(a);
        break;
    }
  }

  patchNode(name: string, patch: NodePatch): void {
    const n = this.nodes.get(name);
    if (n !== undefined) this.nodes.set(name, mergePatch(n, patch));
  }

  private createPod(pod: Pod): void {
    if (this.pods.has(pod.metadata.name)) return; // AlreadyExists: harmless
    this.created.push(pod.metadata.name);
    const node = pod.spec?.nodeName ?? "";
    if (!this.started.includes(node)) this.started.push(node);
    this.pods.set(pod.metadata.name, {
      ...pod,
      metadata: { ...pod.metadata, uid: `uid-${pod.metadata.name}`, creationTimestamp: new Date(this.now).toISOString() },
      status: { phase: "Pending" },
    });
    this.track();
  }

  private track(): void {
    const running = [...this.pods.values()].filter((p) => p.status?.phase === "Pending" || p.status?.phase === "Running").length;
    this.maxRunning = Math.max(this.maxRunning, running);
  }

  /** Time passes; pending pods start, running pods end as the outcome says. */
  tick(ms = 1000): void {
    this.now += ms;
    for (const [name, pod] of this.pods) {
      if (pod.status?.phase === "Pending") this.pods.set(name, { ...pod, status: { phase: "Running" } });
      else if (pod.status?.phase === "Running") {
        const out = this.opts.outcome?.(pod) ?? { exitCode: 0 };
        if (out === "hang") continue;
        const finishedAt = new Date(this.now).toISOString();
        this.pods.set(name, {
          ...pod,
          status: {
            phase: out.exitCode === 0 ? "Succeeded" : "Failed",
            containerStatuses: [
              { name: "upgrade", state: { terminated: { exitCode: out.exitCode, reason: out.exitCode === 0 ? "Completed" : "Error", finishedAt } } },
            ],
          },
        });
      }
    }
  }

  /** Reconcile and tick until the Plan settles or the step budget runs out. */
  run(maxSteps = 500, until: (d: Decision) => boolean = (d) => d.status.state === "Complete"): Decision {
    let d = this.reconcile();
    for (let i = 0; i < maxSteps && !until(d); i++) {
      this.tick();
      d = this.reconcile();
    }
    return d;
  }

  condition(type: string): { status?: string; reason?: string; message?: string } | undefined {
    return this.plan.status?.conditions?.find((c) => c.type === type);
  }
}
