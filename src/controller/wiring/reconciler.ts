// Reconcile = read the caches -> pure decide -> idempotent actions -> status (style rules 1-3).
// It gets a key, never an event, so running it twice is harmless: every write either finds
// its work done (AlreadyExists, NotFound, an equal label) or does it once.
import type { Plan } from "../../generated/plan.ts";
import { parseDrainTimeout, parseGoDuration } from "../../plan/duration.ts";
import { isWindowOpen } from "../../plan/window.ts";
import { validatePlan } from "../../plan/validate.ts";
import { resolveChannel } from "../kube/channel.ts";
import { type Action, type DecideConfig, type Decision, type NodePatch, type Resolution, cordonedBy, decide, drainStarted, uncordonPatch } from "../rollout/decide.ts";
import { planDrain } from "../rollout/drain-plan.ts";
import { planHash } from "../rollout/hash.ts";
import type { Informer } from "../kube/informer.ts";
import type { KubeObject, Node, Pod, PodDisruptionBudget, Secret } from "../rollout/objects.ts";
import type { Metrics } from "./metrics.ts";
import { type Kube, KubeError, resources } from "../kube/ports.ts";
import { LABEL_EXCLUSIVE, LABEL_PLAN, type PodFacts, podFacts } from "../rollout/pod-facts.ts";
import { renderForPlan } from "../rollout/render-for-plan.ts";
import { mungeVersion } from "../rollout/version.ts";
import type { Logger } from "./log.ts";
import { stableJson } from "../rollout/stable-json.ts";

export type PlanObject = Plan & KubeObject;

/** Requests in flight at once while applying one reconcile's actions. */
const ACTION_PARALLELISM = 16;

export interface ReconcilerConfig extends DecideConfig {
  readonly namespace: string;
  /** Value of the upgrade.cattle.io/controller label on our pods. */
  readonly controllerName: string;
  readonly channelPollMs: number;
  readonly channelTimeoutMs: number;
  readonly alertsCacheMs: number;
  readonly defaultDeadlineSecs: number;
  readonly maxDeadlineSecs: number;
  /** Namespaced names of the controller's own pods: never evicted by a drain. */
  readonly protectedPods: ReadonlySet<string>;
}

export interface ReconcilerDeps {
  readonly kube: Kube;
  readonly plans: Informer<PlanObject>;
  readonly nodes: Informer<Node>;
  readonly pods: Informer<Pod>;
  readonly secrets: Informer<Secret>;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly now: () => number;
  readonly config: ReconcilerConfig;
  readonly clusterId?: () => string | undefined;
}

interface ChannelCache {
  readonly url: string;
  readonly at: number;
  readonly result: Resolution;
}

export class Reconciler {
  private readonly channels = new Map<string, ChannelCache>();
  private readonly alerts = new Map<string, { at: number; value: { firing: string[] } | { error: string } }>();
  private readonly lastWarned = new Map<string, string>();
  private readonly countedFailures = new Set<string>();

  constructor(private readonly d: ReconcilerDeps) {}

