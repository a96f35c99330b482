// Reconcile = read the caches -> pure input assembly -> pure decide -> carry out the actions ->
// write status. It gets a key, never an event, so running it twice is harmless.
import type { Plan, PlanStatus } from "../../generated/plan.ts";
import { conditionEvents } from "../rollout/conditions.ts";
import { type CompiledPlan, checkPlan } from "../../plan/compile.ts";
import type { Informer } from "../kube/informer.ts";
import { type AlertsPort, type ChannelPort, type Kube, KubeError, type Resource, type ServerVersionPort, resources } from "../kube/ports.ts";
import { decide } from "../rollout/decide.ts";
import { type InputConfig, type Snapshot, buildDecideInput, soakingNodes } from "../rollout/decide-input.ts";
import type { AlertReading, Decision, Resolution, ServerVersion } from "../rollout/decision.ts";
import { FINALIZER_RELEASE_NODES, LABEL_PLAN } from "../rollout/keys.ts";
import { holds, uncordonPatch } from "../rollout/node-patches.ts";
import type { Condition, KubeObject, Node, Pod, Secret } from "../rollout/objects.ts";
import type { PodFacts } from "../rollout/pod-facts.ts";
import { notices, withRecord } from "../rollout/notifications.ts";
import { type Redact, redactPod, redactor, secretTexts } from "../rollout/redact.ts";
import { type ApiRefusal, type Exists, missingReferences, withRefusals } from "../rollout/refusal.ts";
import { channelResolution, fixedResolution, knownVersion } from "../rollout/resolution.ts";
import { stableJson } from "../rollout/stable-json.ts";
import { Actuator } from "./actuator.ts";
import { ChannelReader } from "./channel-reader.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";

export type PlanObject = Plan & KubeObject;

export interface ReconcilerConfig extends InputConfig {
  readonly channelPollMs: number;
  readonly channelTimeoutMs: number;
  readonly alertsCacheMs: number;
  /** After a call the API server refused for good, look again only after this (or a change). */
  readonly refusedRequeueMs: number;
  /** Events and a status changed only in its progress are written at most this often (defaults.ts). */
  readonly writeBatchMs: number;
  /** Namespaced names of the controller's own pods: never evicted by a drain. */
  readonly protectedPods: ReadonlySet<string>;
}

export interface ReconcilerDeps {
  readonly kube: Kube;
  readonly channel: ChannelPort;
  readonly alerts: AlertsPort;
  /** gates.postflight.apiServer; without it the API server's version reads as unknown. */
  readonly serverVersion?: ServerVersionPort | undefined;
  readonly plans: Informer<PlanObject>;
  readonly nodes: Informer<Node>;
  readonly pods: Informer<Pod>;
  readonly secrets: Informer<Secret>;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly now: () => number;
  readonly config: ReconcilerConfig;
  readonly clusterId?: () => string | undefined;
  /** The notification webhook's queue (never waits); absent: notifications are off. */
  readonly notify?: (plan: string, text: string) => void;
  /** Queues Plans again (their work-queue keys): a channel they read has answered. */
  readonly requeue?: (keys: readonly string[]) => void;
}

export type ReconcileOutcome = { requeueAfterMs?: number | undefined };

const cached = <T>(map: Map<string, { at: number; key: string; value: T }>, id: string, key: string, now: number, ttl: number): T | undefined => {
  const hit = map.get(id);
  return hit !== undefined && hit.key === key && now - hit.at < ttl ? hit.value : undefined;
};

