import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { resources } from "../../src/controller/kube/ports.ts";
import { waitFor } from "../env/wait.ts";
import type { PlanObject } from "../../src/controller/wiring/reconciler.ts";
import { type Env, PodWatch, aPlan, applyPlan, condition, getNode, listPods, optIn, runController, startEnv, waitForPlan } from "./controller-env.ts";

let env: Env;
let all: string[];

before(async () => {
  env = await startEnv(20, 2);
  all = (await env.kube.list(resources.nodes, undefined)).items.map((n) => n.metadata.name);
});
after(async () => env?.stop());

const hashOf = async (ns: string, plan: string): Promise<string | undefined> => (await env.kube.get<PlanObject>(resources.plans, ns, plan)).status?.latestHash;

describe("controller: a rollout on a real API server", () => {
  for (const concurrency of [1, 2, 5]) {
    it(`never runs more than ${concurrency} nodes at once across 20 nodes, control plane first then by name`, async () => {
      const ns = await env.cp.createNamespace(`c${concurrency}`);
      const label = `test.plan-runner.dev/c${concurrency}`;
      await optIn(env, all, label);
      const watch = new PodWatch(env, ns);
      const ctl = await runController(env, ns);
      try {
        await applyPlan(
          env,
          aPlan(ns, `c${concurrency}`, { concurrency, nodeSelector: { matchLabels: { [label]: "yes" } } }, { "sim.plan-runner.dev/run-for": "300ms" }),
        );
        const plan = await waitForPlan(env, ns, `c${concurrency}`, "Complete", (p) => condition(p, "Complete")?.status === "True", 180_000);
        assert.equal(plan.status?.progress, "20/20");
        assert.ok(watch.maxActive <= concurrency, `the API server saw ${watch.maxActive} nodes upgrading at once`);
        if (concurrency > 1) assert.ok(watch.maxActive > 1, "slots were used in parallel");
        const controlPlanes = all.filter((n) => n.startsWith("control-plane")).sort();
        const workers = all.filter((n) => !n.startsWith("control-plane")).sort();
        if (concurrency === 1) assert.deepEqual(watch.nodeOrder, [...controlPlanes, ...workers]);
        else {
          // A wave's pods are created side by side, so only the wave, not the order within it, is fixed.
          const firstWave = new Set(watch.nodeOrder.slice(0, concurrency));
          for (const cp of controlPlanes) assert.ok(firstWave.has(cp), `${cp} is in the first wave ${[...firstWave].join(", ")}`);
        }
        const pods = (await listPods(env, ns)).filter((p) => p.metadata.labels?.["plan-runner.dev/role"] === "apply");
        assert.equal(pods.length, 20, "exactly one upgrade pod per node");
        const hash = await hashOf(ns, `c${concurrency}`);
        for (const n of all) {
          const node = await getNode(env, n);
          assert.equal(node.metadata.labels?.[`plan.upgrade.cattle.io/c${concurrency}`], hash, `${n} is labelled done`);
        }
      } finally {
        await watch.stop();
        await ctl.stop();
      }
    });
  }

  it("upgrades a node that joins mid-rollout, does not stall on one that leaves, and skips disabled nodes (counted as skipped)", async () => {
    const ns = await env.cp.createNamespace("churn");
    const label = "test.plan-runner.dev/churn";
    const nodes = all.filter((n) => n.startsWith("worker")).slice(0, 4);
    await optIn(env, nodes, label);
    await env.kube.patch(resources.nodes, undefined, nodes[3]!, { metadata: { labels: { "plan.upgrade.cattle.io/churn": "disabled" } } });
    const watch = new PodWatch(env, ns);
    const ctl = await runController(env, ns);
    try {
      await applyPlan(env, aPlan(ns, "churn", { concurrency: 1, nodeSelector: { matchLabels: { [label]: "yes" } } }, { "sim.plan-runner.dev/run-for": "2s" }));
      // The first node is upgrading: one node leaves, one joins.
      await waitFor(() => watch.nodeOrder.length >= 1, { timeoutMs: 30_000, what: "the first upgrade pod" });
      const leaving = nodes[1]!;
      await env.cp.removeNode(leaving);
      await env.cp.addNode({ name: "joiner-1", labels: { [label]: "yes" } });
      const plan = await waitForPlan(env, ns, "churn", "Complete", (p) => condition(p, "Complete")?.status === "True", 120_000);
      assert.equal(plan.status?.progress, "3/4", "the joiner and the two that stayed, and the disabled one counted as skipped");
      assert.equal(plan.status?.counts?.skipped, 1);
      assert.match(plan.status?.message ?? "", /1 skipped \(labelled plan\.upgrade\.cattle\.io\/churn=disabled\)/);
      assert.ok(watch.nodeOrder.includes("joiner-1"));
      assert.ok(!watch.nodeOrder.includes(nodes[3]!), "the disabled node got no pod");
      const disabled = await getNode(env, nodes[3]!);
      assert.equal(disabled.metadata.labels?.["plan.upgrade.cattle.io/churn"], "disabled");
    } finally {
      await watch.stop();
      await ctl.stop();
    }
  });

  it("cordons the node it upgrades, uncordons it after, and leaves a node cordoned by someone else cordoned", async () => {
    const ns = await env.cp.createNamespace("cordon");
    const label = "test.plan-runner.dev/cordon";
    const [mine, theirs] = all.filter((n) => n.startsWith("worker")).slice(4, 6) as [string, string];
    await optIn(env, [mine, theirs], label);
    await env.kube.patch(resources.nodes, undefined, theirs, { spec: { unschedulable: true } });
    const seenCordoned = new Set<string>();
    const ctl = await runController(env, ns);
    try {
      await applyPlan(
        env,
        aPlan(ns, "cordon", { concurrency: 1, cordon: true, nodeSelector: { matchLabels: { [label]: "yes" } } }, { "sim.plan-runner.dev/run-for": "1500ms" }),
      );
      await waitFor(
        async () => {
          const pods = await listPods(env, ns);
          for (const p of pods) {
            if (p.status?.phase !== "Running") continue;
            const node = await getNode(env, p.spec?.nodeName ?? "");
            if (node.spec?.unschedulable === true) seenCordoned.add(node.metadata.name);
          }
          return seenCordoned.has(mine);
        },
        { timeoutMs: 60_000, what: `${mine} cordoned while its upgrade pod runs` },
      );
      await waitForPlan(env, ns, "cordon", "Complete", (p) => condition(p, "Complete")?.status === "True", 60_000);
      assert.notEqual((await getNode(env, mine)).spec?.unschedulable, true, "our node is uncordoned");
      assert.equal((await getNode(env, theirs)).spec?.unschedulable, true, "their node stays cordoned (SUC #341)");
    } finally {
      await env.kube.patch(resources.nodes, undefined, theirs, { spec: { unschedulable: null } });
      await ctl.stop();
    }
  });
});
