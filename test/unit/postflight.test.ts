// gates.postflight: the version rules as a table, then the Verified condition and its Events from
// decide() once a Plan completes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ServerVersion } from "../../src/controller/rollout/decision.ts";
import type { Node } from "../../src/controller/rollout/objects.ts";
import { postflightGate, sameVersion } from "../../src/controller/rollout/postflight.ts";
import { SimWorld, aNode, aPlan } from "./sim-world.ts";

const at = (name: string, kubeletVersion: string | undefined, opts: { controlPlane?: boolean } = {}): Node => {
  const n = aNode(name, opts);
  return { ...n, status: { ...n.status, ...(kubeletVersion !== undefined ? { nodeInfo: { kubeletVersion } } : {}) } };
};

describe("postflight: the version rules", () => {
  const same: Array<[string, string, boolean]> = [
    ["v1.31.4", "v1.31.4", true],
    ["1.31.4", "v1.31.4", true],
    ["v1.31.4+k3s1", "v1.31.4-k3s1", true],
    ["v1.31.3", "v1.31.4", false],
    ["v1.31.4-rc.1", "v1.31.4", false],
    ["v1.31.40", "v1.31.4", false],
  ];
  for (const [a, b, want] of same) it(`${a} ${want ? "is" : "is not"} ${b}`, () => assert.equal(sameVersion(a, b), want));

  const ok: ServerVersion = { gitVersion: "v1.31.4" };
  const table: Array<{ name: string; nodes: Node[]; server: ServerVersion | undefined; open: boolean; reason: string; message?: RegExp }> = [
    {
      name: "every kubelet and the API server at the target",
      nodes: [at("a", "v1.31.4"), at("b", "v1.31.4")],
      server: ok,
      open: true,
      reason: "VersionsMatch",
    },
    {
      name: "a kubelet left behind is named with the version it reports",
      nodes: [at("b", "v1.31.3"), at("a", "v1.31.4"), at("c", undefined)],
      server: ok,
      open: false,
      reason: "KubeletVersionMismatch",
      message: /kubelet on node\(s\) b \(v1.31.3\), c \(\(none\)\) does not report v1.31.4$/,
    },
    {
      name: "the API server behind",
      nodes: [at("a", "v1.31.4")],
      server: { gitVersion: "v1.31.3" },
      open: false,
      reason: "APIServerVersionMismatch",
      message: /the API server reports v1.31.3, not v1.31.4/,
    },
    {
      name: "an API server that cannot be read does not verify",
      nodes: [at("a", "v1.31.4")],
      server: { error: "GET /version: 503" },
      open: false,
      reason: "APIServerVersionUnknown",
      message: /503/,
    },
    { name: "apiServer: false compares the kubelets only", nodes: [at("a", "v1.31.4")], server: undefined, open: true, reason: "VersionsMatch" },
    {
      name: "both wrong: the kubelets named first, both told",
      nodes: [at("a", "v1.31.3")],
      server: { gitVersion: "v1.31.3" },
      open: false,
      reason: "KubeletVersionMismatch",
      message: /a \(v1.31.3\).*; the API server reports v1.31.3/,
    },
  ];
  for (const t of table) {
    it(t.name, () => {
      const v = postflightGate.check({ target: "v1.31.4", nodes: t.nodes, server: t.server });
      assert.equal(v.open, t.open);
      assert.equal(v.reason, t.reason);
      if (t.message !== undefined) assert.match(v.message, t.message);
    });
  }
});

describe("decide with gates.postflight", () => {
  const postflight = { gates: { postflight: {} } };

  it("Unknown while the rollout runs; a kubelet left behind after Complete is Verified=False and a Warning Event naming it", () => {
    const w = new SimWorld(aPlan({ concurrency: 1, ...postflight }), [at("a", "v1.2.3"), at("b", "v1.2.2")], {
      input: { serverVersion: { gitVersion: "v1.2.3" } },
    });
    w.reconcile();
    assert.equal(w.condition("Verified")?.status, "Unknown");
    const d = w.run(500, (x) => x.status.conditions?.find((c) => c.type === "Complete")?.status === "True");
    assert.equal(w.condition("Complete")?.status, "True", "the rollout itself is done");
    assert.equal(w.condition("Verified")?.status, "False");
    assert.equal(w.condition("Verified")?.reason, "KubeletVersionMismatch");
    assert.match(w.condition("Verified")?.message ?? "", /node\(s\) b \(v1.2.2\)/);
    assert.equal(d.status.state, "Unverified");
    assert.match(d.status.message ?? "", /b \(v1.2.2\)/);
    assert.equal(w.reconcile().requeueAfterMs, 60_000, "looked at again every poll interval, with nothing else to do");
    const events = w.events.filter((e) => e.reason === "VerifyFailed");
    assert.equal(events.length, 1);
    assert.equal(events[0]?.type, "Warning");
    assert.match(events[0]?.message ?? "", /b \(v1.2.2\)/);
    // The kubelet reports the release (it restarted): Verified, and one Event says so.
    w.nodes.set("b", { ...w.nodes.get("b")!, status: { ...w.nodes.get("b")!.status, nodeInfo: { kubeletVersion: "v1.2.3" } } });
    const after = w.reconcile();
    assert.equal(w.condition("Verified")?.status, "True");
    assert.equal(after.status.state, "Complete");
    assert.equal(w.events.filter((e) => e.reason === "Verified").length, 1);
  });

  it("the API server behind is a mismatch even when every kubelet matches", () => {
    const w = new SimWorld(aPlan(postflight), [at("a", "v1.2.3")], { input: { serverVersion: { gitVersion: "v1.2.2" } } });
    w.run(500, (x) => x.status.conditions?.find((c) => c.type === "Complete")?.status === "True");
    assert.equal(w.condition("Verified")?.reason, "APIServerVersionMismatch");
  });

  it("a Plan without gates.postflight has no Verified condition (SUC Plans unchanged)", () => {
    const w = new SimWorld(aPlan({}), [at("a", "v0.0.1")]);
    const d = w.run();
    assert.equal(d.status.state, "Complete");
    assert.equal(w.condition("Verified"), undefined);
  });
});
