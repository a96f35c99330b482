// The notification webhook (--notify-secret) against the real API server: the messages a
// receiver on 127.0.0.1 gets for a rollout, a failed node and a halt; none repeated by a
// restarted controller; the URL in no log, Event or status; and a receiver that hangs or
// answers 500 never holds a rollout back.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { KubeAdapter } from "../../src/controller/kube/adapter.ts";
import { resources } from "../../src/controller/kube/ports.ts";
import type { Secret } from "../../src/controller/rollout/objects.ts";
import { Metrics } from "../../src/controller/wiring/metrics.ts";
import { Controller } from "../../src/controller/wiring/process.ts";
import { waitFor } from "../env/wait.ts";
import { type Env, aPlan, applyPlan, condition, listPods, optIn, startEnv, testConfig, waitForPlan, keptLogger } from "./controller-env.ts";

/** What the receiver got, per path; how it answers, per path ("ok", "hang", or a status code). */
class Receiver {
  readonly got = new Map<string, string[]>();
  answer = new Map<string, "ok" | "hang" | number>();
  private server: Server | undefined;
  base = "";

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (d: string) => (body += d));
      req.on("end", () => {
        const path = req.url ?? "";
        const mode = this.answer.get(path) ?? "ok";
        if (mode === "hang") return;
        const text = (JSON.parse(body) as { text?: unknown }).text;
        if (mode === "ok") this.got.set(path, [...(this.got.get(path) ?? []), String(text)]);
        res.statusCode = mode === "ok" ? 200 : mode;
        res.end(mode === "ok" ? "ok" : "no");
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  messages(path: string): string[] {
    return this.got.get(path) ?? [];
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => (this.server === undefined ? r(undefined) : this.server.close(r)));
  }
}

let env: Env;
let workers: string[];
const receiver = new Receiver();
before(async () => {
  env = await startEnv(5, 1);
  workers = (await env.kube.list(resources.nodes, undefined)).items
    .map((n) => n.metadata.name)
    .filter((n) => n.startsWith("worker"))
    .sort();
  await receiver.start();
});
after(async () => {
  await receiver.stop();
  await env?.stop();
});

interface Running {
  readonly metrics: Metrics;
  readonly logs: string[];
  stop(): Promise<void>;
}

/** The controller in-process, with notifications on and every log line kept. */
async function startController(ns: string): Promise<Running> {
  const { log, logs } = keptLogger();
  const metrics = new Metrics(false);
  const kube = new KubeAdapter({ kubeconfig: env.cp.kubeconfigPath });
  const config = testConfig(ns, { notifySecret: "notify", notifyTimeoutMs: 2000, notifyRetries: 2, notifyBackoffMs: 50 });
  const controller = new Controller({ kube, metrics, log }, config);
  await controller.start();
  return { metrics, logs, stop: () => controller.stop() };
}

async function setWebhook(ns: string, url: string): Promise<void> {
  const secret: Secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "notify", namespace: ns }, data: { url: Buffer.from(url).toString("base64") } };
  try {
    await env.kube.create(resources.secrets, ns, secret);
  } catch {
    await env.kube.replace(resources.secrets, ns, secret);
  }
}

const reconciles = async (m: Metrics, plan: string): Promise<number> =>
  (await m.reconcileDuration.get()).values.find((v) => v.metricName?.endsWith("_count") === true && v.labels["plan"] === plan)?.value ?? 0;
const failuresOfKind = async (m: Metrics, kind: string): Promise<number> =>
  (await m.notificationFailures.get()).values.find((v) => v.labels["kind"] === kind)?.value ?? 0;

