// The node side for real: a real kubelet and containerd run the upgrade image built from this
// checkout, through the controller, against a throwaway Debian root on this machine (the apply
// pod mounts the host's / at /host, as on a cluster, and its commands chroot into the root).
// Asserts what an operator relies on: the dpkg state afterwards, the node's label and
// schedulability, the Plan's conditions, and `kubectl logs` on the real pods.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { stringify } from "yaml";
import { bufferIO } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import type { Node } from "../../src/controller/rollout/objects.ts";
import { resources } from "../../src/controller/kube/ports.ts";
import { APT_SOURCE, DebianHost, K8S_PACKAGES, buildDebs, k8sStandins } from "../fixtures/executors/debian-host.ts";
import { requirePrerequisites } from "../fixtures/executors/prerequisites.ts";
import type { RealNodeHandle } from "../env/real-node.ts";
import { waitFor } from "../env/wait.ts";
import { type Env, type RunningController, applyPlan, condition, getNode, kubectlApply, runController, startEnv, waitForPlan } from "./controller-env.ts";
import { EventLog, HOST_SECURITY, UPGRADE_IMAGE, aRealPlan, apiServerEnv, killContainer, kubectlLogs, podsOfPlan, waitForPod } from "./real-node-env.ts";

const NODE = "real-1";
const DEPLOYMENTS = { group: "apps", version: "v1", plural: "deployments", namespaced: true } as const;
let env: Env;
let node: RealNodeHandle;
let ctl: RunningController;
let lower = "";
let debDir = "";
const debs: Record<string, string[]> = {};
const hosts: DebianHost[] = [];

before(async () => {
  ({ root: lower } = await requirePrerequisites({ root: true, tools: ["chroot", "mount", "umount", "dpkg-deb", "dpkg-scanpackages"], debootstrapRoot: true }));
  debDir = await mkdtemp(join(tmpdir(), "real-node-debs-"));
  const tool = (version: string) => ({ name: "standin-tool", version, script: `#!/bin/sh\necho standin-tool ${version}\n` });
  debs["tool-1.0"] = await buildDebs(join(debDir, "tool-1.0"), [tool("1.0-1")]);
  debs["tool-1.1"] = await buildDebs(join(debDir, "tool-1.1"), [tool("1.1-1")]);
  for (const v of ["1.34.3", "1.35.1"]) debs[v] = await buildDebs(join(debDir, v), await k8sStandins(v));
  env = await startEnv(1, 1);
  node = await env.cp.addRealNode({ name: NODE });
});

after(async () => {
  await ctl?.stop();
  await env?.stop();
  for (const h of hosts) await h.dispose();
  if (debDir !== "") await rm(debDir, { recursive: true, force: true });
});

const repo = (name: string) => `/srv/apt/${name}`;
const source = (name: string) => `deb [trusted=yes] file:${repo(name)}/ /\n`;

/** A host with standin-tool 1.0-1 installed from a local repository that now also offers 1.1-1. */
async function anOsHost(): Promise<DebianHost> {
  const host = await DebianHost.create(lower);
  hosts.push(host);
  await host.publish(repo("tools"), debs["tool-1.0"] ?? []);
  await host.write("/etc/apt/sources.list.d/tools.list", source("tools"));
  await host.sh("apt-get", "update", "-q");
  await host.sh("apt-get", "install", "-y", "-q", "standin-tool=1.0-1");
  await host.publish(repo("tools"), debs["tool-1.1"] ?? []);
  return host;
}

/** A worker at kubeadm/kubelet/kubectl 1.34.3 (held), with the v1.35 repository published beside v1.34's. */
async function aKubeadmHost(): Promise<DebianHost> {
  const host = await DebianHost.create(lower);
  hosts.push(host);
  const k8sRepo = (minor: string) => `/srv/k8s-apt/v${minor}/deb`;
  await host.publish(k8sRepo("1.34"), debs["1.34.3"] ?? []);
  await host.publish(k8sRepo("1.35"), debs["1.35.1"] ?? []);
  await host.write(APT_SOURCE, `deb [trusted=yes] file:${k8sRepo("1.34")}/ /\n`);
  await host.sh("apt-get", "update", "-q");
  await host.sh("apt-get", "install", "-y", "-q", ...K8S_PACKAGES.map((p) => `${p}=1.34.3-1.1`));
  await host.sh("apt-mark", "hold", ...K8S_PACKAGES);
  await host.write("/var/lib/standin/cluster-version", "v1.34.3\n");
  await host.write("/var/lib/standin/running-kubelet", "v1.34.3\n");
  return host;
}

