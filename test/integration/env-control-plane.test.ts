// Proves the test environment is a real cluster: the API server, controller manager and
// scheduler do their jobs, and kwok plays the kubelet of every simulated node.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { AppsV1Api, CoordinationV1Api, CoreV1Api, PolicyV1Api } from "@kubernetes/client-node";
import type { V1Pod, V1ReplicaSet } from "@kubernetes/client-node";
import { startControlPlane } from "../env/control-plane.ts";
import type { ControlPlane } from "../env/control-plane.ts";
import { simulatedOutcome } from "../env/pod-outcome.ts";
import type { SimulatedOutcome } from "../env/pod-outcome.ts";
import { waitFor } from "../env/wait.ts";

const WAIT = { timeoutMs: 30_000 };

let cp: ControlPlane;
let core: CoreV1Api;
let apps: AppsV1Api;
let policy: PolicyV1Api;
let ns: string;

before(async () => {
  cp = await startControlPlane({ nodes: 5 });
  core = cp.kubeConfig.makeApiClient(CoreV1Api);
  apps = cp.kubeConfig.makeApiClient(AppsV1Api);
  policy = cp.kubeConfig.makeApiClient(PolicyV1Api);
  ns = await cp.createNamespace("env");
});

after(async () => {
  await cp?.stop();
});

function podOnNode(name: string, node: string, o: SimulatedOutcome & { initContainers?: string[] } = {}): V1Pod {
  const { initContainers, ...outcome } = o;
  return {
    metadata: { name, namespace: ns, annotations: simulatedOutcome(outcome) },
    spec: {
      nodeName: node,
      restartPolicy: "Never",
      tolerations: [{ operator: "Exists" }],
      ...(initContainers ? { initContainers: initContainers.map((c) => ({ name: c, image: "busybox" })) } : {}),
      containers: [{ name: "upgrade", image: "busybox" }],
    },
  };
}

function replicaSet(name: string, replicas: number): V1ReplicaSet {
  return {
    metadata: { name, namespace: ns },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "app", image: "nginx" }] },
      },
    },
  };
}

const status = (e: unknown): number | undefined => (typeof e === "object" && e !== null && "code" in e && typeof e.code === "number" ? e.code : undefined);

async function runningPods(app: string): Promise<V1Pod[]> {
  const list = await core.listNamespacedPod({ namespace: ns, labelSelector: `app=${app}` });
  return list.items.filter((p) => p.status?.phase === "Running" && p.metadata?.deletionTimestamp === undefined);
}

function evict(name: string): Promise<unknown> {
  return core.createNamespacedPodEviction({
    name,
    namespace: ns,
    body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name, namespace: ns } },
  });
}