export class Reconciler {
  private readonly channels: ChannelReader;
  private readonly alertReadings = new Map<string, { at: number; key: string; value: AlertReading }>();
  private readonly podCounts = new Map<string, { at: number; key: string; value: Pod[] | { error: string } }>();
  private readonly versions = new Map<string, { at: number; key: string; value: ServerVersion }>();
  private readonly countedFailures = new Set<string>();
  /** Whether a ServiceAccount or PriorityClass a Plan names exists (undefined: could not tell). */
  private readonly references = new Map<string, { at: number; key: string; value: { found: boolean | undefined } }>();
  /** Per Plan: how many passes in a row found an object it names missing (the look-again doubles). */
  private readonly missingStreak = new Map<string, number>();
  /** Per Plan: a call refused moments ago; no node starts until `until` or the Plan changes. */
  private readonly refusedHolds = new Map<string, { until: number; generation: number | undefined; refusals: readonly ApiRefusal[] }>();
  private readonly actuator: Actuator;
  /** Per Plan: when this process last wrote its status (a progress-only change waits for writeBatchMs after it). */
  private readonly statusWrittenAt = new Map<string, number>();
  /** Plans whose done nodes this term has told again once (decision.ts, retellDone). */
  private readonly retoldDone = new Set<string>();
  /** Per Plan: what it waited for at the last pass, to log a wait once when it begins. */
  private readonly loggedWaits = new Map<string, ReadonlySet<string>>();

  constructor(private readonly d: ReconcilerDeps) {
    const c = d.config;
    this.actuator = new Actuator({
      ...d,
      namespace: c.namespace,
      controllerName: c.controllerName,
      protectedPods: c.protectedPods,
      eventBatchMs: c.writeBatchMs,
    });
    const { channel, now, clusterId } = d;
    this.channels = new ChannelReader({
      channel,
      now,
      clusterId,
      pollMs: c.channelPollMs,
      timeoutMs: c.channelTimeoutMs,
      onAnswer: (keys) => d.requeue?.(keys),
    });
  }

  /** Drops what earlier reads left (channel answers, alerts, pod counts, versions): a new term reads afresh. */
  forget(): void {
    for (const m of [this.alertReadings, this.podCounts, this.versions, this.references]) m.clear();
    this.channels.forget();
    this.actuator.forget();
    this.statusWrittenAt.clear();
    this.retoldDone.clear();
  }

  /** Writes what waits in the batch (the Events): at shutdown, before the lease is given up. */
  flush(): Promise<void> {
    return this.actuator.flushEvents();
  }

