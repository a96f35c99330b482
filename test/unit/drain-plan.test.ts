import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { DrainSpec } from "../../src/generated/plan.ts";
import { planDrain } from "../../src/controller/rollout/drain-plan.ts";
import type { Pod } from "../../src/controller/rollout/objects.ts";

const NOW = Date.parse("2026-06-01T00:00:00Z");

function aPod(
  name: string,
  opts: { owner?: string; labels?: Record<string, string>; emptyDir?: boolean; mirror?: boolean; deletingSince?: number; phase?: string } = {},
): Pod {
  return {
    metadata: {
      name,
      namespace: "app",
      labels: opts.labels ?? {},
      annotations: opts.mirror === true ? { "kubernetes.io/config.mirror": "x" } : {},
      ...(opts.owner !== undefined ? { ownerReferences: [{ apiVersion: "apps/v1", kind: opts.owner, name: "o", uid: "u", controller: true }] } : {}),
      ...(opts.deletingSince !== undefined ? { deletionTimestamp: new Date(opts.deletingSince).toISOString() } : {}),
    },
    spec: { nodeName: "n1", volumes: opts.emptyDir === true ? [{ name: "scratch", emptyDir: {} }] : [] },
    status: { phase: opts.phase ?? "Running" },
  };
}

const names = (pods: readonly Pod[]): string[] => pods.map((p) => p.metadata.name);

describe("planDrain: which pods a drain removes (kubectl drain's rules)", () => {
  const cases: Array<{ name: string; pods: Pod[]; spec: DrainSpec; evict: string[]; refused: RegExp[]; terminating?: string[]; protectedPods?: string[] }> = [
    { name: "ReplicaSet pods are evicted", pods: [aPod("web", { owner: "ReplicaSet" })], spec: {}, evict: ["web"], refused: [] },
    { name: "DaemonSet pods are skipped by default", pods: [aPod("agent", { owner: "DaemonSet" })], spec: {}, evict: [], refused: [] },
    {
      name: "DaemonSet pods refuse the drain when ignoreDaemonSets is false",
      pods: [aPod("agent", { owner: "DaemonSet" })],
      spec: { ignoreDaemonSets: false },
      evict: [],
      refused: [/DaemonSet/],
    },
    { name: "mirror pods are never touched", pods: [aPod("etcd", { mirror: true })], spec: { force: true }, evict: [], refused: [] },
    { name: "unmanaged pods need force", pods: [aPod("bare")], spec: {}, evict: [], refused: [/drain\.force/] },
    { name: "unmanaged pods go with force", pods: [aPod("bare")], spec: { force: true }, evict: ["bare"], refused: [] },
    {
      name: "emptyDir needs deleteEmptydirData",
      pods: [aPod("cache", { owner: "ReplicaSet", emptyDir: true })],
      spec: {},
      evict: [],
      refused: [/deleteEmptydirData/],
    },
    {
      name: "deleteLocalData is the old spelling",
      pods: [aPod("cache", { owner: "ReplicaSet", emptyDir: true })],
      spec: { deleteLocalData: true },
      evict: ["cache"],
      refused: [],
    },
    { name: "finished pods are removed without force", pods: [aPod("done", { phase: "Succeeded" })], spec: {}, evict: ["done"], refused: [] },
    {
      name: "the controller and upgrade pods are never evicted",
      pods: [aPod("ctl", { owner: "ReplicaSet", labels: { "upgrade.cattle.io/controller": "plan-runner" } })],
      spec: { force: true },
      evict: [],
      refused: [],
    },
    {
      name: "a protected pod (the controller itself) is never evicted",
      pods: [aPod("me", { owner: "ReplicaSet" })],
      spec: {},
      evict: [],
      refused: [],
      protectedPods: ["app/me"],
    },
    {
      name: "podSelector narrows the drain",
      pods: [aPod("a", { owner: "ReplicaSet", labels: { tier: "web" } }), aPod("b", { owner: "ReplicaSet", labels: { tier: "db" } })],
      spec: { podSelector: { matchLabels: { tier: "web" } } },
      evict: ["a"],
      refused: [],
    },
    {
      name: "terminating pods are waited for",
      pods: [aPod("going", { owner: "ReplicaSet", deletingSince: NOW - 5000 })],
      spec: {},
      evict: [],
      refused: [],
      terminating: ["going"],
    },
    {
      name: "skipWaitForDeleteTimeout stops waiting for long-terminating pods",
      pods: [aPod("stuck", { owner: "ReplicaSet", deletingSince: NOW - 120_000 })],
      spec: { skipWaitForDeleteTimeout: 60 },
      evict: [],
      refused: [],
      terminating: [],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const plan = planDrain(c.pods, c.spec, NOW, new Set(c.protectedPods ?? []));
      assert.deepEqual(names(plan.evict), c.evict);
      assert.equal(plan.refusals.length, c.refused.length, plan.refusals.join("; "));
      c.refused.forEach((re, i) => assert.match(plan.refusals[i] ?? "", re));
      assert.deepEqual(names(plan.terminating), c.terminating ?? []);
    });
  }
});
