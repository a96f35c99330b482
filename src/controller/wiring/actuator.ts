// Carries out decide()'s actions through the Kubernetes port, idempotently: every write either
// finds its work done (AlreadyExists, NotFound, an equal label) or does it once. It decides
// nothing: which pods a drain removes and how is planDrainPass's answer.
import type { Action, DrainAction, EventAction, NodePatch } from "../rollout/decision.ts";
import { type Removal, planDrainPass } from "../rollout/drain-plan.ts";
import type { Node, Pod, PodDisruptionBudget } from "../rollout/objects.ts";
import { type ApiRefusal, releaseAfterRefusal } from "../rollout/refusal.ts";
import { EventRecorder, type PlanRef } from "../kube/event-recorder.ts";
import { TOLD_FROM_MARKS } from "../rollout/node-events.ts";
import { KubeError, resources } from "../kube/ports.ts";
import type { PlanObject, ReconcilerDeps } from "./reconciler.ts";

/** Requests in flight at once while applying one reconcile's actions. */
const ACTION_PARALLELISM = 64;

export interface ActuatorDeps extends Pick<ReconcilerDeps, "kube" | "nodes" | "pods" | "metrics" | "log" | "now"> {
  readonly namespace: string;
  readonly controllerName: string;
  /** Namespaced names of the controller's own pods: never evicted by a drain. */
  readonly protectedPods: ReadonlySet<string>;
  /** Events that can wait are written together after this long (kube/event-recorder.ts). */
  readonly eventBatchMs: number;
}

/** What carrying out the actions came to. */
export interface Outcome {
  /** An earlier wake-up (a drain still going). */
  readonly wakeMs: number | undefined;
  /** Calls the API server refused for good (terminal until the Plan or the cluster changes). */
  readonly refusals: readonly ApiRefusal[];
  /** Some write other than an Event went through: the Plan is moving despite any refusal. */
  readonly progressed: boolean;
  /** The first failure worth retrying with backoff (409, 429, 5xx, transport, or our own bug). */
  readonly retryable: Error | undefined;
}

const refusalOf = (e: KubeError, what: string): ApiRefusal => ({ call: `${e.verb} ${what}`, status: e.status, reason: e.reason, message: e.message });

export class Actuator {
  private readonly lastWarned = new Map<string, string>();
  private readonly events: EventRecorder;

  constructor(private readonly d: ActuatorDeps) {
    this.events = new EventRecorder({
      kube: d.kube,
      component: `plan-runner/${d.controllerName}`,
      now: d.now,
      nodeUid: (n) => d.nodes.get(n)?.metadata.uid,
      warn: (msg, fields) => d.log.warn(msg, fields),
      batchMs: d.eventBatchMs,
      counted: (plan, told) => {
        for (const a of told)
          d.log.info("event", { plan: plan.name, ...(a.node !== undefined ? { node: a.node } : {}), type: a.type, reason: a.reason, message: a.message });
      },
    });
  }

  /**
   * Completions and releases that uncordon first, then new starts: decide() hands a completed
   * node's slot to the next node in the same pass, and this order keeps that safe across a crash.
   */
  async apply(plan: PlanObject, actions: readonly Action[], now: number): Promise<Outcome> {
    const freeing = new Set(
      actions.filter((a) => a.kind === "patchNode" && (a.why === "complete" || a.why === "release")).map((a) => ("node" in a ? a.node : "")),
    );
    // What a node's life already shows is told before its writes. The steps told from this
    // Plan's marks (its cordon, its drain) are written first when the pass frees the node: the
    // completing patch removes the marks, and a kill right after it would lose them. The rest
    // the world still shows afterwards (the pods, the done label): they wait for the batch.
    // Counted once by key, they are rarely written twice.
    const story = storyOf(actions);
    const marks = new Set(story.filter((a) => a.node !== undefined && freeing.has(a.node) && TOLD_FROM_MARKS.has(a.reason)));
    await this.events.record(this.ref(plan), [...marks]);
    this.tell(
      plan,
      story.filter((a) => !marks.has(a)),
    );
    const toldFirst = new Set<Action>(story);
    const pending = actions.filter((a) => !toldFirst.has(a));
    // A freed node that the patch uncordons holds its place in the cluster until the patch lands:
    // the next node's cordon or pod waits for it. One that was never cordoned holds nothing but
    // the label to come (its pod has finished): its patch and the next node's start go together.
    const freed = pending.filter((a) => "node" in a && a.node !== undefined && freeing.has(a.node));
    const first = freed.filter((a) => !(a.kind === "patchNode" && a.patch.spec === undefined) && a.kind !== "event");
    const firstNodes = new Set(first.map((a) => ("node" in a ? a.node : "")));
    const ahead = new Set(freed.filter((a) => "node" in a && a.node !== undefined && firstNodes.has(a.node)));
    const rest = pending.filter((a) => !ahead.has(a));
    const told: EventAction[] = [];
    const o1 = await this.inLanes(plan, [...ahead], now, told);
    const o2 = await this.inLanes(plan, rest, now, told);
    // After the writes they tell of, in the batch: one write per Event object, however many nodes and passes.
    this.tell(plan, told);
    const waits = [o1.wakeMs, o2.wakeMs].filter((w) => w !== undefined);
    return {
      wakeMs: waits.length > 0 ? Math.min(...waits) : undefined,
      refusals: [...o1.refusals, ...o2.refusals],
      progressed: o1.progressed || o2.progressed,
      retryable: o1.retryable ?? o2.retryable,
    };
  }