  async reconcile(key: string): Promise<ReconcileOutcome> {
    const started = process.hrtime.bigint();
    const name = key.includes("/") ? key.slice(key.indexOf("/") + 1) : key;
    try {
      const plan = this.d.plans.get(key);
      if (plan === undefined || plan.metadata.deletionTimestamp !== undefined) {
        await this.releaseAll(name, plan !== undefined);
        if (plan !== undefined) await this.setFinalizer(plan, false);
        this.d.metrics.forgetPlan(name);
        for (const m of [this.statusWrittenAt, this.retoldDone, this.loggedWaits]) m.delete(name);
        return {};
      }
      return await this.reconcilePlan(await this.setFinalizer(plan, true));
    } finally {
      this.d.metrics.reconcileDuration.observe({ plan: name }, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  /**
   * A deleted Plan leaves no node cordoned by it (SUC #71); its pods go with it (ownerReferences).
   * Before the finalizer goes, the nodes are read from the API server, not the cache: once it is
   * gone, nothing would ever look again.
   */
  private async releaseAll(plan: string, fresh: boolean): Promise<void> {
    const nodes = fresh ? (await this.d.kube.list<Node>(resources.nodes, undefined)).items : this.d.nodes.list();
    for (const node of nodes) {
      if (!holds(node, plan)) continue;
      await this.actuator.patchNode(node.metadata.name, uncordonPatch(node, plan));
      this.d.log.info("released node of a deleted plan", { plan, node: node.metadata.name });
    }
  }

  /**
   * Adds (before the Plan's first write to a node) or removes (after its nodes are released) the
   * finalizer, with the resourceVersion as precondition so another finalizer written meanwhile
   * is never lost: a conflict is retried by the work queue.
   */
  private async setFinalizer(plan: PlanObject, want: boolean): Promise<PlanObject> {
    const have = plan.metadata.finalizers ?? [];
    if (have.includes(FINALIZER_RELEASE_NODES) === want) return plan;
    const finalizers = want ? [...have, FINALIZER_RELEASE_NODES] : have.filter((f) => f !== FINALIZER_RELEASE_NODES);
    try {
      const updated = await this.d.kube.patch<PlanObject>(resources.plans, this.d.config.namespace, plan.metadata.name, {
        metadata: { resourceVersion: plan.metadata.resourceVersion, finalizers },
      });
      // Not cached when removed: the object may be gone already, and its DELETED event could come first.
      if (want) this.d.plans.upsert(updated);
      return updated;
    } catch (e: unknown) {
      if (!want && e instanceof KubeError && e.notFound) return plan;
      throw e;
    }
  }

  /** The caches, with this Plan's pods' statuses redacted: a termination message echoing a secret goes no further. */
  private snapshot(plan: PlanObject, redact: Redact): Snapshot {
    const { problems, compiled } = checkPlan(plan, this.d.config);
    const pods = this.d.pods.list().map((p) => (p.metadata.labels?.[LABEL_PLAN] === plan.metadata.name ? redactPod(p, redact) : p));
    return { plan: compiled, problems, plans: this.d.plans.list(), nodes: this.d.nodes.list(), pods, secrets: this.d.secrets.list() };
  }

  /** The values of the secrets the Plan mounts, and their base64: never written anywhere (redact.ts). */
  private redactorFor(plan: PlanObject): Redact {
    const names = new Set((plan.spec.secrets ?? []).map((s) => s.name));
    return redactor(secretTexts(this.d.secrets.list().filter((s) => names.has(s.metadata.name))));
  }

  /**
   * The ServiceAccount, PriorityClass and Secrets the Plan's pods name, looked up before any node
   * is cordoned for them: a missing one is a refusal foreseen (refusal.ts). Secrets come from the
   * cache; the others from one GET each, kept for alertsCacheMs.
   */
  private async missingReferences(plan: PlanObject, now: number): Promise<ApiRefusal[]> {
    const ns = plan.metadata.namespace ?? this.d.config.namespace;
    const found = new Map<string, boolean | undefined>();
    const sa = plan.spec.serviceAccountName;
    const pc = plan.spec.priorityClassName;
    if (sa !== undefined && sa !== "") found.set(`ServiceAccount/${sa}`, await this.exists(resources.serviceAccounts, ns, sa, now));
    if (pc !== undefined && pc !== "") found.set(`PriorityClass/${pc}`, await this.exists(resources.priorityClasses, undefined, pc, now));
    const secrets = new Set(this.d.secrets.list().map((s) => s.metadata.name));
    const exists: Exists = (kind, name) => (kind === "Secret" ? secrets.has(name) : found.get(`${kind}/${name}`));
    return missingReferences(plan.spec, ns, exists);
  }

  private async exists(r: Resource, namespace: string | undefined, name: string, now: number): Promise<boolean | undefined> {
    const id = `${r.plural}/${namespace ?? ""}/${name}`;
    const hit = cached(this.references, id, "", now, this.d.config.alertsCacheMs);
    if (hit !== undefined) return hit.found;
    let value: boolean | undefined;
    try {
      await this.d.kube.get(r, namespace, name);
      value = true;
    } catch (e: unknown) {
      // Anything but NotFound (no RBAC to read it, the API server busy) leaves it to the pod create to tell.
      value = e instanceof KubeError && e.notFound ? false : undefined;
      if (value === undefined) this.d.log.debug("cannot look up an object the Plan names", { object: id, error: e instanceof Error ? e.message : String(e) });
    }
    this.references.set(id, { at: now, key: "", value: { found: value } });
    return value;
  }

  /** A refusal of this Plan's calls that still holds its idle nodes back; dropped when it ends or the Plan is edited. */
  private heldRefusal(plan: PlanObject, now: number): { until: number; refusals: readonly ApiRefusal[] } | undefined {
    const hold = this.refusedHolds.get(plan.metadata.name);
    if (hold === undefined) return undefined;
    if (now < hold.until && hold.generation === plan.metadata.generation) return hold;
    this.refusedHolds.delete(plan.metadata.name);
    return undefined;
  }

  /** Objects missing: looked for again after 5s, doubling each pass they are still missing, at most refusedRequeueMs. */
  private missingBackoff(plan: string, missing: boolean): number {
    const streak = missing ? (this.missingStreak.get(plan) ?? 0) + 1 : 0;
    if (streak === 0) this.missingStreak.delete(plan);
    else this.missingStreak.set(plan, streak);
    return Math.min(this.d.config.refusedRequeueMs, 5000 * 2 ** Math.min(20, Math.max(0, streak - 1)));
  }

  private async reconcilePlan(plan: PlanObject): Promise<ReconcileOutcome> {
    const { config } = this.d;
    const now = this.d.now();
    const redact = this.redactorFor(plan);
    const snapshot = this.snapshot(plan, redact);
    const resolution = this.resolve(snapshot.plan);
    const soaking = soakingNodes(snapshot, resolution, config);
    const podsOnNodes = soaking.length > 0 ? await this.podsOn(soaking) : undefined;
    const alerts = await this.readAlerts(snapshot.plan, now);
    const checks = { ...(await this.readClusterPods(snapshot.plan, now)), ...(await this.readServerVersion(snapshot.plan, now)) };
    const missing = await this.missingReferences(plan, now);
    const held = this.heldRefusal(plan, now);
    const externals = { resolution, alerts, ...checks, ...(podsOnNodes !== undefined ? { podsOnNodes } : {}) };
    const retellDone = !this.retoldDone.has(plan.metadata.name);
    const input = buildDecideInput(snapshot, { ...externals, startsRefused: missing.length > 0 || held !== undefined, retellDone }, config, now);
    const decision = decide(input);
    this.retoldDone.add(plan.metadata.name);
    this.logWaits(plan, decision);
    const outcome = await this.actuator.apply(plan, decision.actions, now);
    this.observe(plan.metadata.name, input.pods, decision, now);
    // A refused call holds the idle nodes back for refusedRequeueMs: released, the node would be started again at once.
    if (outcome.refusals.length > 0)
      this.refusedHolds.set(plan.metadata.name, { until: now + config.refusedRequeueMs, generation: plan.metadata.generation, refusals: outcome.refusals });
    const refusals = [...missing, ...(outcome.refusals.length > 0 ? outcome.refusals : (held?.refusals ?? []))].map((r) => ({
      ...r,
      message: redact(r.message),
    }));
    // Status is written even when an action failed: what was decided is still true.
    const refused = withRefusals(decision.status, plan.status, refusals, config.refusedRequeueMs, now);
    if (refused.event !== undefined) this.actuator.tell(plan, [refused.event]);
    for (const r of outcome.refusals) this.d.metrics.reconcileErrors.inc({ kind: `api_terminal_${r.status}` });
    // What to announce is recorded in the same status write, so no restart or new leader says it twice.
    const announce =
      this.d.notify !== undefined ? notices(`${plan.metadata.namespace ?? config.namespace}/${plan.metadata.name}`, plan.status, refused.status) : undefined;
    const { written, dueMs } = await this.writeStatus(plan, withRecord(refused.status, announce?.record), now);
    if (written) for (const n of announce?.notices ?? []) this.d.notify?.(plan.metadata.name, n.text);
    this.recordPlan(plan.metadata.name, decision, now);
    if (outcome.retryable !== undefined) throw outcome.retryable; // the work queue backs off
    // Nothing but refusals: look again only after a long pause (or when something changes).
    if (outcome.refusals.length > 0 && !outcome.progressed) return { requeueAfterMs: config.refusedRequeueMs };
    const next = this.nextLook(snapshot.plan, resolution, decision, outcome.wakeMs) ?? Number.POSITIVE_INFINITY;
    const backoff = this.missingBackoff(plan.metadata.name, missing.length > 0);
    // No event tells that a ServiceAccount or PriorityClass appeared: look for it again (a Secret's change wakes the Plan anyway).
    const wake = Math.min(
      next,
      dueMs ?? Number.POSITIVE_INFINITY,
      missing.length > 0 ? backoff : Number.POSITIVE_INFINITY,
      held !== undefined ? held.until - now : Number.POSITIVE_INFINITY,
    );
    return { requeueAfterMs: Number.isFinite(wake) ? Math.max(0, wake) : undefined };
  }

  /** One line when what the Plan waits for changes (a soak begins, a backoff, a closed window), not every pass. */
  private logWaits(plan: PlanObject, decision: Decision): void {
    const key = (w: { node?: string; reason?: string; until?: string }): string => `${w.node ?? ""}|${w.reason ?? ""}|${w.until ?? ""}`;
    const name = plan.metadata.name;
    const had = this.loggedWaits.get(name) ?? new Set((plan.status?.waits ?? []).map(key));
    const after = decision.status.waits ?? [];
    this.loggedWaits.set(name, new Set(after.map(key)));
    for (const w of after) {
      if (had.has(key(w))) continue;
      this.d.log.info("waiting", {
        plan: name,
        ...(w.node !== undefined ? { node: w.node } : {}),
        reason: w.reason,
        until: w.until,
        message: w.message,
      });
    }
  }

  private nextLook(plan: CompiledPlan, resolution: Resolution, decision: Decision, drainWake: number | undefined): number | undefined {
    const wake = [
      decision.requeueAfterMs,
      drainWake,
      "reason" in resolution || plan.version === undefined ? this.d.config.channelPollMs : undefined,
      // Alerts change without any Kubernetes event to wake us.
      plan.alerts !== undefined && decision.status.state !== "Complete" ? this.d.config.alertsCacheMs : undefined,
    ].filter((x) => x !== undefined);
    return wake.length > 0 ? Math.min(...wake) : undefined;
  }

  private recordPlan(name: string, decision: Decision, now: number): void {
    const is = (t: string, status: string): boolean => decision.status.conditions?.find((x) => x.type === t)?.status === status;
    const c = (t: string): boolean => is(t, "True");
    const flags = { held: c("Held"), blocked: c("Blocked"), halted: c("Halted"), complete: c("Complete"), versionMismatch: is("Verified", "False") };
    this.d.metrics.recordPlan(name, decision.nodeStates, flags, now);
  }

  /** gates.health reads every pod on a soaking node, not only ours: one list per node. */
  private async podsOn(nodes: readonly string[]): Promise<Map<string, Pod[]>> {
    const out = new Map<string, Pod[]>();
    for (const node of nodes) out.set(node, (await this.d.kube.list<Pod>(resources.pods, undefined, { fieldSelector: `spec.nodeName=${node}` })).items);
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

  /** Never waits for the channel (channel-reader.ts): its latest answer, or the last known version while it is asked. */
  private resolve(plan: CompiledPlan): Resolution {
    const fixed = fixedResolution(plan);
    if (fixed !== undefined) return fixed;
    const url = plan.channel ?? "";
    const lastKnown = knownVersion(plan.source.status?.latestVersion);
    const key = `${plan.namespace ?? this.d.config.namespace}/${plan.name}`;
    return channelResolution(url, this.channels.read(key, url, lastKnown).answer, lastKnown);
  }

  private async readAlerts(plan: CompiledPlan, now: number): Promise<AlertReading | undefined> {
    const gate = plan.alerts;
    if (gate === undefined) return undefined;
    const key = `${gate.url}|${plan.source.spec.gates?.prometheus?.ignoreAlerts ?? ""}`;
    const hit = cached(this.alertReadings, plan.name, key, now, this.d.config.alertsCacheMs);
    if (hit !== undefined) return hit;
    const value = await this.d.alerts.firing(gate);
    this.alertReadings.set(plan.name, { at: now, key, value });
    return value;
  }

  /** gates.cluster.minReadyPodsRatio: the pods it counts, read at most once per alertsCacheMs (they change without waking us). */
  private async readClusterPods(plan: CompiledPlan, now: number): Promise<{ clusterPods?: Pod[] | { error: string } }> {
    const gate = plan.cluster;
    if (gate?.minReadyPodsRatio === undefined) return {};
    const key = gate.podNamespaces.join(",");
    const hit = cached(this.podCounts, plan.name, key, now, this.d.config.alertsCacheMs);
    if (hit !== undefined) return { clusterPods: hit };
    let value: Pod[] | { error: string };
    try {
      const namespaces = gate.podNamespaces.length > 0 ? gate.podNamespaces : [undefined];
      value = [];
      for (const ns of namespaces) value.push(...(await this.d.kube.list<Pod>(resources.pods, ns)).items);
    } catch (e: unknown) {
      value = { error: e instanceof Error ? e.message : String(e) };
    }
    this.podCounts.set(plan.name, { at: now, key, value });
    return { clusterPods: value };
  }

  /** gates.postflight.apiServer: GET /version, at most once per alertsCacheMs. */
  private async readServerVersion(plan: CompiledPlan, now: number): Promise<{ serverVersion?: ServerVersion }> {
    if (plan.postflight?.apiServer !== true) return {};
    const hit = cached(this.versions, "", "", now, this.d.config.alertsCacheMs);
    if (hit !== undefined) return { serverVersion: hit };
    const value = (await this.d.serverVersion?.serverVersion()) ?? { error: "this controller has no way to ask the API server its version" };
    this.versions.set("", { at: now, key: "", value });
    return { serverVersion: value };
  }

  /**
   * Writes status only when it changed, so our own write does not wake us in a loop. A change in
   * the progress alone (PROGRESS_FIELDS) waits until writeBatchMs after this process's last write
   * of it: `dueMs` is when a pass should write it. Anything else goes at once, after the Events
   * waiting in the batch (a condition's Event is written before the status that shows the change).
   * `written` is false when the Plan is gone or the write waits.
   */
  private async writeStatus(plan: PlanObject, status: Decision["status"], now: number): Promise<{ written: boolean; dueMs?: number }> {
    const name = plan.metadata.name;
    const have = plan.status ?? {};
    if (stableJson(have) === stableJson(status)) return { written: true };
    const last = this.statusWrittenAt.get(name);
    if (last !== undefined && now - last < this.d.config.writeBatchMs && onlyProgress(have, status))
      return { written: false, dueMs: last + this.d.config.writeBatchMs - now };
    await this.actuator.flushEvents(name);
    try {
      const updated = await this.d.kube.patch<PlanObject>(resources.plans, this.d.config.namespace, name, { status }, { subresource: "status" });
      this.d.plans.upsert(updated);
      this.statusWrittenAt.set(name, now);
      return { written: true };
    } catch (e: unknown) {
      if (e instanceof KubeError && e.notFound) return { written: false };
      throw e;
    }
  }
}

/** What a status shows of a rollout's progress, and nothing else reads back: written in batches. */
const PROGRESS_FIELDS: ReadonlySet<string> = new Set(["applying", "counts", "progress", "message", "waiting", "waits"]);

/**
 * Whether `after` differs from `before` only in the progress: the fields above, and conditions
 * whose message alone moved with it ("3/10 nodes upgraded") where no Event tells the change.
 */
function onlyProgress(before: PlanStatus, after: PlanStatus): boolean {
  const rest = (s: PlanStatus): string => stableJson(Object.fromEntries(Object.entries(s).filter(([k]) => !PROGRESS_FIELDS.has(k) && k !== "conditions")));
  if (rest(before) !== rest(after)) return false;
  const was = (before.conditions ?? []) as Condition[];
  const is = (after.conditions ?? []) as Condition[];
  const shape = (cs: readonly Condition[]): string => stableJson(cs.map((c) => [c.type, c.status, c.reason, c.lastTransitionTime]));
  return shape(was) === shape(is) && conditionEvents(was, is).length === 0;
}