describe("control plane environment", () => {
  test("creates 1 control-plane and 4 worker nodes, all Ready with realistic labels and addresses", async () => {
    const nodes = (await core.listNode()).items;
    assert.deepEqual(nodes.map((n) => n.metadata?.name).sort(), ["control-plane-1", "worker-1", "worker-2", "worker-3", "worker-4"]);
    for (const n of nodes) {
      const labels = n.metadata?.labels ?? {};
      assert.equal(labels["kubernetes.io/hostname"], n.metadata?.name);
      assert.equal(labels["kubernetes.io/os"], "linux");
      assert.equal(labels["kubernetes.io/arch"], "amd64");
      assert.equal(n.status?.conditions?.find((c) => c.type === "Ready")?.status, "True");
      assert.match(n.status?.addresses?.find((a) => a.type === "InternalIP")?.address ?? "", /^\d+\.\d+\.\d+\.\d+$/);
      assert.equal(n.status?.nodeInfo?.kubeletVersion, cp.version);
    }
    const roles = nodes.map((n) => Object.keys(n.metadata?.labels ?? {}).find((k) => k.startsWith("node-role.kubernetes.io/")));
    assert.deepEqual(roles.sort(), ["node-role.kubernetes.io/control-plane", ...Array<string>(4).fill("node-role.kubernetes.io/worker")]);
  });

  test("nodes heartbeat through their Lease", async () => {
    const nodes = await core.listNode();
    const leases = await cp.kubeConfig.makeApiClient(CoordinationV1Api).listNamespacedLease({ namespace: "kube-node-lease" });
    assert.deepEqual(leases.items.map((l) => l.metadata?.name).sort(), nodes.items.map((n) => n.metadata?.name).sort());
    for (const l of leases.items) assert.ok(l.spec?.renewTime, `lease ${l.metadata?.name} renewed`);
  });

  const outcomes: {
    name: string;
    outcome: SimulatedOutcome & { initContainers?: string[] };
    phase: string;
    exitCode: number;
    reason: string;
    container?: string;
  }[] = [
    { name: "default-succeeds", outcome: {}, phase: "Succeeded", exitCode: 0, reason: "Completed" },
    { name: "gate-refuses", outcome: { exitCode: 4, message: "compat gate: minor skew" }, phase: "Failed", exitCode: 4, reason: "Error" },
    { name: "gate-retries", outcome: { outcome: "fail", exitCode: 2 }, phase: "Failed", exitCode: 2, reason: "Error" },
    { name: "with-init", outcome: { initContainers: ["prepare"] }, phase: "Succeeded", exitCode: 0, reason: "Completed" },
    {
      name: "init-fails",
      outcome: { initContainers: ["prepare", "drain"], failInitContainer: "prepare", exitCode: 4 },
      phase: "Failed",
      exitCode: 4,
      reason: "Error",
      container: "prepare",
    },
  ];
  for (const c of outcomes) {
    test(`a pod on a simulated node ends as annotated: ${c.name} -> ${c.phase}, exit ${c.exitCode}`, async () => {
      await core.createNamespacedPod({ namespace: ns, body: podOnNode(c.name, "worker-1", c.outcome) });
      const pod = await waitFor(
        async () => {
          const p = await core.readNamespacedPod({ name: c.name, namespace: ns });
          return p.status?.phase === c.phase ? p : undefined;
        },
        { ...WAIT, what: `pod ${c.name} to be ${c.phase}` },
      );
      const statuses = c.container === undefined ? pod.status?.containerStatuses : pod.status?.initContainerStatuses;
      const terminated = statuses?.find((s) => s.name === (c.container ?? "upgrade"))?.state?.terminated;
      assert.equal(terminated?.exitCode, c.exitCode);
      assert.equal(terminated?.reason, c.reason);
      if (c.outcome.message !== undefined) assert.equal(terminated?.message, c.outcome.message);
      assert.ok(pod.status?.podIP, "the pod got an IP");
    });
  }

  test("a hanging pod keeps running", async () => {
    await core.createNamespacedPod({ namespace: ns, body: podOnNode("hangs", "worker-2", { outcome: "hang", runForMs: 0 }) });
    await waitFor(async () => (await core.readNamespacedPod({ name: "hangs", namespace: ns })).status?.phase === "Running", {
      ...WAIT,
      what: "pod hangs to be Running",
    });
    // A pod that would end does so 0ms after Running; this one is still Running after another
    // pod, created later, has already completed.
    await core.createNamespacedPod({ namespace: ns, body: podOnNode("marker", "worker-2", { runForMs: 0 }) });
    await waitFor(async () => (await core.readNamespacedPod({ name: "marker", namespace: ns })).status?.phase === "Succeeded", {
      ...WAIT,
      what: "pod marker to be Succeeded",
    });
    assert.equal((await core.readNamespacedPod({ name: "hangs", namespace: ns })).status?.phase, "Running");
  });

  test("kubectl logs shows the lines a test gave a simulated container", async () => {
    await waitFor(async () => (await core.readNamespacedPod({ name: "default-succeeds", namespace: ns })).status?.phase === "Succeeded", {
      ...WAIT,
      what: "pod default-succeeds to exist",
    });
    await cp.setPodLogs(ns, "default-succeeds", ["upgrading node worker-1", "done"], "upgrade");
    const text = await waitFor(
      async () => {
        const r = await cp.kubectl(["logs", "-n", ns, "default-succeeds", "-c", "upgrade"]);
        return r.code === 0 && r.stdout.includes("done") ? r.stdout : undefined;
      },
      { ...WAIT, what: "kubectl logs to show the set lines" },
    );
    assert.equal(text, "upgrading node worker-1\ndone\n");
  });

  test("an eviction blocked by a PDB gets 429; without a PDB the pod is evicted and its ReplicaSet replaces it", async () => {
    await apps.createNamespacedReplicaSet({ namespace: ns, body: replicaSet("guarded", 2) });
    await apps.createNamespacedReplicaSet({ namespace: ns, body: replicaSet("free", 2) });
    await policy.createNamespacedPodDisruptionBudget({
      namespace: ns,
      body: { metadata: { name: "guarded" }, spec: { minAvailable: 2, selector: { matchLabels: { app: "guarded" } } } },
    });
    const guarded = await waitFor(
      async () => {
        const pods = await runningPods("guarded");
        return pods.length === 2 ? pods : undefined;
      },
      { ...WAIT, what: "2 guarded pods Running" },
    );
    // The disruption controller must have computed the budget: a 429 from an unprocessed PDB
    // would prove nothing about kube-controller-manager.
    await waitFor(
      async () => {
        const pdb = await policy.readNamespacedPodDisruptionBudget({ name: "guarded", namespace: ns });
        return pdb.status?.observedGeneration === pdb.metadata?.generation && pdb.status?.currentHealthy === 2;
      },
      { ...WAIT, what: "PDB guarded status computed with 2 healthy pods" },
    );

    const refused = await evict(guarded[0]?.metadata?.name ?? "").then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.equal(status(refused), 429);

    const free = await waitFor(
      async () => {
        const pods = await runningPods("free");
        return pods.length === 2 ? pods : undefined;
      },
      { ...WAIT, what: "2 free pods Running" },
    );
    const victim = free[0]?.metadata?.name ?? "";
    await evict(victim);
    await waitFor(
      async () => {
        const pods = await runningPods("free");
        return pods.length === 2 && pods.every((p) => p.metadata?.name !== victim) ? pods : undefined;
      },
      { ...WAIT, what: `the ReplicaSet to replace evicted pod ${victim}` },
    );
    await waitFor(
      () =>
        core.readNamespacedPod({ name: victim, namespace: ns }).then(
          () => false,
          (e: unknown) => status(e) === 404,
        ),
      { ...WAIT, what: `evicted pod ${victim} to be gone` },
    );
  });

  test("garbage collection removes a deleted ReplicaSet's pods", async () => {
    await apps.createNamespacedReplicaSet({ namespace: ns, body: replicaSet("collected", 2) });
    await waitFor(async () => (await runningPods("collected")).length === 2, { ...WAIT, what: "2 collected pods Running" });
    await apps.deleteNamespacedReplicaSet({ name: "collected", namespace: ns, body: { propagationPolicy: "Background" } });
    await waitFor(async () => (await core.listNamespacedPod({ namespace: ns, labelSelector: "app=collected" })).items.length === 0, {
      ...WAIT,
      what: "the garbage collector to delete the ReplicaSet's pods",
    });
  });

  test("a node can join and leave", async () => {
    const joined = await cp.addNode({ name: "worker-5" });
    assert.equal(joined.metadata?.labels?.["node-role.kubernetes.io/worker"], "");
    await core.createNamespacedPod({ namespace: ns, body: podOnNode("on-new-node", "worker-5") });
    await waitFor(async () => (await core.readNamespacedPod({ name: "on-new-node", namespace: ns })).status?.phase === "Succeeded", {
      ...WAIT,
      what: "a pod on the joined node to succeed",
    });
    await cp.removeNode("worker-5");
    const names = (await core.listNode()).items.map((n) => n.metadata?.name);
    assert.ok(!names.includes("worker-5"));
  });

  test("deleting a namespace finishes", async () => {
    await core.deleteNamespace({ name: ns });
    await waitFor(
      () =>
        core.readNamespace({ name: ns }).then(
          () => false,
          (e: unknown) => status(e) === 404,
        ),
      { timeoutMs: 60_000, what: `namespace ${ns} to be deleted` },
    );
  });
});
