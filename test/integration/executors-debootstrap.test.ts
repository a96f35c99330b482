// The host procedures for real: chroot into a throwaway Debian root (debootstrap, cached by
// scripts/setup-executors.sh), real apt and dpkg, stand-in kubeadm/kubelet/kubectl packages at
// two versions served from local file: repositories, one per minor.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { sleep } from "../../src/executors/command-support.ts";
import { createHostRunner } from "../../src/executors/host-runner.ts";
import { kubeadmUpgrade } from "../../src/executors/kubeadm-upgrade.ts";
import { parseRelease, type Release } from "../../src/executors/versions.ts";
import { APT_SOURCE, DebianHost, K8S_PACKAGES, buildDebs, k8sStandins } from "../fixtures/executors/debian-host.ts";
import { requirePrerequisites } from "../fixtures/executors/prerequisites.ts";

const execFileP = promisify(execFile);
const CLI = fileURLToPath(new URL("../../bin/plan-runner.js", import.meta.url));
const repo = (minor: string) => `/srv/k8s-apt/v${minor}/deb`;
const sourceFor = (minor: string) => `# Kubernetes packages: one repository per minor, as on pkgs.k8s.io\ndeb [trusted=yes] file:${repo(minor)}/ /\n`;
const CLUSTER_CONFIG_QUERY =
  "kubectl --kubeconfig /etc/kubernetes/admin.conf -n kube-system get configmap kubeadm-config -o jsonpath={.data.ClusterConfiguration}";
const nodeQuery = (node: string) => `kubectl --kubeconfig /etc/kubernetes/kubelet.conf get node ${node} -o jsonpath={.status.nodeInfo.kubeletVersion}`;

let lower = "";
let debDir = "";
const debs: Record<string, string[]> = {};
const hosts: DebianHost[] = [];

before(async () => {
  ({ root: lower } = await requirePrerequisites({ root: true, tools: ["chroot", "mount", "umount", "dpkg-deb", "dpkg-scanpackages"], debootstrapRoot: true }));
  debDir = await mkdtemp(join(tmpdir(), "executors-debs-"));
  for (const v of ["1.34.3", "1.34.4", "1.35.1"]) debs[v] = await buildDebs(join(debDir, v), await k8sStandins(v));
  const tool = (version: string, postinst?: string) => ({
    name: "standin-tool",
    version,
    script: `#!/bin/sh\necho standin-tool ${version}\n`,
    ...(postinst === undefined ? {} : { postinst }),
  });
  debs["tool-1.0"] = await buildDebs(join(debDir, "tool-1.0"), [tool("1.0-1")]);
  debs["tool-1.1"] = await buildDebs(join(debDir, "tool-1.1"), [tool("1.1-1", "#!/bin/sh\nset -e\ntouch /var/run/reboot-required\n")]);
});

after(async () => {
  for (const h of hosts) await h.dispose();
  if (debDir !== "") await rm(debDir, { recursive: true, force: true });
});

/** A node running 1.34.3 (packages installed from the v1.34 repository and held); v1.35 is published too. */
async function aNode(opts: { controlPlane: boolean }): Promise<DebianHost> {
  const host = await DebianHost.create(lower);
  hosts.push(host);
  await host.publish(repo("1.34"), debs["1.34.3"] ?? []);
  await host.publish(repo("1.35"), debs["1.35.1"] ?? []);
  await host.write(APT_SOURCE, sourceFor("1.34"));
  await host.sh("apt-get", "update", "-q");
  await host.sh("apt-get", "install", "-y", "-q", ...K8S_PACKAGES.map((p) => `${p}=1.34.3-1.1`));
  await host.sh("apt-mark", "hold", ...K8S_PACKAGES);
  await host.write("/var/lib/standin/cluster-version", "v1.34.3\n");
  await host.write("/var/lib/standin/running-kubelet", "v1.34.3\n");
  if (opts.controlPlane) {
    await host.write(
      "/etc/kubernetes/manifests/kube-apiserver.yaml",
      "spec:\n  containers:\n  - name: kube-apiserver\n    image: registry.k8s.io/kube-apiserver:v1.34.3\n",
    );
  }
  return host;
}

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, [CLI, ...args], { maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (e: unknown) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === "number" ? err.code : -1, stdout: err.stdout ?? "", stderr: err.stderr ?? "" };
  }
}

