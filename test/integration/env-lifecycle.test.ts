// The harness's promises about processes: control planes do not share anything, a failed start
// says why, and nothing outlives the test process however it ends.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { CoreV1Api } from "@kubernetes/client-node";
import { ensureControlPlaneBinaries } from "../env/binaries.ts";
import { startControlPlane } from "../env/control-plane.ts";
import { groupAlive } from "../env/processes.ts";
import { waitFor } from "../env/wait.ts";

let binDir: string;
before(async () => {
  binDir = await ensureControlPlaneBinaries();
});

/** Live processes whose command line starts with `prefix` (the binaries of one bin dir). */
function processesRunning(prefix: string): number[] {
  return readdirSync("/proc")
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        return readFileSync(`/proc/${e}/cmdline`, "utf8").startsWith(prefix) && groupAlive(Number(e));
      } catch {
        return false;
      }
    })
    .map(Number);
}

const allDead = (pids: readonly number[]): boolean => pids.every((p) => !groupAlive(p));

test("two control planes in one process are independent and each stop() removes its own", async () => {
  const [a, b] = await Promise.all([startControlPlane({ binDir, nodes: 1 }), startControlPlane({ binDir, nodes: 2 })]);
  try {
    assert.notEqual(a.server, b.server);
    await a.kubeConfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: "only-in-a" } } });
    const inB = (await b.kubeConfig.makeApiClient(CoreV1Api).listNamespace()).items.map((n) => n.metadata?.name);
    assert.ok(!inB.includes("only-in-a"));
    assert.equal((await b.kubeConfig.makeApiClient(CoreV1Api).listNode()).items.length, 2);

    await a.stop();
    assert.ok(allDead(a.components.map((c) => c.pid)));
    assert.ok(!existsSync(a.dir));
    assert.equal((await b.kubeConfig.makeApiClient(CoreV1Api).listNode()).items.length, 2, "b still serves");
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
  assert.ok(allDead(b.components.map((c) => c.pid)));
  assert.ok(!existsSync(b.dir));
});

test("a component that fails at start-up fails startControlPlane with its log and leaves nothing running", async () => {
  const fakeBin = mkdtempSync(join(tmpdir(), "plan-runner-fake-bin-"));
  try {
    for (const b of ["etcd", "kube-controller-manager", "kube-scheduler", "kubectl", "kwok"]) symlinkSync(join(binDir, b), join(fakeBin, b));
    writeFileSync(join(fakeBin, "kube-apiserver"), "#!/bin/sh\necho 'apiserver: cannot start: simulated bad flag' >&2\nexit 3\n");
    chmodSync(join(fakeBin, "kube-apiserver"), 0o755);
    const dir = mkdtempSync(join(tmpdir(), "plan-runner-failing-"));
    const error = await startControlPlane({ binDir: fakeBin, dir }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof Error);
    assert.match(error.message, /kube-apiserver exited \(code 3\)/);
    assert.match(error.message, /simulated bad flag/);
    assert.ok(!existsSync(dir), "the run dir is removed");
    assert.deepEqual(processesRunning(fakeBin), [], "etcd, started before the API server, is gone too");
  } finally {
    rmSync(fakeBin, { recursive: true, force: true });
  }
});

const childScript = fileURLToPath(new URL("../env/hold-control-plane.ts", import.meta.url));

// SIGINT takes the same path as SIGTERM (onExitCleanup); SIGKILL is left to the reaper.
for (const signal of ["SIGTERM", "SIGKILL"] as const) {
  test(`a control plane does not outlive its test process killed with ${signal}`, async () => {
    const child = spawn(process.execPath, ["--import", "tsx", childScript], {
      env: { ...process.env, PLAN_RUNNER_BIN_DIR: binDir },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    const held = await waitFor(
      () => {
        const line = out.split("\n").find((l) => l.startsWith("{"));
        return line === undefined ? undefined : (JSON.parse(line) as { dir: string; pids: number[] });
      },
      { timeoutMs: 120_000, what: "the child to report its running control plane" },
    );
    assert.ok(!allDead(held.pids));
    child.kill(signal);
    await waitFor(() => allDead(held.pids) && !existsSync(held.dir), {
      timeoutMs: 15_000,
      what: `the control plane of a child killed with ${signal} to be gone`,
    });
  });
}