const realNode = (): Promise<Node> => getNode(env, NODE);
const planLabel = (n: Node, plan: string): string | undefined => n.metadata.labels?.[`plan.upgrade.cattle.io/${plan}`];

describe("real node: the executors run by a real kubelet from the built image", () => {
  let ns = "";
  before(async () => {
    ns = await env.cp.createNamespace("real");
    ctl = await runController(env, ns, { defaultBackoffMs: 500 });
  });

  it("os-upgrade: real apt moves the package, the node is cordoned then uncordoned and labelled, kubectl logs shows apt", async () => {
    const host = await anOsHost();
    const plan = aRealPlan(ns, "os", NODE, {
      cordon: true,
      upgrade: { image: UPGRADE_IMAGE, args: ["os-upgrade", "--host-root", `/host${host.root}`], securityContext: HOST_SECURITY },
    });
    const log = new EventLog(env, ns);
    await applyPlan(env, plan);
    const done = await waitForPlan(env, ns, "os", "Complete", (p) => condition(p, "Complete")?.status === "True", 180_000);
    await log.stop();
    assert.deepEqual(await host.packages(["standin-tool"]), { "standin-tool": "ii 1.1-1" });
    const n = await realNode();
    assert.equal(planLabel(n, "os"), done.status?.latestHash);
    assert.notEqual(n.spec?.unschedulable, true, "uncordoned after the upgrade");
    const [pod] = await podsOfPlan(env, ns, "os", "apply");
    assert.ok(pod !== undefined);
    assert.equal(pod.status?.phase, "Succeeded");
    assert.match(await kubectlLogs(env, ns, pod.metadata.name), /standin-tool/);
    assert.ok(log.index(/^ADDED apply-os-on-real-1/) >= 0, `the apply pod was seen: ${log.lines.join("\n")}`);
  });

  it("kubeadm-upgrade: 1.34.3 -> 1.35.1 on a worker, packages upgraded and held, the repository moved to v1.35", async () => {
    const host = await aKubeadmHost();
    const plan = aRealPlan(ns, "kubeadm", NODE, {
      version: "v1.35.1",
      cordon: true,
      upgrade: {
        image: UPGRADE_IMAGE,
        args: ["kubeadm-upgrade", "--role", "worker", "--release", "$(SYSTEM_UPGRADE_PLAN_LATEST_VERSION)", "--host-root", `/host${host.root}`],
        securityContext: HOST_SECURITY,
      },
    });
    await applyPlan(env, plan);
    const done = await waitForPlan(env, ns, "kubeadm", "Complete", (p) => condition(p, "Complete")?.status === "True", 180_000);
    assert.deepEqual(await host.packages(K8S_PACKAGES), Object.fromEntries(K8S_PACKAGES.map((p) => [p, "hi 1.35.1-1.1"])));
    assert.match(await host.read(APT_SOURCE), /\/v1\.35\/deb/);
    const n = await realNode();
    assert.equal(planLabel(n, "kubeadm"), done.status?.latestHash);
    assert.notEqual(n.spec?.unschedulable, true);
    const [pod] = await podsOfPlan(env, ns, "kubeadm", "apply");
    const logs = await kubectlLogs(env, ns, pod?.metadata.name ?? "");
    assert.match(logs, /\[install-kubeadm\] /);
    assert.match(logs, /kubeadm-upgrade: .*upgraded to v1\.35\.1/);
  });

  it("no downgrade: a target older than the node's packages fails before anything changes, and the Plan halts saying so", async () => {
    const host = await aKubeadmHost();
    const before = await host.read("/var/lib/dpkg/status");
    const plan = aRealPlan(ns, "downgrade", NODE, {
      version: "v1.34.1",
      failurePolicy: { retries: 0 },
      upgrade: {
        image: UPGRADE_IMAGE,
        args: ["kubeadm-upgrade", "--role", "worker", "--release", "$(SYSTEM_UPGRADE_PLAN_LATEST_VERSION)", "--host-root", `/host${host.root}`],
        securityContext: HOST_SECURITY,
      },
    });
    await applyPlan(env, plan);
    const halted = await waitForPlan(env, ns, "downgrade", "Halted", (p) => p.status?.state === "Halted", 180_000);
    assert.match(condition(halted, "Halted")?.message ?? "", /never downgrades/);
    assert.equal(await host.read("/var/lib/dpkg/status"), before, "dpkg state untouched");
    const [pod] = await podsOfPlan(env, ns, "downgrade", "apply");
    assert.match(await kubectlLogs(env, ns, pod?.metadata.name ?? ""), /kubeadm 1\.34\.3.*newer than the target v1\.34\.1/);
  });

  it("no downgrade: plan --kubeconfig warns when the version is older than the real kubelet", async () => {
    const dir = await mkdtemp(join(tmpdir(), "real-node-plan-"));
    await writeFile(join(dir, "plan.yaml"), stringify(aRealPlan(ns, "older-k8s", NODE, { version: "v1.35.0" })));
    const io = bufferIO();
    assert.equal(await main(["plan", join(dir, "plan.yaml"), "--kubeconfig", env.cp.kubeconfigPath, "--pods", "none"], io), 0, io.stderr());
    assert.match(
      io.stdout(),
      new RegExp(`WARNING: 1 eligible node\\(s\\) run a newer Kubernetes than v1\\.35\\.0 \\(${NODE} v1\\.\\d+\\.\\d+\\): a downgrade`),
    );
    await rm(dir, { recursive: true, force: true });
  });

  it("a failing payload (exit 1) is retried, then Halted; the message's kubectl logs hint shows the real output", async () => {
    const plan = aRealPlan(ns, "fails", NODE, {
      failurePolicy: { retries: 1, backoff: "1s" },
      upgrade: { image: UPGRADE_IMAGE, command: ["sh", "-c"], args: ["echo payload-went-wrong-on-$SYSTEM_UPGRADE_NODE_NAME; exit 1"] },
    });
    await applyPlan(env, plan);
    const halted = await waitForPlan(env, ns, "fails", "Halted", (p) => p.status?.state === "Halted", 180_000);
    const message = condition(halted, "Halted")?.message ?? "";
    assert.match(message, /exit 1/);
    assert.match(message, /attempt 2\/2/);
    const hint = /kubectl logs -n (\S+) (\S+?);?(\s|$)/.exec(message);
    assert.ok(hint !== null, `a kubectl logs hint in: ${message}`);
    assert.equal(hint[1], ns);
    assert.match(await kubectlLogs(env, ns, hint[2] ?? ""), /^payload-went-wrong-on-real-1$/m);
    assert.equal((await podsOfPlan(env, ns, "fails", "apply")).length, 2, "one retry");
    assert.notEqual((await realNode()).spec?.unschedulable, true, "nothing left cordoned");
  });

  it("an apply pod killed mid-run (a reboot) is retried and the idempotent payload completes", async () => {
    const host = await anOsHost();
    const marker = `/host${host.root}/var/lib/first-run-ended`;
    // The first run upgrades, then waits as if rebooting; the test kills it there.
    const script = `plan-runner os-upgrade --host-root /host${host.root} && if [ ! -e ${marker} ]; then touch ${marker}; echo rebooting; sleep 3600; fi`;
    const plan = aRealPlan(ns, "reboot", NODE, {
      cordon: true,
      failurePolicy: { retries: 2, backoff: "1s" },
      upgrade: { image: UPGRADE_IMAGE, command: ["sh", "-c"], args: [script], securityContext: HOST_SECURITY },
    });
    await applyPlan(env, plan);
    const first = await waitForPod(
      env,
      ns,
      "the first apply pod to wait for its reboot",
      (p) => p.metadata.labels?.["upgrade.cattle.io/plan"] === "reboot" && p.status?.phase === "Running",
    );
    await waitFor(() => host.exists("/var/lib/first-run-ended"), { timeoutMs: 120_000, what: "the first run to finish its upgrade" });
    await killContainer(node, await env.kube.get<typeof first>(resources.pods, ns, first.metadata.name));
    await waitForPlan(env, ns, "reboot", "Complete after the retry", (p) => condition(p, "Complete")?.status === "True", 180_000);
    const pods = await podsOfPlan(env, ns, "reboot", "apply");
    assert.equal(pods.length, 2, pods.map((p) => p.metadata.name).join(", "));
    assert.equal(pods[0]?.status?.phase, "Failed");
    assert.equal(pods[0]?.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 137);
    assert.equal(pods[1]?.status?.phase, "Succeeded");
    assert.deepEqual(await host.packages(["standin-tool"]), { "standin-tool": "ii 1.1-1" });
    assert.match(await kubectlLogs(env, ns, pods[1]?.metadata.name ?? ""), /nothing to upgrade|0 upgraded/);
    assert.notEqual((await realNode()).spec?.unschedulable, true);
  });

  it("drain: a real pod on the node is evicted before the apply pod is created", async () => {
    const workload = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "app", namespace: ns },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "app" } },
        template: {
          metadata: { labels: { app: "app" } },
          spec: {
            nodeSelector: { "kubernetes.io/hostname": NODE },
            hostNetwork: true,
            terminationGracePeriodSeconds: 1,
            containers: [{ name: "app", image: UPGRADE_IMAGE, command: ["sleep", "3600"] }],
          },
        },
      },
    };
    await env.kube.create(DEPLOYMENTS, ns, workload);
    const running = await waitForPod(
      env,
      ns,
      "the workload to run on the real node",
      (p) => p.metadata.labels?.["app"] === "app" && p.status?.phase === "Running",
    );
    const log = new EventLog(env, ns);
    await applyPlan(env, aRealPlan(ns, "drain", NODE, { drain: { timeout: "60s", force: true }, upgrade: { image: UPGRADE_IMAGE, command: ["true"] } }));
    await waitForPlan(env, ns, "drain", "Complete", (p) => condition(p, "Complete")?.status === "True", 180_000);
    await log.stop();
    const gone = log.index(new RegExp(`^DELETED ${running.metadata.name} `));
    const applied = log.index(/^ADDED apply-drain-on-real-1/);
    assert.ok(gone >= 0 && applied >= 0 && gone < applied, `evicted before the apply pod:\n${log.lines.join("\n")}`);
    assert.notEqual((await realNode()).spec?.unschedulable, true);
  });
});

