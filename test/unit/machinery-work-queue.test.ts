// The work queue: keys, not events. A key is pending at most once and running at most once; an
// add while it runs makes it run once more afterwards; failures back off per key.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { WorkQueue } from "../../src/controller/kube/work-queue.ts";
import { until } from "./scripted-kube.ts";

/** A handler whose runs end when the test says so. */
function gatedHandler() {
  const runs: string[] = [];
  const running = new Map<string, () => void>();
  let peak = 0;
  const handler = (key: string): Promise<{ requeueAfterMs?: number }> => {
    runs.push(key);
    peak = Math.max(peak, [...running.keys()].filter((k) => k === key).length + 1);
    return new Promise((resolve) => running.set(key, () => (running.delete(key), resolve({}))));
  };
  return { handler, runs, running, peak: () => peak };
}

describe("work queue", () => {
  it("runs a key once however often it is added while pending, and once more if added while running", async () => {
    const h = gatedHandler();
    const q = new WorkQueue(h.handler, { concurrency: 4 });
    q.add("ns/a");
    q.add("ns/a");
    q.add("ns/b");
    await until(() => h.running.has("ns/a") && h.running.has("ns/b"), "both keys running");
    q.add("ns/a");
    q.add("ns/a"); // still one more run, not two
    h.running.get("ns/a")?.();
    await until(() => h.runs.filter((k) => k === "ns/a").length === 2 && h.running.has("ns/a"), "the dirty key to run again");
    h.running.get("ns/a")?.();
    h.running.get("ns/b")?.();
    await until(() => q.size === 0, "the queue to drain");
    assert.deepEqual(h.runs.sort(), ["ns/a", "ns/a", "ns/b"]);
    assert.equal(h.peak(), 1, "never two runs of one key at once");
    await q.shutdown();
  });

  it("backs off a failing key, tells onError each time, and a success ends the retries", async () => {
    let calls = 0;
    const errors: string[] = [];
    const q = new WorkQueue(
      () => {
        calls++;
        return calls < 3 ? Promise.reject(new Error(`boom ${calls}`)) : Promise.resolve({});
      },
      { concurrency: 1, baseBackoffMs: 1, maxBackoffMs: 4 },
      (key, e) => errors.push(`${key}: ${e instanceof Error ? e.message : String(e)}`),
    );
    q.add("ns/a");
    await until(() => calls === 3 && q.size === 0, "two retries and a success");
    assert.deepEqual(errors, ["ns/a: boom 1", "ns/a: boom 2"]);
    await q.shutdown();
  });

  it("requeues after the delay a reconcile asks for; an earlier request for the key wins", async () => {
    const seen: string[] = [];
    const q = new WorkQueue((key) => (seen.push(key), Promise.resolve(seen.length === 1 ? { requeueAfterMs: 5 } : {})), { concurrency: 1 });
    q.add("ns/a");
    await until(() => seen.length === 2, "the requeue");
    q.addAfter("ns/b", 60_000);
    q.addAfter("ns/b", 1);
    await until(() => seen.length === 3, "the earlier of two delayed adds");
    assert.deepEqual(seen, ["ns/a", "ns/a", "ns/b"]);
    await q.shutdown();
  });
});
