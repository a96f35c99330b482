// Leader election against a scripted Lease API: a lease held by another is taken only after it
// expires by our own clock; a conflict on the write is a lost race, not an error; a leader that
// cannot renew within the renew deadline gives up, and campaigns again. mayAct() (the fence in
// front of every write) counts the renew deadline from when the renewal was sent.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LeaderElector, leaderOptionsProblem } from "../../src/controller/kube/leader.ts";
import { resources } from "../../src/controller/kube/ports.ts";
import type { Lease } from "../../src/controller/rollout/objects.ts";
import { ScriptedKube, apiError, expect, hang, until } from "./scripted-kube.ts";

const lease = (holder: string, renewTime = "2026-06-01T00:00:00.000000Z"): Lease => ({
  apiVersion: "coordination.k8s.io/v1",
  kind: "Lease",
  metadata: { name: "lead", namespace: "ns", resourceVersion: "1" },
  spec: { holderIdentity: holder, leaseDurationSeconds: 10, renewTime, leaseTransitions: 3 },
});

function elector(kube: ScriptedKube, clock: { t: number }) {
  return new LeaderElector(kube, {
    namespace: "ns",
    name: "lead",
    identity: "me",
    leaseDurationMs: 10_000,
    renewDeadlineMs: 5_000,
    retryPeriodMs: 1,
    now: () => clock.t,
    monotonic: () => clock.t,
  });
}

/** Runs the elector until it leads. */
async function lead(e: LeaderElector, what: string): Promise<void> {
  let led = false;
  void e.run(
    () => (led = true),
    () => assert.fail("lost"),
  );
  await until(() => led, what);
}

/** A leader whose first renewal is in flight steps down: it hands the lease back. */
async function stepDown(kube: ScriptedKube, e: LeaderElector): Promise<void> {
  await kube.played();
  kube.then(expect("get", resources.leases, lease("me")), expect("replace", resources.leases, lease(""), holderWritten("")));
  await e.stop();
  kube.done();
}

const holderWritten = (who: string) => (call: { body: unknown }) => assert.equal((call.body as Lease).spec?.holderIdentity, who);

