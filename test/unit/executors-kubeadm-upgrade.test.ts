import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { kubeadmUpgrade, type KubeadmUpgradeOptions, type Role } from "../../src/executors/kubeadm-upgrade.ts";
import { rewriteSourceMinor, sourceMinor } from "../../src/executors/apt-source.ts";
import { StepFailure } from "../../src/executors/step-failure.ts";
import { parseRelease, type Release } from "../../src/executors/versions.ts";
import { APT_SOURCE, FakeHost, MANIFEST, fakeDeps } from "../fixtures/executors/fake-host.ts";

const release = (s: string): Release => parseRelease(s) as Release;
const options = (role: Role, to: string): KubeadmUpgradeOptions => ({
  role,
  release: release(to),
  node: "node-1",
  aptSource: APT_SOURCE,
  verifyTimeoutMs: 60_000,
  pollIntervalMs: 5_000,
});

/** A node on 1.34.3 whose repositories offer 1.34.3, 1.34.5 and 1.35.1. */
const aNode = (extra: { controlPlane?: boolean; clusterAt?: string } = {}) =>
  new FakeHost({ at: "1.34.3", ...extra }).offer("1.34.3").offer("1.34.5").offer("1.35.1");

async function upgrade(host: FakeHost, role: Role, to: string) {
  const runner = host.runner();
  const deps = fakeDeps(runner);
  const outcome = await kubeadmUpgrade(deps, options(role, to));
  return { outcome, transcript: runner.transcript(), deps };
}

function assertAt(host: FakeHost, upstream: string) {
  for (const pkg of ["kubeadm", "kubelet", "kubectl"]) {
    assert.deepEqual(host.installed.get(pkg), { version: `${upstream}-1.1`, held: true }, `${pkg} installed at ${upstream} and held`);
  }
  assert.equal(host.runningKubelet, `v${upstream}`, "the node reports the new kubelet");
}

const MUTATING = /^(apt-source: (tee|mv)|apt-update|dpkg-configure|(un)?hold-|install-|upgrade-(apply|node)|daemon-reload|restart-kubelet)/;

describe("kubeadm-upgrade: never downgrades", () => {
  for (const [at, to] of [
    ["1.35.1", "1.34.5"],
    ["1.34.5", "1.34.3"],
  ] as const) {
    test(`a node at ${at} refuses ${to} before touching anything`, async () => {
      const host = new FakeHost({ at }).offer("1.34.3").offer("1.34.5").offer("1.35.1");
      const runner = host.runner();
      await assert.rejects(kubeadmUpgrade(fakeDeps(runner), options("worker", to)), (e: unknown) => {
        assert.ok(e instanceof StepFailure);
        assert.equal(e.step, "no-downgrade");
        assert.match(
          e.message,
          new RegExp(`kubeadm ${at.replaceAll(".", "\\.")}.*newer than the target v${to.replaceAll(".", "\\.")}: plan-runner never downgrades`),
        );
        return true;
      });
      assert.equal(runner.transcript().filter((l) => MUTATING.test(l)).length, 0, "nothing on the host changed");
      assertAt(host, at);
    });
  }
});

