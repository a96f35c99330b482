// A first run builds the control plane for 10-30 minutes; what it shows meanwhile: each step, its
// log, its elapsed time while it runs, and how it ended. Tested on the real build script with a
// stand-in `go` (test/fixtures/fake-go) whose compile step lasts until the test lets it end, in a
// cache of its own: nothing is built and the real cache is not touched.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { waitFor } from "../env/wait.ts";

const here = fileURLToPath(new URL(".", import.meta.url));
const buildScript = join(here, "../env/build-control-plane.sh");
const progressLib = join(here, "../env/progress.sh");
const fakeGo = join(here, "../fixtures/fake-go");
const dir = mkdtempSync(join(tmpdir(), "build-progress-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function start(args: readonly string[], env: Record<string, string>) {
  const child = spawn("bash", args, { env: { ...process.env, PROGRESS_INTERVAL: "1", PROGRESS_POLL: "0.1", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const exit = new Promise<number | null>((resolve) => child.once("close", resolve));
  return { exit, stdout: () => stdout, stderr: () => stderr };
}

const ELAPSED = String.raw`(\d+s|\d+m\d\ds)`;

describe("control-plane build: progress on a first run", () => {
  it("names each step and its log, says how long a slow step has run, and where the binaries are", async () => {
    const cache = join(dir, "cache");
    const release = join(dir, "release");
    const run = start([buildScript], { PATH: `${fakeGo}:${process.env["PATH"] ?? ""}`, PLAN_RUNNER_CACHE: cache, FAKE_GO_RELEASE: release });
    const compiling =
      /^\[control-plane build\] compiling kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet v1\.36\.3: (\S+) elapsed, (\d+) lines of output \(log: (\S+)\)$/gm;
    await waitFor(() => [...run.stderr().matchAll(compiling)].length >= 2, { timeoutMs: 30_000, what: "two progress lines from the slow compile" });
    writeFileSync(release, "");
    assert.equal(await run.exit, 0, run.stderr());

    const err = run.stderr();
    const log = join(cache, "work/k8s-v1.36.3.logs/compile.log");
    assert.match(err, new RegExp(`^\\[control-plane build\\] compiling kube-apiserver .* v1\\.36\\.3 \\(log: ${log}\\)$`, "m"));
    for (const m of err.matchAll(compiling)) {
      assert.match(m[1] ?? "", new RegExp(`^${ELAPSED}$`));
      assert.equal(m[3], log);
    }
    assert.match(err, new RegExp(`^\\[control-plane build\\] compiling kube-apiserver .* v1\\.36\\.3: done in ${ELAPSED}$`, "m"));
    for (const step of ["building kwok v0.8.0", "fetching etcd v3.6.14", "compiling etcd v3.6.14", "fetching k8s.io/kubernetes v1.36.3 and its modules"]) {
      assert.match(err, new RegExp(`^\\[control-plane build\\] ${step.replaceAll(".", "\\.")} \\(log: /\\S+\\.log\\)$`, "m"), step);
    }
    assert.doesNotMatch(err, /^go: downloading/m, "the go commands' output is in the logs, not on the terminal");
    assert.match(readFileSync(log, "utf8"), /^k8s\.io\/kubernetes\/cmd\/kube-apiserver$/m);
    const bin = run.stdout().trim().split("\n").at(-1) ?? "";
    assert.equal(bin, join(cache, "bin/k8s-v1.36.3_etcd-v3.6.14_kwok-v0.8.0"));
    assert.match(err, new RegExp(`^\\[control-plane build\\] done in ${ELAPSED}: ${bin}$`, "m"));

    const again = start([buildScript], { PATH: `${fakeGo}:${process.env["PATH"] ?? ""}`, PLAN_RUNNER_CACHE: cache });
    assert.equal(await again.exit, 0);
    assert.equal(again.stderr(), `[control-plane build] cached: ${bin}\n`);
  });

  it("a failed step says so with its exit code, then the end of its log", async () => {
    const log = join(dir, "fail/step.log");
    const script = `source ${progressLib}; with_progress "compiling something" ${log} bash -c 'echo one; echo "go: cannot find module" >&2; exit 3'`;
    const run = start(["-c", script], { PROGRESS_PREFIX: "[test build]" });
    assert.equal(await run.exit, 3);
    // A loaded machine may print an elapsed-time line before the step ends: those are skipped.
    const lines = run
      .stderr()
      .trimEnd()
      .split("\n")
      .filter((l) => !/ elapsed, \d+ lines? of output /.test(l));
    assert.deepEqual(lines[0], `[test build] compiling something (log: ${log})`);
    assert.match(lines[1] ?? "", new RegExp(`^\\[test build\\] compiling something: FAILED \\(exit 3\\) after ${ELAPSED}; the end of ${log}:$`));
    assert.deepEqual(lines.slice(2), ["    one", "    go: cannot find module"]);
    assert.ok(existsSync(log));
  });

  it("elapsed time reads as seconds, then minutes and seconds", async () => {
    const run = start(["-c", `source ${progressLib}; progress_elapsed 9; echo; progress_elapsed 65; echo; progress_elapsed 1805`], {});
    assert.equal(await run.exit, 0);
    assert.equal(run.stdout(), "9s\n1m05s\n30m05s");
  });
});
