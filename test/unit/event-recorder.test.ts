// The event writer's bookkeeping: one object per Plan and reason (per Node and reason for the
// Node's own), each occurrence counted once even across a restart, messages that name at most
// five nodes. The objects are kept in a map here; the real API server is the integration
// test's (controller-events.test.ts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EventRecorder, KEPT_KEYS, aggregateMessage } from "../../src/controller/kube/event-recorder.ts";
import { type Kube, KubeError, type Resource } from "../../src/controller/kube/ports.ts";
import type { EventAction } from "../../src/controller/rollout/decision.ts";
import type { KubeObject, List } from "../../src/controller/rollout/objects.ts";
import { waitFor } from "../env/wait.ts";
import { mergePatch } from "./sim-world.ts";

type Stored = KubeObject & { count?: number; message?: string; involvedObject?: { kind?: string; name?: string } };

/** Events kept by namespace/name, with resourceVersions checked as the API server does. */
class EventStore implements Partial<Kube> {
  readonly objects = new Map<string, Stored>();
  writes = 0;
  private rv = 0;

  create<T extends KubeObject>(_r: Resource, ns: string | undefined, obj: T): Promise<T> {
    const id = `${ns ?? ""}/${obj.metadata.name}`;
    if (this.objects.has(id)) return Promise.reject(new KubeError(409, "AlreadyExists", "exists", "create", id));
    this.writes++;
    const stored = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.rv) } } as Stored;
    this.objects.set(id, stored);
    return Promise.resolve(stored as unknown as T);
  }

  get<T extends KubeObject>(_r: Resource, ns: string | undefined, name: string): Promise<T> {
    const have = this.objects.get(`${ns ?? ""}/${name}`);
    if (have === undefined) return Promise.reject(new KubeError(404, "NotFound", "not found", "get", name));
    return Promise.resolve(have as unknown as T);
  }

  patch<T extends KubeObject>(_r: Resource, ns: string | undefined, name: string, patch: unknown): Promise<T> {
    const id = `${ns ?? ""}/${name}`;
    const have = this.objects.get(id);
    if (have === undefined) return Promise.reject(new KubeError(404, "NotFound", "not found", "patch", id));
    const want = (patch as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion;
    if (want !== undefined && want !== have.metadata.resourceVersion) return Promise.reject(new KubeError(409, "Conflict", "changed", "patch", id));
    this.writes++;
    const next = mergePatch(have, patch);
    next.metadata = { ...next.metadata, resourceVersion: String(++this.rv) };
    this.objects.set(id, next);
    return Promise.resolve(next as unknown as T);
  }

  list<T extends KubeObject>(): Promise<List<T>> {
    return Promise.resolve({ items: [...this.objects.values()] as unknown as T[], metadata: {} });
  }

  of(ns: string, name: string): Stored | undefined {
    return this.objects.get(`${ns}/${name}`);
  }
}

const recorder = (store: EventStore): EventRecorder =>
  new EventRecorder({ kube: store as unknown as Kube, component: "plan-runner/test", now: () => 0, nodeUid: (n) => `uid-${n}`, warn: () => {} });
/** Gathers what is told `later` for a minute unless a test flushes it. */
const batching = (store: EventStore, batchMs = 60_000): EventRecorder =>
  new EventRecorder({ kube: store as unknown as Kube, component: "plan-runner/test", now: () => 0, nodeUid: (n) => `uid-${n}`, warn: () => {}, batchMs });
const plan = { name: "workers", namespace: "system-upgrade", uid: "p1" };
const cordoned = (node: string): EventAction => ({
  kind: "event",
  node,
  type: "Normal",
  reason: "Cordoned",
  message: `Plan workers cordoned node ${node}`,
  key: `${node}/cordon/h/0`,
});

