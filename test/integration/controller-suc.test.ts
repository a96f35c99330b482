// rancher/system-upgrade-controller's own e2e scenarios (reference/suc.md §3), against a real
// API server, plus what SUC leaves to an Event only (channel errors) made visible as conditions.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { resources } from "../../src/controller/kube/ports.ts";
import type { PlanObject } from "../../src/controller/wiring/reconciler.ts";
import { waitFor } from "../env/wait.ts";
import {
  type Env,
  type RunningController,
  aPlan,
  applyPlan,
  condition,
  getNode,
  kubectlApply,
  listPods,
  optIn,
  runController,
  startEnv,
  waitForPlan,
} from "./controller-env.ts";

let env: Env;
let ns: string;
let ctl: RunningController;
let channel: Server;
let channelUrl: string;
let workers: string[];
/** What the channel answers, by path. */
const answers = new Map<string, { status: number; location?: string }>();

before(async () => {
  env = await startEnv(4, 1);
  ns = await env.cp.createNamespace("suc");
  workers = (await env.kube.list(resources.nodes, undefined)).items.map((n) => n.metadata.name).filter((n) => n.startsWith("worker"));
  channel = createServer((req, res) => {
    const a = answers.get(req.url ?? "") ?? { status: 404 };
    res.writeHead(a.status, a.location !== undefined ? { Location: a.location } : {});
    res.end();
  });
  await new Promise<void>((r) => channel.listen(0, "127.0.0.1", () => r()));
  channelUrl = `http://127.0.0.1:${(channel.address() as AddressInfo).port}`;
  ctl = await runController(env, ns);
});
after(async () => {
  await ctl?.stop();
  channel?.close();
  await env?.stop();
});

/** How many reconciles of a Plan the in-process controller has finished. */
async function reconciles(plan: string): Promise<number> {
  const m = await ctl.metrics.reconcileDuration.get();
  return m.values.find((v) => v.metricName === "plan_runner_reconcile_duration_seconds_count" && v.labels["plan"] === plan)?.value ?? 0;
}

const get = (name: string): Promise<PlanObject> => env.kube.get<PlanObject>(resources.plans, ns, name);
const selectNone = { matchLabels: { "test.plan-runner.dev/none": "yes" } };

describe("SUC e2e: plan validation by the API server", () => {
  it("rejects a Plan without spec.upgrade on create", async () => {
    const r = await kubectlApply(env, {
      apiVersion: "upgrade.cattle.io/v1",
      kind: "Plan",
      metadata: { name: "no-upgrade", namespace: ns },
      spec: { concurrency: 1, version: "v1" },
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /spec\.upgrade: Required value/);
  });

  it("rejects an invalid window day on create", async () => {
    const r = await kubectlApply(env, { ...aPlan(ns, "bad-window", { window: { days: ["funday"], startTime: "01:00", endTime: "02:00" } }) });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /spec\.window\.days\[0\]/);
  });

  it("rejects an unknown field instead of dropping it (a typo must not pass silently)", async () => {
    const r = await kubectlApply(env, {
      apiVersion: "upgrade.cattle.io/v1",
      kind: "Plan",
      metadata: { name: "typo", namespace: ns },
      spec: { concurency: 2, version: "v1", upgrade: { image: "x" } },
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /concurency/);
  });
});

describe("SUC e2e: version resolution", () => {
  // SUC stores such a Plan and then reports LatestResolved=False; this CRD refuses it on create, as
  // `validate` does, so the mistake is seen at `kubectl apply`, not later in the status.
  it("without channel or version: refused on create, naming both fields", async () => {
    const p = aPlan(ns, "unresolved", { nodeSelector: selectNone });
    delete p.spec.version;
    const r = await kubectlApply(env, p);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /spec: Invalid value: .*set version or channel/);
  });

  it("uses spec.version with '+' replaced by '-'", async () => {
    await applyPlan(env, aPlan(ns, "by-version", { version: "v1.2.3+k3s1", nodeSelector: selectNone }));
    const got = await waitForPlan(env, ns, "by-version", "resolved", (x) => x.status?.latestVersion !== undefined);
    assert.equal(got.status?.latestVersion, "v1.2.3-k3s1");
    assert.equal(condition(got, "LatestResolved")?.reason, "Version");
  });

  it("follows a channel's 302 to its last path element, semver metadata munged", async () => {
    answers.set("/latest", { status: 302, location: "/releases/tag/v1.30.4+k3s2" });
    const p = aPlan(ns, "by-channel", { channel: `${channelUrl}/latest`, nodeSelector: selectNone });
    delete p.spec.version;
    await applyPlan(env, p);
    const got = await waitForPlan(env, ns, "by-channel", "resolved", (x) => x.status?.latestVersion !== undefined);
    assert.equal(got.status?.latestVersion, "v1.30.4-k3s2");
    assert.equal(condition(got, "LatestResolved")?.reason, "Channel");
    // A new release on the channel becomes the new latest version and hash.
    answers.set("/latest", { status: 302, location: "/releases/tag/v1.30.5+k3s1" });
    const bumped = await waitForPlan(env, ns, "by-channel", "the new version", (x) => x.status?.latestVersion === "v1.30.5-k3s1", 30_000);
    assert.notEqual(bumped.status?.latestHash, got.status?.latestHash);
  });

  for (const status of [404, 503]) {
    it(`a channel answering ${status} sets LatestResolved=False with the HTTP status`, async () => {
      answers.set(`/broken-${status}`, { status });
      const p = aPlan(ns, `channel-${status}`, { channel: `${channelUrl}/broken-${status}`, nodeSelector: selectNone });
      delete p.spec.version;
      await applyPlan(env, p);
      const got = await waitForPlan(env, ns, `channel-${status}`, "LatestResolved=False", (x) => condition(x, "LatestResolved")?.status === "False");
      assert.match(condition(got, "LatestResolved")?.message ?? "", new RegExp(`HTTP ${status}`));
      assert.equal(got.status?.state, "Error");
    });
  }
});

