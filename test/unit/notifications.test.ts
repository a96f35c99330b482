// What the notification webhook announces, from the Plan's status alone (rollout/notifications.ts),
// and the sender itself (kube/webhook.ts) against a receiver on 127.0.0.1.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import type { PlanStatus } from "../../src/generated/plan.ts";
import { notices, withRecord } from "../../src/controller/rollout/notifications.ts";
import { Webhook, type WebhookFailure } from "../../src/controller/kube/webhook.ts";
import { waitFor } from "../env/wait.ts";

const PLAN = "system-upgrade/k8s-workers";

/** A status as decide() writes it; `state` picks the condition that is True. */
function aStatus(
  state: string,
  o: { hash?: string; complete?: number; applying?: number; reason?: string; message?: string; failures?: PlanStatus["failures"] } = {},
): PlanStatus {
  const gate = (type: string): { type: string; status: string; reason: string; message: string } =>
    state === type
      ? { type, status: "True", reason: o.reason ?? `${type}Reason`, message: o.message ?? `${type} because` }
      : { type, status: "False", reason: `Not${type}`, message: "" };
  return {
    latestVersion: "v1.35.1",
    latestHash: o.hash ?? "h1",
    state,
    counts: { total: 4, complete: o.complete ?? 0, applying: o.applying ?? (state === "Complete" ? 0 : 1), failed: o.failures?.length ?? 0, pending: 0 },
    applying: [],
    failures: o.failures ?? [],
    conditions: [
      gate("Held"),
      gate("Blocked"),
      gate("Halted"),
      { type: "Complete", status: state === "Complete" ? "True" : "False", reason: state === "Complete" ? "Complete" : "SyncJob", message: "" },
    ],
  };
}

/** Runs a sequence of statuses through notices() as the reconciler does: each one written with its record. */
function announce(sequence: readonly PlanStatus[], start?: PlanStatus): string[] {
  const said: string[] = [];
  let stored = start;
  for (const s of sequence) {
    const next = { ...s, ...(stored?.notified !== undefined ? { notified: stored.notified } : {}) };
    const r = notices(PLAN, stored, next);
    said.push(...r.notices.map((n) => n.text));
    stored = withRecord(next, r.record);
  }
  return said;
}

describe("notifications: what is announced", () => {
  it("a whole rollout: started once, Complete once, however many passes", () => {
    const said = announce([
      aStatus("Applying"),
      aStatus("Applying", { complete: 2 }),
      aStatus("Applying", { complete: 3 }),
      aStatus("Complete", { complete: 4 }),
      aStatus("Complete", { complete: 4 }),
    ]);
    assert.deepEqual(said, [`plan-runner: ${PLAN} started upgrading 4 of 4 nodes to v1.35.1`, `plan-runner: ${PLAN} is Complete: 4/4 nodes at v1.35.1`]);
  });

  it("a prepare gate re-run every poll interval (Held, Applying, Held) is announced once; a new reason is announced", () => {
    const held = aStatus("Held", { reason: "CompatHeld", message: "calico 3.26 has no release for v1.36 yet" });
    const said = announce([held, aStatus("Applying"), held, aStatus("Applying"), held, aStatus("Held", { reason: "WindowClosed", message: "x" })]);
    assert.deepEqual(said, [
      `plan-runner: ${PLAN} is Held (CompatHeld): calico 3.26 has no release for v1.36 yet`,
      `plan-runner: ${PLAN} started upgrading 4 of 4 nodes to v1.35.1`,
      `plan-runner: ${PLAN} is Held (WindowClosed): x`,
    ]);
  });

  it("Blocked and Halted are announced with their reason and message", () => {
    const said = announce([
      aStatus("Blocked", { reason: "CompatBlocked", message: "ingress-nginx 1.9 below floor" }),
      aStatus("Halted", { reason: "AlertsFiring", message: "firing: NodeDown" }),
    ]);
    assert.deepEqual(said, [
      `plan-runner: ${PLAN} is Blocked (CompatBlocked): ingress-nginx 1.9 below floor`,
      `plan-runner: ${PLAN} is Halted (AlertsFiring): firing: NodeDown`,
    ]);
  });

  it("a failed node is named once, with its reason and message", () => {
    const failures = [{ node: "worker-3", reason: "UpgradeFailed", message: "pod apply-… failed: Error (exit 1): kubeadm: … (attempt 3/3)", attempts: 3 }];
    const failed = aStatus("Halted", { reason: "NodeFailed", message: "worker-3 failed", failures });
    const said = announce([aStatus("Applying"), failed, failed]);
    assert.deepEqual(said, [
      `plan-runner: ${PLAN} started upgrading 4 of 4 nodes to v1.35.1`,
      `plan-runner: ${PLAN}: node worker-3 failed (UpgradeFailed): pod apply-… failed: Error (exit 1): kubeadm: … (attempt 3/3)`,
      `plan-runner: ${PLAN} is Halted (NodeFailed): worker-3 failed`,
    ]);
  });

  it("a Plan found already Complete (SUC upgraded its nodes, or it selects none) announces nothing", () => {
    assert.deepEqual(announce([aStatus("Complete", { complete: 4 })]), []);
  });

  it("a new target (latestHash) starts a new rollout: started and Complete again", () => {
    const said = announce([
      aStatus("Applying"),
      aStatus("Complete", { complete: 4 }),
      aStatus("Applying", { hash: "h2" }),
      aStatus("Complete", { hash: "h2", complete: 4 }),
    ]);
    assert.equal(said.length, 4);
    assert.match(said[2] ?? "", /started/);
  });

  it("a status read back after a restart (the record in it) announces nothing again", () => {
    const failures = [{ node: "worker-1", reason: "Error", message: "exit 1", attempts: 1 }];
    const first = aStatus("Halted", { reason: "NodeFailed", failures });
    const r = notices(PLAN, undefined, first);
    assert.equal(r.notices.length, 2);
    const stored = withRecord(first, r.record);
    assert.deepEqual(stored.notified, { hash: "h1", sent: ["failed/worker-1", "Halted/NodeFailed"] });
    const again = notices(PLAN, stored, { ...aStatus("Halted", { reason: "NodeFailed", failures }), notified: stored.notified });
    assert.deepEqual(again.notices, []);
  });

  it("an invalid or unresolved Plan (no latestHash) announces nothing and keeps its record", () => {
    const stored = withRecord(aStatus("Applying"), { hash: "h1", sent: ["started"] });
    const { latestHash: _drop, ...invalid } = aStatus("Invalid");
    const r = notices(PLAN, stored, { ...invalid, ...(stored.notified !== undefined ? { notified: stored.notified } : {}) });
    assert.deepEqual(r.notices, []);
    assert.deepEqual(r.record, { hash: "h1", sent: ["started"] });
  });
});