describe("real node: the compat gate as a real prepare pod", () => {
  let ns = "";
  before(async () => {
    ns = await env.cp.createNamespace("gate");
    await ctl?.stop();
    ctl = await runController(env, ns, { pollIntervalMs: 1000 });
  });

  // A held or blocked gate runs again every poll: the verdict is in the last one that ended.
  const finishedPrepares = async (plan: string) =>
    (await podsOfPlan(env, ns, plan, "prepare")).filter((p) => p.status?.phase === "Failed" || p.status?.phase === "Succeeded");

  it("exit 4 holds, 2 blocks, 0 lets the apply run; each verdict read from the cluster by the gate", async () => {
    // The gate's view: an addon (a Deployment with no replicas: only its image matters) and a matrix.
    const addon = (tag: string) => ({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "cni", namespace: ns },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: "cni" } },
        template: { metadata: { labels: { app: "cni" } }, spec: { containers: [{ name: "cni", image: `example.com/cni:v${tag}` }] } },
      },
    });
    const matrix = (pinned: boolean) => ({
      addons: [
        {
          name: "cni",
          workload: { kind: "Deployment", namespace: ns, name: "cni" },
          imagePattern: ":v([0-9.]+)$",
          maxKubernetes: { "3.25": "1.36", "3.29": "1.37" },
          ...(pinned ? { pinned: true, pinReason: "test pin" } : {}),
        },
      ],
    });
    const setMatrix = async (pinned: boolean) => {
      const body = {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "matrix", namespace: ns },
        stringData: { "matrix.json": JSON.stringify(matrix(pinned)) },
      };
      await env.kube.create(resources.secrets, ns, body).catch(() => env.kube.patch(resources.secrets, ns, "matrix", { stringData: body.stringData }));
    };
    await env.kube.create(DEPLOYMENTS, ns, addon("3.25.0"));
    await setMatrix(true);
    await grantGate(ns);
    const plan = aRealPlan(ns, "gated", NODE, {
      version: "v1.37.0",
      serviceAccountName: "gate",
      secrets: [{ name: "matrix", path: "/run/system-upgrade/secrets/matrix" }],
      prepare: gatePrepare("/run/system-upgrade/secrets/matrix/matrix.json"),
      upgrade: { image: UPGRADE_IMAGE, command: ["true"] },
    });
    await applyPlan(env, plan);
    const held = await waitForPlan(env, ns, "gated", "Held by the pinned addon", (p) => p.status?.state === "Held", 180_000);
    assert.match(condition(held, "Held")?.message ?? "", /exited 4/);
    const heldPod = (await finishedPrepares("gated")).at(-1);
    assert.match(
      await kubectlLogs(env, ns, heldPod?.metadata.name ?? ""),
      /\[PINNED\] addon cni 3\.25\.0 supports Kubernetes up to 1\.36; target 1\.37 is beyond it; pinned \(test pin\)/,
    );

    await setMatrix(false);
    const blocked = await waitForPlan(env, ns, "gated", "Blocked: the addon needs an upgrade", (p) => p.status?.state === "Blocked", 180_000);
    assert.match(condition(blocked, "Blocked")?.message ?? "", /kubectl logs/);
    const blockedPod = (await finishedPrepares("gated")).at(-1);
    assert.match(await kubectlLogs(env, ns, blockedPod?.metadata.name ?? ""), /\[ACTIONABLE\] .*upgrade cni to >= 3\.29/);
    assert.equal((await podsOfPlan(env, ns, "gated", "apply")).length, 0, "no apply while gated");

    await env.kube.patch(DEPLOYMENTS, ns, "cni", { spec: { template: { spec: { containers: [{ name: "cni", image: "example.com/cni:v3.29.1" }] } } } });
    await waitForPlan(env, ns, "gated", "Complete once the gate passes", (p) => condition(p, "Complete")?.status === "True", 180_000);
    const [apply] = await podsOfPlan(env, ns, "gated", "apply");
    assert.equal(apply?.status?.phase, "Succeeded");
  });

  it("the gate blocks a downgrade: the real kubelet is newer than the target", async () => {
    await grantGate(ns);
    const plan = aRealPlan(ns, "older", NODE, {
      version: "v1.35.0",
      serviceAccountName: "gate",
      prepare: gatePrepare("/app/images/upgrade/compat-matrix.example.json"),
      upgrade: { image: UPGRADE_IMAGE, command: ["true"] },
    });
    await applyPlan(env, plan);
    await waitForPlan(env, ns, "older", "Blocked", (p) => p.status?.state === "Blocked", 180_000);
    const pod = (await finishedPrepares("older")).at(-1);
    assert.match(
      await kubectlLogs(env, ns, pod?.metadata.name ?? ""),
      new RegExp(`\\[ACTIONABLE\\] node ${NODE} runs v1\\.\\d+\\.\\d+, newer than the target 1\\.35\\.0: plan-runner never downgrades`),
    );
    assert.equal((await podsOfPlan(env, ns, "older", "apply")).length, 0);
  });
});

/** The compat gate as the shipped Plans run it, on the target the Plan resolves. */
function gatePrepare(matrix: string) {
  return {
    image: UPGRADE_IMAGE,
    args: ["compat-gate", "--target", "$(SYSTEM_UPGRADE_PLAN_LATEST_VERSION)", "--matrix", matrix, "--skip-removed-apis"],
    envs: apiServerEnv(env),
  };
}

/** The gate's ServiceAccount: list nodes, read the addon workloads (the least the gate needs). */
async function grantGate(ns: string): Promise<void> {
  const objects = [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "gate", namespace: ns } },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: "plan-runner-test-gate" },
      rules: [
        { apiGroups: [""], resources: ["nodes"], verbs: ["list"] },
        { apiGroups: ["apps"], resources: ["deployments", "daemonsets", "statefulsets"], verbs: ["get"] },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: `plan-runner-test-gate-${ns}` },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "plan-runner-test-gate" },
      subjects: [{ kind: "ServiceAccount", name: "gate", namespace: ns }],
    },
  ];
  for (const obj of objects) {
    const r = await kubectlApply(env, obj);
    if (r.code !== 0) throw new Error(r.stderr);
  }
}