describe("SUC e2e: plan problems the controller finds", () => {
  // The API server refuses what it can check (conflicting drain options, a negative postCompleteDelay):
  // the controller's own check remains for what it cannot, and for a cluster that has SUC's CRD.
  it("a problem only the controller can find (an unknown time zone) -> Validated=False naming the field, then fixed by an edit", async () => {
    const window = { days: ["sat"] as [string], startTime: "01:00", endTime: "02:00" };
    await applyPlan(env, aPlan(ns, "bad-zone", { window: { ...window, timeZone: "Mars/Olympus" }, nodeSelector: selectNone }));
    const bad = await waitForPlan(env, ns, "bad-zone", "Validated=False", (x) => condition(x, "Validated")?.status === "False");
    assert.match(condition(bad, "Validated")?.message ?? "", /spec\.window\.timeZone/);
    const events = await env.kube.list(resources.events, ns, { fieldSelector: "involvedObject.name=bad-zone" });
    assert.ok(
      events.items.some((e) => e["reason"] === "ValidateFailed"),
      "a ValidateFailed event",
    );
    await applyPlan(env, aPlan(ns, "bad-zone", { window: { ...window, timeZone: "UTC" }, nodeSelector: selectNone }));
    await waitForPlan(env, ns, "bad-zone", "Validated=True", (x) => condition(x, "Validated")?.status === "True");
  });

  it("conflicting drain options and a negative postCompleteDelay are refused on create, naming the field", async () => {
    const drain = await kubectlApply(
      env,
      aPlan(ns, "drain-conflict", { drain: { deleteLocalData: true, deleteEmptydirData: true }, nodeSelector: selectNone }),
    );
    assert.notEqual(drain.code, 0);
    assert.match(drain.stderr, /spec\.drain: Invalid value: .*deleteLocalData and deleteEmptydirData cannot both be set/);
    const delay = await kubectlApply(env, aPlan(ns, "neg-delay", { postCompleteDelay: "-30s", nodeSelector: selectNone }));
    assert.notEqual(delay.code, 0);
    assert.match(delay.stderr, /spec\.postCompleteDelay: Invalid value: "-30s": postCompleteDelay must be a Go duration/);
  });

  it("a missing secret is named in status and nothing starts", async () => {
    await optIn(env, [workers[0]!], "test.plan-runner.dev/secretless");
    await applyPlan(
      env,
      aPlan(ns, "secretless", { secrets: [{ name: "nope", path: "/x" }], nodeSelector: { matchLabels: { "test.plan-runner.dev/secretless": "yes" } } }),
    );
    const got = await waitForPlan(env, ns, "secretless", "Complete=False naming the secret", (x) =>
      /secret .*nope/.test(condition(x, "Complete")?.message ?? ""),
    );
    assert.equal(got.status?.state, "Error");
    assert.equal((await listPods(env, ns)).filter((p) => p.metadata.labels?.["upgrade.cattle.io/plan"] === "secretless").length, 0);
  });
});

