// The preflight (gates.cluster) against a real API server with kwok nodes: a node that just
// changed Ready, one NotReady, one under pressure, each holding the start with its name in the
// Waiting condition and no pod created, then the rollout going on once the cluster is healthy.
// Then the postflight (gates.postflight): a node whose kubelet stays old after its upgrade pod
// succeeded is named in the Verified condition and a Warning Event.
// Last, the postflight under leader election (as deployed): the API server's version is read there too.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { resources } from "../../src/controller/kube/ports.ts";
import type { Node } from "../../src/controller/rollout/objects.ts";
import { waitFor } from "../env/wait.ts";
import {
  type Env,
  type RunningController,
  aPlan,
  applyPlan,
  condition,
  getNode,
  listPods,
  optIn,
  runController,
  waitForPlan,
  startControllerEnv,
  stopControllerEnv,
} from "./controller-env.ts";

let env: Env;
let ns: string;
let ctl: RunningController;
const NOT_READY = "sim.plan-runner.dev/node-ready";

before(async () => ({ env, ns, ctl } = await startControllerEnv(4, 1, "preflight")));
after(() => stopControllerEnv(ctl, env));

const readyOf = async (name: string): Promise<string | undefined> => (await getNode(env, name)).status?.conditions?.find((c) => c.type === "Ready")?.status;
const podsOf = async (plan: string) => (await listPods(env, ns)).filter((p) => p.metadata.labels?.["upgrade.cattle.io/plan"] === plan);

async function setNotReady(node: string, notReady: boolean): Promise<void> {
  await env.kube.patch(resources.nodes, undefined, node, { metadata: { annotations: { [NOT_READY]: notReady ? "false" : null } } });
  await waitFor(async () => (await readyOf(node)) === (notReady ? "False" : "True"), { timeoutMs: 30_000, what: `node ${node} Ready=${!notReady}` });
}

const spec = (label: string, cluster: Record<string, unknown>) => ({ concurrency: 1, nodeSelector: { matchLabels: { [label]: "yes" } }, gates: { cluster } });

describe("controller: the preflight (gates.cluster)", () => {
  it("a node whose Ready just changed defers the rollout (Waiting names it, no pod); it starts once the quiet period is over", async () => {
    const label = "test.plan-runner.dev/quiet";
    await optIn(env, ["worker-1"], label);
    // worker-2 "reboots": NotReady, then Ready again; its Ready transition is now.
    await setNotReady("worker-2", true);
    await setNotReady("worker-2", false);
    await applyPlan(env, aPlan(ns, "quiet", spec(label, { quietPeriod: "15s" })));
    const waiting = await waitForPlan(env, ns, "quiet", "Waiting for the cluster to be quiet", (p) => condition(p, "Waiting")?.reason === "ClusterNotQuiet");
    assert.equal(condition(waiting, "Waiting")?.status, "True");
    assert.match(condition(waiting, "Waiting")?.message ?? "", /worker-2/);
    assert.match(condition(waiting, "Waiting")?.message ?? "", /no node starts before \d{4}-\d\d-\d\dT/);
    assert.equal((await podsOf("quiet")).length, 0, "no pod while the cluster is not quiet");
    // Nothing about the cluster changes from here: only the controller's own requeue starts it.
    const done = await waitForPlan(env, ns, "quiet", "Complete once quiet", (p) => condition(p, "Complete")?.status === "True", 60_000);
    assert.equal(condition(done, "Waiting")?.status, "False");
  });

  it("a NotReady node holds the start with its name; the rollout goes on once it is Ready", async () => {
    const label = "test.plan-runner.dev/not-ready";
    await optIn(env, ["worker-1"], label);
    await setNotReady("worker-3", true);
    try {
      await applyPlan(env, aPlan(ns, "not-ready", spec(label, { quietPeriod: "0s" })));
      const waiting = await waitForPlan(env, ns, "not-ready", "Waiting on the NotReady node", (p) => condition(p, "Waiting")?.reason === "NodesNotReady");
      assert.match(condition(waiting, "Waiting")?.message ?? "", /not Ready: worker-3;/);
      assert.equal((await podsOf("not-ready")).length, 0, "no pod while a node is NotReady");
    } finally {
      await setNotReady("worker-3", false);
    }
    await waitForPlan(env, ns, "not-ready", "Complete once every node is Ready", (p) => condition(p, "Complete")?.status === "True", 60_000);
  });

  it("a node under disk pressure holds the start with its name and the pressure", async () => {
    const label = "test.plan-runner.dev/pressure";
    await optIn(env, ["worker-1"], label);
    const pressure = (status: "True" | "False") => ({
      status: { conditions: [{ type: "DiskPressure", status, reason: "Simulated", message: "set by the test", lastTransitionTime: new Date().toISOString() }] },
    });
    // Strategic merge on the status: conditions merge by type, the others stay as kwok set them.
    await env.kube.patch<Node>(resources.nodes, undefined, "worker-2", pressure("True"), { type: "strategic", subresource: "status" });
    try {
      await applyPlan(env, aPlan(ns, "pressure", spec(label, { quietPeriod: "0s" })));
      const waiting = await waitForPlan(env, ns, "pressure", "Waiting on the node under pressure", (p) => condition(p, "Waiting")?.reason === "NodePressure");
      assert.match(condition(waiting, "Waiting")?.message ?? "", /worker-2 \(DiskPressure\)/);
      assert.equal((await podsOf("pressure")).length, 0, "no pod while a node is under pressure");
    } finally {
      await env.kube.patch<Node>(resources.nodes, undefined, "worker-2", pressure("False"), { type: "strategic", subresource: "status" });
    }
    await waitForPlan(env, ns, "pressure", "Complete once the pressure is gone", (p) => condition(p, "Complete")?.status === "True", 60_000);
  });
});

