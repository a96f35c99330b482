// deploy/monitoring: the alert rules load in a real promtool, fire (and stay quiet) as their
// unit tests say, and name only metrics the controller exports.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { parse } from "yaml";
import { Metrics } from "../../src/controller/wiring/metrics.ts";

const dir = fileURLToPath(new URL("../../deploy/monitoring/", import.meta.url));
const run = promisify(execFile);

async function promtool(args: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await run("promtool", args, { cwd: dir });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (e: unknown) {
    const err = e as { code?: number | string; stdout?: string; stderr?: string };
    if (err.code === "ENOENT") throw new Error("promtool not found: run scripts/setup-executors.sh (it installs Debian's prometheus package)");
    return { code: typeof err.code === "number" ? err.code : 1, out: `${err.stdout ?? ""}${err.stderr ?? ""}` };
  }
}

describe("deploy/monitoring alert rules", () => {
  it("are valid rules and pass their promtool unit tests (Blocked alerts, Held does not)", async () => {
    const check = await promtool(["check", "rules", "plan-runner.rules.yaml"]);
    assert.equal(check.code, 0, check.out);
    const test = await promtool(["test", "rules", "plan-runner.rules.test.yaml"]);
    assert.equal(test.code, 0, test.out);
  });

  it("use only metrics the controller exports", async () => {
    const metrics = await new Metrics(false).registry.getMetricsAsJSON();
    const exported = new Set(metrics.flatMap((m) => [m.name, `${m.name}_count`, `${m.name}_sum`, `${m.name}_bucket`]));
    // Only the expressions: the label plan_runner_gate (which the alerts gate skips) is no metric.
    const doc = parse(readFileSync(`${dir}plan-runner.rules.yaml`, "utf8")) as { groups: Array<{ rules: Array<{ expr: string }> }> };
    const rules = doc.groups.flatMap((g) => g.rules.map((r) => r.expr)).join("\n");
    const used = [...new Set([...rules.matchAll(/\b(plan_runner_[A-Za-z0-9_]+)\b/g)].map((m) => m[1] ?? ""))];
    assert.ok(used.length >= 5);
    for (const name of used) assert.ok(exported.has(name), `${name} is not a metric of the controller`);
  });
});
