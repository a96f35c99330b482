// Writes decide()'s Events as a person reads them with `kubectl get events`: one object per Plan
// and reason in the Plan's namespace (and per node and reason in `default` for the few that go on
// the Node too, the only namespace the API accepts for an Event about a Node). Its name is
// deterministic, its count says how often the step happened, its message names the latest
// nodes, at most five. An occurrence with a key is counted once: the keys counted are kept on the
// Event itself, so a step told again on the next pass, or by a controller that restarted, is not
// counted twice. 1,000 nodes make a dozen objects, not thousands. Occurrences told `later` are
// gathered for batchMs and written together: one write per object for many passes, off the path
// between a freed slot and the next node's start (docs/architecture.md, "Events").
import { createHash } from "node:crypto";
import type { EventAction } from "../rollout/decision.ts";
import type { KubeObject } from "../rollout/objects.ts";
import { type Kube, KubeError, resources } from "./ports.ts";

/** The namespace the API server requires for an Event whose object is a Node (cluster-scoped). */
export const NODE_EVENTS_NAMESPACE = "default";
/** Keys of the latest occurrences kept on an Event, for a controller that restarts (about 9 KiB). */
export const KEPT_KEYS = 1024;
/** Keys remembered in memory per Event, beyond which the oldest are forgotten. */
const REMEMBERED_KEYS = 50_000;
const ANNOTATION_KEYS = "plan-runner.dev/event-keys";
const NAMED_NODES = 5;
const MAX_MESSAGE = 1000;

export interface PlanRef {
  readonly name: string;
  readonly namespace: string;
  readonly uid?: string | undefined;
}

export interface EventRecorderDeps {
  readonly kube: Kube;
  /** `plan-runner/<controller name>`, the Event's source. */
  readonly component: string;
  readonly now: () => number;
  readonly nodeUid: (node: string) => string | undefined;
  readonly warn: (msg: string, fields: Record<string, unknown>) => void;
  /** How long occurrences told `later` wait to be written together; 0 writes them at once. */
  readonly batchMs?: number;
  /** After each write: the occurrences it newly counted on a Plan (what a log line should say once). */
  readonly counted?: (plan: PlanRef, told: readonly EventAction[]) => void;
}

interface CoreEvent extends KubeObject {
  count?: number;
  firstTimestamp?: string;
}

/** What this process knows of one Event object. */
interface Known {
  count: number;
  resourceVersion: string | undefined;
  /** Digests of the keys counted, oldest first. */
  readonly keys: Set<string>;
}

/** One write: the Event object it goes to, and the occurrences it adds. */
export interface EventWrite {
  readonly name: string;
  readonly namespace: string;
  readonly involvedObject: Record<string, string>;
  readonly reason: string;
  readonly type: EventAction["type"];
  readonly told: readonly EventAction[];
}

/** Digests already computed: every pass tells the same keys again (1,000 nodes in flight, a few each). */
const digests = new Map<string, string>();

export function digest(key: string): string {
  const have = digests.get(key);
  if (have !== undefined) return have;
  const d = createHash("sha256").update(key).digest("hex").slice(0, 8);
  if (digests.size >= REMEMBERED_KEYS) digests.clear();
  digests.set(key, d);
  return d;
}

/** Event names are DNS subdomains of at most 253 characters; a long one keeps a digest of the whole. */
function eventName(...parts: string[]): string {
  const name = parts.join(".").toLowerCase();
  return name.length <= 253 ? name : `${name.slice(0, 244)}.${digest(name)}`;
}

/** Groups a pass's Events by the object they go to: the Plan's per reason, each Node's per reason. */
export function groupEvents(plan: PlanRef, told: readonly EventAction[], nodeUid: (n: string) => string | undefined): EventWrite[] {
  const writes = new Map<string, EventWrite & { told: EventAction[] }>();
  const add = (w: Omit<EventWrite, "told">, a: EventAction): void => {
    const id = `${w.namespace}/${w.name}`;
    const have = writes.get(id);
    if (have === undefined) writes.set(id, { ...w, told: [a] });
    else have.told.push(a);
  };
  const planObject = {
    apiVersion: "upgrade.cattle.io/v1",
    kind: "Plan",
    name: plan.name,
    namespace: plan.namespace,
    ...(plan.uid !== undefined ? { uid: plan.uid } : {}),
  };
  for (const a of told) {
    add({ name: eventName(plan.name, a.reason), namespace: plan.namespace, involvedObject: planObject, reason: a.reason, type: a.type }, a);
    if (a.onNode !== true || a.node === undefined) continue;
    const uid = nodeUid(a.node);
    const nodeObject = { apiVersion: "v1", kind: "Node", name: a.node, ...(uid !== undefined ? { uid } : {}) };
    // The Plan's namespace is in the name: Plans of the same name in two namespaces stay apart.
    const name = eventName(a.node, plan.namespace, plan.name, a.reason);
    add({ name, namespace: NODE_EVENTS_NAMESPACE, involvedObject: nodeObject, reason: a.reason, type: a.type }, a);
  }
  return [...writes.values()];
}