describe("kubeadm-upgrade: exact commands and order", () => {
  test("first control plane, minor bump: repository rewrite, kubeadm, plan + apply leaving CoreDNS alone, kubelet + kubectl, restart, verify", async () => {
    const host = aNode();
    const { outcome, transcript } = await upgrade(host, "control-plane", "1.35.1");
    assert.equal(outcome, "upgraded");
    assert.deepEqual(transcript, [
      "inspect: dpkg-query -W -f=${Package}\\t${db:Status-Abbrev}\\t${Version}\\n kubeadm kubelet kubectl",
      `apt-source: cat ${APT_SOURCE}`,
      `apt-source: tee ${APT_SOURCE}.plan-runner.tmp`,
      `apt-source: mv -f ${APT_SOURCE}.plan-runner.tmp ${APT_SOURCE}`,
      "apt-update: apt-get update -q",
      "resolve-version: apt-cache madison kubeadm kubelet kubectl",
      "dpkg-configure: dpkg --configure -a",
      "unhold-kubeadm: apt-mark unhold kubeadm",
      "install-kubeadm: apt-get install -y -q -o Dpkg::Options::=--force-confold kubeadm=1.35.1-1.1",
      "hold-kubeadm: apt-mark hold kubeadm",
      "cluster-version: kubectl --kubeconfig /etc/kubernetes/admin.conf -n kube-system get configmap kubeadm-config -o jsonpath={.data.ClusterConfiguration}",
      "upgrade-plan: kubeadm upgrade plan v1.35.1",
      "upgrade-apply: kubeadm upgrade apply v1.35.1 --yes --ignore-preflight-errors=CoreDNSMigration,CoreDNSUnsupportedPlugins --skip-phases=addon/coredns",
      "unhold-kubelet: apt-mark unhold kubelet kubectl",
      "install-kubelet: apt-get install -y -q -o Dpkg::Options::=--force-confold kubelet=1.35.1-1.1 kubectl=1.35.1-1.1",
      "hold-kubelet: apt-mark hold kubelet kubectl",
      "daemon-reload: systemctl daemon-reload",
      "restart-kubelet: systemctl restart kubelet",
      "verify: kubectl --kubeconfig /etc/kubernetes/kubelet.conf get node node-1 -o jsonpath={.status.nodeInfo.kubeletVersion}",
    ]);
    assertAt(host, "1.35.1");
    assert.equal(
      host.files.get(APT_SOURCE),
      "# Kubernetes\ndeb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/v1.35/deb/ /\n",
    );
    assert.equal(host.clusterVersion, "v1.35.1");
  });

  test("worker, patch bump: the repository is left as it is and kubeadm upgrade node replaces plan/apply", async () => {
    const host = aNode({ controlPlane: false });
    const { transcript } = await upgrade(host, "worker", "1.34.5");
    assert.deepEqual(transcript, [
      "inspect: dpkg-query -W -f=${Package}\\t${db:Status-Abbrev}\\t${Version}\\n kubeadm kubelet kubectl",
      `apt-source: cat ${APT_SOURCE}`,
      "apt-update: apt-get update -q",
      "resolve-version: apt-cache madison kubeadm kubelet kubectl",
      "dpkg-configure: dpkg --configure -a",
      "unhold-kubeadm: apt-mark unhold kubeadm",
      "install-kubeadm: apt-get install -y -q -o Dpkg::Options::=--force-confold kubeadm=1.34.5-1.1",
      "hold-kubeadm: apt-mark hold kubeadm",
      "upgrade-node: kubeadm upgrade node",
      "unhold-kubelet: apt-mark unhold kubelet kubectl",
      "install-kubelet: apt-get install -y -q -o Dpkg::Options::=--force-confold kubelet=1.34.5-1.1 kubectl=1.34.5-1.1",
      "hold-kubelet: apt-mark hold kubelet kubectl",
      "daemon-reload: systemctl daemon-reload",
      "restart-kubelet: systemctl restart kubelet",
      "verify: kubectl --kubeconfig /etc/kubernetes/kubelet.conf get node node-1 -o jsonpath={.status.nodeInfo.kubeletVersion}",
    ]);
    assertAt(host, "1.34.5");
    assert.equal(host.kubeletConfigFrom, "v1.34.5");
  });

  test("another control plane after the first: the cluster is at the target, so kubeadm upgrade node (CoreDNS skipped), no plan/apply", async () => {
    const host = aNode({ clusterAt: "1.35.1" });
    const { transcript } = await upgrade(host, "control-plane", "1.35.1");
    const managed = transcript.filter((l) => /^(cluster-version|local-version|upgrade-)/.test(l));
    assert.deepEqual(managed, [
      "cluster-version: kubectl --kubeconfig /etc/kubernetes/admin.conf -n kube-system get configmap kubeadm-config -o jsonpath={.data.ClusterConfiguration}",
      `local-version: cat ${MANIFEST}`,
      "upgrade-node: kubeadm upgrade node --skip-phases=addon/coredns",
    ]);
    assertAt(host, "1.35.1");
    assert.match(host.files.get(MANIFEST) ?? "", /kube-apiserver:v1\.35\.1/);
  });
});