describe("notifications: the webhook sender", () => {
  let server: Server;
  let base: string;
  const received: Array<{ path: string; type: string | undefined; body: unknown }> = [];
  let answer: (req: IncomingMessage, res: ServerResponse) => void = (_q, res) => res.end("ok");

  before(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (d: string) => (body += d));
      req.on("end", () => {
        received.push({ path: req.url ?? "", type: req.headers["content-type"], body: JSON.parse(body) as unknown });
        answer(req, res);
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const hook = (o: Partial<ConstructorParameters<typeof Webhook>[0]> = {}): { webhook: Webhook; results: Array<"sent" | WebhookFailure> } => {
    const results: Array<"sent" | WebhookFailure> = [];
    const webhook = new Webhook({
      url: () => `${base}/hooks/T000/B000/secret`,
      timeoutMs: 10_000,
      retries: 2,
      backoffMs: 10,
      queueSize: 10,
      onResult: (r) => results.push(r),
      ...o,
    });
    return { webhook, results };
  };

  it('posts Slack\'s {"text": ...} as JSON, in the order queued', async () => {
    received.length = 0;
    answer = (_q, res) => res.end("ok");
    const { webhook, results } = hook();
    webhook.enqueue("p", "one");
    webhook.enqueue("p", "two");
    await waitFor(() => results.length === 2, { timeoutMs: 5000, what: "two messages delivered" });
    assert.deepEqual(results, ["sent", "sent"]);
    assert.deepEqual(
      received.map((r) => [r.path, r.type, r.body]),
      [
        ["/hooks/T000/B000/secret", "application/json", { text: "one" }],
        ["/hooks/T000/B000/secret", "application/json", { text: "two" }],
      ],
    );
    await webhook.stop();
  });

  it("a receiver answering 500 is retried; the message arrives once when it recovers", async () => {
    received.length = 0;
    let calls = 0;
    answer = (_q, res) => {
      calls++;
      res.statusCode = calls <= 2 ? 500 : 200;
      res.end();
    };
    const { webhook, results } = hook();
    webhook.enqueue("p", "after two 500s");
    await waitFor(() => results.length === 1, { timeoutMs: 5000, what: "the message delivered" });
    assert.deepEqual(results, ["sent"]);
    assert.equal(received.length, 3);
    await webhook.stop();
  });

  it("a receiver that always answers 500 is given up after the retries, counted as http_500; a 404 is not retried", async () => {
    received.length = 0;
    answer = (req, res) => {
      res.statusCode = (req.url ?? "").includes("gone") ? 404 : 500;
      res.end();
    };
    const { webhook, results } = hook();
    webhook.enqueue("p", "lost");
    await waitFor(() => results.length === 1, { timeoutMs: 5000, what: "the message given up" });
    assert.deepEqual(results, ["http_500"]);
    assert.equal(received.length, 3, "one attempt and two retries");
    await webhook.stop();
    received.length = 0;
    const gone = hook({ url: () => `${base}/gone` });
    gone.webhook.enqueue("p", "x");
    await waitFor(() => gone.results.length === 1, { timeoutMs: 5000, what: "the 404 given up" });
    assert.deepEqual(gone.results, ["http_404"]);
    assert.equal(received.length, 1);
    await gone.webhook.stop();
  });

  it("a receiver that never answers times out; enqueue never waits, and a full queue drops and counts", async () => {
    answer = () => {}; // hangs
    const { webhook, results } = hook({ retries: 0, queueSize: 2, timeoutMs: 200 });
    for (let i = 0; i < 4; i++) webhook.enqueue("p", `m${i}`); // returns at once even though the receiver hangs
    // m0 is in flight, m1 and m2 queued, m3 does not fit.
    assert.deepEqual(results, ["queue_full"]);
    await waitFor(() => results.length === 4, { timeoutMs: 10_000, what: "every message settled" });
    assert.deepEqual(results, ["queue_full", "timeout", "timeout", "timeout"]);
    await webhook.stop();
  });

  it("no Secret, or a URL that is not http(s), is a failure of its own kind", async () => {
    const missing = hook({ url: () => undefined });
    missing.webhook.enqueue("p", "x");
    const bad = hook({ url: () => "ftp://example.invalid/x" });
    bad.webhook.enqueue("p", "x");
    await waitFor(() => missing.results.length === 1 && bad.results.length === 1, { timeoutMs: 5000, what: "both given up" });
    assert.deepEqual([missing.results, bad.results], [["no_secret"], ["bad_url"]]);
    await Promise.all([missing.webhook.stop(), bad.webhook.stop()]);
  });
});
