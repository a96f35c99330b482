// Bad input to the host commands: exit 3 and one line naming what is wrong, before anything
// runs on the host (the --host-mode local runner would run for real if it got that far).
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { bufferIO } from "../../src/cli/io.ts";
import { run as etcdSnapshot } from "../../src/cli/commands/etcd-snapshot.ts";
import { run as kubeadmUpgrade } from "../../src/cli/commands/kubeadm-upgrade.ts";
import { run as osUpgrade } from "../../src/cli/commands/os-upgrade.ts";
import type { Command } from "../../src/cli/io.ts";
import { BadInput, runNodeCommand } from "../../src/executors/command-support.ts";
import { StepFailure } from "../../src/executors/step-failure.ts";

const commands: Record<string, Command> = { "kubeadm-upgrade": kubeadmUpgrade, "etcd-snapshot": etcdSnapshot, "os-upgrade": osUpgrade };
const ok = ["--role", "worker", "--release", "1.35.1", "--node", "n1"];

describe("node commands: bad input is exit 3 with a message naming it", () => {
  const cases: { command: string; args: string[]; env?: Record<string, string>; says: RegExp }[] = [
    { command: "kubeadm-upgrade", args: ["--release", "1.35.1", "--node", "n1"], says: /--role is required: control-plane or worker/ },
    {
      command: "kubeadm-upgrade",
      args: ["--role", "master", "--release", "1.35.1", "--node", "n1"],
      says: /unknown role "master": use control-plane or worker/,
    },
    { command: "kubeadm-upgrade", args: ["--role", "worker", "--node", "n1"], says: /--release is required/ },
    { command: "kubeadm-upgrade", args: ["--role", "worker", "--release", "1.35", "--node", "n1"], says: /malformed release "1\.35": expected X\.Y\.Z/ },
    { command: "kubeadm-upgrade", args: ["--role", "worker", "--release", "v1.35.1+k3s1", "--node", "n1"], says: /malformed release "v1\.35\.1\+k3s1"/ },
    { command: "kubeadm-upgrade", args: ["--role", "worker", "--release", "1.35.1; reboot", "--node", "n1"], says: /malformed release "1\.35\.1; reboot"/ },
    {
      command: "kubeadm-upgrade",
      args: ["--role", "worker", "--release", "1.35.1", "--node", "n1", "--patches", "patches"],
      says: /--patches must be an absolute path on the host, not "patches"/,
    },
    {
      command: "kubeadm-upgrade",
      args: ["--role", "worker", "--release", "1.35.1", "--node", "n1", "--config", "/etc/kubernetes/upgrade.yaml", "--patches", "/etc/kubernetes/patches"],
      says: /--patches cannot be combined with --config \(kubeadm refuses both\): set apply.patches and node.patches/,
    },
    {
      command: "kubeadm-upgrade",
      args: ["--role", "worker", "--release", "1.35.1", "--node", "n1", "--config", "upgrade.yaml"],
      says: /--config must be an absolute path on the host, not "upgrade.yaml"/,
    },
    { command: "kubeadm-upgrade", args: [...ok, "--kubeadm-timeout", "20m"], says: /--kubeadm-timeout must be a whole number of seconds, not "20m"/ },
    { command: "kubeadm-upgrade", args: [...ok, "--apt-timeout", "30m"], says: /--apt-timeout must be a whole number of seconds, not "30m"/ },
    {
      command: "kubeadm-upgrade",
      args: ["--role", "worker", "--release", "1.35.1"],
      says: /--node is required outside an upgrade pod \(SYSTEM_UPGRADE_NODE_NAME is unset\)/,
    },
    { command: "kubeadm-upgrade", args: [...ok, "--verify-timeout", "5m"], says: /--verify-timeout must be a whole number of seconds, not "5m"/ },
    { command: "kubeadm-upgrade", args: [...ok, "--host-mode", "ssh"], says: /unknown host mode "ssh": use one of chroot, nsenter, local/ },
    { command: "kubeadm-upgrade", args: ok, env: { PLAN_RUNNER_HOST_MODE: "docker" }, says: /unknown host mode "docker"/ },
    { command: "kubeadm-upgrade", args: [...ok, "--force"], says: /Unknown option '--force'/ },
    { command: "etcd-snapshot", args: ["--method", "docker"], says: /unknown method "docker": use crictl or host/ },
    { command: "etcd-snapshot", args: ["--name", "../../etc/passwd"], says: /--name "\.\.\/\.\.\/etc\/passwd" must be a plain file name/ },
    { command: "etcd-snapshot", args: ["--dir", "backups"], says: /--dir "backups" must be an absolute path on the host/ },
    { command: "os-upgrade", args: ["--reboot-wait", "soon"], says: /--reboot-wait must be a whole number of seconds, not "soon"/ },
    { command: "os-upgrade", args: ["--reboot"], says: /Unknown option '--reboot'/ },
  ];
  for (const c of cases) {
    test(`${c.command} ${c.args.join(" ")}`, async () => {
      const io = bufferIO(c.env ?? {});
      const code = await (commands[c.command] as Command)(c.args, io);
      assert.equal(code, 3);
      assert.match(io.stderr(), c.says);
      assert.match(io.stderr(), new RegExp(`run plan-runner ${c.command} --help`));
      assert.equal(io.stdout(), "", "nothing ran");
    });
  }

  for (const name of Object.keys(commands)) {
    test(`${name} --help describes the command and exits 0`, async () => {
      const io = bufferIO();
      assert.equal(await (commands[name] as Command)(["--help"], io), 0);
      assert.match(io.stdout(), new RegExp(`^usage: plan-runner ${name}`));
      assert.match(io.stdout(), /--host-mode chroot\|nsenter\|local/);
    });
  }
});

describe("node commands: why they failed is the pod's termination message", () => {
  const dir = mkdtempSync(join(tmpdir(), "termination-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const cases: Array<[string, () => Promise<number>, number, RegExp]> = [
    [
      "a failed step",
      () => Promise.reject(new StepFailure({ step: "no-downgrade", kind: "check", detail: "the node runs kubelet 1.35.1" })),
      1,
      /^plan-runner x: step "no-downgrade" failed: the node runs kubelet 1\.35\.1$/,
    ],
    ["bad input", () => Promise.reject(new BadInput("--role is required")), 3, /^plan-runner x: --role is required$/],
  ];
  for (const [name, body, code, says] of cases) {
    test(name, async () => {
      const log = join(dir, name.replaceAll(" ", "-"));
      writeFileSync(log, "");
      assert.equal(await runNodeCommand("x", bufferIO(), body, log), code);
      assert.match(readFileSync(log, "utf8"), says);
    });
  }
  test("outside a pod (no termination log) nothing is written and the exit code stands", async () => {
    const missing = join(dir, "absent", "termination-log");
    assert.equal(await runNodeCommand("x", bufferIO(), () => Promise.reject(new BadInput("no")), missing), 3);
    assert.equal(existsSync(missing), false);
  });
});