describe("SUC e2e: secrets and the hash", () => {
  it("an ignoreUpdates secret change keeps the hash; a hashed secret change re-runs the Plan", async () => {
    for (const name of ["ignored", "hashed"]) {
      await env.kube.create(resources.secrets, ns, {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name, namespace: ns },
        stringData: { token: "one" },
      } as never);
    }
    const label = "test.plan-runner.dev/secrets";
    await optIn(env, [workers[1]!], label);
    await applyPlan(
      env,
      aPlan(ns, "secrets", {
        secrets: [
          { name: "ignored", path: "/a", ignoreUpdates: true },
          { name: "hashed", path: "/b" },
        ],
        nodeSelector: { matchLabels: { [label]: "yes" } },
      }),
    );
    const first = await waitForPlan(env, ns, "secrets", "Complete", (x) => condition(x, "Complete")?.status === "True");
    const before = await reconciles("secrets");
    await env.kube.patch(resources.secrets, ns, "ignored", { stringData: { token: "two" } });
    // The secret change wakes the Plan; once it has been reconciled since, the hash must be the same.
    await waitFor(async () => (await reconciles("secrets")) > before, { timeoutMs: 30_000, what: "a reconcile after the ignored secret changed" });
    const still = await get("secrets");
    assert.equal(still.status?.latestHash, first.status?.latestHash);
    await env.kube.patch(resources.secrets, ns, "hashed", { stringData: { token: "two" } });
    const rerun = await waitForPlan(
      env,
      ns,
      "secrets",
      "a new hash, completed again",
      (x) => x.status?.latestHash !== first.status?.latestHash && condition(x, "Complete")?.status === "True",
    );
    const node = await getNode(env, workers[1]!);
    assert.equal(node.metadata.labels?.["plan.upgrade.cattle.io/secrets"], rerun.status?.latestHash);
    const secretText = JSON.stringify(rerun.status);
    assert.ok(!secretText.includes("two") && !secretText.includes("dHdv"), "no secret value in status");
  });
});

describe("SUC e2e: completion and failure", () => {
  it("expands $(LATEST_VERSION) and $(LATEST_HASH) in postCompleteLabels", async () => {
    const label = "test.plan-runner.dev/labels";
    await optIn(env, [workers[2]!], label);
    await applyPlan(
      env,
      aPlan(ns, "labels", {
        version: "v2.0.0",
        postCompleteLabels: { "example.com/version": "$(LATEST_VERSION)", "example.com/hash": "$(LATEST_HASH)" },
        nodeSelector: { matchLabels: { [label]: "yes" } },
      }),
    );
    const done = await waitForPlan(env, ns, "labels", "Complete", (x) => condition(x, "Complete")?.status === "True");
    const node = await getNode(env, workers[2]!);
    assert.equal(node.metadata.labels?.["example.com/version"], "v2.0.0");
    assert.equal(node.metadata.labels?.["example.com/hash"], done.status?.latestHash);
    const durations = (await ctl.metrics.nodeDuration.get()).values.find(
      (v) => v.metricName === "plan_runner_node_upgrade_duration_seconds_count" && v.labels["plan"] === "labels",
    );
    assert.equal(durations?.value, 1, "the node's upgrade duration observed once");
  });

  it("a failing upgrade is retried, halts with the exit code and pod in status, and an edit of the Plan fixes it", async () => {
    const label = "test.plan-runner.dev/failing";
    await optIn(env, [workers[0]!], label);
    const spec = { concurrency: 1, failurePolicy: { retries: 1, backoff: "200ms" }, nodeSelector: { matchLabels: { [label]: "yes" } } };
    await applyPlan(
      env,
      aPlan(
        ns,
        "failing",
        { ...spec, upgrade: { image: "example.com/upgrade", args: ["broken"] } },
        { "sim.plan-runner.dev/exit-code": "3", "sim.plan-runner.dev/message": "kubeadm: boom" },
      ),
    );
    const halted = await waitForPlan(env, ns, "failing", "Halted", (x) => x.status?.state === "Halted", 60_000);
    const msg = condition(halted, "Halted")?.message ?? "";
    assert.match(msg, /exit 3/);
    assert.match(msg, /attempt 2\/2/);
    assert.match(msg, /kubectl logs -n \S+ apply-failing-on-/);
    assert.equal(halted.status?.failures?.[0]?.["node"], workers[0]);
    const applies = (await listPods(env, ns)).filter((p) => p.metadata.labels?.["upgrade.cattle.io/plan"] === "failing");
    assert.equal(applies.length, 2, "first try and one retry, no more");
    const failures = (await ctl.metrics.failures.get()).values.filter((v) => v.labels["plan"] === "failing");
    assert.equal(
      failures.reduce((n, v) => n + v.value, 0),
      2,
      "each failed attempt counted once in plan_runner_node_failures_total",
    );
    // The fix: the user edits the Plan (new args, and the simulated failure removed).
    await applyPlan(env, aPlan(ns, "failing", { ...spec, upgrade: { image: "example.com/upgrade", args: ["fixed"] } }));
    await waitForPlan(env, ns, "failing", "Complete after the edit", (x) => condition(x, "Complete")?.status === "True", 60_000);
  });
});