describe("event recorder", () => {
  it("1,000 nodes cordoned: one Event object whose count is 1,000, its message naming five nodes", async () => {
    const store = new EventStore();
    const r = recorder(store);
    const nodes = Array.from({ length: 1000 }, (_, i) => `n${i}`);
    for (let i = 0; i < nodes.length; i += 50) await r.record(plan, nodes.slice(i, i + 50).map(cordoned));
    assert.equal(store.objects.size, 1);
    const e = store.of("system-upgrade", "workers.cordoned");
    assert.equal(e?.count, 1000);
    assert.equal(e?.involvedObject?.kind, "Plan");
    assert.equal([...(e?.message ?? "").matchAll(/\bn\d+\b/g)].length, 5, e?.message);
    assert.match(e?.message ?? "", /and 45 more/);
  });

  it("the same occurrence told on every pass is counted once, and a pass with nothing new writes nothing", async () => {
    const store = new EventStore();
    const r = recorder(store);
    await r.record(plan, [cordoned("a")]);
    await r.record(plan, [cordoned("a"), cordoned("a")]);
    assert.equal(store.of("system-upgrade", "workers.cordoned")?.count, 1);
    assert.equal(store.writes, 1);
    await r.record(plan, [cordoned("a"), cordoned("b")]);
    assert.equal(store.of("system-upgrade", "workers.cordoned")?.count, 2);
  });

  it("a controller that restarted (nothing in memory) does not count again what the Event already counted", async () => {
    const store = new EventStore();
    await recorder(store).record(plan, [cordoned("a"), cordoned("b")]);
    const restarted = recorder(store);
    await restarted.record(plan, [cordoned("a"), cordoned("b"), cordoned("c")]);
    assert.equal(store.of("system-upgrade", "workers.cordoned")?.count, 3);
    assert.match(store.of("system-upgrade", "workers.cordoned")?.message ?? "", /node c\b/);
  });

  it("keeps the keys of the latest occurrences on the Event, bounded", async () => {
    const store = new EventStore();
    const r = recorder(store);
    await r.record(
      plan,
      Array.from({ length: KEPT_KEYS + 200 }, (_, i) => cordoned(`n${i}`)),
    );
    const kept = store.of("system-upgrade", "workers.cordoned")?.metadata.annotations?.["plan-runner.dev/event-keys"] ?? "";
    assert.equal(kept.split(" ").length, KEPT_KEYS);
  });

  it("a write that lost a race (another writer moved the Event) reloads it and counts on top", async () => {
    const store = new EventStore();
    const r = recorder(store);
    await r.record(plan, [cordoned("a")]);
    await recorder(store).record(plan, [cordoned("b")]); // another process, same object
    await r.record(plan, [cordoned("c")]);
    assert.equal(store.of("system-upgrade", "workers.cordoned")?.count, 3);
  });

  it("an Event the API server expired is created again", async () => {
    const store = new EventStore();
    const r = recorder(store);
    await r.record(plan, [cordoned("a")]);
    store.objects.clear();
    await r.record(plan, [cordoned("b")]);
    assert.equal(store.of("system-upgrade", "workers.cordoned")?.count, 1);
  });

  it("a failure that goes on the Node too: in default, named by node, Plan namespace, Plan and reason", async () => {
    const store = new EventStore();
    const failed: EventAction = {
      kind: "event",
      node: "w1",
      onNode: true,
      type: "Warning",
      reason: "AttemptFailed",
      message: "Plan workers: exit 3",
      key: "pod-1",
    };
    const counted = await recorder(store).record(plan, [failed]);
    assert.equal(store.of("system-upgrade", "workers.attemptfailed")?.count, 1);
    const onNode = store.of("default", "w1.system-upgrade.workers.attemptfailed");
    assert.equal(onNode?.involvedObject?.kind, "Node");
    assert.equal(onNode?.involvedObject?.name, "w1");
    assert.deepEqual(
      counted.map((a) => a.reason),
      ["AttemptFailed"],
      "what was newly counted, once (for the log line)",
    );
  });

  it("told `later` on many passes: one write per Event object when the batch is due, each occurrence counted once", async () => {
    const store = new EventStore();
    const r = batching(store);
    for (let pass = 0; pass < 20; pass++) r.later(plan, [cordoned("a"), cordoned(`n${pass}`)]);
    assert.equal(store.writes, 0, "nothing written before the batch is due");
    await r.flush();
    assert.equal(store.writes, 1);
    assert.equal(store.of("system-upgrade", "workers.cordoned")?.count, 21);
    r.later(plan, [cordoned("a"), cordoned("n3")]);
    await r.flush();
    assert.equal(store.writes, 1, "a batch of occurrences counted already writes nothing");
  });

  it("a write made at once carries what waits in the batch for the same object; a dropped batch is never written", async () => {
    const store = new EventStore();
    const r = batching(store);
    r.later(plan, [cordoned("a")]);
    await r.record(plan, [cordoned("b")]);
    assert.equal(store.writes, 1);
    assert.equal(store.of("system-upgrade", "workers.cordoned")?.count, 2);
    r.later(plan, [cordoned("c")]);
    r.drop();
    await r.flush();
    assert.equal(store.of("system-upgrade", "workers.cordoned")?.count, 2, "what a term told and did not write is not written by it");
  });

  it("the batch is written by itself once due", async () => {
    const store = new EventStore();
    const r = batching(store, 20);
    r.later(plan, [cordoned("a")]);
    const e = await waitFor(() => store.of("system-upgrade", "workers.cordoned"), { timeoutMs: 5000, what: "the batch to be written" });
    assert.equal(e.count, 1);
  });

  it("names a node once in a message, however many of its steps share the write", () => {
    const m = aggregateMessage([cordoned("a"), cordoned("a"), cordoned("b")]);
    assert.equal(m, "Plan workers cordoned node a (and node b)");
  });
});
