// What a platform engineer sees on the real API server while Plans wait, stop and are retried
// (issue 10, items 1-4 and 15): kubectl's columns, plan-runner status, Events, metrics.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { run as retry } from "../../src/cli/commands/retry.ts";
import { renderStatus } from "../../src/cli/commands/status.ts";
import { bufferIO } from "../../src/cli/io.ts";
import { resources } from "../../src/controller/kube/ports.ts";
import type { KubeObject, Node } from "../../src/controller/rollout/objects.ts";
import type { PlanObject } from "../../src/controller/wiring/reconciler.ts";
import { waitFor } from "../env/wait.ts";
import { type Env, type RunningController, aPlan, applyPlan, condition, getNode, optIn, runController, startEnv, waitForPlan } from "./controller-env.ts";

let env: Env;
let ns: string;
let ctl: RunningController;
let workers: string[];
before(async () => {
  env = await startEnv(7, 1);
  ns = await env.cp.createNamespace("ops");
  workers = (await env.kube.list(resources.nodes, undefined)).items
    .map((n) => n.metadata.name)
    .filter((n) => n.startsWith("worker"))
    .sort();
  ctl = await runController(env, ns);
});
after(async () => {
  await ctl?.stop();
  await env?.stop();
});

const selecting = (label: string) => ({ nodeSelector: { matchLabels: { [label]: "yes" } } });
const kubectl = async (...args: string[]): Promise<string> => {
  const r = await env.cp.kubectl(args);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
};
/** One row of `kubectl get plans -o wide`, cut at the header's columns. */
async function wideRow(name: string): Promise<Record<string, string>> {
  const [header = "", ...rows] = (await kubectl("get", "plans", "-n", ns, "-o", "wide")).split("\n");
  const row = rows.find((r) => r.startsWith(`${name} `)) ?? "";
  const starts = [...header.matchAll(/\S+/g)].map((m) => ({ name: m[0], at: m.index }));
  return Object.fromEntries(starts.map((c, i) => [c.name, row.slice(c.at, starts[i + 1]?.at).trim()]));
}
const nodesInState = async (plan: string, state: string): Promise<number> =>
  (await ctl.metrics.planNodes.get()).values.find((v) => v.labels["plan"] === plan && v.labels["state"] === state)?.value ?? -1;
/** Events about an object, in any namespace (a Node's are not in the Plan's). */
const events = async (object: string, reason: string) =>
  (
    await env.kube.list<KubeObject & { reason?: string; message?: string; type?: string }>(resources.events, undefined, {
      fieldSelector: `involvedObject.name=${object}`,
    })
  ).items.filter((e) => e.reason === reason);
async function status(): Promise<string> {
  const plans = (await env.kube.list<PlanObject>(resources.plans, ns)).items;
  return renderStatus(plans, (await env.kube.list<Node>(resources.nodes, undefined)).items);
}

describe("kubectl get plans: SUC's columns", () => {
  it("keeps VERSION, PROGRESS, STATE, AGE; -o wide adds IMAGE, CHANNEL, COMPLETE, APPLYING, WAITING, MESSAGE", async () => {
    const label = "test.plan-runner.dev/columns";
    await optIn(env, [workers[0]!], label);
    await applyPlan(env, aPlan(ns, "columns", selecting(label)));
    await waitForPlan(env, ns, "columns", "Complete", (p) => condition(p, "Complete")?.status === "True");
    const header = (await kubectl("get", "plans", "-n", ns)).split("\n")[0]?.trim().split(/\s+/);
    assert.deepEqual(header, ["NAME", "VERSION", "PROGRESS", "STATE", "AGE"]);
    const wide = (await kubectl("get", "plans", "-n", ns, "-o", "wide")).split("\n")[0]?.trim().split(/\s+/);
    assert.deepEqual(wide, ["NAME", "VERSION", "PROGRESS", "STATE", "AGE", "IMAGE", "CHANNEL", "COMPLETE", "APPLYING", "WAITING", "MESSAGE"]);
    const row = await wideRow("columns");
    assert.equal(row["IMAGE"], "example.com/upgrade");
    assert.equal(row["COMPLETE"], "True");
    assert.equal(row["STATE"], "Complete");
  });
});