const at = (v: string) => Object.fromEntries(K8S_PACKAGES.map((p) => [p, `hi ${v}-1.1`]));

describe("kubeadm-upgrade in a real Debian root", () => {
  test("first control plane, 1.34.3 -> 1.35.1: repository rewritten, packages upgraded and held, apply without CoreDNS, kubelet restarted; a re-run changes nothing", async () => {
    const host = await aNode({ controlPlane: true });
    const lines: string[] = [];
    const runner = createHostRunner({ mode: "chroot", root: host.root, log: (l) => void lines.push(l) });
    const deps = { runner, log: (l: string) => void lines.push(l), sleep, now: Date.now };
    const opts = {
      role: "control-plane" as const,
      release: parseRelease("v1.35.1") as Release,
      node: "cp-1",
      aptSource: APT_SOURCE,
      verifyTimeoutMs: 30_000,
      pollIntervalMs: 500,
    };

    assert.equal(await kubeadmUpgrade(deps, opts), "upgraded");
    assert.deepEqual(await host.packages(K8S_PACKAGES), at("1.35.1"));
    assert.equal(await host.read(APT_SOURCE), sourceFor("1.35"));
    assert.deepEqual(await host.calls(), [
      CLUSTER_CONFIG_QUERY,
      "kubeadm upgrade plan v1.35.1",
      "kubeadm upgrade apply v1.35.1 --yes --ignore-preflight-errors=CoreDNSMigration,CoreDNSUnsupportedPlugins --skip-phases=addon/coredns",
      "systemctl daemon-reload",
      "systemctl restart kubelet",
      nodeQuery("cp-1"),
    ]);
    assert.equal((await host.read("/var/lib/standin/running-kubelet")).trim(), "v1.35.1");
    assert.match(await host.read("/etc/kubernetes/manifests/kube-apiserver.yaml"), /kube-apiserver:v1\.35\.1/);
    assert.ok(
      lines.some((l) => /^\[install-kubeadm\] .*kubeadm/.test(l)),
      "apt's output is streamed with the step prefix",
    );

    const dpkgStatus = await host.read("/var/lib/dpkg/status");
    const callsBefore = (await host.calls()).length;
    assert.equal(await kubeadmUpgrade(deps, opts), "already-at-target");
    assert.equal(await host.read("/var/lib/dpkg/status"), dpkgStatus, "dpkg state untouched");
    assert.equal(await host.read(APT_SOURCE), sourceFor("1.35"));
    assert.deepEqual((await host.calls()).slice(callsBefore), [nodeQuery("cp-1")], "the re-run only asked the node's version");
  });

  test("worker through the CLI: kubeadm upgrade node, then kubelet; the second run has nothing to do", async () => {
    const host = await aNode({ controlPlane: false });
    const args = ["kubeadm-upgrade", "--role", "worker", "--release", "v1.35.1", "--node", "w-1", "--host-mode", "chroot", "--host-root", host.root];
    const first = await cli(args);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^\[install-kubelet\] /m);
    assert.match(first.stdout, /^kubeadm-upgrade: done$/m);
    assert.deepEqual(await host.packages(K8S_PACKAGES), at("1.35.1"));
    assert.deepEqual(await host.calls(), ["kubeadm upgrade node", "systemctl daemon-reload", "systemctl restart kubelet", nodeQuery("w-1")]);
    assert.equal((await host.read("/var/lib/standin/kubelet-config-version")).trim(), "v1.35.1");

    const second = await cli(args);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /^kubeadm-upgrade: nothing to do$/m);
  });

  test("a failed kubeadm upgrade apply stops with the step named; running again completes the upgrade", async () => {
    const host = await aNode({ controlPlane: true });
    await host.write("/var/lib/standin/fail-apply-once", "");
    const args = ["kubeadm-upgrade", "--role", "control-plane", "--release", "1.35.1", "--node", "cp-1", "--host-mode", "chroot", "--host-root", host.root];
    const first = await cli(args);
    assert.equal(first.code, 1);
    assert.match(first.stderr, /step "upgrade-apply" failed: kubeadm upgrade apply v1\.35\.1 .* exited with code 1\n.*timed out waiting for the condition/);
    assert.match(first.stderr, /stopped at step "upgrade-apply"/);
    assert.deepEqual(await host.packages(K8S_PACKAGES), { ...at("1.34.3"), kubeadm: "hi 1.35.1-1.1" }, "kubeadm was upgraded and held, kubelet not yet");

    const second = await cli(args);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(await host.packages(K8S_PACKAGES), at("1.35.1"));
    assert.equal((await host.read("/var/lib/standin/cluster-version")).trim(), "v1.35.1");
    assert.doesNotMatch(second.stdout, /\[install-kubeadm\]/, "the resumed run did not reinstall kubeadm");
  });

  test("bad input never touches the host", async () => {
    const host = await aNode({ controlPlane: false });
    const r = await cli(["kubeadm-upgrade", "--role", "master", "--release", "1.35.1", "--node", "w-1", "--host-mode", "chroot", "--host-root", host.root]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /unknown role "master": use control-plane or worker/);
    assert.deepEqual(await host.calls(), []);
    assert.deepEqual(await host.packages(K8S_PACKAGES), at("1.34.3"));
  });
});

