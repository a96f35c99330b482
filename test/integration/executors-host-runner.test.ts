import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createHostRunner, hostArgv, type HostRunner } from "../../src/executors/host-runner.ts";
import { StepFailure } from "../../src/executors/step-failure.ts";

function localRunner(): HostRunner & { lines: string[] } {
  const lines: string[] = [];
  return Object.assign(createHostRunner({ mode: "local", log: (l) => void lines.push(l) }), { lines });
}

const failure = async (p: Promise<unknown>): Promise<StepFailure> => {
  const e = await p.then(
    () => assert.fail("expected the step to fail"),
    (err: unknown) => err,
  );
  assert.ok(e instanceof StepFailure, String(e));
  return e;
};

describe("host runner (real processes, local mode)", () => {
  test("streams stdout and stderr line by line with the step prefix and returns them", async () => {
    const r = localRunner();
    const res = await r.run("greet", ["sh", "-c", "echo one; echo two >&2; echo three"]);
    assert.deepEqual(res, { exitCode: 0, stdout: "one\nthree\n", stderr: "two\n" });
    assert.deepEqual(r.lines.slice(1).sort(), ["[greet] one", "[greet] three", "[greet] two"]);
    assert.equal(r.lines[0], "[greet] $ sh -c 'echo one; echo two >&2; echo three'");
  });

  test("arguments are never interpreted by a shell", async () => {
    const hostile = "$(touch /tmp/pwned-by-plan-runner); `id`; rm -rf / --no-preserve-root";
    const res = await localRunner().run("echo", ["printf", "%s", hostile], { quiet: true });
    assert.equal(res.stdout, hostile);
  });

  test("quiet keeps stdout out of the log but still returns it", async () => {
    const r = localRunner();
    const res = await r.run("read", ["printf", "secret-ish\n"], { quiet: true });
    assert.equal(res.stdout, "secret-ish\n");
    assert.deepEqual(r.lines, ["[read] $ printf 'secret-ish\n'"]);
  });

  test("stdin input reaches the command", async () => {
    const res = await localRunner().run("write", ["cat"], { input: "line 1\nline 2\n" });
    assert.equal(res.stdout, "line 1\nline 2\n", "output comes back byte for byte, final newline included");
  });

  test("the pod's environment does not reach the host; the given one does", async () => {
    process.env["PLAN_RUNNER_TEST_LEAK"] = "should-not-leak";
    try {
      const res = await localRunner().run("env", ["env"], { env: { DEBIAN_FRONTEND: "noninteractive" } });
      assert.doesNotMatch(res.stdout, /PLAN_RUNNER_TEST_LEAK/);
      assert.match(res.stdout, /^DEBIAN_FRONTEND=noninteractive$/m);
      assert.match(res.stdout, /^LC_ALL=C$/m);
    } finally {
      delete process.env["PLAN_RUNNER_TEST_LEAK"];
    }
  });

  test("a non-zero exit is a typed failure naming the step, the code and the end of stderr", async () => {
    const e = await failure(localRunner().run("install", ["sh", "-c", "echo 'E: Unable to locate package kubeadm' >&2; exit 100"]));
    assert.equal(e.kind, "exit");
    assert.equal(e.step, "install");
    assert.equal(e.exitCode, 100);
    assert.match(e.message, /^step "install" failed: sh -c .* exited with code 100\nE: Unable to locate package kubeadm$/);
  });

  test("an expected exit code is an answer, not a failure", async () => {
    const res = await localRunner().run("probe", ["sh", "-c", "exit 1"], { okExitCodes: [0, 1] });
    assert.equal(res.exitCode, 1);
  });

  test("a command that outlives its timeout is killed and reported as a timeout", async () => {
    const e = await failure(localRunner().run("hang", ["sleep", "30"], { timeoutMs: 300 }));
    assert.equal(e.kind, "timeout");
    assert.match(e.message, /^step "hang" failed: sleep 30 did not finish within 300ms and was killed/);
  });

  test("a command killed by a signal is reported with the signal", async () => {
    const e = await failure(localRunner().run("die", ["sh", "-c", "kill -KILL $$"]));
    assert.equal(e.kind, "signal");
    assert.equal(e.signal, "SIGKILL");
    assert.match(e.message, /was killed by SIGKILL/);
  });

  test("a command that cannot be started is a spawn failure", async () => {
    const e = await failure(localRunner().run("missing", ["/nonexistent/plan-runner-tool", "x"]));
    assert.equal(e.kind, "spawn");
    assert.match(e.message, /^step "missing" failed: \/nonexistent\/plan-runner-tool x could not be started \(ENOENT\)/);
  });
});

describe("host argv per mode", () => {
  const cases = [
    { mode: "chroot" as const, root: "/host", expect: ["chroot", "/host", "apt-get", "update"] },
    { mode: "chroot" as const, root: "/tmp/debian", expect: ["chroot", "/tmp/debian", "apt-get", "update"] },
    { mode: "nsenter" as const, root: undefined, expect: ["nsenter", "-t", "1", "-m", "-u", "-i", "-n", "-p", "--", "apt-get", "update"] },
    { mode: "local" as const, root: undefined, expect: ["apt-get", "update"] },
  ];
  for (const c of cases) void test(`${c.mode} ${c.root ?? ""}`, () => assert.deepEqual(hostArgv(c.mode, c.root, ["apt-get", "update"]), c.expect));
});