describe("waiting states: visible with their end", () => {
  it("a soaking node is uncordoned, shows soaking and until when in -o wide, status and the metric", async () => {
    const label = "test.plan-runner.dev/soak";
    await optIn(env, workers.slice(1, 3), label);
    await applyPlan(
      env,
      aPlan(ns, "soak", { ...selecting(label), concurrency: 1, drain: { timeout: "1m" }, gates: { health: { soak: "10m", timeout: "15m" } } }),
    );
    const soaking = await waitForPlan(env, ns, "soak", "a node soaking", (p) => (p.status?.waits ?? []).some((w) => w.reason === "Soaking"));
    const wait = soaking.status?.waits?.find((w) => w.reason === "Soaking");
    const node = wait?.node ?? "";
    assert.ok(workers.slice(1, 3).includes(node), node);
    const row = await wideRow("soak");
    assert.equal(row["STATE"], "Applying");
    assert.equal(row["WAITING"], `${node} soaking until ${wait?.until}`);
    assert.equal(row["PROGRESS"], "0/2");
    await waitFor(async () => (await getNode(env, node)).spec?.unschedulable !== true, { timeoutMs: 30_000, what: `node ${node} uncordoned for its soak` });
    assert.match(
      await status(),
      new RegExp(`^ {2}${node} +soaking {2}node ${node} upgraded; it and its pods must stay Ready until ${wait?.until} .*\\(\\d+m\\d*s? left\\)$`, "m"),
    );
    await waitFor(async () => (await nodesInState("soak", "soaking")) === 1, { timeoutMs: 10_000, what: "plan_runner_plan_nodes{state=soaking} = 1" });
    // Step Events are on the Plan, one object per reason, naming the node (docs/architecture.md, "Events").
    const uncordoned = await events("soak", "Uncordoned");
    assert.ok(
      uncordoned.some((e) => /soaks 10m/.test(e.message ?? "") && (e.message ?? "").includes(node)),
      uncordoned.map((e) => e.message).join("; "),
    );
  });

  it("a node waiting to retry is in backoff: -o wide says when the next attempt starts", async () => {
    const label = "test.plan-runner.dev/backoff";
    await optIn(env, [workers[3]!], label);
    await applyPlan(
      env,
      aPlan(ns, "backoff", { ...selecting(label), failurePolicy: { retries: 2, backoff: "10m" } }, { "sim.plan-runner.dev/exit-code": "1" }),
    );
    const p = await waitForPlan(env, ns, "backoff", "a node in backoff", (x) => (x.status?.waits ?? []).some((w) => w.reason === "Backoff"));
    const wait = p.status?.waits?.find((w) => w.reason === "Backoff");
    assert.equal((await wideRow("backoff"))["WAITING"], `${workers[3]} retries at ${wait?.until}`);
    assert.match(await status(), new RegExp(`^ {2}${workers[3]} +backoff {2}attempt 1 of 3 failed; the next starts at ${wait?.until}`, "m"));
    await waitFor(async () => (await nodesInState("backoff", "backoff")) === 1, { timeoutMs: 10_000, what: "plan_runner_plan_nodes{state=backoff} = 1" });
  });
});

describe("Held, Blocked, Halted", () => {
  it("an unreachable Prometheus blocks the Plan (one Warning Blocked Event), never halts it", async () => {
    const label = "test.plan-runner.dev/prom";
    await optIn(env, [workers[4]!], label);
    await applyPlan(env, aPlan(ns, "prom", { ...selecting(label), gates: { prometheus: { url: "http://127.0.0.1:9" } } }));
    const p = await waitForPlan(env, ns, "prom", "Blocked", (x) => x.status?.state === "Blocked");
    assert.equal(condition(p, "Blocked")?.reason, "AlertsUnknown");
    assert.equal(condition(p, "Halted")?.status, "False");
    const blocked = await waitFor(async () => ((await events("prom", "Blocked")).length > 0 ? events("prom", "Blocked") : undefined), {
      timeoutMs: 10_000,
      what: "a Blocked Event",
    });
    assert.equal(blocked[0]?.type, "Warning");
    assert.equal((await events("prom", "Halted")).length, 0);
  });
});

