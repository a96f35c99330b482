// What `kubectl get events -n <plan namespace>` tells a person about a rollout, on a real API
// server: every step of a node's life on the Plan, naming the node, a failed attempt before the
// last one with its exit code, the failure also on the Node, and a handful of aggregated objects
// (counts, not copies) however many nodes the Plan upgrades.
import assert from "node:assert/strict";
import { after, before, describe, it, type TestContext } from "node:test";
import { resources } from "../../src/controller/kube/ports.ts";
import type { KubeObject, Pod } from "../../src/controller/rollout/objects.ts";
import { waitFor } from "../env/wait.ts";
import {
  type Env,
  aPlan,
  applyPlan,
  condition,
  kubectlApply,
  listPods,
  optIn,
  runController,
  serviceAccountKubeconfig,
  startEnv,
  waitForPlan,
} from "./controller-env.ts";

interface CoreEvent extends KubeObject {
  involvedObject: { kind?: string; name?: string; namespace?: string };
  reason?: string;
  message?: string;
  type?: string;
  count?: number;
  source?: { component?: string };
}

let env: Env;
let workers: string[];

before(async () => {
  env = await startEnv(32, 1);
  workers = (await env.kube.list(resources.nodes, undefined)).items.map((n) => n.metadata.name).filter((n) => n.startsWith("worker"));
});
after(async () => env?.stop());

/** Our Events in a namespace, as `kubectl get events -n NS -o json` lists them. */
async function eventsIn(ns: string): Promise<CoreEvent[]> {
  const r = await env.cp.kubectl(["get", "events", "-n", ns, "-o", "json"]);
  assert.equal(r.code, 0, r.stderr);
  const items = (JSON.parse(r.stdout) as { items: CoreEvent[] }).items;
  return items.filter((e) => e.source?.component?.startsWith("plan-runner") === true);
}

/** What the user reads, kept in the test output for the record. */
async function show(t: TestContext, ns: string): Promise<void> {
  // -o wide adds COUNT: how many times (nodes) each step happened.
  const r = await env.cp.kubectl(["get", "events", "-n", ns, "--sort-by=.lastTimestamp", "-o", "wide"]);
  t.diagnostic(`kubectl get events -n ${ns}\n${r.stdout}${r.stderr}`);
}

const onPlan = (events: readonly CoreEvent[], plan: string, reason: string): CoreEvent[] =>
  events.filter((e) => e.involvedObject.kind === "Plan" && e.involvedObject.name === plan && e.reason === reason);