  /**
   * Each node's actions in order, different nodes side by side: a wave of 50 nodes costs one
   * round of requests. A lane's Events are kept for `told` only if the writes before them went through.
   */
  private async inLanes(plan: PlanObject, actions: readonly Action[], now: number, told: EventAction[]): Promise<Outcome> {
    const byLane = new Map<string, Action[]>();
    for (const a of actions) {
      const key = "node" in a && a.node !== undefined ? `node/${a.node}` : a.kind === "deletePod" ? `pod/${a.name}` : "plan";
      byLane.set(key, [...(byLane.get(key) ?? []), a]);
    }
    const lanes = [...byLane.values()];
    const waits: number[] = [];
    const refusals: ApiRefusal[] = [];
    let retryable: Error | undefined;
    let progressed = false;
    const worker = async (): Promise<void> => {
      for (let lane = lanes.shift(); lane !== undefined; lane = lanes.shift()) {
        let current: Action | undefined;
        try {
          for (current of lane) {
            if (current.kind === "event") {
              told.push(current);
              continue;
            }
            const w = await this.one(plan, current, now, told);
            if (w !== undefined) waits.push(w);
            progressed = true;
          }
        } catch (e: unknown) {
          // The other lanes still run; this lane stops at the failed action.
          if (!(e instanceof KubeError && e.terminal)) retryable ??= e instanceof Error ? e : new Error(String(e));
          else {
            refusals.push(refusalOf(e, describe(current)));
            retryable ??= await this.releaseRefused(plan, current, told);
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(ACTION_PARALLELISM, lanes.length) }, worker));
    return { wakeMs: waits.length > 0 ? Math.min(...waits) : undefined, refusals, progressed, retryable };
  }

  private async one(plan: PlanObject, a: Exclude<Action, EventAction>, now: number, told: EventAction[]): Promise<number | undefined> {
    const name = plan.metadata.name;
    switch (a.kind) {
      case "createPod":
        await this.createPod(a.pod);
        this.d.log.info("created pod", { plan: name, node: a.node, pod: a.pod.metadata.name, why: a.why });
        return undefined;
      case "deletePod":
        await this.deletePod(a.name, a.uid);
        this.d.log.info("deleted pod", { plan: name, pod: a.name, why: a.why });
        return undefined;
      case "patchNode":
        await this.patchNode(a.node, a.patch);
        this.d.log.info(`node ${a.why}`, { plan: name, node: a.node });
        return undefined;
      case "drain":
        return this.drain(plan, a, now, told);
    }
  }

  /**
   * A node's pod was refused after this Plan cordoned it (Pod Security, a webhook, an object
   * deleted since the check): the node is released at once, never left cordoned for a pod that
   * cannot come. Returns the release's own failure, which the work queue retries.
   */
  private async releaseRefused(plan: PlanObject, a: Action | undefined, told: EventAction[]): Promise<Error | undefined> {
    if (a?.kind !== "createPod" && a?.kind !== "drain") return undefined;
    const node = this.d.nodes.get(a.node);
    const release = node === undefined ? undefined : releaseAfterRefusal(node, plan.metadata.name);
    if (release === undefined) return undefined;
    try {
      await this.patchNode(a.node, release.patch);
    } catch (e: unknown) {
      return e instanceof Error ? e : new Error(String(e));
    }
    told.push(release.event);
    this.d.log.info("node released: its pod was refused", { plan: plan.metadata.name, node: a.node });
    return undefined;
  }

  async createPod(pod: Pod): Promise<void> {
    try {
      this.d.pods.upsert(await this.d.kube.create<Pod>(resources.pods, this.d.namespace, pod));
    } catch (e: unknown) {
      if (!(e instanceof KubeError && e.alreadyExists)) throw e;
    }
  }

  private async deletePod(name: string, uid: string | undefined): Promise<void> {
    try {
      await this.d.kube.delete(resources.pods, this.d.namespace, name, uid !== undefined ? { uid } : {});
    } catch (e: unknown) {
      if (!(e instanceof KubeError && (e.notFound || e.conflict))) throw e;
    }
    this.d.pods.remove(`${this.d.namespace}/${name}`);
  }

  async patchNode(node: string, patch: NodePatch): Promise<void> {
    try {
      this.d.nodes.upsert(await this.d.kube.patch<Node>(resources.nodes, undefined, node, patch));
    } catch (e: unknown) {
      if (!(e instanceof KubeError && e.notFound)) throw e;
      this.d.nodes.remove(node); // the node left mid-rollout: nothing to patch, nothing to wait for
    }
  }

  /** One pass of a drain; runs again on every reconcile until done, evictions repeat harmlessly. */
  private async drain(plan: PlanObject, a: DrainAction, now: number, told: EventAction[]): Promise<number | undefined> {
    const pods = (await this.d.kube.list<Pod>(resources.pods, undefined, { fieldSelector: `spec.nodeName=${a.node}` })).items;
    const pass = planDrainPass(pods, a.rules, a.deadline, now, this.d.protectedPods);
    this.d.log.debug("drain pass", {
      plan: plan.metadata.name,
      node: a.node,
      evict: pass.removals.length,
      terminating: pass.terminating.length,
      refused: pass.refusals.length,
    });
    if (pass.refusals.length > 0) return this.drainFailed(plan, a, "DrainRefused", `cannot drain node ${a.node}: ${pass.refusals.join("; ")}`, told);
    if (pass.removals.length === 0 && pass.terminating.length === 0) {
      await this.createPod(a.then);
      this.d.log.info("drained; created pod", { plan: plan.metadata.name, node: a.node, pod: a.then.metadata.name });
      return undefined;
    }
    const blocked = await this.remove(pass.removals);
    // Past the deadline with pods left, the drain fails safe (node released, failure counted).
    if (a.failAt !== undefined && now >= a.failAt) {
      const pdbs = blocked.length > 0 ? await this.describeBlockingPdbs(pass.removals.map((r) => r.pod)) : "";
      const left = [...pass.removals.map((r) => r.pod), ...pass.terminating].map((p) => `${p.metadata.namespace ?? ""}/${p.metadata.name}`);
      const what = blocked.length > 0 ? `eviction refused for ${blocked.join(", ")}${pdbs}` : `pods still on the node: ${left.join(", ")}`;
      return this.drainFailed(plan, a, "DrainTimeout", `drain of node ${a.node} timed out (spec.drain.timeout): ${what}`, told);
    }
    if (blocked.length > 0 && this.lastWarned.get(a.node) !== blocked.join(",")) {
      this.lastWarned.set(a.node, blocked.join(","));
      const until = a.deadline !== undefined ? ` until ${new Date(a.deadline).toISOString()}` : "";
      const message = `Plan ${plan.metadata.name}: a PodDisruptionBudget refuses eviction of ${blocked.join(", ")} for now; retrying${until}`;
      told.push({
        kind: "event",
        node: a.node,
        onNode: true,
        type: "Normal",
        reason: "DrainWaiting",
        message,
        key: `${a.node}/${a.startedAt}/${blocked.join(",")}`,
      });
    }
    return 2000;
  }

  /** Evicts or deletes each pod; returns the ones a PodDisruptionBudget kept for now. */
  private async remove(removals: readonly Removal[]): Promise<string[]> {
    const blocked: string[] = [];
    for (const { pod, how, gracePeriodSeconds } of removals) {
      const ns = pod.metadata.namespace ?? "default";
      const opts = gracePeriodSeconds !== undefined ? { gracePeriodSeconds } : {};
      try {
        if (how === "delete") await this.d.kube.delete(resources.pods, ns, pod.metadata.name, opts);
        else await this.d.kube.evict(ns, pod.metadata.name, opts);
      } catch (e: unknown) {
        if (e instanceof KubeError && e.notFound) continue;
        if (how === "delete" && e instanceof KubeError && e.status === 403) throw deleteRefused(e);
        if (!(e instanceof KubeError && e.tooManyRequests)) throw e;
        blocked.push(`${ns}/${pod.metadata.name}`);
      }
    }
    return blocked;
  }

  private async drainFailed(plan: PlanObject, a: DrainAction, reason: string, message: string, told: EventAction[]): Promise<undefined> {
    await this.patchNode(a.node, a.onFail);
    told.push({
      kind: "event",
      node: a.node,
      onNode: true,
      type: "Warning",
      reason,
      message: `Plan ${plan.metadata.name}: ${message}; node uncordoned`,
      key: `${a.node}/${a.startedAt}/${reason}`,
    });
    this.d.metrics.failures.inc({ plan: plan.metadata.name, reason });
    return undefined;
  }

  private async describeBlockingPdbs(pods: readonly Pod[]): Promise<string> {
    const names: string[] = [];
    for (const ns of new Set(pods.map((p) => p.metadata.namespace ?? "default"))) {
      try {
        const list = await this.d.kube.list<PodDisruptionBudget>(resources.pdbs, ns);
        for (const pdb of list.items) if ((pdb.status?.disruptionsAllowed ?? 0) === 0) names.push(`${ns}/${pdb.metadata.name}`);
      } catch {
        // the PDB names only enrich the message
      }
    }
    return names.length > 0 ? ` (PodDisruptionBudget ${names.join(", ")} allows no disruption)` : "";
  }

  /** Records Events on the Plan (and the Node for some) in the next batch; never fails the reconcile. */
  tell(plan: PlanObject, told: readonly EventAction[]): void {
    this.events.later(this.ref(plan), told);
  }

  /** Writes the Plan's Events still in the batch: before a status write that tells the same change. */
  flushEvents(plan?: string): Promise<void> {
    return this.events.flush(plan);
  }

  /** A term ended: what it told and did not write yet is not written by it. */
  forget(): void {
    this.events.drop();
  }

  private ref(plan: PlanObject): PlanRef {
    const uid = plan.metadata["uid"];
    return { name: plan.metadata.name, namespace: this.d.namespace, uid: typeof uid === "string" ? uid : undefined };
  }
}

/** Per node with a write among its actions: the Events decide() put before that node's first write. */
function storyOf(actions: readonly Action[]): EventAction[] {
  const writing = new Set(actions.filter((a) => a.kind !== "event" && "node" in a && a.node !== undefined).map((a) => ("node" in a ? a.node : "")));
  const wrote = new Set<string>();
  const out: EventAction[] = [];
  for (const a of actions) {
    if (!("node" in a) || a.node === undefined || !writing.has(a.node)) continue;
    if (a.kind !== "event") wrote.add(a.node);
    else if (!wrote.has(a.node)) out.push(a);
  }
  return out;
}

/**
 * deploy/rbac.yaml grants no pod deletion outside the controller's namespace: the Refused
 * condition says which opt-in grants it. The node stays cordoned, its drain resumes at the next
 * look once the permission exists.
 */
const deleteRefused = (e: KubeError): KubeError =>
  new KubeError(
    e.status,
    e.reason,
    `${e.message} (drain.disableEviction and drain.unblockPDB delete pods: apply deploy/drain-delete/ to allow it)`,
    e.verb,
    e.path,
  );

/** The call an action makes, as a user would name it in kubectl terms. */
function describe(a: Action | undefined): string {
  switch (a?.kind) {
    case "createPod":
      return `pods ${a.pod.metadata.name} (node ${a.node})`;
    case "deletePod":
      return `pods ${a.name}`;
    case "patchNode":
      return `nodes ${a.node} (${a.why})`;
    case "drain":
      return `the drain of node ${a.node}`;
    default:
      return "an action";
  }
}
