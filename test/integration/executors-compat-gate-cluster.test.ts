// The compat gate's cluster reads against a real API server (test/env's control plane): its
// kubeconfig handling, node listing and workload images, through the real command.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { run } from "../../src/cli/commands/compat-gate.ts";
import { bufferIO } from "../../src/cli/io.ts";
import { apiClusterReader, apiGetter, inClusterConfig, kubeconfigConfig } from "../../src/executors/kube-api.ts";
import { startControlPlane, type ControlPlane } from "../env/control-plane.ts";

let cp: ControlPlane | undefined;
let dir = "";

const workloads = `
apiVersion: v1
kind: Namespace
metadata: {name: calico-system}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: calico-kube-controllers, namespace: calico-system}
spec:
  replicas: 0
  selector: {matchLabels: {app: calico-kube-controllers}}
  template:
    metadata: {labels: {app: calico-kube-controllers}}
    spec:
      containers:
        - {name: sidecar, image: "registry.example/proxy:1.2"}
        - {name: controllers, image: "quay.io/calico/kube-controllers:v3.29.1"}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: kyverno-agent, namespace: calico-system}
spec:
  selector: {matchLabels: {app: kyverno-agent}}
  template:
    metadata: {labels: {app: kyverno-agent}}
    spec:
      nodeSelector: {no-such-node: "true"}
      containers:
        - {name: agent, image: "ghcr.io/kyverno/kyverno:v1.13.4"}
`;

const matrix = {
  addons: [
    {
      name: "calico",
      workload: { kind: "Deployment", namespace: "calico-system", name: "calico-kube-controllers" },
      imagePattern: "/kube-controllers:v(\\d+\\.\\d+\\.\\d+)",
      maxKubernetes: { "3.28": "1.31", "3.29": "1.33", "3.30": "1.34" },
    },
    {
      name: "kyverno",
      workload: { kind: "DaemonSet", namespace: "calico-system", name: "kyverno-agent" },
      imagePattern: "/kyverno:v(\\d+\\.\\d+)",
      maxKubernetes: { "1.13": "1.34" },
    },
    {
      name: "metrics-server",
      workload: { kind: "Deployment", namespace: "kube-system", name: "metrics-server" },
      imagePattern: "metrics-server:v(\\d+\\.\\d+)",
      maxKubernetes: { "0.7": "1.35" },
    },
  ],
  containerdMin: { "1.34": "2.0" },
};

before(async () => {
  cp = await startControlPlane({
    nodes: [
      { name: "cp-1", role: "control-plane", kubeletVersion: "v1.34.2" },
      { name: "w-1", role: "worker", kubeletVersion: "v1.33.5" },
    ],
  });
  dir = await mkdtemp(join(tmpdir(), "executors-gate-cluster-"));
  await writeFile(join(dir, "workloads.yaml"), workloads);
  await writeFile(join(dir, "matrix.json"), JSON.stringify(matrix));
  const applied = await cp.kubectl(["apply", "-f", join(dir, "workloads.yaml")]);
  assert.equal(applied.code, 0, applied.stderr);
});

after(async () => {
  await cp?.stop();
  if (dir !== "") await rm(dir, { recursive: true, force: true });
});

describe("compat-gate against a real API server", () => {
  test("the reader lists nodes with their kubelet and runtime versions and reads workload images", async () => {
    const reader = apiClusterReader(apiGetter(await kubeconfigConfig(cp?.kubeconfigPath ?? "")));
    const nodes = await reader.listNodes();
    assert.deepEqual(nodes.map((n) => `${n.name} ${n.kubeletVersion} ${n.containerRuntimeVersion}`).sort(), [
      "cp-1 v1.34.2 containerd://1.7.24",
      "w-1 v1.33.5 containerd://1.7.24",
    ]);
    assert.deepEqual(await reader.workloadImages({ kind: "Deployment", namespace: "calico-system", name: "calico-kube-controllers" }), [
      "registry.example/proxy:1.2",
      "quay.io/calico/kube-controllers:v3.29.1",
    ]);
    await assert.rejects(reader.workloadImages({ kind: "StatefulSet", namespace: "calico-system", name: "nope" }), /StatefulSet calico-system\/nope not found/);
  });

  test("the command with --kubeconfig: oldest kubelet decides, every blocker listed, exit 2", async () => {
    const io = bufferIO();
    const code = await run(["--target", "v1.34.0", "--matrix", join(dir, "matrix.json"), "--kubeconfig", cp?.kubeconfigPath ?? "", "--skip-removed-apis"], io);
    assert.equal(code, 2, io.stderr());
    assert.match(io.stdout(), /running minor 1\.33 \(oldest kubelet\)/);
    assert.deepEqual(
      io
        .stdout()
        .split("\n")
        .filter((l) => l.startsWith("[")),
      [
        "[ACTIONABLE] addon calico 3.29.1 supports Kubernetes up to 1.33; target 1.34 is beyond it; upgrade calico to >= 3.30",
        "[ACTIONABLE] addon metrics-server: cannot read its running version (Deployment kube-system/metrics-server not found); refusing to upgrade blind",
        "[ACTIONABLE] node cp-1 runs containerd 1.7.24, below the 2.0 Kubernetes 1.34 needs; upgrade containerd first",
        "[ACTIONABLE] node w-1 runs containerd 1.7.24, below the 2.0 Kubernetes 1.34 needs; upgrade containerd first",
      ],
    );
  });

  test("a patch target on the running minor passes the addon ceilings", async () => {
    const io = bufferIO();
    const code = await run(["--target", "v1.33.9", "--matrix", join(dir, "matrix.json"), "--kubeconfig", cp?.kubeconfigPath ?? "", "--skip-removed-apis"], io);
    assert.equal(code, 0, io.stdout() + io.stderr());
  });

  test("in a pod: the ServiceAccount token and CA from their well-known files", async () => {
    const admin = await kubeconfigConfig(cp?.kubeconfigPath ?? "");
    const sa = join(dir, "serviceaccount");
    await mkdir(sa, { recursive: true });
    await writeFile(join(sa, "token"), `${admin.token ?? ""}\n`);
    await writeFile(join(sa, "ca.crt"), admin.ca ?? "");
    const server = new URL(cp?.server ?? "");
    const config = await inClusterConfig({ KUBERNETES_SERVICE_HOST: server.hostname, KUBERNETES_SERVICE_PORT: server.port }, sa);
    const nodes = await apiClusterReader(apiGetter(config)).listNodes();
    assert.deepEqual(nodes.map((n) => n.name).sort(), ["cp-1", "w-1"]);
  });

  test("a kubeconfig that does not exist is the gate's own error", async () => {
    const io = bufferIO();
    const code = await run(
      ["--target", "v1.34.0", "--matrix", join(dir, "matrix.json"), "--kubeconfig", join(dir, "missing.kubeconfig"), "--skip-removed-apis"],
      io,
    );
    assert.equal(code, 3);
    assert.match(io.stderr(), /cannot judge the cluster: cannot read kubeconfig .*missing\.kubeconfig/);
  });
});
