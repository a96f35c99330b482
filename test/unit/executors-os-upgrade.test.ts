import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { osUpgrade, type OsUpgradeOptions } from "../../src/executors/os-upgrade.ts";
import { StepFailure } from "../../src/executors/step-failure.ts";
import { FakeHost, fakeDeps } from "../fixtures/executors/fake-host.ts";

const opts = (rebootIfRequired: boolean): OsUpgradeOptions => ({ rebootIfRequired, rebootWaitMs: 600_000 });

/** A node with kubeadm/kubelet/kubectl held at 1.34.3, openssl and a kernel with updates waiting. */
function aNode(kernelUpdate = false): FakeHost {
  const host = new FakeHost({ at: "1.34.3" });
  host.installed.set("openssl", { version: "3.0.15-1~deb12u1", held: false });
  host.osUpdates.set("openssl", "3.0.16-1~deb12u1");
  host.osUpdates.set("kubelet", "1.34.5-1.1");
  if (kernelUpdate) {
    host.installed.set("linux-image-amd64", { version: "6.1.128-1", held: false });
    host.osUpdates.set("linux-image-amd64", "6.1.129-1");
    host.osUpdateNeedsReboot = true;
  }
  return host;
}

async function upgrade(host: FakeHost, rebootIfRequired: boolean) {
  const runner = host.runner();
  const deps = fakeDeps(runner);
  const outcome = await osUpgrade(deps, opts(rebootIfRequired));
  return { outcome, transcript: runner.transcript(), deps };
}

describe("os-upgrade", () => {
  test("exact commands: holds read, update, upgrade with new packages, holds checked, reboot flag looked at", async () => {
    const host = aNode();
    const { outcome, transcript } = await upgrade(host, true);
    assert.equal(outcome, "upgraded");
    assert.deepEqual(transcript, [
      "holds: apt-mark showhold",
      "held-before: dpkg-query -W -f=${Package}\\t${db:Status-Abbrev}\\t${Version}\\n kubeadm kubelet kubectl",
      "apt-update: apt-get update -q",
      "dpkg-configure: dpkg --configure -a",
      "apt-upgrade: apt-get upgrade -y -q --with-new-pkgs -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold",
      "held-after: dpkg-query -W -f=${Package}\\t${db:Status-Abbrev}\\t${Version}\\n kubeadm kubelet kubectl",
      "reboot-required: test -e /var/run/reboot-required",
    ]);
    assert.equal(host.installed.get("openssl")?.version, "3.0.16-1~deb12u1", "unheld packages are upgraded");
    assert.equal(host.installed.get("kubelet")?.version, "1.34.3-1.1", "held packages are left alone");
    assert.equal(host.rebooted, false);
  });

  test("a package asked for a reboot and --reboot-if-required: reboots, then waits for the reboot to end the pod", async () => {
    const host = aNode(true);
    const runner = host.runner();
    const deps = fakeDeps(runner);
    await assert.rejects(
      osUpgrade(deps, opts(true)),
      (e: unknown) => e instanceof StepFailure && e.step === "reboot" && /still up 600s after systemctl reboot/.test(e.message),
    );
    assert.equal(host.rebooted, true);
    assert.deepEqual(runner.transcript().slice(-2), ["reboot-required: test -e /var/run/reboot-required", "reboot: systemctl reboot"]);
    assert.deepEqual(deps.slept, [600_000]);
  });

  test("the run after the reboot finds nothing to do and does not reboot again", async () => {
    const host = aNode(true);
    await upgrade(host, true).catch(() => undefined);
    host.rebootRequired = false; // the reboot cleared the flag file
    host.rebooted = false;
    const { outcome } = await upgrade(host, true);
    assert.equal(outcome, "upgraded");
    assert.equal(host.rebooted, false);
  });

  test("a reboot is required but not allowed: says so and does not reboot", async () => {
    const host = aNode(true);
    const { outcome, deps } = await upgrade(host, false);
    assert.equal(outcome, "reboot-required-not-rebooting");
    assert.equal(host.rebooted, false);
    assert.ok(deps.lines.some((l) => l.includes("--reboot-if-required was not given")));
  });

  test("no reboot without the flag file, even with --reboot-if-required", async () => {
    const host = aNode(false);
    await upgrade(host, true);
    assert.equal(host.rebooted, false);
  });

  test("a held package that moved anyway fails the run, naming it", async () => {
    const host = aNode();
    const original = host.respond.bind(host);
    host.respond = (call) => {
      const reply = original(call);
      if (call.step === "apt-upgrade") (host.installed.get("kubelet") as { version: string }).version = "1.34.5-1.1";
      return reply;
    };
    await assert.rejects(
      upgrade(host, true),
      (e: unknown) => e instanceof StepFailure && e.step === "held-after" && /kubelet 1\.34\.3-1\.1 -> 1\.34\.5-1\.1/.test(e.message),
    );
  });

  test("a failure at any step stops there, names the step, and a re-run completes", async () => {
    const { transcript } = await upgrade(aNode(true), false);
    for (let i = 0; i < transcript.length; i++) {
      const host = aNode(true);
      host.failFrom = i;
      const runner = host.runner();
      const failed = await osUpgrade(fakeDeps(runner), opts(false)).then(
        () => assert.fail(`a failure at ${transcript[i]} did not stop the run`),
        (e: unknown) => e,
      );
      const step = (transcript[i] ?? "").split(":")[0];
      assert.ok(failed instanceof StepFailure && failed.step === step, `call ${i} fails as ${step}: ${String(failed)}`);
      assert.equal(runner.calls.length, i + 1, "nothing ran after the failed step");
      host.failFrom = undefined;
      await osUpgrade(fakeDeps(host.runner()), opts(false));
      assert.equal(host.installed.get("openssl")?.version, "3.0.16-1~deb12u1");
    }
  });
});
