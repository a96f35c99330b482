// Which Node writes wake the Plans: anything a pass reads, never the kubelet's heartbeat alone.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { changesFacts } from "../../src/controller/rollout/node-facts.ts";
import type { Node } from "../../src/controller/rollout/objects.ts";
import { aNode } from "./sim-world.ts";

const ready = (n: Node, status: string, beat: string, since = "2026-06-01T00:00:00Z"): Node => ({
  ...n,
  status: { ...n.status, conditions: [{ type: "Ready", status, reason: "KubeletReady", lastHeartbeatTime: beat, lastTransitionTime: since }] },
});

describe("node facts", () => {
  const base = ready(aNode("w1"), "True", "2026-06-01T00:00:00Z");

  it("a heartbeat (only lastHeartbeatTime renewed) changes nothing a Plan reads", () => {
    assert.equal(changesFacts(base, ready(aNode("w1"), "True", "2026-06-01T00:00:10Z")), false);
  });

  it("Ready turning, a label, an annotation, a cordon or a new kubelet version does", () => {
    const w = aNode("w1");
    const changed: Node[] = [
      ready(w, "False", "2026-06-01T00:00:10Z", "2026-06-01T00:00:10Z"),
      ready({ ...w, metadata: { ...w.metadata, labels: { ...w.metadata.labels, "plan.upgrade.cattle.io/x": "h" } } }, "True", "2026-06-01T00:00:00Z"),
      ready({ ...w, metadata: { ...w.metadata, annotations: { "cordoned.plan-runner.dev/x": "h" } } }, "True", "2026-06-01T00:00:00Z"),
      ready({ ...w, spec: { unschedulable: true } }, "True", "2026-06-01T00:00:00Z"),
    ];
    const kubelet = ready(w, "True", "2026-06-01T00:00:00Z");
    changed.push({ ...kubelet, status: { ...kubelet.status, nodeInfo: { kubeletVersion: "v1.36.3" } } });
    for (const after of changed) assert.equal(changesFacts(base, after), true, JSON.stringify(after));
  });
});
