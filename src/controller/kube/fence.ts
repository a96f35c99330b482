import type { KubeObject, List } from "../rollout/objects.ts";
import type { Kube, ListOptions, PatchType, Resource, WatchEvent } from "./ports.ts";

/**
 * A write refused because this process may no longer act as the leader. Not a KubeError: the
 * API server never saw it, and nothing should retry it; the next term starts afresh.
 */
export class NotLeaderError extends Error {
  constructor(readonly call: string) {
    super(`${call}: not sent, this replica does not hold the lease`);
    this.name = "NotLeaderError";
  }
}

/**
 * The Kube port with every mutating call behind `mayAct()`, asked the moment the call is made.
 * A leader that was paused (SIGSTOP, a stalled VM) or cut off past its renew deadline resumes
 * with reconciles half done; each of their next writes is refused here instead of racing the
 * replica that leads now. Reads and watches pass: a standby keeps its caches warm.
 */
export class FencedKube implements Kube {
  constructor(
    private readonly kube: Kube,
    private readonly mayAct: () => boolean,
  ) {}

  private check(verb: string, r: Resource, name: string): void {
    if (!this.mayAct()) throw new NotLeaderError(`${verb} ${r.plural} ${name}`);
  }

  list<T extends KubeObject>(r: Resource, namespace: string | undefined, opts?: ListOptions): Promise<List<T>> {
    return this.kube.list(r, namespace, opts);
  }
  get<T extends KubeObject>(r: Resource, namespace: string | undefined, name: string): Promise<T> {
    return this.kube.get(r, namespace, name);
  }
  watch<T extends KubeObject>(
    r: Resource,
    namespace: string | undefined,
    opts: ListOptions & { allowWatchBookmarks?: boolean; timeoutSeconds?: number },
    onEvent: (e: WatchEvent<T>) => void,
    signal: AbortSignal,
  ): Promise<void> {
    return this.kube.watch(r, namespace, opts, onEvent, signal);
  }

  async create<T extends KubeObject>(r: Resource, namespace: string | undefined, obj: T): Promise<T> {
    this.check("create", r, obj.metadata.name);
    return this.kube.create(r, namespace, obj);
  }
  async replace<T extends KubeObject>(r: Resource, namespace: string | undefined, obj: T, subresource?: "status"): Promise<T> {
    this.check("update", r, obj.metadata.name);
    return this.kube.replace(r, namespace, obj, subresource);
  }
  async patch<T extends KubeObject>(
    r: Resource,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    opts?: { type?: PatchType; subresource?: "status" },
  ): Promise<T> {
    this.check("patch", r, name);
    return this.kube.patch(r, namespace, name, patch, opts);
  }
  async delete(r: Resource, namespace: string | undefined, name: string, opts?: { gracePeriodSeconds?: number; uid?: string }): Promise<void> {
    this.check("delete", r, name);
    return this.kube.delete(r, namespace, name, opts);
  }
  async evict(namespace: string, name: string, opts?: { gracePeriodSeconds?: number }): Promise<void> {
    if (!this.mayAct()) throw new NotLeaderError(`evict pods ${name}`);
    return this.kube.evict(namespace, name, opts);
  }
}