describe("kubeadm-upgrade: kubeadm patches", () => {
  // Found by the kubeadm VM test: a cluster made with `kubeadm init --patches` (there: longer
  // static-pod probes) gets stock manifests back from `upgrade apply` unless the directory is
  // passed again, and kubeadm keeps no record of it.
  const withPatches = (role: Role, to: string): KubeadmUpgradeOptions => ({ ...options(role, to), patches: "/etc/kubernetes/patches" });
  const kubeadmCalls = (transcript: readonly string[]) => transcript.filter((l) => /^upgrade-(apply|node):/.test(l));

  test("the first control plane passes the directory to kubeadm upgrade apply", async () => {
    const host = aNode();
    const runner = host.runner();
    await kubeadmUpgrade(fakeDeps(runner), withPatches("control-plane", "1.35.1"));
    assert.deepEqual(kubeadmCalls(runner.transcript()), [
      "upgrade-apply: kubeadm upgrade apply v1.35.1 --yes --ignore-preflight-errors=CoreDNSMigration,CoreDNSUnsupportedPlugins --skip-phases=addon/coredns --patches=/etc/kubernetes/patches",
    ]);
    assertAt(host, "1.35.1");
  });

  test("other control planes and workers pass it to kubeadm upgrade node", async () => {
    const cp = aNode({ clusterAt: "1.35.1" });
    const cpRunner = cp.runner();
    await kubeadmUpgrade(fakeDeps(cpRunner), withPatches("control-plane", "1.35.1"));
    assert.deepEqual(kubeadmCalls(cpRunner.transcript()), ["upgrade-node: kubeadm upgrade node --skip-phases=addon/coredns --patches=/etc/kubernetes/patches"]);
    const worker = aNode({ controlPlane: false });
    const wRunner = worker.runner();
    await kubeadmUpgrade(fakeDeps(wRunner), withPatches("worker", "1.34.5"));
    assert.deepEqual(kubeadmCalls(wRunner.transcript()), ["upgrade-node: kubeadm upgrade node --patches=/etc/kubernetes/patches"]);
  });
});

describe("kubeadm-upgrade: an UpgradeConfiguration", () => {
  // Found by the kubeadm VM test: kubeadm waits 5 minutes for each upgraded static pod, and a
  // slow control plane (there: an API server taking 11 minutes to start) needs the waits of
  // its UpgradeConfiguration's timeouts, which only --config can give kubeadm.
  const withConfig = (role: Role, to: string): KubeadmUpgradeOptions => ({ ...options(role, to), config: "/etc/kubernetes/upgrade.yaml" });
  const kubeadmCalls = (transcript: readonly string[]) => transcript.filter((l) => /^upgrade-(plan|apply|node):/.test(l));

  test("the first control plane passes it to kubeadm upgrade plan and apply", async () => {
    const host = aNode();
    const runner = host.runner();
    await kubeadmUpgrade(fakeDeps(runner), withConfig("control-plane", "1.35.1"));
    assert.deepEqual(kubeadmCalls(runner.transcript()), [
      "upgrade-plan: kubeadm upgrade plan v1.35.1 --config=/etc/kubernetes/upgrade.yaml",
      "upgrade-apply: kubeadm upgrade apply v1.35.1 --yes --ignore-preflight-errors=CoreDNSMigration,CoreDNSUnsupportedPlugins --skip-phases=addon/coredns --config=/etc/kubernetes/upgrade.yaml",
    ]);
    assertAt(host, "1.35.1");
  });

  test("workers pass it to kubeadm upgrade node", async () => {
    const worker = aNode({ controlPlane: false });
    const runner = worker.runner();
    await kubeadmUpgrade(fakeDeps(runner), withConfig("worker", "1.34.5"));
    assert.deepEqual(kubeadmCalls(runner.transcript()), ["upgrade-node: kubeadm upgrade node --config=/etc/kubernetes/upgrade.yaml"]);
  });
});

