// The fence in front of the Kube port: while the lease may have expired, every write is refused
// before it reaches the API server; reads and watches go on, so a standby's caches stay warm.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FencedKube, NotLeaderError } from "../../src/controller/kube/fence.ts";
import { resources } from "../../src/controller/kube/ports.ts";
import type { Node } from "../../src/controller/rollout/objects.ts";
import { ScriptedKube, expect } from "./scripted-kube.ts";

const node: Node = { apiVersion: "v1", kind: "Node", metadata: { name: "n1" } };

describe("fenced Kube port", () => {
  it("refuses every kind of write while it may not act, and sends nothing", async () => {
    const kube = new ScriptedKube([]);
    const fenced = new FencedKube(kube, () => false);
    const writes: Array<[string, () => Promise<unknown>]> = [
      ["patch nodes n1", () => fenced.patch(resources.nodes, undefined, "n1", { spec: { unschedulable: true } })],
      ["create pods p", () => fenced.create(resources.pods, "ns", { metadata: { name: "p" } })],
      ["update plans x", () => fenced.replace(resources.plans, "ns", { metadata: { name: "x" } }, "status")],
      ["delete pods p", () => fenced.delete(resources.pods, "ns", "p")],
      ["evict pods p", () => fenced.evict("ns", "p")],
      ["create events e", () => fenced.create(resources.events, "ns", { metadata: { name: "e" } })],
    ];
    for (const [call, write] of writes) {
      await assert.rejects(write(), (e: unknown) => e instanceof NotLeaderError && e.message.startsWith(`${call}:`), call);
    }
    assert.deepEqual(kube.calls, [], "no request reached the API");
    assert.deepEqual(kube.events, [], "no Event recorded");
  });

  it("passes reads always, and writes once it may act", async () => {
    let may = false;
    const kube = new ScriptedKube([expect("get", resources.nodes, node), expect("patch", resources.nodes, node)]);
    const fenced = new FencedKube(kube, () => may);
    assert.equal((await fenced.get<Node>(resources.nodes, undefined, "n1")).metadata.name, "n1");
    may = true;
    await fenced.patch(resources.nodes, undefined, "n1", { metadata: { labels: { a: "b" } } });
    kube.done();
  });
});
