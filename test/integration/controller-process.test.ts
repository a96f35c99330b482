// The controller as an OS process, as a person starts it or reads its logs: a busy metrics port is
// one line and a non-zero exit, not a stack trace; the log level and format are the flags'; the
// per-node drain chatter is debug; a standby says once that it waits for the lease, and for whom.
import assert from "node:assert/strict";
import { once } from "node:events";
import { type AddressInfo, createServer } from "node:net";
import { after, before, describe, it } from "node:test";
import type { Lease } from "../../src/controller/rollout/objects.ts";
import { resources } from "../../src/controller/kube/ports.ts";
import { waitFor } from "../env/wait.ts";
import { type Env, aPlan, applyPlan, condition, optIn, spawnController, startEnv, waitForPlan } from "./controller-env.ts";

let env: Env;
before(async () => {
  env = await startEnv(3, 1);
});
after(async () => env?.stop());

type Child = ReturnType<typeof spawnController>;

async function exitOf(child: Child): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const [code] = (await once(child, "exit")) as [number | null];
  return code;
}

async function kill(children: readonly Child[]): Promise<void> {
  for (const c of children)
    if (c.exitCode === null && c.signalCode === null) {
      c.kill("SIGKILL");
      await once(c, "exit");
    }
}

const drainPlan = (ns: string, name: string, label: string) =>
  aPlan(ns, name, { concurrency: 1, drain: { force: true, timeout: "1m" }, nodeSelector: { matchLabels: { [label]: "yes" } } });

describe("controller process", () => {
  it("a metrics port already in use is one line naming the flag and the address, exit 1", async () => {
    const ns = await env.cp.createNamespace("port");
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(0, "127.0.0.1", () => r()));
    const address = `127.0.0.1:${(holder.address() as AddressInfo).port}`;
    try {
      const child = spawnController(env, ns, ["--metrics-address", address]);
      assert.equal(await exitOf(child), 1);
      const lines = child.output().trim().split("\n");
      const errors = lines.map((l) => JSON.parse(l) as { level: string; msg: string }).filter((l) => l.level === "error");
      assert.deepEqual(
        errors.map((l) => l.msg),
        [`--metrics-address ${address}: cannot listen: the address is already in use (another process listens there); give another HOST:PORT, or off`],
      );
      assert.doesNotMatch(child.output(), /^\s+at /m, "no stack trace");
    } finally {
      await new Promise((r) => holder.close(r));
    }
  });

  it("a malformed --metrics-address is refused before anything starts, exit 2", async () => {
    const child = spawnController(env, "unused", ["--metrics-address", "8080"]);
    assert.equal(await exitOf(child), 2);
    assert.equal(child.output().trim(), `--metrics-address: "8080" must be HOST:PORT, :PORT or off`);
  });

  it("--log-format text --log-level debug: a person's lines, with each drain pass", async () => {
    const ns = await env.cp.createNamespace("textlog");
    const label = "test.plan-runner.dev/textlog";
    await optIn(env, ["worker-1"], label);
    const child = spawnController(env, ns, ["--leader-elect", "false", "--log-format", "text", "--log-level", "debug"]);
    try {
      await applyPlan(env, drainPlan(ns, "drained", label));
      await waitForPlan(env, ns, "drained", "Complete", (p) => condition(p, "Complete")?.status === "True", 60_000);
      const out = child.output();
      assert.match(out, /^\d{4}-\d\d-\d\dT\S+Z INFO {2}starting controller=plan-runner namespace=\S+ /m);
      assert.match(out, /^\S+ DEBUG drain pass controller=plan-runner plan=drained node=worker-1 evict=\d+ terminating=\d+ refused=0$/m);
      assert.match(out, /^\S+ INFO {2}drained; created pod controller=plan-runner plan=drained node=worker-1 pod=apply-drained-on-worker-1-with-\S+$/m);
      assert.doesNotMatch(out, /^\{/m, "no JSON line");
    } finally {
      await kill([child]);
    }
  });

  it("two replicas (JSON, info): no drain chatter; the standby says once that it waits, naming the holder", async () => {
    const ns = await env.cp.createNamespace("standby");
    const label = "test.plan-runner.dev/standby";
    await optIn(env, ["worker-2"], label);
    const a = spawnController(env, ns);
    const b = spawnController(env, ns);
    try {
      await applyPlan(env, drainPlan(ns, "drained", label));
      await waitForPlan(env, ns, "drained", "Complete", (p) => condition(p, "Complete")?.status === "True", 60_000);
      const leader = [a, b].find((c) => c.output().includes('"msg":"became leader"'));
      assert.ok(leader !== undefined, "one replica leads");
      const standby = leader === a ? b : a;
      const holder = (await env.kube.get<Lease>(resources.leases, ns, "plan-runner-leader")).spec?.holderIdentity ?? "";
      assert.notEqual(holder, "");
      // The standby asks every retry period (500ms here); let the leader renew a few times meanwhile.
      const renewals = new Set<string>();
      await waitFor(
        async () => {
          renewals.add((await env.kube.get<Lease>(resources.leases, ns, "plan-runner-leader")).spec?.renewTime ?? "");
          return renewals.size >= 4;
        },
        { timeoutMs: 20_000, what: "the leader to renew the lease 4 times" },
      );
      const lines = standby
        .output()
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const waiting = lines.filter((l) => l["msg"] === "standby: waiting for the lease");
      assert.equal(waiting.length, 1, standby.output());
      assert.equal(waiting[0]?.["holder"], holder);
      assert.equal(waiting[0]?.["level"], "info");
      assert.ok(!leader.output().includes('"msg":"drain pass"'), "drain passes are debug");
      assert.ok(leader.output().includes('"msg":"drained; created pod"'));
    } finally {
      await kill([a, b]);
    }
  });
});
