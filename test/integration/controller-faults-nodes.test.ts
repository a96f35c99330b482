// Faults that used to pass in silence (issue 9, items 6 and 9), on a real API server with kwok
// nodes: a node NotReady when its turn comes (never cordoned, no pod, the Plan says why and goes
// on with the others), a node NotReady after its upgrade pod succeeded (the Plan names it and
// since when), a nodeSelector that matches no node (a warning, not a quiet 0/0), and Plans whose
// spec.after wait for each other (each says the cycle).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { renderStatus } from "../../src/cli/commands/status.ts";
import { resources } from "../../src/controller/kube/ports.ts";
import type { KubeObject, Node } from "../../src/controller/rollout/objects.ts";
import type { PlanObject } from "../../src/controller/wiring/reconciler.ts";
import { waitFor } from "../env/wait.ts";
import {
  type Env,
  PodWatch,
  type RunningController,
  aPlan,
  applyPlan,
  condition,
  getNode,
  optIn,
  waitForPlan,
  startControllerEnv,
  stopControllerEnv,
} from "./controller-env.ts";

let env: Env;
let ns: string;
let ctl: RunningController;
const NOT_READY = "sim.plan-runner.dev/node-ready";

before(async () => ({ env, ns, ctl } = await startControllerEnv(4, 1, "faults-nodes")));
after(() => stopControllerEnv(ctl, env));

const selecting = (label: string) => ({ nodeSelector: { matchLabels: { [label]: "yes" } } });
const readyOf = async (name: string): Promise<string | undefined> => (await getNode(env, name)).status?.conditions?.find((c) => c.type === "Ready")?.status;

/** kwok's node-not-ready stage turns the node's Ready condition False while the annotation says so. */
async function setNotReady(node: string, notReady: boolean): Promise<void> {
  await env.kube.patch(resources.nodes, undefined, node, { metadata: { annotations: { [NOT_READY]: notReady ? "false" : null } } });
  await waitFor(async () => (await readyOf(node)) === (notReady ? "False" : "True"), { timeoutMs: 30_000, what: `node ${node} Ready=${!notReady}` });
}

type CoreEvent = KubeObject & { reason?: string; message?: string; type?: string; involvedObject?: { kind?: string; name?: string } };
const planEvents = async (plan: string, reason: string): Promise<CoreEvent[]> =>
  (await env.kube.list<CoreEvent>(resources.events, ns)).items.filter(
    (e) => e.involvedObject?.kind === "Plan" && e.involvedObject.name === plan && e.reason === reason,
  );

async function status(plan: string): Promise<string> {
  const plans = (await env.kube.list<PlanObject>(resources.plans, ns)).items.filter((p) => p.metadata.name === plan);
  return renderStatus(plans, (await env.kube.list<Node>(resources.nodes, undefined)).items);
}

/** The nodes the API server ever showed cordoned while not Ready, from a watch started before the Plan. */
class CordonWatch {
  readonly cordonedNotReady = new Set<string>();
  private readonly abort = new AbortController();
  private readonly done: Promise<void>;
  constructor(nodes: readonly string[]) {
    this.done = env.kube
      .watch<Node>(
        resources.nodes,
        undefined,
        {},
        (e) => {
          if (e.type === "ERROR" || e.type === "BOOKMARK") return;
          const n = e.object;
          const ready = n.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";
          if (nodes.includes(n.metadata.name) && n.spec?.unschedulable === true && !ready) this.cordonedNotReady.add(n.metadata.name);
        },
        this.abort.signal,
      )
      .catch(() => {});
  }
  async stop(): Promise<void> {
    this.abort.abort();
    await this.done;
  }
}

const doneOn = async (plan: string, node: string, hash: string | undefined): Promise<boolean> =>
  hash !== undefined && (await getNode(env, node)).metadata.labels?.[`plan.upgrade.cattle.io/${plan}`] === hash;

