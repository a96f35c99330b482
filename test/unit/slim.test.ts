// What the caches keep: everything a pass reads (the rules run on it unchanged), not a Node's
// image list or a pod's spec.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Node, Pod } from "../../src/controller/rollout/objects.ts";
import { slimNode, slimPod } from "../../src/controller/rollout/slim.ts";
import { SimWorld, aNode, aPlan } from "./sim-world.ts";

describe("slim caches", () => {
  it("a Node keeps its metadata, spec, conditions, kubelet report and addresses, not its images", () => {
    const w = aNode("w1", { unschedulable: true });
    const full = {
      ...w,
      status: {
        conditions: [{ type: "Ready", status: "True" }],
        nodeInfo: { kubeletVersion: "v1.36.3" },
        addresses: [{ type: "InternalIP", address: "10.0.0.1" }],
        images: Array.from({ length: 50 }, (_, i) => ({ names: [`registry.example/app-${i}:v1`], sizeBytes: 1e8 })),
        allocatable: { cpu: "4" },
      },
    } as Node;
    const slim = slimNode(full);
    assert.deepEqual(slim.metadata, full.metadata);
    assert.deepEqual(slim.spec, { unschedulable: true });
    assert.deepEqual(Object.keys(slim.status ?? {}).sort(), ["addresses", "conditions", "nodeInfo"]);
  });

  it("an upgrade pod keeps its metadata, node and status; its containers and volumes go", () => {
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "apply-x", namespace: "sys", labels: { a: "b" } },
      spec: { nodeName: "w1", containers: [{ name: "upgrade", image: "i", env: [{ name: "K", value: "v" }] }], volumes: [{ name: "host" }] },
      status: { phase: "Succeeded", containerStatuses: [{ name: "upgrade", state: { terminated: { exitCode: 0 } } }] },
    } as unknown as Pod;
    const slim = slimPod(pod);
    assert.deepEqual(slim.spec, { nodeName: "w1" });
    assert.deepEqual(slim.status, pod.status);
    assert.deepEqual(slim.metadata, pod.metadata);
  });

  it("decide() reads nothing the slim caches drop: a cordoning rollout takes the same steps to the same status", () => {
    const nodes = ["w1", "w2", "w3", "w4"].map((n) => {
      const node = aNode(n);
      return { ...node, status: { ...node.status, images: [{ names: ["registry.example/app:v1"], sizeBytes: 1e8 }], allocatable: { cpu: "4" } } } as Node;
    });
    const run = (slim: boolean): { steps: string[]; status: unknown } => {
      const w = new SimWorld(aPlan({ concurrency: 2, cordon: true }), nodes);
      const steps: string[] = [];
      let d = w.reconcile();
      for (let i = 0; i < 50 && d.status.state !== "Complete"; i++) {
        if (slim) {
          for (const [k, n] of w.nodes) w.nodes.set(k, slimNode(n));
          for (const [k, p] of w.pods) w.pods.set(k, slimPod(p));
        }
        w.tick();
        d = w.reconcile();
        steps.push(...d.actions.filter((a) => a.kind !== "event").map((a) => `${i} ${a.kind} ${"node" in a ? a.node : ""}`));
      }
      return { steps, status: d.status };
    };
    const full = run(false);
    assert.equal((full.status as { state?: string }).state, "Complete");
    assert.deepEqual(run(true), full);
  });
});