describe("retry after a halt, without editing the spec", () => {
  it("plan-runner retry PLAN: one RetryRequested Event, the node upgraded; a restarted controller does not apply it again", async () => {
    const label = "test.plan-runner.dev/retry";
    await optIn(env, [workers[5]!], label);
    const spec = { ...selecting(label), cordon: true, failurePolicy: { retries: 0 } };
    await applyPlan(env, aPlan(ns, "retried", spec, { "sim.plan-runner.dev/exit-code": "1" }));
    await waitForPlan(env, ns, "retried", "Halted", (x) => x.status?.state === "Halted");
    // The cause is mended outside the Plan's spec (here: the simulated failure goes away).
    await applyPlan(env, aPlan(ns, "retried", spec, {}));
    const io = bufferIO();
    assert.equal(await retry(["retried", "-n", ns, "--kubeconfig", env.cp.kubeconfigPath], io), 0, io.stderr());
    assert.match(io.stdout(), /annotated plan-runner\.dev\/retry=/);
    const done = await waitForPlan(env, ns, "retried", "Complete after the retry", (x) => condition(x, "Complete")?.status === "True");
    assert.equal(done.metadata.generation, 1, "the spec was never edited");
    const asked = await waitFor(async () => ((await events("retried", "RetryRequested")).length > 0 ? events("retried", "RetryRequested") : undefined), {
      timeoutMs: 10_000,
      what: "a RetryRequested Event",
    });
    assert.equal(asked.length, 1);
    assert.match(asked[0]?.message ?? "", new RegExp(`node\\(s\\) ${workers[5]} start again`));
    await ctl.stop();
    ctl = await runController(env, ns);
    await waitForPlan(env, ns, "columns", "the new controller at work", (x) => (x.status?.observedGeneration ?? 0) >= 1);
    const again = await waitForPlan(env, ns, "retried", "still Complete", (x) => condition(x, "Complete")?.status === "True");
    assert.equal((await events("retried", "RetryRequested")).length, 1, "applied once, across a restart");
    assert.equal(again.status?.retry?.token, done.status?.retry?.token);
  });

  it("plan-runner retry PLAN NODE: that node starts again, named in the Event", async () => {
    const label = "test.plan-runner.dev/node-retry";
    const node = workers[4]!;
    await optIn(env, [node], label);
    const spec = { ...selecting(label), failurePolicy: { retries: 0 } };
    await applyPlan(env, aPlan(ns, "node-retry", spec, { "sim.plan-runner.dev/exit-code": "1" }));
    await waitForPlan(env, ns, "node-retry", "Halted", (x) => x.status?.state === "Halted");
    await applyPlan(env, aPlan(ns, "node-retry", spec, {}));
    const io = bufferIO();
    assert.equal(await retry(["node-retry", node, "-n", ns, "--kubeconfig", env.cp.kubeconfigPath], io), 0, io.stderr());
    assert.equal((await getNode(env, node)).metadata.annotations?.["retry.plan-runner.dev/node-retry"] !== undefined, true);
    await waitForPlan(env, ns, "node-retry", "Complete after the retry", (x) => condition(x, "Complete")?.status === "True");
    const asked = await waitFor(async () => ((await events("node-retry", "RetryRequested")).length > 0 ? events("node-retry", "RetryRequested") : undefined), {
      timeoutMs: 10_000,
      what: "a RetryRequested Event",
    });
    assert.match(asked[0]?.message ?? "", new RegExp(`on node ${node}: node ${node} starts again`));
  });

  it("plan-runner retry names a Plan that does not exist and exits 1", async () => {
    const io = bufferIO();
    assert.equal(await retry(["no-such-plan", "-n", ns, "--kubeconfig", env.cp.kubeconfigPath], io), 1);
    assert.match(io.stderr(), new RegExp(`Plan ${ns}/no-such-plan not found`));
  });
});

describe("a disabled node", () => {
  it("counts as skipped: 2/3 and Complete, not 2/2", async () => {
    const label = "test.plan-runner.dev/disabled";
    const nodes = [workers[0]!, workers[4]!, workers[5]!];
    await optIn(env, nodes, label);
    await env.kube.patch(resources.nodes, undefined, nodes[2]!, { metadata: { labels: { "plan.upgrade.cattle.io/disabled": "disabled" } } });
    await applyPlan(env, aPlan(ns, "disabled", { ...selecting(label), concurrency: 2 }));
    const p = await waitForPlan(env, ns, "disabled", "Complete", (x) => condition(x, "Complete")?.status === "True");
    const row = await wideRow("disabled");
    assert.equal(row["PROGRESS"], "2/3");
    assert.equal(row["STATE"], "Complete");
    assert.equal(p.status?.counts?.skipped, 1);
    assert.match(await status(), new RegExp(`^ {2}${nodes[2]} +skipped {2}labelled disabled for this Plan$`, "m"));
  });
});