describe("controller: notifications", () => {
  it("a rollout, a failed node and a halt are each announced once; a restarted controller repeats none; the URL is nowhere", async () => {
    const ns = await env.cp.createNamespace("notify");
    const token = "T0000/B0000/notify-token-do-not-log";
    const path = `/services/${token}`;
    await setWebhook(ns, `${receiver.base}${path}`);
    const label = "test.plan-runner.dev/notify";
    await optIn(env, workers.slice(0, 3), label);
    await optIn(env, [workers[3]!], `${label}-bad`);
    const first = await startController(ns);
    let firstStopped = false;
    let second: Running | undefined;
    try {
      await applyPlan(env, aPlan(ns, "good", { concurrency: 2, nodeSelector: { matchLabels: { [label]: "yes" } } }));
      await waitForPlan(env, ns, "good", "Complete", (p) => condition(p, "Complete")?.status === "True");
      const good = [`plan-runner: ${ns}/good started upgrading 3 of 3 nodes to v1.0.0`, `plan-runner: ${ns}/good is Complete: 3/3 nodes at v1.0.0`];
      await waitFor(() => receiver.messages(path).length >= 2, { timeoutMs: 30_000, what: "the good Plan's two messages" });
      assert.deepEqual(receiver.messages(path), good);

      const failing = aPlan(
        ns,
        "bad",
        { failurePolicy: { retries: 0 }, nodeSelector: { matchLabels: { [`${label}-bad`]: "yes" } } },
        { "sim.plan-runner.dev/exit-code": "1", "sim.plan-runner.dev/message": "kubeadm: preflight failed" },
      );
      await applyPlan(env, failing);
      const halted = await waitForPlan(env, ns, "bad", "Halted", (p) => p.status?.state === "Halted");
      await waitFor(() => receiver.messages(path).length >= 5, { timeoutMs: 30_000, what: "the bad Plan's three messages" });
      const bad = receiver.messages(path).slice(2);
      assert.equal(bad[0], `plan-runner: ${ns}/bad started upgrading 1 of 1 nodes to v1.0.0`);
      assert.match(
        bad[1] ?? "",
        new RegExp(
          `^plan-runner: ${ns}/bad: node ${workers[3]} failed \\(UpgradeFailed\\): pod apply-bad-on-${workers[3]}-.* failed: Error \\(exit 1\\): kubeadm: preflight failed \\(attempt 1/1\\); see kubectl logs -n ${ns} apply-bad-`,
        ),
      );
      assert.equal(bad[2], `plan-runner: ${ns}/bad is Halted (NodeFailed): ${condition(halted, "Halted")?.message ?? ""}`);
      // The receiver counts a message before it answers; the sender counts it once the answer is back.
      const sent = async (): Promise<number> => (await first.metrics.notificationsSent.get()).values[0]?.value ?? 0;
      await waitFor(async () => (await sent()) >= 5, { timeoutMs: 30_000, what: "five notifications counted as sent" });
      assert.equal(await sent(), 5);

      // A restart: the new controller reads status.notified back and has nothing to say about either Plan.
      await first.stop();
      firstStopped = true;
      const before = { good: await reconciles(first.metrics, "good"), bad: await reconciles(first.metrics, "bad") };
      assert.ok(before.good > 0 && before.bad > 0);
      second = await startController(ns);
      const s = second;
      await waitFor(async () => (await reconciles(s.metrics, "good")) > 0 && (await reconciles(s.metrics, "bad")) > 0, {
        timeoutMs: 30_000,
        what: "the restarted controller to reconcile both Plans",
      });
      // One sender, first in first out: a duplicate queued by those reconciles would arrive before this Plan's messages.
      await optIn(env, [workers[0]!], "test.plan-runner.dev/notify-after");
      await applyPlan(env, aPlan(ns, "after-restart", { nodeSelector: { matchLabels: { "test.plan-runner.dev/notify-after": "yes" } } }));
      await waitForPlan(env, ns, "after-restart", "Complete", (p) => condition(p, "Complete")?.status === "True");
      await waitFor(() => receiver.messages(path).length >= 7, { timeoutMs: 30_000, what: "the third Plan's two messages" });
      assert.deepEqual(receiver.messages(path).slice(5), [
        `plan-runner: ${ns}/after-restart started upgrading 1 of 1 nodes to v1.0.0`,
        `plan-runner: ${ns}/after-restart is Complete: 1/1 nodes at v1.0.0`,
      ]);
      assert.equal(receiver.messages(path).length, 7, "nothing said twice");

      // The URL is a credential: not in any log line, Event, or Plan status.
      const events = (await env.kube.list(resources.events, ns)).items;
      const plans = (await env.kube.list(resources.plans, ns)).items;
      const everything = JSON.stringify({ logs: [...first.logs, ...second.logs], events, plans });
      assert.ok(!everything.includes("notify-token-do-not-log"), "the webhook URL leaked");
      assert.ok(!everything.includes(receiver.base), "the webhook host leaked");
    } finally {
      await second?.stop();
      if (!firstStopped) await first.stop();
    }
  });

  it("a prepare gate that holds, re-run every poll interval, is announced once (no flapping)", async () => {
    const ns = await env.cp.createNamespace("notify-held");
    const path = "/held";
    await setWebhook(ns, `${receiver.base}${path}`);
    const label = "test.plan-runner.dev/notify-held";
    await optIn(env, workers.slice(0, 2), label);
    const ctl = await startController(ns);
    try {
      const spec = { concurrency: 1, prepare: { image: "example.com/gate", args: ["compat-gate"] }, nodeSelector: { matchLabels: { [label]: "yes" } } };
      await applyPlan(env, aPlan(ns, "held", spec, { "sim.plan-runner.dev/exit-code.prepare": "4" }));
      const held = await waitForPlan(env, ns, "held", "Held", (p) => p.status?.state === "Held");
      // Each re-run replaces the gate's pod: count the distinct pods that ended held.
      const runs = new Set<string>();
      const gateRuns = async (): Promise<number> => {
        for (const p of await listPods(env, ns)) {
          if (p.metadata.labels?.["plan-runner.dev/role"] === "prepare" && p.status?.phase === "Failed") runs.add(p.metadata.uid ?? p.metadata.name);
        }
        return runs.size;
      };
      await waitFor(async () => (await gateRuns()) >= 3, { timeoutMs: 60_000, what: "the held gate to run three times", intervalMs: 100 });
      await waitFor(() => receiver.messages(path).length >= 2, { timeoutMs: 30_000, what: "the start and Held messages" });
      // The first gate run is the start of the rollout; the re-runs between Held passes say nothing new.
      assert.deepEqual(receiver.messages(path), [
        `plan-runner: ${ns}/held started upgrading 2 of 2 nodes to v1.0.0`,
        `plan-runner: ${ns}/held is Held (${condition(held, "Held")?.reason ?? ""}): ${condition(held, "Held")?.message ?? ""}`,
      ]);
      assert.match(receiver.messages(path)[1] ?? "", /exited 4/);
    } finally {
      await ctl.stop();
    }
  });

  it("a receiver that hangs, then one that answers 500, does not stall the rollout; each failure is counted", async () => {
    const ns = await env.cp.createNamespace("notify-down");
    receiver.answer.set("/hang", "hang");
    receiver.answer.set("/broken", 500);
    await setWebhook(ns, `${receiver.base}/hang`);
    const label = "test.plan-runner.dev/notify-down";
    await optIn(env, workers, label);
    const ctl = await startController(ns);
    try {
      await applyPlan(env, aPlan(ns, "while-hung", { concurrency: 1, nodeSelector: { matchLabels: { [label]: "yes" } } }));
      const done = await waitForPlan(env, ns, "while-hung", "Complete while the receiver hangs", (p) => condition(p, "Complete")?.status === "True", 90_000);
      assert.equal(done.status?.progress, `${workers.length}/${workers.length}`);
      // started and Complete, each given up after its attempts timed out.
      await waitFor(async () => (await failuresOfKind(ctl.metrics, "timeout")) >= 2, { timeoutMs: 60_000, what: "the hung messages given up" });

      // The Secret is read at each send: pointing it elsewhere needs no restart.
      await setWebhook(ns, `${receiver.base}/broken`);
      await applyPlan(env, aPlan(ns, "while-broken", { concurrency: 2, nodeSelector: { matchLabels: { [label]: "yes" } } }));
      await waitForPlan(env, ns, "while-broken", "Complete while the receiver answers 500", (p) => condition(p, "Complete")?.status === "True", 90_000);
      await waitFor(async () => (await failuresOfKind(ctl.metrics, "http_500")) >= 1, { timeoutMs: 30_000, what: "a notification refused with 500 counted" });
      assert.deepEqual(receiver.messages("/hang"), []);
      assert.ok(
        ctl.logs.some((l) => l.includes('"notification not delivered"') && l.includes('"kind":"http_500"')),
        "a log line says what failed",
      );
      assert.ok(!ctl.logs.some((l) => l.includes(receiver.base)), "the URL is never logged");
    } finally {
      await ctl.stop();
    }
  });
});