describe("leader election (scripted API)", () => {
  it("creates the lease when there is none, and leads", async () => {
    const clock = { t: 0 };
    const kube = new ScriptedKube([
      expect("get", resources.leases, apiError(404, "NotFound", "get")),
      expect("create", resources.leases, lease("me"), holderWritten("me")),
      hang("get", resources.leases),
    ]);
    const e = elector(kube, clock);
    await lead(e, "leadership");
    await stepDown(kube, e);
  });

  it("waits for another holder's lease to expire by its own clock, then takes it", async () => {
    const clock = { t: 0 };
    const kube = new ScriptedKube([
      expect("get", resources.leases, lease("other")),
      // Not expired yet: 9 s after we first saw this record.
      expect("get", resources.leases, () => ((clock.t = 9_000), lease("other"))),
      expect("get", resources.leases, () => ((clock.t = 10_001), lease("other"))),
      expect("replace", resources.leases, lease("me"), (call) => {
        holderWritten("me")(call);
        assert.equal((call.body as Lease).spec?.leaseTransitions, 4, "a new holder counts a transition");
      }),
      hang("get", resources.leases),
    ]);
    const e = elector(kube, clock);
    await lead(e, "leadership after expiry");
    await kube.played();
    assert.equal(kube.calls.filter((c) => c.verb === "replace").length, 1, "never wrote while the other held it");
    kube.then(expect("get", resources.leases, lease("someone-else")));
    await e.stop();
    kube.done();
  });

  it("a conflict on the write is a lost race: it tries again and leads", async () => {
    const clock = { t: 0 };
    const kube = new ScriptedKube([
      expect("get", resources.leases, lease("")),
      expect("replace", resources.leases, apiError(409, "Conflict", "update")),
      expect("get", resources.leases, lease("")),
      expect("replace", resources.leases, lease("me")),
      hang("get", resources.leases),
    ]);
    const e = elector(kube, clock);
    await lead(e, "leadership after a conflict");
    await stepDown(kube, e);
  });

  it("a leader whose renewals keep failing past the renew deadline gives up", async () => {
    const clock = { t: 0 };
    const kube = new ScriptedKube([
      expect("get", resources.leases, lease("")),
      expect("replace", resources.leases, lease("me")),
      expect("get", resources.leases, apiError(503, "ServiceUnavailable", "get")),
      expect("get", resources.leases, () => ((clock.t = 6_000), apiError(503, "ServiceUnavailable", "get"))),
    ]);
    const e = elector(kube, clock);
    let lost: string | undefined;
    void e.run(
      () => {},
      (why) => (lost = why),
    );
    await until(() => lost !== undefined, "giving up the lead");
    assert.match(lost ?? "", /renew deadline/);
    assert.equal(e.isLeader, false);
    await e.stop();
    kube.done();
  });

  it("may act only until the renew deadline counted from when the winning request was sent", async () => {
    const clock = { t: 0 };
    const kube = new ScriptedKube([
      expect("get", resources.leases, lease("")),
      // The answer takes 4 s to come back: the 5 s deadline started when the request went out.
      expect("replace", resources.leases, () => ((clock.t = 4_000), lease("me"))),
      hang("get", resources.leases),
    ]);
    const e = elector(kube, clock);
    await lead(e, "leadership");
    assert.equal(e.mayAct(), true, "inside the deadline");
    clock.t = 5_000;
    assert.equal(e.mayAct(), false, "at the deadline, however late the answer came");
    kube.then(expect("get", resources.leases, lease("someone-else")));
    await e.stop();
  });

  it("a renewal that hangs ends the term at the deadline, and the elector campaigns and leads again", async () => {
    const kube = new ScriptedKube([
      expect("get", resources.leases, lease("")),
      expect("replace", resources.leases, lease("me")),
      hang("get", resources.leases), // the API server stops answering
      expect("get", resources.leases, lease("me")), // it answers again: nobody took the lease meanwhile
      expect("replace", resources.leases, lease("me")),
      hang("get", resources.leases),
    ]);
    const e = new LeaderElector(kube, { namespace: "ns", name: "lead", identity: "me", leaseDurationMs: 300, renewDeadlineMs: 200, retryPeriodMs: 20 });
    const seen: string[] = [];
    void e.run(
      () => seen.push(`lead mayAct=${String(e.mayAct())}`),
      (why) => seen.push(`lost mayAct=${String(e.mayAct())}: ${why}`),
    );
    await until(() => seen.length >= 3, "a second term");
    assert.deepEqual(seen, ["lead mayAct=true", "lost mayAct=false: could not renew the lease within the renew deadline", "lead mayAct=true"]);
    await kube.played();
    kube.then(expect("get", resources.leases, lease("me")), expect("replace", resources.leases, lease("")));
    await e.stop();
    kube.done();
  });

  it("a leader that finds another holder on the lease ends its term at once", async () => {
    const clock = { t: 0 };
    const kube = new ScriptedKube([
      expect("get", resources.leases, lease("")),
      expect("replace", resources.leases, lease("me")),
      expect("get", resources.leases, lease("other", "2026-06-01T00:00:09.000000Z")),
      hang("get", resources.leases),
    ]);
    const e = elector(kube, clock);
    let lost: string | undefined;
    void e.run(
      () => {},
      (why) => (lost = why),
    );
    await until(() => lost !== undefined, "the end of the term");
    assert.match(lost ?? "", /another replica holds the lease/);
    assert.equal(e.mayAct(), false);
    await e.stop();
  });

  it("refuses a renew deadline that is not strictly inside the lease, naming both", () => {
    assert.match(
      leaderOptionsProblem({ leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }) ?? "",
      /renew deadline \(10000ms\) must be shorter than the lease duration \(10000ms\)/,
    );
    assert.match(leaderOptionsProblem({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 10_000 }) ?? "", /retry period/);
    assert.equal(leaderOptionsProblem({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }), undefined);
    assert.throws(
      () =>
        new LeaderElector(new ScriptedKube([]), {
          namespace: "ns",
          name: "l",
          identity: "me",
          leaseDurationMs: 1000,
          renewDeadlineMs: 2000,
          retryPeriodMs: 100,
        }),
      /leader election: the renew deadline/,
    );
  });
});