describe("controller: NotReady nodes", () => {
  it("a node NotReady when its turn comes is passed over (never cordoned, no pod), the Plan says why, the others complete; Ready, it completes too", async () => {
    const label = "test.plan-runner.dev/passed-over";
    const nodes = ["worker-1", "worker-2", "worker-3"];
    await optIn(env, nodes, label);
    await setNotReady("worker-2", true);
    const pods = new PodWatch(env, ns);
    const cordons = new CordonWatch(["worker-2"]);
    try {
      await applyPlan(env, aPlan(ns, "passed-over", { ...selecting(label), concurrency: 1, cordon: true }));
      const waiting = await waitForPlan(
        env,
        ns,
        "passed-over",
        "worker-1 and worker-3 done, worker-2 waited for",
        (p) => p.status?.counts?.complete === 2 && (p.status.waits ?? []).some((w) => w.node === "worker-2"),
        90_000,
      );
      assert.equal(await doneOn("passed-over", "worker-1", waiting.status?.latestHash), true);
      assert.equal(await doneOn("passed-over", "worker-3", waiting.status?.latestHash), true);
      const wait = waiting.status?.waits?.find((w) => w.node === "worker-2");
      assert.match(wait?.message ?? "", /^waiting for worker-2 to become Ready \(NotReady since \d{4}-\d\d-\d\dT[\d:]+Z\)/);
      assert.equal(condition(waiting, "NodesNotReady")?.status, "True");
      assert.match(condition(waiting, "NodesNotReady")?.message ?? "", /worker-2/);
      assert.match(waiting.status?.message ?? "", /waiting for worker-2 to become Ready/);
      assert.equal(waiting.status?.state, "Waiting", "nothing else to do: the Plan waits for worker-2");
      assert.match(await status("passed-over"), /^ {2}worker-2 +pending {2}waiting for worker-2 to become Ready/m);
      assert.equal([...pods.seen.values()].filter((p) => p.spec?.nodeName === "worker-2").length, 0, "no pod on the NotReady node");
      assert.equal((await getNode(env, "worker-2")).spec?.unschedulable, undefined, "worker-2 is not cordoned");
      await setNotReady("worker-2", false);
      const done = await waitForPlan(env, ns, "passed-over", "Complete once worker-2 is Ready", (p) => condition(p, "Complete")?.status === "True", 60_000);
      assert.equal(condition(done, "NodesNotReady")?.status, "False");
      assert.equal(pods.maxActive, 1, "never more than concurrency");
      assert.deepEqual([...cordons.cordonedNotReady], [], "never cordoned while NotReady");
      assert.ok(pods.nodeOrder.indexOf("worker-3") < pods.nodeOrder.indexOf("worker-2"), `worker-3 went ahead: ${pods.nodeOrder.join(", ")}`);
    } finally {
      await pods.stop();
      await cordons.stop();
      await setNotReady("worker-2", false);
    }
  });

  it("a node NotReady after its upgrade pod succeeded: the Plan's message, its wait and the node's line name it and since when", async () => {
    const label = "test.plan-runner.dev/after-upgrade";
    const node = "worker-3";
    await optIn(env, [node], label);
    try {
      await applyPlan(env, aPlan(ns, "after-upgrade", { ...selecting(label), postCompleteDelay: "15s" }, { "sim.plan-runner.dev/run-for": "3s" }));
      await waitFor(
        async () =>
          (await env.kube.list<KubeObject & { status?: { phase?: string } }>(resources.pods, ns)).items.some((p) =>
            p.metadata.name.startsWith("apply-after-upgrade-"),
          ),
        { timeoutMs: 30_000, what: "the upgrade pod" },
      );
      // The upgrade restarts the kubelet: the node goes NotReady while its pod ends.
      await setNotReady(node, true);
      const p = await waitForPlan(
        env,
        ns,
        "after-upgrade",
        "waiting for worker-3 to be Ready",
        (x) => /waiting for worker-3 to become Ready/.test(x.status?.message ?? ""),
        60_000,
      );
      assert.match(p.status?.message ?? "", /waiting for worker-3 to become Ready \(NotReady since \d{4}-\d\d-\d\dT[\d:]+Z\)/);
      const wait = p.status?.waits?.find((w) => w.node === node);
      assert.match(wait?.message ?? "", /^waiting for worker-3 to become Ready \(NotReady since /);
      assert.equal(condition(p, "NodesNotReady")?.status, "True");
      assert.match(await status("after-upgrade"), /^ {2}worker-3 +soaking {2}waiting for worker-3 to become Ready \(NotReady since /m);
    } finally {
      await setNotReady(node, false);
    }
    const done = await waitForPlan(env, ns, "after-upgrade", "Complete once Ready", (x) => condition(x, "Complete")?.status === "True", 60_000);
    assert.equal(condition(done, "NodesNotReady")?.status, "False");
  });
});

describe("controller: Plans that do nothing say so", () => {
  it("a nodeSelector matching no node: Complete 0/0 with a NoNodes condition naming the selector and one Warning Event; it clears once a node matches", async () => {
    const label = "test.plan-runner.dev/nothing";
    await applyPlan(env, aPlan(ns, "nothing", selecting(label)));
    const p = await waitForPlan(env, ns, "nothing", "NoNodes", (x) => condition(x, "NoNodes")?.status === "True");
    assert.equal(condition(p, "NoNodes")?.reason, "NoNodesSelected");
    assert.match(condition(p, "NoNodes")?.message ?? "", /test\.plan-runner\.dev\/nothing=yes/);
    assert.equal(p.status?.progress, "0/0");
    assert.match(p.status?.message ?? "", /matches no node/);
    const warned = await waitFor(
      async () => {
        const es = await planEvents("nothing", "NoNodesSelected");
        return es.length > 0 ? es : undefined;
      },
      { timeoutMs: 10_000, what: "a NoNodesSelected Event" },
    );
    assert.equal(warned.length, 1);
    assert.equal(warned[0]?.type, "Warning");
    assert.match(warned[0]?.message ?? "", /test\.plan-runner\.dev\/nothing=yes/);
    await optIn(env, ["worker-1"], label);
    const done = await waitForPlan(env, ns, "nothing", "1/1 Complete", (x) => x.status?.progress === "1/1" && condition(x, "Complete")?.status === "True");
    assert.equal(condition(done, "NoNodes")?.status, "False");
  });

  it("Plans whose spec.after wait for each other: each is Blocked, naming the cycle from itself; editing one clears both", async () => {
    await optIn(env, ["worker-1"], "test.plan-runner.dev/cyc-a");
    await optIn(env, ["worker-2"], "test.plan-runner.dev/cyc-b");
    await applyPlan(env, aPlan(ns, "cyc-a", { ...selecting("test.plan-runner.dev/cyc-a"), after: ["cyc-b"] }));
    await applyPlan(env, aPlan(ns, "cyc-b", { ...selecting("test.plan-runner.dev/cyc-b"), after: ["cyc-a"] }));
    for (const [plan, cycle] of [
      ["cyc-a", "cyc-a -> cyc-b -> cyc-a"],
      ["cyc-b", "cyc-b -> cyc-a -> cyc-b"],
    ] as const) {
      const p = await waitForPlan(env, ns, plan, "Blocked by the cycle", (x) => condition(x, "Blocked")?.reason === "AfterCycle");
      assert.equal(condition(p, "Blocked")?.status, "True");
      assert.match(condition(p, "Blocked")?.message ?? "", new RegExp(`^after cycle: ${cycle}`));
      assert.equal(p.status?.state, "Blocked");
      const events = await waitFor(async () => (await planEvents(plan, "Blocked")).find((e) => e.message?.includes(`after cycle: ${cycle}`)), {
        timeoutMs: 10_000,
        what: `a Blocked Event on ${plan} naming the cycle`,
      });
      assert.equal(events.type, "Warning");
    }
    await applyPlan(env, aPlan(ns, "cyc-a", selecting("test.plan-runner.dev/cyc-a")));
    for (const plan of ["cyc-a", "cyc-b"]) {
      const done = await waitForPlan(env, ns, plan, "Complete once the cycle is broken", (x) => condition(x, "Complete")?.status === "True", 60_000);
      assert.equal(condition(done, "Blocked")?.status, "False");
    }
  });
});