/** The message of a write: the first occurrence's, and the next nodes named, at most five in all. */
export function aggregateMessage(told: readonly EventAction[]): string {
  const [first, ...rest] = told;
  if (first === undefined) return "";
  const others = [...new Set(rest.map((a) => a.node).filter((n) => n !== undefined && n !== first.node))];
  if (others.length === 0) return first.message.slice(0, MAX_MESSAGE);
  const named = others.slice(0, NAMED_NODES - 1);
  const unnamed = others.length - named.length;
  const more = `(and node${others.length > 1 ? "s" : ""} ${named.join(", ")}${unnamed > 0 ? ` and ${unnamed} more` : ""})`;
  return `${first.message.slice(0, MAX_MESSAGE - more.length - 1)} ${more}`;
}

/** Occurrences told `later` for one Event object, not written yet, and their keys' digests. */
interface Pending {
  readonly plan: PlanRef;
  readonly write: EventWrite & { told: EventAction[] };
  readonly keys: Set<string>;
}

export class EventRecorder {
  private readonly known = new Map<string, Known>();
  /** Writes to one Event object one after another: lanes and Plans may tell the same one at once. */
  private readonly tails = new Map<string, Promise<void>>();
  private readonly pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly d: EventRecorderDeps) {}

  /**
   * Writes now, together with what was told `later` for the same objects. Best effort: an Event
   * that cannot be written is logged, never fails the reconcile. Returns the occurrences newly
   * counted on the Plan.
   */
  async record(plan: PlanRef, told: readonly EventAction[]): Promise<EventAction[]> {
    if (told.length === 0) return [];
    const writes = groupEvents(plan, told, this.d.nodeUid).map((w) => this.withPending(w));
    const counted = await Promise.all(writes.map((w) => this.serial(plan, w)));
    return writes.flatMap((w, i) => (isOnPlan(plan, w) ? (counted[i] ?? []) : []));
  }

  /**
   * Written within batchMs, with whatever else is told meanwhile: for the steps the world will
   * still show if this process dies first (a pass tells them again), or whose loss is the price
   * of a kill at that instant. An occurrence counted or waiting already is dropped here.
   */
  later(plan: PlanRef, told: readonly EventAction[]): void {
    if (told.length === 0) return;
    if ((this.d.batchMs ?? 0) <= 0) {
      void this.record(plan, told);
      return;
    }
    // Most of a pass's Events were counted on an earlier one (every pass tells again what the
    // world shows): dropped before grouping, from the Plan's own object's keys.
    const counted = (a: EventAction): boolean =>
      a.key !== undefined && a.onNode !== true && this.known.get(`${plan.namespace}/${eventName(plan.name, a.reason)}`)?.keys.has(digest(a.key)) === true;
    const fresh = told.filter((a) => !counted(a));
    if (fresh.length === 0) return;
    for (const w of groupEvents(plan, fresh, this.d.nodeUid)) {
      const id = `${w.namespace}/${w.name}`;
      const have = this.pending.get(id);
      const waiting = this.fresh(id, w.told).filter((a) => a.key === undefined || have?.keys.has(digest(a.key)) !== true);
      if (waiting.length === 0) continue;
      const keys = new Set(waiting.flatMap((a) => (a.key !== undefined ? [digest(a.key)] : [])));
      if (have === undefined) this.pending.set(id, { plan, write: { ...w, told: waiting }, keys });
      else {
        have.write.told.push(...waiting);
        for (const k of keys) have.keys.add(k);
      }
    }
    if (this.pending.size > 0 && this.timer === undefined) {
      this.timer = setTimeout(() => void this.flush(), this.d.batchMs);
      this.timer.unref();
    }
  }

  /** Writes everything told `later` now (before a status write that tells the same change, at shutdown). */
  async flush(plan?: string): Promise<void> {
    const due = [...this.pending].filter(([, p]) => plan === undefined || p.plan.name === plan);
    for (const [id] of due) this.pending.delete(id);
    if (this.pending.size === 0) this.stopTimer();
    await Promise.all(due.map(([, p]) => this.serial(p.plan, p.write)));
  }

  /** Forgets what was told `later` and not written: a term that ended writes nothing more. */
  drop(): void {
    this.pending.clear();
    this.stopTimer();
  }

  private stopTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The write with the occurrences waiting for the same object in front: one write for both. */
  private withPending(w: EventWrite): EventWrite {
    const id = `${w.namespace}/${w.name}`;
    const have = this.pending.get(id);
    if (have === undefined) return w;
    this.pending.delete(id);
    if (this.pending.size === 0) this.stopTimer();
    return { ...w, told: [...have.write.told, ...w.told] };
  }

  private serial(plan: PlanRef, w: EventWrite): Promise<EventAction[]> {
    const id = `${w.namespace}/${w.name}`;
    const run = (this.tails.get(id) ?? Promise.resolve())
      .then(() => this.write(w))
      .then((counted) => {
        if (counted.length > 0 && isOnPlan(plan, w)) this.d.counted?.(plan, counted);
        return counted;
      });
    const tail = run.catch((e: unknown): EventAction[] => {
      this.d.warn("could not record an event", { event: id, reason: w.reason, error: e instanceof Error ? e.message : String(e) });
      return [];
    });
    const done = tail.then(() => undefined);
    this.tails.set(id, done);
    void done.then(() => {
      if (this.tails.get(id) === done) this.tails.delete(id);
    });
    return tail;
  }

  /** The occurrences not counted yet (each key once, even twice in one pass). */
  private fresh(id: string, told: readonly EventAction[]): EventAction[] {
    const counted = this.known.get(id)?.keys;
    const now = new Set<string>();
    return told.filter((a) => {
      if (a.key === undefined) return true;
      const k = digest(a.key);
      if (counted?.has(k) === true || now.has(k)) return false;
      now.add(k);
      return true;
    });
  }

  /** The occurrences it counted. */
  private async write(w: EventWrite): Promise<EventAction[]> {
    const id = `${w.namespace}/${w.name}`;
    let told = this.fresh(id, w.told);
    if (told.length === 0) return [];
    if (!this.known.has(id)) {
      if (await this.create(w, told)) return told;
      // It exists (written before this process started): count only what it has not counted.
      await this.load(w);
      told = this.fresh(id, w.told);
      if (told.length === 0) return [];
    }
    try {
      await this.update(w, told);
      return told;
    } catch (e: unknown) {
      if (!(e instanceof KubeError)) throw e;
      if (e.notFound) {
        // Expired (the API server keeps Events for --event-ttl, an hour by default) or deleted: start again.
        this.known.delete(id);
        if (!(await this.create(w, told))) throw e;
        return told;
      }
      if (!e.conflict) throw e;
      await this.load(w);
      told = this.fresh(id, w.told);
      if (told.length > 0) await this.update(w, told);
      return told;
    }
  }

  /** false when the object already exists. */
  private async create(w: EventWrite, told: readonly EventAction[]): Promise<boolean> {
    const stamp = new Date(this.d.now()).toISOString();
    const keys = this.remember(undefined, told);
    try {
      const made = await this.d.kube.create<CoreEvent>(resources.events, w.namespace, {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: w.name, namespace: w.namespace, annotations: { [ANNOTATION_KEYS]: keptKeys(keys) } },
        involvedObject: w.involvedObject,
        reason: w.reason,
        message: aggregateMessage(told),
        type: w.type,
        source: { component: this.d.component },
        firstTimestamp: stamp,
        lastTimestamp: stamp,
        count: told.length,
      });
      this.known.set(`${w.namespace}/${w.name}`, { count: told.length, resourceVersion: made.metadata.resourceVersion, keys });
      return true;
    } catch (e: unknown) {
      if (e instanceof KubeError && e.alreadyExists) return false;
      throw e;
    }
  }

  private async update(w: EventWrite, told: readonly EventAction[]): Promise<void> {
    const id = `${w.namespace}/${w.name}`;
    const known = this.known.get(id);
    if (known === undefined) throw new Error(`no record of event ${id}`);
    const keys = this.remember(known.keys, told);
    const count = known.count + told.length;
    const patch = {
      // The resourceVersion makes it a compare-and-swap: two writers cannot lose a count.
      metadata: {
        ...(known.resourceVersion !== undefined ? { resourceVersion: known.resourceVersion } : {}),
        annotations: { [ANNOTATION_KEYS]: keptKeys(keys) },
      },
      message: aggregateMessage(told),
      type: w.type,
      count,
      lastTimestamp: new Date(this.d.now()).toISOString(),
    };
    const updated = await this.d.kube.patch<CoreEvent>(resources.events, w.namespace, w.name, patch);
    this.known.set(id, { count, resourceVersion: updated.metadata.resourceVersion, keys });
  }

  private async load(w: EventWrite): Promise<void> {
    const have = await this.d.kube.get<CoreEvent>(resources.events, w.namespace, w.name);
    const kept = (have.metadata.annotations?.[ANNOTATION_KEYS] ?? "").split(" ").filter((k) => k !== "");
    this.known.set(`${w.namespace}/${w.name}`, { count: have.count ?? 1, resourceVersion: have.metadata.resourceVersion, keys: new Set(kept) });
  }

  private remember(before: ReadonlySet<string> | undefined, told: readonly EventAction[]): Set<string> {
    const keys = new Set(before ?? []);
    for (const a of told) if (a.key !== undefined) keys.add(digest(a.key));
    for (const k of keys) {
      if (keys.size <= REMEMBERED_KEYS) break;
      keys.delete(k);
    }
    return keys;
  }
}

const isOnPlan = (plan: PlanRef, w: EventWrite): boolean => w.namespace === plan.namespace && w.involvedObject["kind"] === "Plan";

const keptKeys = (keys: ReadonlySet<string>): string => [...keys].slice(-KEPT_KEYS).join(" ");
