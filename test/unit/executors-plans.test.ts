// The Plans that replace the seed pipeline: valid against the schema and wired to the node
// commands the way their comments promise.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, test } from "node:test";
import { parseAllDocuments } from "yaml";
import type { Plan } from "../../src/generated/plan.ts";
import validate from "../../src/generated/plan-validator.js";
import { activeDeadlineSeconds } from "../../src/controller/rollout/render-pod.ts";
import { ControllerDefaults } from "../../src/controller/wiring/defaults.ts";
import { KUBEADM_TIMEOUT_MS } from "../../src/executors/kubeadm-upgrade.ts";

async function loadPlan(file: string): Promise<Plan> {
  const docs = parseAllDocuments(await readFile(new URL(`../../plans/${file}`, import.meta.url), "utf8"));
  assert.equal(docs.length, 1, `${file} holds one Plan`);
  const data: unknown = docs[0]?.toJS();
  assert.ok(validate(data), `${file} is a valid Plan: ${JSON.stringify(validate.errors)}`);
  return data;
}

const expressions = (p: Plan) => (p.spec.nodeSelector?.matchExpressions ?? []).map((e) => `${e.key} ${e.operator} ${(e.values ?? []).join(",")}`.trim());
const commandLine = (c: { command?: string[]; args?: string[] } | undefined) => [...(c?.command ?? []), ...(c?.args ?? [])].join(" ");

describe("plans/", () => {
  test("k8s-control-plane: one cordoned control plane at a time, gated, snapshot before kubeadm", async () => {
    const p = await loadPlan("k8s-control-plane.yaml");
    assert.equal(p.spec.concurrency, 1);
    assert.equal(p.spec.cordon, true);
    assert.deepEqual(expressions(p), ["node-role.kubernetes.io/control-plane Exists", "plan-runner.io/kubeadm-upgrade In enabled"]);
    assert.match(
      commandLine(p.spec.prepare),
      /^compat-gate --target \$\(SYSTEM_UPGRADE_PLAN_LATEST_VERSION\) --matrix \/run\/system-upgrade\/secrets\/compat-matrix\/matrix\.json$/,
    );
    assert.deepEqual(p.spec.secrets, [{ name: "compat-matrix", path: "/run/system-upgrade/secrets/compat-matrix", ignoreUpdates: true }]);
    const upgrade = commandLine(p.spec.upgrade);
    assert.match(
      upgrade,
      /plan-runner etcd-snapshot &&\s+exec plan-runner kubeadm-upgrade --role control-plane --release "\$SYSTEM_UPGRADE_PLAN_LATEST_VERSION"/,
    );
  });

  test("k8s-workers: after the control plane, drained with a timeout, health-gated", async () => {
    const p = await loadPlan("k8s-workers.yaml");
    assert.deepEqual(p.spec.after, ["k8s-control-plane"]);
    assert.equal(p.spec.drain?.timeout, "30m");
    assert.ok(p.spec.gates?.health?.soak !== undefined);
    assert.deepEqual(expressions(p), ["node-role.kubernetes.io/control-plane DoesNotExist", "plan-runner.io/kubeadm-upgrade In enabled"]);
    assert.equal(commandLine(p.spec.upgrade), "kubeadm-upgrade --role worker --release $(SYSTEM_UPGRADE_PLAN_LATEST_VERSION)");
  });

  // Found by the kubeadm VM test: with no jobActiveDeadlineSecs the upgrade pod got the
  // controller's 15-minute default, shorter than the 20 minutes kubeadm-upgrade lets one
  // kubeadm command run: a slow `kubeadm upgrade apply` was killed in the middle.
  for (const file of ["k8s-control-plane.yaml", "k8s-workers.yaml"]) {
    test(`${file}: the upgrade pod outlives the longest kubeadm command kubeadm-upgrade allows`, async () => {
      const p = await loadPlan(file);
      const deadline = activeDeadlineSeconds(p.spec.jobActiveDeadlineSecs, {
        defaultSeconds: ControllerDefaults.defaultDeadlineSecs,
        maxSeconds: ControllerDefaults.maxDeadlineSecs,
      });
      assert.ok(deadline !== undefined && deadline > KUBEADM_TIMEOUT_MS / 1000 + 10 * 60, `activeDeadlineSeconds ${deadline}`);
    });
  }

  test("k8s-workers runs the release the control plane runs: the same channel, no pinned version", async () => {
    const [cp, workers] = await Promise.all([loadPlan("k8s-control-plane.yaml"), loadPlan("k8s-workers.yaml")]);
    assert.equal(workers.spec.channel, cp.spec.channel);
    assert.equal(workers.spec.version, cp.spec.version);
    assert.equal(cp.spec.version, undefined, "a pinned version would win over the channel");
  });

  test("the Kubernetes Plans follow the channel server's in-cluster Service (deploy/channel-server)", async () => {
    const service = parseAllDocuments(await readFile(new URL("../../deploy/channel-server/service.yaml", import.meta.url), "utf8"))[0]?.toJS() as {
      metadata: { name: string; namespace: string };
      spec: { ports: { port: number }[] };
    };
    assert.equal(service.spec.ports[0]?.port, 80);
    for (const file of ["k8s-control-plane.yaml", "k8s-workers.yaml"]) {
      const p = await loadPlan(file);
      assert.equal(p.spec.channel, `http://${service.metadata.name}.${service.metadata.namespace}.svc/kubernetes`, file);
      assert.match(await readFile(new URL(`../../plans/${file}`, import.meta.url), "utf8"), /^ {2}# version: v\d+\.\d+\.\d+$/m, `${file} shows how to pin`);
    }
  });

  test("os-packages: reboots only when required, one drained node at a time", async () => {
    const p = await loadPlan("os-packages.yaml");
    assert.equal(p.spec.concurrency, 1);
    assert.equal(commandLine(p.spec.upgrade), "os-upgrade --reboot-if-required");
    assert.ok(p.spec.drain !== undefined);
  });

  for (const file of ["k8s-control-plane.yaml", "k8s-workers.yaml", "os-packages.yaml"]) {
    test(`${file}: a tagged image (untagged, the release would become the tag) run as root on the host`, async () => {
      const p = await loadPlan(file);
      for (const c of [p.spec.prepare, p.spec.upgrade].filter((x) => x !== undefined)) assert.match(c.image, /^plan-runner\/upgrade:\d+\.\d+\.\d+$/);
      assert.deepEqual(p.spec.upgrade.securityContext, { privileged: true, runAsUser: 0 });
    });
  }
});
