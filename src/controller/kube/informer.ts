import type { KubeObject } from "../rollout/objects.ts";
import type { Kube, ListOptions, Resource, WatchEvent } from "./ports.ts";
import { KubeError } from "./ports.ts";

export interface InformerOptions {
  readonly resource: Resource;
  readonly namespace?: string | undefined;
  readonly labelSelector?: string;
  /** Full relist period: client-node watches are known to stall silently (issues #958, #1933). */
  readonly relistMs: number;
  readonly log?: (msg: string, fields?: Record<string, unknown>) => void;
}

/**
 * managedFields is server-side-apply bookkeeping the controller never reads, and the larger
 * part of a Node's JSON: dropped before caching, it keeps 1,000 nodes' cache small.
 */
function trim<T extends KubeObject>(o: T): T {
  if (o.metadata.managedFields === undefined) return o;
  const { managedFields: _dropped, ...metadata } = o.metadata;
  return { ...o, metadata };
}

type ChangeType = "ADDED" | "MODIFIED" | "DELETED";
type Handler<T> = (obj: T, type: ChangeType, before?: T) => void;

const keyOf = (o: KubeObject): string => (o.metadata.namespace !== undefined ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name);

/**
 * A list+watch cache of one resource. Handlers get the changed object only as a hint of which
 * key to reconcile; reconcilers read from the store. A relist replaces the store wholesale,
 * so missed events heal within relistMs.
 */
export class Informer<T extends KubeObject> {
  private readonly store = new Map<string, T>();
  private readonly handlers: Array<Handler<T>> = [];
  private resourceVersion = "";
  private synced = false;
  private syncWaiters: Array<() => void> = [];
  private abort = new AbortController();
  private stopped = false;
  private loop: Promise<void> | undefined;
  /** The watch under way, aborted by resync(). */
  private slice: AbortController | undefined;
  private resyncWaiters: Array<() => void> = [];
  /** Ends the pause after a failed relist early: a resync is wanted now. */
  private wakeBackoff: (() => void) | undefined;

  constructor(
    private readonly kube: Kube,
    private readonly opts: InformerOptions & {
      /** What of each object the cache keeps (rollout/slim.ts); default: all but managedFields. */
      readonly slim?: (o: T) => T;
    },
  ) {}

  private keep(o: T): T {
    const t = trim(o);
    return this.opts.slim === undefined ? t : this.opts.slim(t);
  }

