// The controller's whole pure decision for one reconcile — every node's step, admission,
// conditions, status — over API-shaped nodes (what the informer cache holds), with pods in flight.
import { performance } from "node:perf_hooks";
import { decide } from "../../src/controller/rollout/decide.ts";
import type { Node } from "../../src/controller/rollout/objects.ts";
import { podFacts } from "../../src/controller/rollout/pod-facts.ts";
import { renderContext, renderForPlan } from "../../src/controller/rollout/render-for-plan.ts";
import { ControllerDefaults } from "../../src/controller/wiring/defaults.ts";
import { compilePlan } from "../../src/plan/compile.ts";
import { type Bench, type BenchTable, median } from "./bench.ts";
import { benchPlan, fleet } from "./decide.ts";

const HASH = "4f6c1f8cb3a2d0e7a1b9c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8";
const SIZES = [1_000, 10_000, 100_000];
const compiled = compilePlan(benchPlan, ControllerDefaults);

function world(n: number): { nodes: Node[]; pods: ReturnType<typeof podFacts>[]; render: ReturnType<typeof renderForPlan> } {
  const views = fleet(n);
  const nodes: Node[] = views.map((v) => ({
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: v.name, uid: v.uid, labels: { ...v.labels }, annotations: {} },
    spec: {},
    status: { conditions: [{ type: "Ready", status: "True", lastTransitionTime: "2026-01-01T00:00:00Z" }] },
  }));
  const render = renderForPlan(compiled, renderContext(ControllerDefaults, HASH, "v1.31.1"));
  const inFlight = nodes
    .filter((x) => x.metadata.labels?.["plan.upgrade.cattle.io/k8s"] !== HASH && x.metadata.labels?.["plan.upgrade.cattle.io/k8s"] !== "disabled")
    .slice(0, 8);
  const pods = inFlight.map((node) => podFacts({ ...render.apply(node, 1), status: { phase: "Running" } }));
  return { nodes, pods, render };
}

export const decideFullBench: Bench = {
  name: "decide-full",
  description: "the controller's whole decide() for one reconcile",
  run(): BenchTable {
    const rows: Array<Array<string | number>> = [];
    for (const n of SIZES) {
      const { nodes, pods, render } = world(n);
      const once = (): { ms: number; actions: number } => {
        const t0 = performance.now();
        const d = decide({
          plan: compiled,
          problems: [],
          resolution: { version: "v1.31.1", source: "Version" },
          hash: { value: HASH },
          nodes,
          pods: pods.filter((p) => p !== undefined),
          afterPending: [],
          exclusiveBusy: new Set(),
          render,
          now: Date.parse("2026-06-01T00:00:00Z"),
          config: { pollIntervalMs: 300_000, podTtlMs: 3_600_000, defaultRetries: 2, defaultBackoffMs: 30_000 },
        });
        return { ms: performance.now() - t0, actions: d.actions.length };
      };
      for (let i = 0; i < 3; i++) once();
      const runs = Array.from({ length: 7 }, once);
      rows.push([n.toLocaleString("en-US"), runs[0]?.actions ?? 0, median(runs.map((r) => r.ms)).toFixed(2), Math.max(...runs.map((r) => r.ms)).toFixed(2)]);
    }
    return {
      title: `decide-full: ${this.description} (median of 7 after 3 warm-up runs; 8 nodes in flight, concurrency 10)`,
      columns: ["nodes", "actions", "median ms", "max ms"],
      rows,
    };
  },
};