describe("os-upgrade in a real Debian root", () => {
  test("upgrades what is not held, leaves the held Kubernetes packages, reboots only when asked to; the run after the reboot does nothing", async () => {
    const host = await aNode({ controlPlane: false });
    await host.publish("/srv/os-apt", debs["tool-1.0"] ?? []);
    await host.write("/etc/apt/sources.list.d/os.list", "deb [trusted=yes] file:/srv/os-apt/ /\n");
    await host.sh("apt-get", "update", "-q");
    await host.sh("apt-get", "install", "-y", "-q", "standin-tool=1.0-1");
    // New versions arrive: a tool whose postinst asks for a reboot, and a held kubelet patch.
    await host.publish("/srv/os-apt", debs["tool-1.1"] ?? []);
    await host.publish(repo("1.34"), debs["1.34.4"] ?? []);
    const args = ["os-upgrade", "--reboot-if-required", "--reboot-wait", "0", "--host-mode", "chroot", "--host-root", host.root];

    const first = await cli(args);
    assert.equal(first.code, 1, "the pod fails if the reboot does not end it");
    assert.match(first.stderr, /step "reboot" failed: the node is still up 0s after systemctl reboot/);
    assert.equal((await host.packages(["standin-tool"]))["standin-tool"], "ii 1.1-1");
    assert.deepEqual(await host.packages(K8S_PACKAGES), at("1.34.3"));
    assert.deepEqual(
      (await host.calls()).filter((c) => c.startsWith("systemctl")),
      ["systemctl reboot"],
    );

    await rm(host.path("/run/reboot-required"));
    const second = await cli(args);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /no reboot required/);
    assert.deepEqual(
      (await host.calls()).filter((c) => c.startsWith("systemctl")),
      ["systemctl reboot"],
      "no second reboot",
    );
  });
});

describe("etcd-snapshot in a real Debian root", () => {
  const etcdctl =
    '#!/bin/sh\n# stand-in etcdctl: \'snapshot save FILE\' writes as many bytes as /var/lib/standin/snapshot-bytes says\nfor last; do :; done\nhead -c "$(cat /var/lib/standin/snapshot-bytes)" /dev/zero >"$last"\necho "Snapshot saved at $last"\n';
  for (const c of [
    { bytes: 20_000, code: 0 },
    { bytes: 1000, code: 1 },
  ]) {
    test(`a ${c.bytes}-byte snapshot is ${c.code === 0 ? "kept and its path printed" : "refused"}`, async () => {
      const host = await DebianHost.create(lower);
      hosts.push(host);
      await host.write("/usr/bin/etcdctl", etcdctl, 0o755);
      await host.write("/var/lib/standin/snapshot-bytes", String(c.bytes));
      const r = await cli([
        "etcd-snapshot",
        "--method",
        "host",
        "--name",
        "snap.db",
        "--dir",
        "/var/backups/etcd",
        "--host-mode",
        "chroot",
        "--host-root",
        host.root,
      ]);
      assert.equal(r.code, c.code, r.stderr);
      if (c.code === 0) assert.match(r.stdout, /^\/var\/backups\/etcd\/snap\.db$/m);
      else assert.match(r.stderr, /step "snapshot-size" failed: snapshot \/var\/backups\/etcd\/snap\.db is 1000 bytes, under 1 KiB/);
      assert.deepEqual(await host.listDir("/var/backups/etcd"), ["snap.db"]);
    });
  }
});