describe("controller: Events a person reads with kubectl get events -n <plan namespace>", () => {
  it("a node whose first upgrade attempt fails: each step once on the Plan, naming the node; the failed attempt with its exit code, also on the Node", async (t) => {
    const ns = await env.cp.createNamespace("ev-retry");
    const node = workers[0]!;
    const label = "test.plan-runner.dev/ev-retry";
    await optIn(env, [node], label);
    const spec = {
      concurrency: 1,
      cordon: true,
      drain: { timeout: "30s" },
      prepare: { image: "example.com/gate", args: ["compat-gate"] },
      failurePolicy: { retries: 2, backoff: "3s" },
      nodeSelector: { matchLabels: { [label]: "yes" } },
    };
    const failing = { "sim.plan-runner.dev/exit-code.apply": "3", "sim.plan-runner.dev/message": "kubeadm: boom" };
    const ctl = await runController(env, ns);
    try {
      await applyPlan(env, aPlan(ns, "retry", spec, failing));
      await waitFor(
        async () => (await listPods(env, ns)).some((p: Pod) => p.metadata.labels?.["plan-runner.dev/role"] === "apply" && p.status?.phase === "Failed"),
        { timeoutMs: 60_000, what: "the first upgrade attempt to fail" },
      );
      // The cause is fixed during the backoff: the next attempt succeeds.
      await env.kube.patch(resources.plans, ns, "retry", { metadata: { annotations: { "sim.plan-runner.dev/exit-code.apply": null } } });
      await waitForPlan(env, ns, "retry", "Complete", (p) => condition(p, "Complete")?.status === "True", 90_000);
      const events = await waitFor(
        async () => {
          const all = await eventsIn(ns);
          return onPlan(all, "retry", "NodeComplete").length === 1 ? all : undefined;
        },
        { timeoutMs: 30_000, what: "a NodeComplete Event on the Plan" },
      );
      await show(t, ns);

      for (const reason of ["PreparePassed", "Cordoned", "Drained", "ApplyPodCreated", "AttemptFailed", "Retried", "Upgraded", "NodeComplete"]) {
        const [e, ...more] = onPlan(events, "retry", reason);
        assert.ok(e !== undefined, `a ${reason} Event on the Plan; got ${events.map((x) => `${x.involvedObject.kind}/${x.reason}`).join(", ")}`);
        assert.equal(more.length, 0, `one ${reason} object`);
        assert.equal(e.count, 1, `${reason} counted once, however many passes saw it`);
        assert.equal(e.involvedObject.namespace, ns);
        assert.match(e.message ?? "", new RegExp(`node ${node}\\b`), `${reason} names the node`);
      }
      const failed = onPlan(events, "retry", "AttemptFailed")[0]!;
      assert.equal(failed.type, "Warning");
      assert.match(failed.message ?? "", /exit 3/);
      assert.match(failed.message ?? "", /kubeadm: boom/);
      assert.match(failed.message ?? "", /attempt 1\/3/);
      assert.match(onPlan(events, "retry", "Retried")[0]?.message ?? "", /attempt 2\/3/);
      assert.match(onPlan(events, "retry", "NodeComplete")[0]?.message ?? "", /uncordoned/);
      assert.equal(onPlan(events, "retry", "UpgradeFailed").length, 0, "the node did not fail for good");

      assert.equal(onPlan(events, "retry", "Cordoned")[0]?.metadata.name, "retry.cordoned", "a name to ask for: kubectl get event retry.cordoned");

      // The API server takes an Event about a Node only in default: `kubectl describe node` shows it.
      const onNode = (await eventsIn("default")).filter((e) => e.involvedObject.kind === "Node" && e.involvedObject.name === node);
      assert.deepEqual(
        onNode.map((e) => [e.reason, e.count]),
        [["AttemptFailed", 1]],
        "the Node tells what needs a look on that node: the failed attempt",
      );
      assert.match(onNode[0]?.message ?? "", /Plan retry: .*exit 3/);
      const nodeEvents = await env.cp.kubectl([
        "get",
        "events",
        "-n",
        "default",
        "-o",
        "wide",
        "--field-selector",
        `involvedObject.kind=Node,involvedObject.name=${node},reason=AttemptFailed`,
      ]);
      t.diagnostic(`kubectl get events -n default --field-selector involvedObject.name=${node},reason=AttemptFailed -o wide\n${nodeEvents.stdout}`);
      const described = await env.cp.kubectl(["describe", "node", node]);
      assert.match(described.stdout, /AttemptFailed/, "kubectl describe node shows it");
      assert.equal(events.filter((e) => e.involvedObject.kind !== "Plan").length, 0, "the Plan's namespace holds the Plan's Events");
    } finally {
      await ctl.stop();
    }

    // A fresh controller (nothing in memory) reads the same world again, the node done and its
    // upgrade pod still kept, and tells its completion again: nothing is counted twice.
    const again = await runController(env, ns);
    try {
      await waitFor(
        async () => {
          const m = (await again.metrics.reconcileDuration.get()).values.find((v) => v.metricName?.endsWith("_count") && v.labels["plan"] === "retry");
          return (m?.value ?? 0) >= 1;
        },
        { timeoutMs: 30_000, what: "the new controller to reconcile the Plan" },
      );
      const events = [...(await eventsIn(ns)), ...(await eventsIn("default"))];
      for (const e of events) assert.equal(e.count, 1, `${e.involvedObject.kind}/${e.reason} still counted once after a restart`);
    } finally {
      await again.stop();
    }
  });

  it("30 nodes: a bounded number of Event objects, whose counts say how many nodes took each step", async (t) => {
    const before = (await eventsIn("default")).length;
    const ns = await env.cp.createNamespace("ev-many");
    const nodes = workers.slice(1, 31);
    assert.equal(nodes.length, 30);
    const label = "test.plan-runner.dev/ev-many";
    await optIn(env, nodes, label);
    const ctl = await runController(env, ns);
    try {
      await applyPlan(
        env,
        aPlan(ns, "many", { concurrency: 10, cordon: true, nodeSelector: { matchLabels: { [label]: "yes" } } }, { "sim.plan-runner.dev/run-for": "200ms" }),
      );
      await waitForPlan(env, ns, "many", "Complete", (p) => condition(p, "Complete")?.status === "True", 180_000);
      const events = await waitFor(
        async () => {
          const all = await eventsIn(ns);
          return onPlan(all, "many", "NodeComplete")[0]?.count === 30 ? all : undefined;
        },
        { timeoutMs: 30_000, what: "NodeComplete counted 30 times" },
      );
      await show(t, ns);
      assert.ok(events.length <= 12, `${events.length} Event objects for 30 nodes: ${events.map((e) => e.reason).join(", ")}`);
      for (const reason of ["Cordoned", "ApplyPodCreated", "Upgraded", "NodeComplete"]) {
        const all = onPlan(events, "many", reason);
        assert.equal(all.length, 1, `one ${reason} object`);
        assert.equal(all[0]?.count, 30, `${reason} counted once per node`);
      }
      for (const e of events) {
        const named = nodes.filter((n) => new RegExp(`\\b${n}\\b`).test(e.message ?? ""));
        assert.ok(named.length <= 5, `${e.reason} names at most 5 nodes: ${e.message ?? ""}`);
      }
      assert.equal((await eventsIn("default")).length, before, "a rollout without failures puts nothing on the Nodes");
    } finally {
      await ctl.stop();
    }
  });

  it("a condition change told in a pass whose status write fails (a kill's window) is counted once, however often the pass repeats", async () => {
    // The status write refused: each pass tells the change from the last written status (none)
    // again, as the pass after a kill between its Events and its status write does.
    const ns = await env.cp.createNamespace("ev-repeat");
    const grant = (kind: "Role" | "ClusterRole", rules: Array<[string, string[], string[]]>): object => ({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind,
      metadata: { name: `ev-repeat-${ns}`, ...(kind === "Role" ? { namespace: ns } : {}) },
      rules: rules.map(([group, res, verbs]) => ({ apiGroups: [group], resources: res, verbs })),
    });
    const subject = [{ kind: "ServiceAccount", name: "ctl", namespace: ns }];
    const bind = (kind: "Role" | "ClusterRole"): object => ({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: kind === "Role" ? "RoleBinding" : "ClusterRoleBinding",
      metadata: { name: `ev-repeat-${ns}`, ...(kind === "Role" ? { namespace: ns } : {}) },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind, name: `ev-repeat-${ns}` },
      subjects: subject,
    });
    for (const o of [
      { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "ctl", namespace: ns } },
      grant("Role", [
        ["upgrade.cattle.io", ["plans"], ["list", "watch", "patch"]], // no plans/status
        ["", ["pods"], ["create", "delete", "watch"]],
        ["", ["secrets"], ["list", "watch"]],
        ["", ["events"], ["create", "get", "patch"]],
      ]),
      grant("ClusterRole", [
        ["", ["nodes"], ["list", "watch", "patch"]],
        ["", ["pods"], ["list"]],
      ]),
      bind("Role"),
      bind("ClusterRole"),
    ])
      assert.equal((await kubectlApply(env, o)).code, 0);
    const kubeconfig = await serviceAccountKubeconfig(env, ns, "ctl");
    const ctl = await runController(env, ns, {}, kubeconfig);
    try {
      await applyPlan(env, aPlan(ns, "repeat", { nodeSelector: { matchLabels: { "test.plan-runner.dev/ev-repeat": "none" } } }));
      await waitFor(async () => (await ctl.metrics.reconcileErrors.get()).values.reduce((n, v) => n + v.value, 0) >= 4, {
        timeoutMs: 60_000,
        what: "four passes whose status write failed",
      });
      const events = await eventsIn(ns);
      const told = ["Validated", "Resolved"].map((reason) => [reason, onPlan(events, "repeat", reason)[0]?.count]);
      assert.deepEqual(told, [
        ["Validated", 1],
        ["Resolved", 1],
      ]);
    } finally {
      await ctl.stop();
    }
  });
});
