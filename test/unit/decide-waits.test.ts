// What a person sees while a Plan waits (issue 10, items 1, 3 and 4): the node's state, the
// wait and its end in status, the one meaning of Held, Blocked and Halted, and a retry asked
// for by annotation, applied once.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { annotationCordonedBy } from "../../src/controller/rollout/keys.ts";
import { SimWorld, aNode, aPlan } from "./sim-world.ts";

const workers = (n: number) => Array.from({ length: n }, (_, i) => aNode(`w0${i}`));
const T0 = Date.parse("2026-06-01T00:00:00Z");
const at = (t: number) => new Date(t).toISOString().replace(/\.\d{3}Z$/, "Z");
const waitsOf = (w: SimWorld) => w.plan.status?.waits ?? [];

describe("decide: waiting states are visible, with their end", () => {
  it("a soaking node is uncordoned first, shows soaking until the soak ends, then completes", () => {
    const w = new SimWorld(aPlan({ concurrency: 1, drain: { timeout: "1m" }, gates: { health: { soak: "10m" } } }), workers(2), {
      input: { podHealth: new Map([["w00", { unready: [], readySince: undefined }]]) },
    });
    const d = w.run(30, (x) => x.nodeStates.get("w00") === "soaking");
    assert.equal(d.nodeStates.get("w00"), "soaking");
    const node = w.nodes.get("w00")!;
    assert.notEqual(node.spec?.unschedulable, true, "uncordoned for the soak: its pods can come back");
    assert.equal(node.metadata.annotations?.[annotationCordonedBy("up")], undefined);
    assert.ok(w.events.some((e) => e.reason === "Uncordoned" && e.node === "w00" && /soaks 10m/.test(e.message)));
    const [wait] = waitsOf(w);
    assert.equal(wait?.node, "w00");
    assert.equal(wait?.reason, "Soaking");
    const until = Date.parse(wait?.until ?? "");
    assert.ok(until > w.now && until <= w.now + 600_000, wait?.until);
    assert.match(wait?.message ?? "", /must stay Ready until .* \(gates\.health\.soak 10m\)/);
    assert.equal(w.plan.status?.waiting, `w00 soaking until ${at(until)}`);
    assert.equal(d.status.counts?.applying, 1, "a soaking node holds its slot");
    assert.deepEqual(w.started, ["w00"], "the next node waits for the soak");
    w.now = until;
    w.reconcile();
    assert.equal(w.last?.nodeStates.get("w00"), "complete");
    assert.equal(w.plan.status?.waiting, "");
  });

  it("a SUC Plan (no gates.health) keeps the node cordoned through postCompleteDelay, and says until when", () => {
    const w = new SimWorld(aPlan({ concurrency: 1, cordon: true, postCompleteDelay: "5m" }), workers(1));
    w.run(10, (x) => x.nodeStates.get("w00") === "soaking");
    assert.equal(w.nodes.get("w00")?.spec?.unschedulable, true);
    const [wait] = waitsOf(w);
    assert.equal(wait?.reason, "PostCompleteDelay");
    assert.match(w.plan.status?.waiting ?? "", /^w00 postCompleteDelay until 2026-06-01T00:05:0\dZ$/);
  });

  it("a node waiting to retry is in backoff, until the next attempt", () => {
    const w = new SimWorld(aPlan({ concurrency: 1, cordon: true, failurePolicy: { retries: 2, backoff: "10m" } }), workers(1), {
      outcome: () => ({ exitCode: 1 }),
    });
    const d = w.run(10, (x) => x.nodeStates.get("w00") === "backoff");
    assert.equal(d.nodeStates.get("w00"), "backoff");
    const [wait] = waitsOf(w);
    assert.equal(wait?.reason, "Backoff");
    assert.match(wait?.message ?? "", /^attempt 1 of 3 failed; the next starts at \S+ \(failurePolicy\.backoff\)$/);
    assert.match(w.plan.status?.waiting ?? "", /^w00 retries at /);
    assert.ok(d.requeueAfterMs !== undefined && d.requeueAfterMs <= 600_000);
  });

  it("outside its window a Plan says when the window opens next", () => {
    // 2026-06-01 is a Monday; the window opens on Wednesdays at 02:00 UTC.
    const w = new SimWorld(aPlan({ window: { days: ["wednesday"], startTime: "02:00", endTime: "04:00", timeZone: "UTC" } }), workers(1));
    const d = w.reconcile();
    assert.equal(d.status.state, "Waiting");
    const [wait] = waitsOf(w);
    assert.equal(wait?.reason, "OutsideWindow");
    assert.equal(wait?.until, "2026-06-03T02:00:00Z");
    assert.equal(w.plan.status?.waiting, "window opens 2026-06-03T02:00:00Z");
    assert.match(w.condition("Waiting")?.message ?? "", /it opens at 2026-06-03T02:00:00Z/);
    assert.equal(d.nodeStates.get("w00"), "pending");
  });

  it("a held prepare gate says when it runs again", () => {
    const w = new SimWorld(aPlan({ prepare: { image: "example/gate" } }), workers(1), {
      outcome: (p) => (p.metadata.name.startsWith("prepare-") ? { exitCode: 4 } : { exitCode: 0 }),
    });
    const d = w.run(10, (x) => x.status.state === "Held");
    assert.equal(d.nodeStates.get("w00"), "held");
    const [wait] = waitsOf(w);
    assert.equal(wait?.reason, "PrepareHeld");
    assert.equal(Date.parse(wait?.until ?? "") - T0 <= 60_000 + 10_000, true, wait?.until);
  });
});