  /** `before`: the object as cached until this change (MODIFIED), so a handler can tell what changed. */
  onChange(handler: Handler<T>): void {
    this.handlers.push(handler);
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  list(): T[] {
    return [...this.store.values()];
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  waitForSync(): Promise<void> {
    return this.synced ? Promise.resolve() : new Promise((r) => this.syncWaiters.push(r));
  }

  /**
   * Write-through after our own create/update: the next reconcile must see what we just did,
   * even before the watch delivers it, or it could admit a node twice (concurrency races).
   * An older resourceVersion arriving later from the watch is ignored.
   */
  upsert(obj: T): void {
    obj = this.keep(obj);
    const k = keyOf(obj);
    const have = this.store.get(k);
    if (have !== undefined && newer(have, obj)) return;
    this.store.set(k, obj);
  }

  remove(key: string): void {
    this.store.delete(key);
  }

  start(): void {
    this.loop = this.run();
  }

  /**
   * Resolves after a full relist that began after this call: a new leader's term starts from
   * what the API server holds now, not from a cache that may have missed a term's changes
   * (a paused process reads its watch backlog only after it resumes).
   */
  resync(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.resyncWaiters.push(resolve);
      this.slice?.abort();
      this.wakeBackoff?.();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.loop;
  }

  private listOptions(): ListOptions {
    return this.opts.labelSelector !== undefined ? { labelSelector: this.opts.labelSelector } : {};
  }

  private async relist(): Promise<void> {
    const waiters = this.resyncWaiters.splice(0);
    try {
      await this.replaceStore();
    } catch (e: unknown) {
      this.resyncWaiters.unshift(...waiters); // answered by the next relist that works
      throw e;
    }
    for (const w of waiters) w();
  }

  private async replaceStore(): Promise<void> {
    const items: T[] = [];
    let cont: string | undefined;
    let rv = "";
    do {
      const page = await this.kube.list<T>(this.opts.resource, this.opts.namespace, {
        ...this.listOptions(),
        limit: 500,
        ...(cont !== undefined ? { continue: cont } : {}),
      });
      items.push(...page.items);
      cont = page.metadata.continue === "" ? undefined : page.metadata.continue;
      rv = page.metadata.resourceVersion ?? "";
    } while (cont !== undefined);
    // The list was read at version rv; what we wrote through upsert() while it was in flight is
    // newer and stays: a stale Plan status would repeat a notice, a lost pod would free a slot.
    const seen = new Set<string>();
    const listed = { metadata: { resourceVersion: rv } } as KubeObject;
    for (const raw of items) {
      const item = this.keep(raw);
      const k = keyOf(item);
      seen.add(k);
      const before = this.store.get(k);
      if (before !== undefined && newer(before, item)) continue;
      this.store.set(k, item);
      if (before === undefined) this.emit(item, "ADDED");
      else if (before.metadata.resourceVersion !== item.metadata.resourceVersion) this.emit(item, "MODIFIED", before);
    }
    for (const [k, obj] of this.store) {
      if (!seen.has(k) && !newer(obj, listed)) {
        this.store.delete(k);
        this.emit(obj, "DELETED");
      }
    }
    this.resourceVersion = rv;
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  private emit(obj: T, type: ChangeType, before?: T): void {
    for (const h of this.handlers) h(obj, type, before);
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        await this.relist();
        failures = 0;
        const relistAt = Date.now() + this.opts.relistMs;
        // Watch until the relist is due; a watch that ends early (server timeout) resumes from the last version.
        while (!this.stopped && Date.now() < relistAt && this.resyncWaiters.length === 0) {
          const slice = new AbortController();
          this.slice = slice;
          const onStop = (): void => slice.abort();
          this.abort.signal.addEventListener("abort", onStop, { once: true });
          const timer = setTimeout(() => slice.abort(), Math.max(1000, relistAt - Date.now()));
          let expired = false;
          try {
            await this.kube.watch<T>(
              this.opts.resource,
              this.opts.namespace,
              { ...this.listOptions(), resourceVersion: this.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: Math.ceil(this.opts.relistMs / 1000) },
              (e) => {
                if (!this.apply(e)) expired = true;
                if (expired) slice.abort();
              },
              slice.signal,
            );
          } finally {
            this.slice = undefined;
            clearTimeout(timer);
            this.abort.signal.removeEventListener("abort", onStop);
          }
          if (expired) break;
        }
      } catch (e: unknown) {
        if (this.stopped) break;
        failures++;
        const delay = Math.min(30_000, 500 * 2 ** Math.min(failures, 6));
        this.opts.log?.("informer error; relisting", {
          resource: this.opts.resource.plural,
          error: e instanceof Error ? e.message : String(e),
          status: e instanceof KubeError ? e.status : undefined,
          retryInMs: delay,
        });
        await new Promise<void>((r) => {
          const t = setTimeout(r, delay);
          this.wakeBackoff = () => (clearTimeout(t), r());
          this.abort.signal.addEventListener("abort", () => (clearTimeout(t), r()), { once: true });
        });
        this.wakeBackoff = undefined;
      }
    }
  }

  /** Applies one watch event; false when the watch must restart with a relist (410 Gone). */
  private apply(e: WatchEvent<T>): boolean {
    if (e.type === "ERROR") return false;
    if (e.object.metadata.resourceVersion !== undefined) this.resourceVersion = e.object.metadata.resourceVersion;
    if (e.type === "BOOKMARK") return true;
    const obj = this.keep(e.object);
    const k = keyOf(obj);
    const have = this.store.get(k);
    if (e.type === "DELETED") {
      this.store.delete(k);
    } else {
      if (have !== undefined && newer(have, obj)) return true;
      this.store.set(k, obj);
    }
    this.emit(obj, e.type, have);
    return true;
  }
}

/** resourceVersions are opaque, but etcd-backed servers give integers; compare only when both are. */
function newer(a: KubeObject, b: KubeObject): boolean {
  const x = Number(a.metadata.resourceVersion);
  const y = Number(b.metadata.resourceVersion);
  return Number.isFinite(x) && Number.isFinite(y) && x > y;
}
