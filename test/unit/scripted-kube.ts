// A scripted Kubernetes port for the machinery tests (informer, leader election, reconciler):
// an ordered list of expected calls, each with a canned reply, as kube-rs's controller-rs tests
// its reconciler. A call out of order, or one left unmade, fails the test. Events are recorded
// rather than scripted: they are what a user reads, and tests assert on them as results.
import assert from "node:assert/strict";
import type { Kube, ListOptions, PatchType, Resource, WatchEvent } from "../../src/controller/kube/ports.ts";
import { KubeError, resources } from "../../src/controller/kube/ports.ts";
import type { KubeObject, List } from "../../src/controller/rollout/objects.ts";

export type Verb = "list" | "get" | "create" | "replace" | "patch" | "delete" | "evict" | "watch";

export interface Call {
  readonly verb: Verb;
  readonly resource: string;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly body: unknown;
  readonly opts: unknown;
}

/** What the API server answers: a value, an error (thrown), or a function of the call giving either. */
export type Reply = unknown;

export interface Expectation {
  readonly verb: Verb;
  readonly resource: Resource;
  /** Checks the call beyond verb and resource (throw or assert inside). */
  readonly check?: (call: Call) => void;
  /** The answer; a KubeError is thrown. For a watch: the events to send, then the stream ends (or, with `hold`, stays open until aborted). */
  readonly reply?: Reply;
  readonly hold?: boolean;
}

/** A request that never comes back: what is in flight when a test stops looking. */
export const hang = (verb: Verb, resource: Resource): Expectation => ({ verb, resource, hold: true });

export const expect = (verb: Verb, resource: Resource, reply?: Expectation["reply"], check?: Expectation["check"]): Expectation => ({
  verb,
  resource,
  ...(reply !== undefined ? { reply } : {}),
  ...(check !== undefined ? { check } : {}),
});

export const watchThenHold = (resource: Resource, events: WatchEvent<KubeObject>[], check?: Expectation["check"]): Expectation => ({
  verb: "watch",
  resource,
  reply: events,
  hold: true,
  ...(check !== undefined ? { check } : {}),
});

export const apiError = (status: number, reason: string, verb = "create", path = "/api/v1/x"): KubeError =>
  new KubeError(status, reason, `${verb} ${path}: ${status} ${reason}: scripted`, verb, path);

export class ScriptedKube implements Kube {
  readonly calls: Call[] = [];
  readonly events: KubeObject[] = [];
  private readonly script: Expectation[];
  private waiters: Array<() => void> = [];

  constructor(script: readonly Expectation[]) {
    this.script = [...script];
  }

  /** Appends more expectations (a test that goes on after a first phase). */
  then(...more: Expectation[]): void {
    this.script.push(...more);
  }

  /** Fails unless every expected call was made. */
  done(): void {
    assert.deepEqual(
      this.script.map((e) => `${e.verb} ${e.resource.plural}`),
      [],
      "expected calls that were never made",
    );
  }

  /** Resolves once the script has been played to its end (or the deadline passes). */
  async played(deadlineMs = 5000): Promise<void> {
    if (this.script.length === 0) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`script not played within ${deadlineMs} ms; left: ${this.script.map((e) => e.verb).join(", ")}`)),
        deadlineMs,
      );
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private answer(call: Call): { reply: unknown; hold: boolean } {
    this.calls.push(call);
    const next = this.script.shift();
    if (next === undefined) throw new Error(`unexpected call: ${call.verb} ${call.resource} ${call.name ?? ""}`);
    assert.equal(`${call.verb} ${call.resource}`, `${next.verb} ${next.resource.plural}`, "the next expected call");
    next.check?.(call);
    if (this.script.length === 0) for (const w of this.waiters.splice(0)) w();
    const reply: unknown = typeof next.reply === "function" ? (next.reply as (c: Call) => unknown)(call) : next.reply;
    return { reply, hold: next.hold === true };
  }

  private async unary<T>(call: Call): Promise<T> {
    await Promise.resolve(); // answers arrive later, as over a network
    const { reply, hold } = this.answer(call);
    if (hold) return new Promise<T>(() => {}); // a request that never comes back
    if (reply instanceof Error) throw reply;
    return structuredClone(reply) as T;
  }

  list<T extends KubeObject>(r: Resource, namespace: string | undefined, opts?: ListOptions): Promise<List<T>> {
    return this.unary({ verb: "list", resource: r.plural, namespace, name: undefined, body: undefined, opts });
  }
  get<T extends KubeObject>(r: Resource, namespace: string | undefined, name: string): Promise<T> {
    return this.unary({ verb: "get", resource: r.plural, namespace, name, body: undefined, opts: undefined });
  }
  create<T extends KubeObject>(r: Resource, namespace: string | undefined, obj: T): Promise<T> {
    if (r.plural === resources.events.plural) {
      this.events.push(obj);
      return Promise.resolve(obj);
    }
    return this.unary({ verb: "create", resource: r.plural, namespace, name: obj.metadata.name, body: obj, opts: undefined });
  }
  replace<T extends KubeObject>(r: Resource, namespace: string | undefined, obj: T): Promise<T> {
    return this.unary({ verb: "replace", resource: r.plural, namespace, name: obj.metadata.name, body: obj, opts: undefined });
  }
  patch<T extends KubeObject>(
    r: Resource,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    opts?: { type?: PatchType; subresource?: "status" },
  ): Promise<T> {
    return this.unary({ verb: "patch", resource: r.plural, namespace, name, body: patch, opts });
  }
  delete(r: Resource, namespace: string | undefined, name: string, opts?: { gracePeriodSeconds?: number; uid?: string }): Promise<void> {
    return this.unary({ verb: "delete", resource: r.plural, namespace, name, body: undefined, opts });
  }
  evict(namespace: string, name: string, opts?: { gracePeriodSeconds?: number }): Promise<void> {
    return this.unary({ verb: "evict", resource: resources.pods.plural, namespace, name, body: undefined, opts });
  }

  async watch<T extends KubeObject>(
    r: Resource,
    namespace: string | undefined,
    opts: ListOptions & { allowWatchBookmarks?: boolean; timeoutSeconds?: number },
    onEvent: (e: WatchEvent<T>) => void,
    signal: AbortSignal,
  ): Promise<void> {
    await Promise.resolve();
    const { reply, hold } = this.answer({ verb: "watch", resource: r.plural, namespace, name: undefined, body: undefined, opts });
    if (reply instanceof Error) throw reply;
    for (const e of (reply ?? []) as WatchEvent<T>[]) {
      if (signal.aborted) return;
      onEvent(structuredClone(e));
    }
    if (!hold || signal.aborted) return;
    await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
  }
}

/** Waits until `cond` holds, polling; fails after the deadline. No fixed sleeps in tests. */
export async function until(cond: () => boolean, what: string, deadlineMs = 5000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
