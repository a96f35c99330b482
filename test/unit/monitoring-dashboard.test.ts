// deploy/monitoring/plan-runner.dashboard.json: valid Grafana dashboard JSON whose every query
// names only metrics the controller exports, read from its own registry (the one /metrics
// serves), so a renamed or removed metric fails here rather than as an empty panel.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Metrics } from "../../src/controller/wiring/metrics.ts";

const file = fileURLToPath(new URL("../../deploy/monitoring/plan-runner.dashboard.json", import.meta.url));

interface Target {
  refId?: unknown;
  expr?: unknown;
  datasource?: unknown;
}
interface Panel {
  type?: unknown;
  title?: unknown;
  datasource?: unknown;
  gridPos?: Record<string, unknown>;
  targets?: Target[];
  panels?: Panel[];
}

/** The series names a PromQL expression reads: what is left once functions, keywords, label matchers, ranges and grouping clauses are taken out. */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
    .replace(/\boffset\s+-?\w+/g, " ");
  const keywords = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset", "inf", "nan"]);
  const names = new Set<string>();
  for (const m of stripped.matchAll(/(?<![\w$.])([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?/g)) {
    const [, name, call] = m;
    if (name === undefined || call !== undefined || keywords.has(name.toLowerCase())) continue;
    names.add(name);
  }
  return [...names].sort();
}

/** Every name a scrape of the controller's /metrics can carry, by metric type. */
async function exportedNames(): Promise<Set<string>> {
  const out = new Set<string>();
  for (const m of await new Metrics().registry.getMetricsAsJSON()) {
    out.add(m.name);
    const type = String(m.type);
    if (type === "histogram") for (const s of ["_bucket", "_sum", "_count"]) out.add(`${m.name}${s}`);
    if (type === "summary") for (const s of ["_sum", "_count"]) out.add(`${m.name}${s}`);
  }
  return out;
}

function allPanels(panels: readonly Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

const dashboard = JSON.parse(readFileSync(file, "utf8")) as {
  title?: unknown;
  uid?: unknown;
  schemaVersion?: unknown;
  panels?: Panel[];
  templating?: { list?: Array<{ name?: unknown; type?: unknown; query?: unknown; datasource?: unknown }> };
};
const panels = allPanels(dashboard.panels ?? []).filter((p) => p.type !== "row");
const queries = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: String(p.title), expr: String(t.expr) })));
const variables = dashboard.templating?.list ?? [];

describe("deploy/monitoring dashboard", () => {
  it("reads the metric names out of PromQL, and nothing else", () => {
    const cases: Array<[string, string[]]> = [
      ['sum by (plan) (rate(plan_runner_x_total{plan=~"$plan",state="a b"}[$__rate_interval]))', ["plan_runner_x_total"]],
      ["histogram_quantile(0.95, sum by (le) (rate(a_bucket[5m])))", ["a_bucket"]],
      ["(time() - b_seconds) and (b_seconds > 0) or on (plan) c offset 1h", ["b_seconds", "c"]],
      ['count(count by (version) (label_replace(kube_node_info, "version", "$1", "kubelet_version", "(.*)")))', ["kube_node_info"]],
      ["sum(plan_runner_leader) == bool 1", ["plan_runner_leader"]],
    ];
    for (const [expr, names] of cases) assert.deepEqual(metricNames(expr), names, expr);
  });

  it("is Grafana dashboard JSON: a title, a uid, a schema version, panels with a datasource and targets with expr", () => {
    assert.equal(typeof dashboard.title, "string");
    assert.match(String(dashboard.uid), /^[A-Za-z0-9_-]{1,40}$/);
    assert.equal(typeof dashboard.schemaVersion, "number");
    assert.ok(panels.length >= 8, `${panels.length} panels`);
    const datasourceVariables = new Set(variables.filter((v) => v.type === "datasource" && v.query === "prometheus").map((v) => `\${${String(v.name)}}`));
    assert.ok(datasourceVariables.size > 0, "a Prometheus datasource variable, so the dashboard imports into any Grafana");
    const ids = new Set<unknown>();
    for (const p of panels) {
      const what = `panel "${String(p.title)}"`;
      assert.equal(typeof p.type, "string", what);
      assert.equal(typeof p.title, "string", what);
      const ds = p.datasource as { type?: unknown; uid?: unknown } | undefined;
      assert.equal(ds?.type, "prometheus", `${what}: datasource`);
      assert.ok(datasourceVariables.has(String(ds.uid)), `${what}: datasource ${String(ds.uid)} is the dashboard's variable`);
      for (const k of ["x", "y", "w", "h"]) assert.equal(typeof p.gridPos?.[k], "number", `${what}: gridPos.${k}`);
      assert.ok((p.gridPos?.["x"] as number) + (p.gridPos?.["w"] as number) <= 24, `${what}: fits the 24-column grid`);
      assert.ok((p.targets ?? []).length > 0, `${what}: targets`);
      const refIds = (p.targets ?? []).map((t) => t.refId);
      assert.equal(new Set(refIds).size, refIds.length, `${what}: refIds unique`);
      for (const t of p.targets ?? []) {
        assert.equal(typeof t.refId, "string", `${what}: refId`);
        assert.ok(typeof t.expr === "string" && t.expr.trim() !== "", `${what}: target ${String(t.refId)} has an expr`);
      }
      ids.add((p as { id?: unknown }).id);
    }
    assert.equal(ids.size, panels.length, "panel ids unique");
  });

  it("every query (and the Plan variable) names only metrics the controller's registry exports", async () => {
    const exported = await exportedNames();
    const planVariable = variables.find((v) => v.name === "plan");
    const variableQuery = (planVariable?.query as { query?: string } | undefined)?.query ?? "";
    assert.match(variableQuery, /^label_values\(/);
    for (const { panel, expr } of [...queries, { panel: "variable plan", expr: variableQuery.replace(/^label_values\(([^,)]+).*$/, "$1") }]) {
      const names = metricNames(expr);
      assert.ok(names.length > 0, `${panel}: ${expr} reads no metric`);
      for (const n of names) assert.ok(exported.has(n), `${panel}: ${n} is not a metric the controller exports`);
    }
  });

  it("shows what the issue asks of it: progress and nodes by state, durations, failures, every gate state", () => {
    const used = new Set(queries.flatMap((q) => metricNames(q.expr)));
    for (const m of [
      "plan_runner_plan_nodes",
      "plan_runner_plan_in_flight",
      "plan_runner_node_upgrade_duration_seconds_bucket",
      "plan_runner_node_failures_total",
      "plan_runner_plan_held",
      "plan_runner_plan_blocked",
      "plan_runner_plan_halted",
      "plan_runner_plan_complete",
      "plan_runner_notification_failures_total",
    ]) {
      assert.ok(used.has(m), `no panel shows ${m}`);
    }
  });
});