describe("kubeadm-upgrade: idempotent", () => {
  test("a node already at the target changes nothing and says so", async () => {
    const host = new FakeHost({ at: "1.35.1" }).offer("1.35.1");
    const before = JSON.stringify([...host.installed, ...host.files]);
    const { outcome, transcript, deps } = await upgrade(host, "control-plane", "1.35.1");
    assert.equal(outcome, "already-at-target");
    assert.deepEqual(transcript, [
      "inspect: dpkg-query -W -f=${Package}\\t${db:Status-Abbrev}\\t${Version}\\n kubeadm kubelet kubectl",
      "node-version: kubectl --kubeconfig /etc/kubernetes/kubelet.conf get node node-1 -o jsonpath={.status.nodeInfo.kubeletVersion}",
    ]);
    assert.equal(JSON.stringify([...host.installed, ...host.files]), before);
    assert.ok(deps.lines.some((l) => l.includes("nothing to do")));
  });

  for (const role of ["control-plane", "worker"] as const) {
    test(`${role}: running it again after a success only looks`, async () => {
      const host = aNode({ controlPlane: role === "control-plane" });
      await upgrade(host, role, "1.35.1");
      const again = await upgrade(host, role, "1.35.1");
      assert.equal(again.outcome, "already-at-target");
      assert.deepEqual(
        again.transcript.filter((l) => MUTATING.test(l)),
        [],
      );
      assertAt(host, "1.35.1");
    });
  }

  test("packages installed but the kubelet never restarted (crash after the install): restart and verify only", async () => {
    const host = new FakeHost({ at: "1.35.1" }).offer("1.35.1");
    host.runningKubelet = "v1.34.3";
    const { outcome, transcript } = await upgrade(host, "worker", "1.35.1");
    assert.equal(outcome, "upgraded");
    assert.deepEqual(
      transcript.map((l) => l.split(":")[0]),
      ["inspect", "node-version", "daemon-reload", "restart-kubelet", "verify"],
    );
    assert.equal(host.runningKubelet, "v1.35.1");
  });

  test("packages at the target but a hold lost (crash between install and hold): only the hold is put back", async () => {
    const host = new FakeHost({ at: "1.35.1" }).offer("1.35.1");
    (host.installed.get("kubectl") as { held: boolean }).held = false;
    const { transcript } = await upgrade(host, "worker", "1.35.1");
    assert.ok(transcript.includes("hold-kubelet: apt-mark hold kubectl"));
    assert.deepEqual(
      transcript.filter((l) => /install-|unhold-|apt-update/.test(l)),
      [],
    );
    assertAt(host, "1.35.1");
  });
});

describe("kubeadm-upgrade: a failure at any step stops there, names the step, and a re-run completes", () => {
  for (const role of ["control-plane", "worker"] as const) {
    test(`${role}: every step`, async () => {
      const { transcript } = await upgrade(aNode({ controlPlane: role === "control-plane" }), role, "1.35.1");
      assert.ok(transcript.length > 10);
      for (let i = 0; i < transcript.length; i++) {
        const host = aNode({ controlPlane: role === "control-plane" });
        host.failFrom = i;
        const runner = host.runner();
        const failed = await kubeadmUpgrade(fakeDeps(runner), options(role, "1.35.1")).then(
          () => assert.fail(`a failure at call ${i} (${transcript[i]}) did not stop the upgrade`),
          (e: unknown) => e,
        );
        assert.ok(failed instanceof StepFailure, `call ${i}: ${String(failed)}`);
        const step = (transcript[i] ?? "").split(":")[0] as string;
        assert.equal(failed.step, step, `call ${i} fails as step ${step}`);
        assert.match(failed.message, new RegExp(`^step "${step}" failed: `));
        // Nothing ran after the failed step except the verify step's own retries.
        assert.ok(
          runner.calls.slice(i + 1).every((c) => c.step === step),
          `nothing after ${step} ran`,
        );

        host.failFrom = undefined;
        const resumed = await kubeadmUpgrade(fakeDeps(host.runner()), options(role, "1.35.1"));
        assert.ok(resumed === "upgraded" || resumed === "already-at-target");
        assertAt(host, "1.35.1");
      }
    });
  }
});

