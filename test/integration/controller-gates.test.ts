// What holds a rollout back: the prepare gate's exit codes, pod deadlines, windows, `after`,
// exclusive Plans, alerts, and a Plan deleted mid-rollout.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import type { Pod } from "../../src/controller/rollout/objects.ts";
import { resources } from "../../src/controller/kube/ports.ts";
import { waitFor } from "../env/wait.ts";
import {
  type Env,
  PodWatch,
  type RunningController,
  aPlan,
  applyPlan,
  condition,
  getNode,
  listPods,
  optIn,
  runController,
  startEnv,
  waitForPlan,
} from "./controller-env.ts";

let env: Env;
let ns: string;
let ctl: RunningController;
let workers: string[];
before(async () => {
  env = await startEnv(6, 1);
  ns = await env.cp.createNamespace("gates");
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

const podsOf = async (plan: string, role?: string) =>
  (await listPods(env, ns)).filter(
    (p) => p.metadata.labels?.["upgrade.cattle.io/plan"] === plan && (role === undefined || p.metadata.labels?.["plan-runner.dev/role"] === role),
  );
const gauge = async (name: "held" | "blocked" | "halted", plan: string): Promise<number> =>
  (await ctl.metrics[name].get()).values.find((v) => v.labels["plan"] === plan)?.value ?? -1;

describe("controller: the prepare gate", () => {
  it("exit 4 holds the Plan quietly (no further node starts), and it moves on once the gate passes", async () => {
    const label = "test.plan-runner.dev/held";
    await optIn(env, workers.slice(0, 3), label);
    const spec = { concurrency: 1, prepare: { image: "example.com/gate", args: ["compat-gate"] }, nodeSelector: { matchLabels: { [label]: "yes" } } };
    await applyPlan(env, aPlan(ns, "held", spec, { "sim.plan-runner.dev/exit-code.prepare": "4" }));
    const held = await waitForPlan(env, ns, "held", "Held", (p) => p.status?.state === "Held");
    assert.equal(condition(held, "Held")?.status, "True");
    assert.match(condition(held, "Held")?.message ?? "", /exited 4/);
    assert.equal(await gauge("held", "held"), 1);
    assert.equal(await gauge("blocked", "held"), 0, "held is not an alerting state");
    // Re-checked every poll interval (2s here), and still nothing else starts.
    const firstGate = (await podsOf("held", "prepare"))[0]?.metadata.uid;
    await waitFor(async () => (await podsOf("held", "prepare")).some((p) => p.metadata.uid !== firstGate && p.status?.phase === "Failed"), {
      timeoutMs: 30_000,
      what: "the gate to run again",
    });
    assert.equal((await podsOf("held", "apply")).length, 0, "no upgrade while held");
    assert.deepEqual([...new Set((await podsOf("held")).map((p) => p.spec?.nodeName))], [workers[0]], "only the first node's gate ran");
    await applyPlan(env, aPlan(ns, "held", spec, {}));
    const done = await waitForPlan(env, ns, "held", "Complete once the gate passes", (p) => condition(p, "Complete")?.status === "True", 60_000);
    assert.equal(condition(done, "Held")?.status, "False");
  });

  it("exit 2 blocks the Plan (meant to alert); any other exit is a block too (fail safe)", async () => {
    for (const [code, reason] of [
      ["2", "PrepareBlocked"],
      ["7", "PrepareFailed"],
    ] as const) {
      const name = `blocked-${code}`;
      const label = `test.plan-runner.dev/${name}`;
      await optIn(env, workers.slice(0, 2), label);
      await applyPlan(
        env,
        aPlan(
          ns,
          name,
          { concurrency: 2, prepare: { image: "example.com/gate" }, nodeSelector: { matchLabels: { [label]: "yes" } } },
          { "sim.plan-runner.dev/exit-code.prepare": code },
        ),
      );
      const blocked = await waitForPlan(env, ns, name, "Blocked", (p) => p.status?.state === "Blocked");
      assert.equal(condition(blocked, "Blocked")?.reason, reason);
      assert.match(condition(blocked, "Blocked")?.message ?? "", /kubectl logs/);
      assert.equal(await gauge("blocked", name), 1);
      assert.equal((await podsOf(name, "apply")).length, 0);
    }
  });
});

describe("controller: deadlines, windows and ordering between Plans", () => {
  it("a pod past jobActiveDeadlineSecs fails with the kubelet's reason in status", async () => {
    const label = "test.plan-runner.dev/deadline";
    await optIn(env, [workers[3]!], label);
    await applyPlan(
      env,
      aPlan(
        ns,
        "deadline",
        { jobActiveDeadlineSecs: 2, failurePolicy: { retries: 0 }, nodeSelector: { matchLabels: { [label]: "yes" } } },
        { "sim.plan-runner.dev/outcome": "hang" },
      ),
    );
    const halted = await waitForPlan(env, ns, "deadline", "Halted by the deadline", (p) => p.status?.state === "Halted", 60_000);
    assert.match(condition(halted, "Halted")?.message ?? "", /DeadlineExceeded/);
    assert.equal((await podsOf("deadline", "apply"))[0]?.spec?.["activeDeadlineSeconds"], 2);
  });

  it("outside its window a Plan waits and starts nothing", async () => {
    const label = "test.plan-runner.dev/window";
    await optIn(env, [workers[4]!], label);
    const now = new Date();
    const closed: { days: [string, ...string[]]; startTime: string; endTime: string; timeZone: string } = {
      days: ["su", "mo", "tu", "we", "th", "fr", "sa"],
      startTime: `${String((now.getUTCHours() + 3) % 24).padStart(2, "0")}:00`,
      endTime: `${String((now.getUTCHours() + 4) % 24).padStart(2, "0")}:00`,
      timeZone: "UTC",
    };
    await applyPlan(env, aPlan(ns, "window", { window: closed, nodeSelector: { matchLabels: { [label]: "yes" } } }));
    const waiting = await waitForPlan(env, ns, "window", "Waiting", (p) => condition(p, "Waiting")?.status === "True");
    assert.equal(condition(waiting, "Waiting")?.reason, "OutsideWindow");
    assert.equal((await podsOf("window")).length, 0);
  });

  it("`after` starts the workers only once the control-plane Plan is Complete", async () => {
    const cp = "control-plane-1";
    await optIn(env, [cp], "test.plan-runner.dev/cp");
    await optIn(env, workers.slice(0, 2), "test.plan-runner.dev/wk");
    const watch = new PodWatch(env, ns);
    try {
      await applyPlan(env, aPlan(ns, "wk", { concurrency: 2, after: ["cp"], nodeSelector: { matchLabels: { "test.plan-runner.dev/wk": "yes" } } }));
      const w = await waitForPlan(env, ns, "wk", "Waiting for cp", (p) => condition(p, "Waiting")?.status === "True");
      assert.match(condition(w, "Waiting")?.message ?? "", /cp/);
      await applyPlan(
        env,
        aPlan(
          ns,
          "cp",
          {
            nodeSelector: { matchLabels: { "test.plan-runner.dev/cp": "yes" } },
            tolerations: [{ key: "node-role.kubernetes.io/control-plane", operator: "Exists", effect: "NoSchedule" }],
          },
          { "sim.plan-runner.dev/run-for": "1500ms" },
        ),
      );
      await waitForPlan(env, ns, "wk", "Complete", (p) => condition(p, "Complete")?.status === "True", 60_000);
      const pods = [...watch.seen.values()].filter((p) => ["cp", "wk"].includes(p.metadata.labels?.["upgrade.cattle.io/plan"] ?? ""));
      const cpDone = pods
        .filter((p) => p.metadata.labels?.["upgrade.cattle.io/plan"] === "cp")
        .map((p) => Date.parse(p.status?.containerStatuses?.[0]?.state?.terminated?.finishedAt ?? ""));
      const wkStart = pods.filter((p) => p.metadata.labels?.["upgrade.cattle.io/plan"] === "wk").map((p) => Date.parse(p.metadata.creationTimestamp ?? ""));
      assert.ok(cpDone.length === 1 && wkStart.length === 2);
      assert.ok(Math.min(...wkStart) >= Math.max(...cpDone) - 1000, "workers started after the control plane finished (1s timestamp resolution)");
    } finally {
      await watch.stop();
    }
  });

  it("two exclusive Plans never run on the same node at once", async () => {
    const label = "test.plan-runner.dev/excl";
    await optIn(env, workers.slice(0, 3), label);
    const active = new Map<string, Set<string>>();
    let overlap = false;
    const abort = new AbortController();
    const watching = env.kube
      .watch(
        resources.pods,
        ns,
        {},
        (e) => {
          if (e.type === "ERROR" || e.type === "BOOKMARK") return;
          const p = e.object as Pod;
          const plan = p.metadata.labels?.["upgrade.cattle.io/plan"];
          if (plan !== "ex-a" && plan !== "ex-b") return;
          const node = p.spec?.nodeName ?? "";
          const set = active.get(node) ?? new Set();
          if (e.type === "DELETED" || p.status?.phase === "Succeeded" || p.status?.phase === "Failed") set.delete(plan);
          else set.add(plan);
          active.set(node, set);
          if (set.size > 1) overlap = true;
        },
        abort.signal,
      )
      .catch(() => {});
    try {
      for (const name of ["ex-a", "ex-b"]) {
        await applyPlan(
          env,
          aPlan(
            ns,
            name,
            { concurrency: 3, exclusive: true, cordon: true, nodeSelector: { matchLabels: { [label]: "yes" } } },
            { "sim.plan-runner.dev/run-for": "1s" },
          ),
        );
      }
      for (const name of ["ex-a", "ex-b"]) await waitForPlan(env, ns, name, "Complete", (p) => condition(p, "Complete")?.status === "True", 90_000);
      assert.equal(overlap, false, "an exclusive pod of each Plan shared a node");
    } finally {
      abort.abort();
      await watching;
    }
  });

  it("firing alerts hold new starts (Held, quiet) with the alert names; ignored ones do not", async () => {
    let alerts = [
      { state: "firing", labels: { alertname: "KubeNodeNotReady" } },
      { state: "firing", labels: { alertname: "Watchdog" } },
    ];
    const prom: Server = createServer((req, res) => {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ status: "success", data: { alerts } }));
    });
    await new Promise<void>((r) => prom.listen(0, "127.0.0.1", () => r()));
    try {
      const label = "test.plan-runner.dev/alerts";
      await optIn(env, [workers[2]!], label);
      const url = `http://127.0.0.1:${(prom.address() as AddressInfo).port}`;
      await applyPlan(
        env,
        aPlan(ns, "alerts", { gates: { prometheus: { url, ignoreAlerts: "Watchdog|InfoInhibitor" } }, nodeSelector: { matchLabels: { [label]: "yes" } } }),
      );
      const held = await waitForPlan(env, ns, "alerts", "Held by alerts", (p) => p.status?.state === "Held");
      assert.equal(condition(held, "Held")?.reason, "AlertsFiring");
      assert.match(condition(held, "Held")?.message ?? "", /KubeNodeNotReady/);
      assert.doesNotMatch(condition(held, "Held")?.message ?? "", /Watchdog/);
      assert.equal(condition(held, "Halted")?.status, "False", "nothing failed: not Halted");
      assert.equal(await gauge("halted", "alerts"), 0, "firing alerts page by themselves; the Plan does not page again");
      assert.equal((await podsOf("alerts")).length, 0);
      alerts = [{ state: "firing", labels: { alertname: "Watchdog" } }];
      await waitForPlan(env, ns, "alerts", "Complete once only ignored alerts fire", (p) => condition(p, "Complete")?.status === "True", 60_000);
    } finally {
      prom.close();
    }
  });

  it("the health gate holds the next node while pods on the upgraded node are not Ready, then fails naming them", async () => {
    const label = "test.plan-runner.dev/health";
    const [first, second] = [workers[3]!, workers[4]!];
    await optIn(env, [first, second], label);
    // A pod that never starts on the first node: it is never Ready.
    await env.kube.create(resources.pods, ns, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "slow-app", namespace: ns, annotations: { "sim.plan-runner.dev/start-delay": "10m" } },
      spec: { nodeName: first, containers: [{ name: "c", image: "example.com/app" }] },
    } as never);
    await applyPlan(
      env,
      aPlan(ns, "health", {
        concurrency: 1,
        gates: { health: { soak: "1s", timeout: "4s" } },
        failurePolicy: { retries: 0 },
        nodeSelector: { matchLabels: { [label]: "yes" } },
        order: { groups: [{ matchLabels: { "kubernetes.io/hostname": first } }] },
      }),
    );
    const halted = await waitForPlan(env, ns, "health", "Halted by the health gate", (p) => p.status?.state === "Halted", 60_000);
    assert.match(condition(halted, "Halted")?.message ?? "", new RegExp(`pods on node ${first} not Ready: \\S*slow-app`));
    assert.equal((await podsOf("health")).filter((p) => p.spec?.nodeName === second).length, 0, "the next node never started");
    assert.notEqual((await getNode(env, first)).metadata.labels?.["plan.upgrade.cattle.io/health"], halted.status?.latestHash);
  });

  it("a Plan deleted mid-rollout leaves no node cordoned by it", async () => {
    const label = "test.plan-runner.dev/deleted";
    await optIn(env, workers.slice(0, 2), label);
    await applyPlan(
      env,
      aPlan(ns, "deleted", { concurrency: 2, cordon: true, nodeSelector: { matchLabels: { [label]: "yes" } } }, { "sim.plan-runner.dev/outcome": "hang" }),
    );
    await waitFor(async () => (await Promise.all(workers.slice(0, 2).map((n) => getNode(env, n)))).every((n) => n.spec?.unschedulable === true), {
      timeoutMs: 30_000,
      what: "both nodes cordoned by the Plan",
    });
    await env.kube.delete(resources.plans, ns, "deleted");
    for (const n of workers.slice(0, 2)) {
      await waitFor(async () => (await getNode(env, n)).spec?.unschedulable !== true, {
        timeoutMs: 30_000,
        what: `${n} uncordoned after the Plan was deleted`,
      });
      assert.equal((await getNode(env, n)).metadata.annotations?.["cordoned.plan-runner.dev/deleted"], undefined);
    }
  });
});