  async reconcile(key: string): Promise<{ requeueAfterMs?: number | undefined }> {
    const started = process.hrtime.bigint();
    const name = key.includes("/") ? key.slice(key.indexOf("/") + 1) : key;
    try {
      const plan = this.d.plans.get(key);
      if (plan === undefined || plan.metadata.deletionTimestamp !== undefined) {
        await this.releaseAll(name);
        this.d.metrics.forgetPlan(name);
        return {};
      }
      return await this.reconcilePlan(plan);
    } finally {
      this.d.metrics.reconcileDuration.observe({ plan: name }, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  /** A deleted Plan leaves no node cordoned by it (SUC #71); its pods go with it (ownerReferences). */
  private async releaseAll(plan: string): Promise<void> {
    for (const node of this.d.nodes.list()) {
      const ann = node.metadata.annotations ?? {};
      if (ann[cordonedBy(plan)] === undefined && ann[drainStarted(plan)] === undefined) continue;
      await this.patchNode(node.metadata.name, uncordonPatch(node, plan));
      this.d.log.info("released node of a deleted plan", { plan, node: node.metadata.name });
    }
  }

  private async reconcilePlan(plan: PlanObject): Promise<{ requeueAfterMs?: number | undefined }> {
    const { config } = this.d;
    const now = this.d.now();
    const name = plan.metadata.name;
    const problems = validatePlan(plan);
    const resolution = await this.resolve(plan, now);
    const secrets = new Map(this.d.secrets.list().map((s) => [s.metadata.name, s]));
    const hashed = "version" in resolution
      ? planHash(plan, resolution.version, (n) => {
          const s = secrets.get(n);
          return s === undefined ? undefined : { name: n, type: s.type ?? "", data: s.data, ...(s["immutable"] === true ? { immutable: true } : {}) };
        })
      : undefined;
    const hash = hashed === undefined ? { error: "no version resolved" } : hashed.ok ? { value: hashed.hash } : { error: `secret ${config.namespace}/${hashed.missingSecret} (spec.secrets) not found: create it or remove it from the Plan` };
    const allPods = this.d.pods.list();
    const pods = allPods.filter((p) => p.metadata.labels?.[LABEL_PLAN] === name).map(podFacts).filter((p) => p !== undefined);
    const afterPending = (plan.spec.after ?? []).filter((other) => {
      const o = this.d.plans.get(`${config.namespace}/${other}`);
      return o?.status?.conditions?.find((c) => c.type === "Complete")?.status !== "True";
    });
    const exclusiveBusy = new Set<string>();
    if (plan.spec.exclusive === true) {
      for (const p of allPods) {
        const l = p.metadata.labels ?? {};
        if (l[LABEL_EXCLUSIVE] === "true" && l[LABEL_PLAN] !== name && p.spec?.nodeName !== undefined && p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed") exclusiveBusy.add(p.spec.nodeName);
      }
      for (const other of this.d.plans.list()) {
        if (other.metadata.name === name || other.spec?.exclusive !== true) continue;
        for (const n of this.d.nodes.list()) if (n.metadata.annotations?.[cordonedBy(other.metadata.name)] !== undefined) exclusiveBusy.add(n.metadata.name);
      }
    }
    const ms = (text: string | undefined, fallback: number): number => {
      if (text === undefined) return fallback;
      const r = parseGoDuration(text);
      return r.ok ? Math.max(0, r.ms) : fallback;
    };
    const drainTimeout = plan.spec.drain?.timeout === undefined ? undefined : parseDrainTimeout(plan.spec.drain.timeout);
    const version = "version" in resolution ? resolution.version : "";
    const podHealth = plan.spec.gates?.health !== undefined && "value" in hash ? await this.podHealth(plan, pods, hash.value) : undefined;
    const decision = decide({
      plan,
      problems,
      resolution,
      hash,
      nodes: this.d.nodes.list(),
      pods,
      afterPending,
      exclusiveBusy,
      alerts: await this.readAlerts(plan, now),
      ...(podHealth !== undefined ? { podHealth } : {}),
      window: { open: isWindowOpen(plan.spec.window, new Date(now)), ...(plan.spec.window !== undefined ? { message: "outside the maintenance window (spec.window): no new node starts", opensInMs: 60_000 } : {}) },
      durations: {
        postCompleteDelayMs: ms(plan.spec.postCompleteDelay, 0),
        backoffMs: ms(plan.spec.failurePolicy?.backoff, config.defaultBackoffMs),
        drainTimeoutMs: drainTimeout?.ok === true && drainTimeout.ms > 0 ? drainTimeout.ms : undefined,
        soakMs: ms(plan.spec.gates?.health?.soak, 0),
        healthTimeoutMs: plan.spec.gates?.health?.timeout === undefined ? undefined : ms(plan.spec.gates.health.timeout, 600_000),
      },
      render: "value" in hash ? renderForPlan(plan, { hash: hash.value, version, namespace: config.namespace, controllerName: config.controllerName, defaultDeadlineSecs: config.defaultDeadlineSecs, maxDeadlineSecs: config.maxDeadlineSecs, ttlSecondsAfterFinished: Math.round(config.podTtlMs / 1000) }) : { prepare: unusable, apply: unusable },
      now,
      config,
    });
    const extraWake = await this.act(plan, decision, now);
    this.observe(plan.metadata.name, pods, decision, now);
    await this.writeStatus(plan, decision);
    const c = (t: string): boolean => decision.status.conditions?.find((x) => x.type === t)?.status === "True";
    this.d.metrics.recordPlan(name, decision.nodeStates, { held: c("Held"), blocked: c("Blocked"), halted: c("Halted"), complete: c("Complete") }, now);
    const wake = [
      decision.requeueAfterMs,
      extraWake,
      "reason" in resolution || plan.spec.version === undefined ? config.channelPollMs : undefined,
      // Alerts change without any Kubernetes event to wake us.
      plan.spec.gates?.prometheus !== undefined && decision.status.state !== "Complete" ? config.alertsCacheMs : undefined,
    ].filter((x) => x !== undefined);
    return { requeueAfterMs: wake.length > 0 ? Math.min(...wake) : undefined };
  }

  /**
   * gates.health: for nodes whose upgrade pod succeeded and which are not done yet, the pods
   * on them that are not Ready (our own upgrade pods aside), and since when all have been Ready.
   */
  private async podHealth(plan: PlanObject, pods: readonly PodFacts[], hash: string): Promise<Map<string, { unready: string[]; readySince: number | undefined }>> {
    const label = `plan.upgrade.cattle.io/${plan.metadata.name}`;
    const soaking = new Set(
      pods.filter((p) => p.role === "apply" && p.hash === hash && p.phase === "Succeeded" && this.d.nodes.get(p.node)?.metadata.labels?.[label] !== hash).map((p) => p.node),
    );
    const out = new Map<string, { unready: string[]; readySince: number | undefined }>();
    for (const node of soaking) {
      const onNode = (await this.d.kube.list<Pod>(resources.pods, undefined, { fieldSelector: `spec.nodeName=${node}` })).items.filter(
        (p) => p.metadata.labels?.["upgrade.cattle.io/controller"] === undefined && p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed",
      );
      const ready = onNode.map((p) => p.status?.conditions?.find((c) => c.type === "Ready"));
      const unready = onNode.filter((_, i) => ready[i]?.status !== "True").map((p) => `${p.metadata.namespace ?? ""}/${p.metadata.name}`);
      const since = ready.map((c) => (c?.lastTransitionTime === undefined ? Number.NaN : Date.parse(c.lastTransitionTime))).filter((t) => !Number.isNaN(t));
      out.set(node, { unready, readySince: since.length > 0 ? Math.max(...since) : undefined });
    }
    return out;
  }

  /** Upgrade durations of nodes completed in this pass, and each failed upgrade pod once. */
  private observe(plan: string, pods: readonly PodFacts[], decision: Decision, now: number): void {
    for (const a of decision.actions) {
      if (a.kind !== "patchNode" || a.why !== "complete") continue;
      const first = Math.min(...pods.filter((p) => p.node === a.node && p.createdAt !== undefined).map((p) => p.createdAt!));
      if (Number.isFinite(first)) this.d.metrics.nodeDuration.observe({ plan }, Math.max(0, now - first) / 1000);
    }
    for (const p of pods) {
      if (p.role !== "apply" || p.phase !== "Failed" || p.uid === undefined || this.countedFailures.has(p.uid)) continue;
      this.countedFailures.add(p.uid);
      this.d.metrics.failures.inc({ plan, reason: p.reason ?? "Error" });
    }
  }

  private async resolve(plan: PlanObject, now: number): Promise<Resolution> {
    if (plan.spec.version !== undefined && plan.spec.version !== "") return { version: mungeVersion(plan.spec.version), source: "Version" };
    const url = plan.spec.channel;
    if (url === undefined || url === "") return { reason: "Error", message: "cannot resolve plan: missing channel and version (set spec.version or spec.channel)" };
    const key = `${plan.metadata.namespace ?? ""}/${plan.metadata.name}`;
    const cached = this.channels.get(key);
    let result = cached?.url === url && now - cached.at < this.d.config.channelPollMs ? cached.result : undefined;
    if (result === undefined) {
      result = await resolveChannel(url, { clusterId: this.d.clusterId?.(), latestVersion: plan.status?.latestVersion, timeoutMs: this.d.config.channelTimeoutMs });
      this.channels.set(key, { url, at: now, result });
    }
    // A channel that fails after it once answered keeps the rollout on the last known version.
    if ("reason" in result && plan.status?.latestVersion !== undefined && plan.status.latestVersion !== "") {
      return { version: plan.status.latestVersion, source: "Channel", error: { reason: result.reason, message: result.message } };
    }
    return result;
  }

  private async readAlerts(plan: PlanObject, now: number): Promise<{ firing: string[] } | { error: string } | undefined> {
    const gate = plan.spec.gates?.prometheus;
    if (gate === undefined) return undefined;
    const key = `${plan.metadata.name}|${gate.url}|${gate.ignoreAlerts ?? ""}`;
    const cached = this.alerts.get(key);
    if (cached !== undefined && now - cached.at < this.d.config.alertsCacheMs) return cached.value;
    let value: { firing: string[] } | { error: string };
    try {
      const res = await fetch(new URL("/api/v1/alerts", gate.url), { signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const body = (await res.json()) as { data?: { alerts?: Array<{ state?: string; labels?: Record<string, string> }> } };
      const ignore = gate.ignoreAlerts === undefined || gate.ignoreAlerts === "" ? undefined : new RegExp(`^(?:${gate.ignoreAlerts})$`);
      const firing = (body.data?.alerts ?? [])
        .filter((a) => a.state === "firing")
        .map((a) => a.labels?.["alertname"] ?? "?")
        .filter((n) => ignore === undefined || !ignore.test(n));
      value = { firing: [...new Set(firing)].sort() };
    } catch (e: unknown) {
      value = { error: `${gate.url}: ${e instanceof Error ? e.message : String(e)}` };
    }
    this.alerts.set(key, { at: now, value });
    return value;
  }

  /** Applies the actions in order; returns an earlier wake-up when a drain is still going. */
  /**
   * Applies the actions: each node's in order (its patch before its event), different nodes
   * side by side, so a wave of 50 nodes costs one round of requests, not 50.
   */
  private async act(plan: PlanObject, decision: Decision, now: number): Promise<number | undefined> {
    // Completions and releases first, then new starts: decide() hands a completed node's slot
    // to the next node in the same pass, and this order keeps that safe across a crash.
    const freeing = new Set(decision.actions.filter((a) => a.kind === "patchNode" && (a.why === "complete" || a.why === "release")).map((a) => ("node" in a ? a.node : "")));
    const first = decision.actions.filter((a) => "node" in a && a.node !== undefined && freeing.has(a.node));
    const rest = decision.actions.filter((a) => !first.includes(a));
    const w1 = await this.actInLanes(plan, first, now);
    const w2 = await this.actInLanes(plan, rest, now);
    return w1 === undefined ? w2 : w2 === undefined ? w1 : Math.min(w1, w2);
  }

  /**
   * Each node's actions in order (its patch before its event), different nodes side by side,
   * so a wave of 50 nodes costs one round of requests, not 50.
   */
  private async actInLanes(plan: PlanObject, actions: readonly Action[], now: number): Promise<number | undefined> {
    const byNode = new Map<string, Action[]>();
    for (const a of actions) {
      const key = "node" in a && a.node !== undefined ? `node/${a.node}` : a.kind === "deletePod" ? `pod/${a.name}` : "plan";
      byNode.set(key, [...(byNode.get(key) ?? []), a]);
    }
    const lanes = [...byNode.values()];
    const waits: number[] = [];
    const failures: unknown[] = [];
    const worker = async (): Promise<void> => {
      for (let lane = lanes.shift(); lane !== undefined; lane = lanes.shift()) {
        try {
          for (const a of lane) {
            const w = await this.actOne(plan, a, now);
            if (w !== undefined) waits.push(w);
          }
        } catch (e: unknown) {
          failures.push(e); // the other lanes still run; the reconcile fails and is retried
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(ACTION_PARALLELISM, lanes.length) }, worker));
    if (failures.length > 0) throw failures[0];
    return waits.length > 0 ? Math.min(...waits) : undefined;
  }

  private async actOne(plan: PlanObject, a: Action, now: number): Promise<number | undefined> {
    const ns = this.d.config.namespace;
    switch (a.kind) {
      case "createPod":
        await this.createPod(a.pod);
        this.d.log.info("created pod", { plan: plan.metadata.name, node: a.node, pod: a.pod.metadata.name, why: a.why });
        return undefined;
      case "deletePod":
        try {
          await this.d.kube.delete(resources.pods, ns, a.name, a.uid !== undefined ? { uid: a.uid } : {});
        } catch (e: unknown) {
          if (!(e instanceof KubeError && (e.notFound || e.conflict))) throw e;
        }
        this.d.pods.remove(`${ns}/${a.name}`);
        this.d.log.info("deleted pod", { plan: plan.metadata.name, pod: a.name, why: a.why });
        return undefined;
      case "patchNode":
        await this.patchNode(a.node, a.patch);
        this.d.log.info(`node ${a.why}`, { plan: plan.metadata.name, node: a.node });
        return undefined;
      case "event":
        await this.event(plan, a);
        return undefined;
      case "drain":
        return this.drain(plan, a, now);
    }
  }

  private async createPod(pod: Pod): Promise<void> {
    try {
      const created = await this.d.kube.create<Pod>(resources.pods, this.d.config.namespace, pod);
      this.d.pods.upsert(created);
    } catch (e: unknown) {
      if (!(e instanceof KubeError && e.alreadyExists)) throw e;
    }
  }

  private async patchNode(node: string, patch: NodePatch): Promise<void> {
    try {
      const updated = await this.d.kube.patch<Node>(resources.nodes, undefined, node, patch);
      this.d.nodes.upsert(updated);
    } catch (e: unknown) {
      if (e instanceof KubeError && e.notFound) {
        this.d.nodes.remove(node); // the node left mid-rollout: nothing to patch, nothing to wait for
        return;
      }
      throw e;
    }
  }

  /**
   * One pass of a drain: evict (or delete) what must go, then create the apply pod once the
   * node is empty. Runs again on every reconcile until done; evictions repeat harmlessly.
   */
  private async drain(plan: PlanObject, a: Extract<Action, { kind: "drain" }>, now: number): Promise<number | undefined> {
    const spec = plan.spec.drain ?? {};
    const pods = (await this.d.kube.list<Pod>(resources.pods, undefined, { fieldSelector: `spec.nodeName=${a.node}` })).items;
    const todo = planDrain(pods, spec, now, this.d.config.protectedPods);
    this.d.log.info("drain pass", { plan: plan.metadata.name, node: a.node, evict: todo.evict.length, terminating: todo.terminating.length, refused: todo.refusals.length });
    const fail = async (reason: string, message: string): Promise<undefined> => {
      await this.patchNode(a.node, a.onFail);
      await this.event(plan, { kind: "event", on: "node", node: a.node, type: "Warning", reason, message: `Plan ${plan.metadata.name}: ${message}; node uncordoned` });
      this.d.metrics.failures.inc({ plan: plan.metadata.name, reason });
      return undefined;
    };
    if (todo.refusals.length > 0) return fail("DrainRefused", `cannot drain node ${a.node}: ${todo.refusals.join("; ")}`);
    if (todo.evict.length === 0 && todo.terminating.length === 0) {
      await this.createPod(a.then);
      this.d.log.info("drained; created pod", { plan: plan.metadata.name, node: a.node, pod: a.then.metadata.name });
      return undefined;
    }
    const overdue = a.deadline !== undefined && now >= a.deadline;
    const blocked: string[] = [];
    for (const pod of todo.evict) {
      const pns = pod.metadata.namespace ?? "default";
      try {
        if (spec.disableEviction === true || (overdue && spec.unblockPDB === true)) {
          await this.d.kube.delete(resources.pods, pns, pod.metadata.name, spec.gracePeriod !== undefined && spec.gracePeriod >= 0 ? { gracePeriodSeconds: spec.gracePeriod } : {});
        } else {
          await this.d.kube.evict(pns, pod.metadata.name, spec.gracePeriod !== undefined && spec.gracePeriod >= 0 ? { gracePeriodSeconds: spec.gracePeriod } : {});
        }
      } catch (e: unknown) {
        if (e instanceof KubeError && e.notFound) continue;
        if (e instanceof KubeError && e.tooManyRequests) {
          blocked.push(`${pns}/${pod.metadata.name}`);
          continue;
        }
        throw e;
      }
    }
    // Past the deadline with pods left, the drain fails safe (node released, failure counted).
    // unblockPDB gets one more timeout's worth of deleting before it fails too, so pods that
    // keep coming back (pinned by nodeName) cannot hold a node cordoned forever.
    const hardDeadline = a.deadline === undefined ? undefined : spec.unblockPDB === true ? a.deadline + (a.deadline - a.startedAt) : a.deadline;
    if (hardDeadline !== undefined && now >= hardDeadline) {
      const pdbs = blocked.length > 0 ? await this.describeBlockingPdbs(todo.evict) : "";
      const left = [...todo.evict, ...todo.terminating].map((p) => `${p.metadata.namespace ?? ""}/${p.metadata.name}`);
      const what = blocked.length > 0 ? `eviction refused for ${blocked.join(", ")}${pdbs}` : `pods still on the node: ${left.join(", ")}`;
      return fail("DrainTimeout", `drain of node ${a.node} timed out (spec.drain.timeout): ${what}`);
    }
    if (blocked.length > 0 && this.lastWarned.get(a.node) !== blocked.join(",")) {
      this.lastWarned.set(a.node, blocked.join(","));
      await this.event(plan, { kind: "event", on: "node", node: a.node, type: "Normal", reason: "DrainWaiting", message: `Plan ${plan.metadata.name}: a PodDisruptionBudget refuses eviction of ${blocked.join(", ")} for now; retrying${a.deadline !== undefined ? ` until ${new Date(a.deadline).toISOString()}` : ""}` });
    }
    return 2000;
  }

  private async describeBlockingPdbs(pods: readonly Pod[]): Promise<string> {
    const namespaces = [...new Set(pods.map((p) => p.metadata.namespace ?? "default"))];
    const names: string[] = [];
    for (const ns of namespaces) {
      try {
        const list = await this.d.kube.list<PodDisruptionBudget>(resources.pdbs, ns);
        for (const pdb of list.items) if ((pdb.status?.disruptionsAllowed ?? 0) === 0) names.push(`${ns}/${pdb.metadata.name}`);
      } catch {
        // the PDB names only enrich the message
      }
    }
    return names.length > 0 ? ` (PodDisruptionBudget ${names.join(", ")} allows no disruption)` : "";
  }

  private async event(plan: PlanObject, a: Extract<Action, { kind: "event" }>): Promise<void> {
    const ns = this.d.config.namespace;
    const onNode = a.on === "node" && a.node !== undefined;
    const nodeObj = onNode ? this.d.nodes.get(a.node) : undefined;
    const involved = onNode
      ? { apiVersion: "v1", kind: "Node", name: a.node, ...(nodeObj?.metadata.uid !== undefined ? { uid: nodeObj.metadata.uid } : {}) }
      : { apiVersion: "upgrade.cattle.io/v1", kind: "Plan", name: plan.metadata.name, namespace: ns, ...(plan.metadata["uid"] !== undefined ? { uid: plan.metadata["uid"] } : {}) };
    const stamp = new Date(this.d.now()).toISOString();
    try {
      await this.d.kube.create(resources.events, onNode ? "default" : ns, {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: `${involved.name}.${Date.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`, namespace: onNode ? "default" : ns },
        involvedObject: involved,
        reason: a.reason,
        message: a.message.slice(0, 1000),
        type: a.type,
        source: { component: `plan-runner/${this.d.config.controllerName}` },
        firstTimestamp: stamp,
        lastTimestamp: stamp,
        count: 1,
      });
    } catch (e: unknown) {
      this.d.log.warn("could not record an event", { reason: a.reason, error: e instanceof Error ? e.message : String(e) });
    }
    this.d.log.info("event", { plan: plan.metadata.name, ...(a.node !== undefined ? { node: a.node } : {}), type: a.type, reason: a.reason, message: a.message });
  }

  /** Writes status only when it changed, so our own write does not wake us in a loop. */
  private async writeStatus(plan: PlanObject, decision: Decision): Promise<void> {
    if (stableJson(plan.status ?? {}) === stableJson(decision.status)) return;
    try {
      const updated = await this.d.kube.patch<PlanObject>(resources.plans, this.d.config.namespace, plan.metadata.name, { status: decision.status }, { subresource: "status" });
      this.d.plans.upsert(updated);
    } catch (e: unknown) {
      if (e instanceof KubeError && e.notFound) return;
      throw e;
    }
  }
}

function unusable(): Pod {
  throw new Error("no pod can be rendered without a plan hash");
}