describe("kubeadm-upgrade: slow apt", () => {
  // The kubeadm e2e's TCG control plane took over 10 minutes to fetch and unpack kubelet and kubectl.
  test("an install that takes 25 minutes completes by default; --apt-timeout 300 kills it and says so", async () => {
    const slow = (): FakeHost => {
      const host = aNode({ controlPlane: true, clusterAt: "1.35.1" });
      host.durations.set("install-kubelet", 25 * 60_000);
      return host;
    };
    const host = slow();
    assert.equal((await upgrade(host, "control-plane", "1.35.1")).outcome, "upgraded");
    assertAt(host, "1.35.1");

    const runner = slow().runner();
    await assert.rejects(kubeadmUpgrade(fakeDeps(runner), { ...options("control-plane", "1.35.1"), aptTimeoutMs: 300_000 }), (e: unknown) => {
      assert.ok(e instanceof StepFailure);
      assert.equal(e.step, "install-kubelet");
      assert.match(e.message, /apt-get install .*kubelet=1\.35\.1-1\.1 .*did not finish within 300s and was killed/);
      return true;
    });
  });
});

describe("kubeadm-upgrade: refusals", () => {
  test("kubeadm upgrade plan that does not offer the release stops before apply", async () => {
    const host = aNode();
    host.planOutput = "Awesome, you're up-to-date! Enjoy!";
    await assert.rejects(
      upgrade(host, "control-plane", "1.35.1"),
      (e: unknown) => e instanceof StepFailure && e.step === "upgrade-plan" && /does not offer "kubeadm upgrade apply v1\.35\.1"/.test(e.message),
    );
    assert.equal(host.clusterVersion, "v1.34.3");
  });

  test("a release the repositories do not have stops before changing anything but the source", async () => {
    const host = aNode();
    await assert.rejects(
      upgrade(host, "worker", "1.35.9"),
      (e: unknown) => e instanceof StepFailure && e.step === "resolve-version" && /kubeadm, kubelet, kubectl 1\.35\.9 not offered/.test(e.message),
    );
    assert.equal(host.version("kubeadm"), "1.34.3");
  });

  test("an apt source naming no minor repository stops at apt-source", async () => {
    const host = aNode();
    host.files.set(APT_SOURCE, "deb http://example.org/k8s stable main\n");
    await assert.rejects(
      upgrade(host, "worker", "1.35.1"),
      (e: unknown) => e instanceof StepFailure && e.step === "apt-source" && /names no \/vMAJOR\.MINOR\/ Kubernetes repository/.test(e.message),
    );
  });

  test("a node that never reports the release fails at verify, naming the node and what it reports", async () => {
    const host = aNode({ controlPlane: false });
    const runner = host.runner();
    const original = host.respond.bind(host);
    host.respond = (call) => (call.step === "verify" ? { stdout: "v1.34.3" } : original(call));
    const deps = fakeDeps(runner);
    await assert.rejects(
      kubeadmUpgrade(deps, options("worker", "1.35.1")),
      (e: unknown) =>
        e instanceof StepFailure && e.step === "verify" && /node node-1 reports v1\.34\.3, not v1\.35\.1, 60s after the kubelet restart/.test(e.message),
    );
    assert.ok(deps.slept.length >= 2, "it kept asking until the deadline");
  });
});

describe("apt source rewrite", () => {
  const cases: { name: string; content: string; minor: string | undefined; rewritten: string }[] = [
    {
      name: "one-line style with signed-by",
      content: "deb [signed-by=/etc/apt/keyrings/k.gpg] https://pkgs.k8s.io/core:/stable:/v1.34/deb/ /\n",
      minor: "1.34",
      rewritten: "deb [signed-by=/etc/apt/keyrings/k.gpg] https://pkgs.k8s.io/core:/stable:/v1.35/deb/ /\n",
    },
    {
      name: "deb822 style",
      content: "Types: deb\nURIs: https://pkgs.k8s.io/core:/stable:/v1.34/deb/\nSuites: /\n",
      minor: "1.34",
      rewritten: "Types: deb\nURIs: https://pkgs.k8s.io/core:/stable:/v1.35/deb/\nSuites: /\n",
    },
    {
      name: "comments are left alone",
      content: "# was /v1.33/ before\ndeb file:/srv/k8s-apt/v1.34/deb/ /\n",
      minor: "1.34",
      rewritten: "# was /v1.33/ before\ndeb file:/srv/k8s-apt/v1.35/deb/ /\n",
    },
    { name: "no minor segment", content: "deb http://example.org/k8s stable main\n", minor: undefined, rewritten: "deb http://example.org/k8s stable main\n" },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.equal(sourceMinor(c.content), c.minor);
      assert.equal(rewriteSourceMinor(c.content, "1.35"), c.rewritten);
    });
  }
});