describe("decide: Held, Blocked and Halted mean one thing each", () => {
  it("firing alerts hold the Plan (quiet), and say so in the waits", () => {
    const w = new SimWorld(aPlan({ gates: { prometheus: { url: "http://127.0.0.1:1" } } }), workers(1), { input: { alerts: { firing: ["DiskFull"] } } });
    const d = w.reconcile();
    assert.equal(d.status.state, "Held");
    assert.equal(w.condition("Held")?.reason, "AlertsFiring");
    assert.equal(w.condition("Halted")?.status, "False");
    assert.equal(w.condition("Blocked")?.status, "False");
    assert.equal(waitsOf(w)[0]?.reason, "AlertsFiring");
    assert.deepEqual(w.started, []);
  });

  it("alerts that cannot be read block the Plan (a person must mend the gate), never halt it", () => {
    const w = new SimWorld(aPlan({ gates: { prometheus: { url: "http://127.0.0.1:1" } } }), workers(1), { input: { alerts: { error: "connection refused" } } });
    const d = w.reconcile();
    assert.equal(d.status.state, "Blocked");
    assert.equal(w.condition("Blocked")?.reason, "AlertsUnknown");
    assert.equal(w.condition("Halted")?.status, "False");
    const events = d.actions.filter((a) => a.kind === "event").map((a) => a.reason);
    assert.ok(events.includes("Blocked") && !events.includes("Halted"), events.join(","));
  });

  it("an invalid Plan is Validated=False and nothing else: no Halted or Blocked Event from its gates", () => {
    const w = new SimWorld(aPlan({ concurrency: 0, gates: { prometheus: { url: "http://127.0.0.1:1" } } }), workers(1), {
      input: { alerts: { error: "bad regex" } },
    });
    const d = w.reconcile();
    assert.equal(d.status.state, "Invalid");
    const events = d.actions.filter((a) => a.kind === "event").map((a) => a.reason);
    assert.ok(events.includes("ValidateFailed"), events.join(","));
    assert.ok(!events.includes("Halted") && !events.includes("Blocked"), events.join(","));
  });

  it("a node that failed for good halts the Plan, and the message says how to retry it", () => {
    const w = new SimWorld(aPlan({ failurePolicy: { retries: 0 } }), workers(1), { outcome: () => ({ exitCode: 1 }) });
    w.run(10, (x) => x.status.state === "Halted");
    assert.equal(w.condition("Halted")?.reason, "NodeFailed");
    assert.match(w.condition("Halted")?.message ?? "", /plan-runner retry up w00/);
  });
});

describe("decide: retry by annotation", () => {
  function halted(nodes = 1) {
    let broken = true;
    const w = new SimWorld(aPlan({ concurrency: 1, cordon: true, failurePolicy: { retries: 0 } }), workers(nodes), {
      outcome: () => (broken ? { exitCode: 1 } : { exitCode: 0 }),
    });
    w.run(20, (x) => x.status.state === "Halted");
    return { w, mend: () => (broken = false) };
  }
  const annotate = (w: SimWorld, annotations: Record<string, string>) => {
    w.plan = { ...w.plan, metadata: { ...w.plan.metadata, annotations: { ...w.plan.metadata.annotations, ...annotations } } };
  };
  const retryEvents = (w: SimWorld) => w.events.filter((e) => e.reason === "RetryRequested");

  it("a new token on the Plan retries the failed node once: cordoned again, a new attempt, Complete; one Event", () => {
    const { w, mend } = halted();
    mend();
    annotate(w, { "plan-runner.dev/retry": "2026-06-01 mirror fixed" });
    const d = w.run(30);
    assert.equal(d.status.state, "Complete");
    assert.equal(retryEvents(w).length, 1);
    assert.match(retryEvents(w)[0]?.message ?? "", /plan-runner\.dev\/retry=2026-06-01 mirror fixed on the Plan: node\(s\) w00 start again/);
    assert.ok(
      w.events.some((e) => e.reason === "Cordoned" && e.node === "w00" && w.events.indexOf(e) > w.events.indexOf(retryEvents(w)[0]!)),
      "cordoned again",
    );
    const applies = w.created.filter((n) => n.startsWith("apply-"));
    assert.equal(applies.length, 2);
    assert.equal(new Set(applies).size, 2, "the retry's pod has its own name; the failed one stays for kubectl logs");
    assert.equal(w.plan.status?.retry?.token, "2026-06-01 mirror fixed");
    for (let i = 0; i < 5; i++) w.reconcile();
    assert.equal(retryEvents(w).length, 1, "applied once, not on every pass");
  });

  it("the token lives in status: a fresh controller reading it does not retry again", () => {
    const { w } = halted();
    annotate(w, { "plan-runner.dev/retry": "t1" });
    w.run(5, (x) => x.status.state === "Halted" && (x.status.retry as { token?: string } | undefined)?.token === "t1");
    assert.equal(w.plan.status?.state, "Halted", "still broken: the retry failed too");
    // A new controller: nothing but the Plan (with its status) and the world.
    const restarted = new SimWorld(w.plan, [...w.nodes.values()], { outcome: () => ({ exitCode: 0 }) });
    for (const [k, p] of w.pods) restarted.pods.set(k, p);
    const d = restarted.reconcile();
    assert.equal(d.status.state, "Halted", "t1 was applied already; it is not applied again");
    assert.equal(d.actions.filter((a) => a.kind === "event" && a.reason === "RetryRequested").length, 0);
  });

  it("a token on one node retries that node only", () => {
    const { w, mend } = halted(1);
    mend();
    w.patchNode("w00", { metadata: { annotations: { "retry.plan-runner.dev/up": "t1" } } });
    const d = w.run(30);
    assert.equal(d.status.state, "Complete");
    assert.equal(retryEvents(w).length, 1);
    assert.match(retryEvents(w)[0]?.message ?? "", /on node w00: node w00 starts again/);
  });
});