describe("controller: the postflight (gates.postflight)", () => {
  it("a node whose kubelet still reports the old version after its upgrade succeeded: Verified=False and a Warning Event name it", async () => {
    const label = "test.plan-runner.dev/postflight";
    // A simulated kubelet keeps the version it registered with: the apply pod's success does not change it.
    await env.cp.addNode({ name: "old-kubelet", kubeletVersion: "v1.0.0", labels: { [label]: "yes" } });
    await optIn(env, ["worker-1"], label);
    const plan = aPlan(ns, "postflight", {
      concurrency: 1,
      version: env.cp.version,
      nodeSelector: { matchLabels: { [label]: "yes" } },
      gates: { postflight: {} },
    });
    await applyPlan(env, plan);
    const p = await waitForPlan(env, ns, "postflight", "Verified=False", (x) => condition(x, "Verified")?.status === "False", 90_000);
    assert.equal(condition(p, "Complete")?.status, "True", "every node ran its upgrade");
    assert.equal(condition(p, "Verified")?.reason, "KubeletVersionMismatch");
    assert.match(condition(p, "Verified")?.message ?? "", /old-kubelet \(v1\.0\.0\)/);
    assert.doesNotMatch(condition(p, "Verified")?.message ?? "", /worker-1|API server/, "worker-1 and the API server run the target");
    assert.equal(p.status?.state, "Unverified");
    const event = await waitFor(
      async () =>
        (await env.kube.list(resources.events, ns, { fieldSelector: "involvedObject.name=postflight" })).items.find(
          (e) => e["reason"] === "VerifyFailed" && e["type"] === "Warning" && /old-kubelet/.test(String(e["message"])),
        ),
      { timeoutMs: 30_000, what: "a VerifyFailed Warning Event naming old-kubelet" },
    );
    assert.ok(event);
  });
});

describe("controller: the postflight with leader election, as deployed", () => {
  // The kubeadm VM test found the deployed controller (leader election on) saying "this controller
  // has no way to ask the API server its version": every postflight Plan stayed Unverified.
  it("a Plan whose nodes and API server run the target is Verified and Complete", async () => {
    const elected = await env.cp.createNamespace("postflight-elected");
    const leader = await runController(env, elected, { leaderElection: true });
    try {
      const label = "test.plan-runner.dev/postflight-elected";
      await optIn(env, ["worker-2"], label);
      await applyPlan(
        env,
        aPlan(elected, "verified", { concurrency: 1, version: env.cp.version, nodeSelector: { matchLabels: { [label]: "yes" } }, gates: { postflight: {} } }),
      );
      const p = await waitForPlan(
        env,
        elected,
        "verified",
        "Verified True or False",
        (x) => ["True", "False"].includes(condition(x, "Verified")?.status ?? ""),
        90_000,
      );
      assert.equal(condition(p, "Verified")?.status, "True", `Verified: ${condition(p, "Verified")?.reason}: ${condition(p, "Verified")?.message}`);
      assert.equal(p.status?.state, "Complete");
    } finally {
      await leader.stop();
    }
  });
});
