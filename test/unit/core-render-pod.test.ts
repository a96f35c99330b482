import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Pod } from "../../src/controller/rollout/objects.ts";
import type { ContainerManifest, PodManifest } from "../../src/controller/rollout/model.ts";
import { podName, safeConcatName } from "../../src/controller/rollout/names.ts";
import { podFacts } from "../../src/controller/rollout/pod-facts.ts";
import { type RenderOptions, activeDeadlineSeconds, renderPod, secretMountPath } from "../../src/controller/rollout/render-pod.ts";
import { type PlanBuilder, aNode, aPlan } from "../fixtures/builders.ts";

const HASH = "4f6c1f8cb3a2d0e7a1b9c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8";
// SUC's own defaults (job TTL 900, deadline 600), so the SUC-parity cases below read as SUC's tests do.
const OPTIONS: RenderOptions = { controllerName: "plan-runner", activeDeadline: { defaultSeconds: 600, maxSeconds: 0 }, ttlSecondsAfterFinished: 900 };

function render(
  plan: PlanBuilder,
  o: { step?: "prepare" | "apply"; attempt?: number; node?: string; postCompleteDelayMs?: number; options?: Partial<RenderOptions> } = {},
): PodManifest {
  return renderPod(
    {
      plan: plan.build(),
      node: aNode(o.node ?? "worker-1").build(),
      step: o.step ?? "apply",
      latestVersion: "v1.30.4",
      latestHash: HASH,
      ...(o.attempt === undefined ? {} : { attempt: o.attempt }),
      ...(o.postCompleteDelayMs === undefined ? {} : { postCompleteDelayMs: o.postCompleteDelayMs }),
    },
    { ...OPTIONS, ...o.options },
  );
}
const main = (pod: PodManifest): ContainerManifest => {
  assert.equal(pod.spec.containers.length, 1);
  return pod.spec.containers[0] as ContainerManifest;
};
const withPrepare = (p: PlanBuilder): PlanBuilder => p.withPrepare({ image: "plan-runner/upgrade", args: ["compat-gate", "--target", "v1.30.4"] });

describe("renderPod: identity", () => {
  test("apply and prepare pod names", () => {
    assert.equal(render(aPlan("k8s")).metadata.name, podName("apply", "k8s", "worker-1", HASH));
    assert.equal(render(withPrepare(aPlan("k8s")), { step: "prepare" }).metadata.name, podName("prepare", "k8s", "worker-1", HASH));
    assert.match(render(aPlan("k8s")).metadata.name, /^apply-k8s-on-worker-1-with-4f6c1f8cb3a2d0e7a1b9c5d4e3f2a1-[0-9a-f]{5}$/);
  });
  test("a retry is another pod", () => assert.notEqual(render(aPlan(), { attempt: 2 }).metadata.name, render(aPlan()).metadata.name));
  test("the Plan's namespace, or the default one", () => {
    assert.equal(render(aPlan().inNamespace("ops")).metadata.namespace, "ops");
    assert.equal(render(aPlan().inNamespace(undefined), { options: { defaultNamespace: "system-upgrade" } }).metadata.namespace, "system-upgrade");
  });
  test("owned by the Plan, never blocking its deletion", () => {
    assert.deepEqual(render(aPlan("os").withUid("u-1")).metadata.ownerReferences, [
      { apiVersion: "upgrade.cattle.io/v1", kind: "Plan", name: "os", uid: "u-1", controller: true, blockOwnerDeletion: false },
    ]);
    assert.equal(render(aPlan("os")).metadata.ownerReferences, undefined);
  });
  test("the controller reads back plan, hash, role and attempt (pod-facts)", () => {
    const pod: Pod = render(aPlan("os"), { attempt: 3 });
    const f = podFacts({ ...pod, status: { phase: "Running" } });
    assert.deepEqual(f && { plan: f.plan, node: f.node, hash: f.hash, role: f.role, attempt: f.attempt }, {
      plan: "os",
      node: "worker-1",
      hash: HASH,
      role: "apply",
      attempt: 3,
    });
  });
});

describe("renderPod: pod spec as SUC's job pod", () => {
  const pod = render(aPlan());
  test("pinned to the node, host namespaces, never restarted", () => {
    const s = pod.spec;
    assert.deepEqual(
      { nodeName: s.nodeName, hostIPC: s.hostIPC, hostPID: s.hostPID, hostNetwork: s.hostNetwork, dnsPolicy: s.dnsPolicy, restartPolicy: s.restartPolicy },
      { nodeName: "worker-1", hostIPC: true, hostPID: true, hostNetwork: true, dnsPolicy: "ClusterFirstWithHostNet", restartPolicy: "Never" },
    );
  });
  test("pinned by the full node name even when the pod name uses the short one", () => {
    assert.equal(render(aPlan(), { node: "w1.zone-a.example" }).spec.nodeName, "w1.zone-a.example");
  });
  test("tolerates the cordon first, then the Plan's tolerations", () => {
    const p = render(aPlan().withTolerations({ key: "dedicated", operator: "Equal", value: "gpu", effect: "NoSchedule" }));
    assert.deepEqual(p.spec.tolerations, [
      { key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" },
      { key: "dedicated", operator: "Equal", value: "gpu", effect: "NoSchedule" },
    ]);
  });
  test("serviceAccountName, priorityClassName and imagePullSecrets only when given", () => {
    assert.deepEqual([pod.spec.serviceAccountName, pod.spec.priorityClassName, pod.spec.imagePullSecrets], [undefined, undefined, undefined]);
    const p = render(
      aPlan()
        .withServiceAccount("system-upgrade")
        .with((s) => ((s.priorityClassName = "system-node-critical"), (s.imagePullSecrets = [{ name: "regcred" }]))),
    );
    assert.deepEqual(
      [p.spec.serviceAccountName, p.spec.priorityClassName, p.spec.imagePullSecrets],
      ["system-upgrade", "system-node-critical", [{ name: "regcred" }]],
    );
  });
  test("the image gets the latest version as its tag when it has none", () => {
    assert.equal(main(render(aPlan().withUpgrade({ image: "rancher/k3s-upgrade" }))).image, "rancher/k3s-upgrade:v1.30.4");
    assert.equal(main(render(aPlan().withUpgrade({ image: "rancher/k3s-upgrade:pinned" }))).image, "rancher/k3s-upgrade:pinned");
  });
  test("pull policy: IfNotPresent unless configured", () => {
    assert.equal(main(pod).imagePullPolicy, "IfNotPresent");
    assert.equal(main(render(aPlan(), { options: { imagePullPolicy: "Always" } })).imagePullPolicy, "Always");
  });
  test("command and args pass through", () => {
    const c = main(render(aPlan().withUpgrade({ command: ["sh", "-c"], args: ["echo hi"] })));
    assert.deepEqual([c.command, c.args], [["sh", "-c"], ["echo hi"]]);
  });
});

describe("renderPod: environment in SUC's order", () => {
  test("node, pod name, pod uid, the Plan's envs, plan name, hash, version", () => {
    const c = main(
      render(
        aPlan("os").withUpgrade({
          envs: [
            { name: "B", value: "2" },
            { name: "A", valueFrom: { secretKeyRef: { name: "s", key: "k" } } },
          ],
        }),
      ),
    );
    assert.deepEqual(
      c.env.map((e) => e.name),
      [
        "SYSTEM_UPGRADE_NODE_NAME",
        "SYSTEM_UPGRADE_POD_NAME",
        "SYSTEM_UPGRADE_POD_UID",
        "B",
        "A",
        "SYSTEM_UPGRADE_PLAN_NAME",
        "SYSTEM_UPGRADE_PLAN_LATEST_HASH",
        "SYSTEM_UPGRADE_PLAN_LATEST_VERSION",
      ],
    );
    assert.deepEqual(
      c.env.slice(0, 3).map((e) => e.valueFrom?.fieldRef?.fieldPath),
      ["spec.nodeName", "metadata.name", "metadata.uid"],
    );
    assert.deepEqual(
      c.env.slice(-3).map((e) => e.value),
      ["os", HASH, "v1.30.4"],
    );
    assert.deepEqual(c.env[4], { name: "A", valueFrom: { secretKeyRef: { name: "s", key: "k" } } });
  });
  test("SUC container_test: the plan environment is present without user envs", () => {
    assert.equal(main(render(aPlan())).env.length, 6);
  });
  test("envFrom passes through", () => {
    const c = main(render(aPlan().withUpgrade({ envFrom: [{ configMapRef: { name: "cfg" }, prefix: "X_" }] })));
    assert.deepEqual(c.envFrom, [{ configMapRef: { name: "cfg" }, prefix: "X_" }]);
  });
  test("prepare gets the same environment", () => {
    assert.deepEqual(
      main(render(withPrepare(aPlan()), { step: "prepare" })).env.map((e) => e.name),
      main(render(aPlan())).env.map((e) => e.name),
    );
  });
});

describe("renderPod: mounts and volumes", () => {
  const plan = aPlan()
    .withSecrets(
      { name: "having-path", path: "/run/secret/having-path" },
      { name: "relative", path: "relative/dir/" },
      { name: "not-having-path-with-a-supercalifragilisticexpialidocious-name", path: "", defaultMode: 0o400, ignoreUpdates: true },
    )
    .withUpgrade({ volumes: [{ name: "containerd", source: "/var/lib/containerd", destination: "/var/lib/containerd" }] });
  const pod = render(plan);
  const LONG_VOLUME = safeConcatName("secret", "not-having-path-with-a-supercalifragilisticexpialidocious-name");
  test("host root, pod info, secrets, then the Plan's volumes", () => {
    assert.deepEqual(main(pod).volumeMounts, [
      { name: "host-root", mountPath: "/host" },
      { name: "pod-info", mountPath: "/run/system-upgrade/pod", readOnly: true },
      { name: "secret-having-path", mountPath: "/run/secret/having-path", readOnly: true },
      { name: "secret-relative", mountPath: "/run/system-upgrade/secrets/relative/dir", readOnly: true },
      {
        name: LONG_VOLUME,
        mountPath: "/run/system-upgrade/secrets/not-having-path-with-a-supercalifragilisticexpialidocious-name",
        readOnly: true,
      },
      { name: "containerd", mountPath: "/var/lib/containerd" },
    ]);
  });
  test("SUC container_test: a long secret name keeps its first 50 characters and fits 63", () => {
    const name = "not-having-path-with-a-supercalifragilisticexpialidocious-name";
    const v = pod.spec.volumes.find((x) => x.secret?.secretName === name);
    assert.ok(v !== undefined && v.name.includes(name.slice(0, 50)) && v.name.length <= 63);
  });
  test("volumes: host root as a directory, pod info from the downward API, secrets, host paths", () => {
    assert.deepEqual(pod.spec.volumes, [
      { name: "host-root", hostPath: { path: "/", type: "Directory" } },
      {
        name: "pod-info",
        downwardAPI: {
          defaultMode: 420,
          items: [
            { path: "labels", fieldRef: { fieldPath: "metadata.labels", apiVersion: "v1" } },
            { path: "annotations", fieldRef: { fieldPath: "metadata.annotations", apiVersion: "v1" } },
          ],
        },
      },
      { name: "secret-having-path", secret: { secretName: "having-path", optional: false } },
      { name: "secret-relative", secret: { secretName: "relative", optional: false } },
      {
        name: LONG_VOLUME,
        secret: { secretName: "not-having-path-with-a-supercalifragilisticexpialidocious-name", defaultMode: 256, optional: true },
      },
      { name: "containerd", hostPath: { path: "/var/lib/containerd" } },
    ]);
  });
  test("the prepare pod mounts prepare's volumes, not upgrade's", () => {
    const p = render(plan.withPrepare({ image: "x", volumes: [{ name: "etc", source: "/etc", destination: "/host-etc" }] }), { step: "prepare" });
    assert.deepEqual(
      p.spec.volumes.filter((v) => v.hostPath !== undefined).map((v) => v.name),
      ["host-root", "etc"],
    );
    assert.deepEqual(main(p).volumeMounts.at(-1), { name: "etc", mountPath: "/host-etc" });
  });
  const paths: Array<[string, string, string]> = [
    ["absolute", "/etc/creds", "/etc/creds"],
    ["relative", "creds", "/run/system-upgrade/secrets/creds"],
    ["empty: the name", "", "/run/system-upgrade/secrets/s"],
    ["cleaned like filepath.Join", "a/../b/./c/", "/run/system-upgrade/secrets/b/c"],
  ];
  for (const [name, path, want] of paths) void test(`secret path ${name}`, () => assert.equal(secretMountPath({ name: "s", path }), want));
});

describe("renderPod: security", () => {
  test("upgrade: privileged with CAP_SYS_BOOT by default", () => {
    assert.deepEqual(main(render(aPlan())).securityContext, { privileged: true, capabilities: { add: ["CAP_SYS_BOOT"] } });
  });
  test("upgrade: SYSTEM_UPGRADE_JOB_PRIVILEGED=false keeps CAP_SYS_BOOT", () => {
    assert.deepEqual(main(render(aPlan(), { options: { privileged: false } })).securityContext, { privileged: false, capabilities: { add: ["CAP_SYS_BOOT"] } });
  });
  test("SUC container_test: a Plan's securityContext replaces the default", () => {
    const sc = { privileged: true, capabilities: { add: ["TEST_CONTAINER"] } };
    assert.deepEqual(main(render(aPlan().withUpgrade({ securityContext: sc }))).securityContext, sc);
  });
  test("prepare: unprivileged unless the Plan says otherwise", () => {
    assert.equal(main(render(withPrepare(aPlan()), { step: "prepare" })).securityContext, undefined);
    const p = aPlan().withPrepare({ image: "x", securityContext: { runAsUser: 0 } });
    assert.deepEqual(main(render(p, { step: "prepare" })).securityContext, { runAsUser: 0 });
  });
  test("the container is named after its role", () => {
    assert.equal(main(render(aPlan())).name, "upgrade");
    assert.equal(main(render(withPrepare(aPlan()), { step: "prepare" })).name, "prepare");
  });
  test("rendering a prepare pod of a Plan without prepare is a programming error", () => {
    assert.throws(() => render(aPlan(), { step: "prepare" }), /no prepare container/);
  });
});

describe("activeDeadlineSeconds (SUC job_suite_test cases)", () => {
  const cases: Array<[string, number | undefined, number, number, number | undefined]> = [
    ["positive: the Plan's value", 12345, 600, 0, 12345],
    ["nil: the controller default", undefined, 300, 0, 300],
    ["zero: no deadline", 0, 300, 0, undefined],
    ["negative: the controller default", -1, 3600, 0, 3600],
    ["above the maximum: capped", 600, 600, 300, 300],
    ["zero with a maximum: the maximum", 0, 600, 300, 300],
    ["nil with a default above the maximum: capped", undefined, 600, 300, 300],
    ["below the maximum: kept", 100, 600, 300, 100],
  ];
  for (const [name, plan, def, max, want] of cases) {
    test(name, () => {
      assert.equal(activeDeadlineSeconds(plan, { defaultSeconds: def, maxSeconds: max }), want);
      const pod = render(aPlan().withDeadline(plan), { options: { activeDeadline: { defaultSeconds: def, maxSeconds: max } } });
      assert.equal(pod.spec.activeDeadlineSeconds, want);
    });
  }
});

describe("renderPod: labels and annotations", () => {
  const plan = aPlan("os")
    .withLabels({ "cattle.io/some-label": "biz", "plan.cattle.io/some-label": "buz", "some.other/label": "bla", "upgrade.cattle.io/plan": "spoof" })
    .withAnnotations({
      "cattle.io/some-annotation": "foo",
      "plan.cattle.io/some-annotation": "bar",
      "some.other/annotation": "baz",
      "kubectl.kubernetes.io/last-applied-configuration": "{}",
    });
  const pod = render(plan.with((s) => (s.exclusive = true)));
  test("SUC's labels, the hash and the role", () => {
    assert.deepEqual(pod.metadata.labels, {
      "some.other/label": "bla",
      "upgrade.cattle.io/controller": "plan-runner",
      "upgrade.cattle.io/exclusive": "true",
      "upgrade.cattle.io/node": "worker-1",
      "upgrade.cattle.io/plan": "os",
      "upgrade.cattle.io/version": "v1.30.4",
      "plan.upgrade.cattle.io/os": HASH,
      "plan-runner.dev/hash": HASH,
      "plan-runner.dev/role": "apply",
    });
  });
  test("SUC job_suite_test: non-cattle.io annotations are copied; ttl and attempt are set", () => {
    assert.deepEqual(pod.metadata.annotations, {
      "some.other/annotation": "baz",
      "upgrade.cattle.io/ttl-seconds-after-finished": "900",
      "plan-runner.dev/attempt": "1",
    });
  });
  test("exclusive defaults to false", () => assert.equal(render(aPlan()).metadata.labels["upgrade.cattle.io/exclusive"], "false"));
  test("the ttl outlives postCompleteDelay by a minute", () => {
    assert.equal(render(aPlan(), { postCompleteDelayMs: 20 * 60_000 }).metadata.annotations["upgrade.cattle.io/ttl-seconds-after-finished"], "1260");
    assert.equal(render(aPlan(), { postCompleteDelayMs: 60_000 }).metadata.annotations["upgrade.cattle.io/ttl-seconds-after-finished"], "900");
  });
  test("the Plan generation is recorded when known", () => {
    assert.equal(render(aPlan().with((_, p) => (p.metadata["generation"] = 4))).metadata.annotations["plan-runner.dev/plan-generation"], "4");
  });
  test("a node name too long for a label value is made to fit", () => {
    const long = `n${"x".repeat(100)}`;
    const v = render(aPlan(), { node: long }).metadata.labels["upgrade.cattle.io/node"] ?? "";
    assert.ok(v.length <= 63 && v.startsWith("nxxx"));
  });
});

describe("renderPod: purity", () => {
  test("the pod shares nothing with the Plan", () => {
    const plan = aPlan()
      .withTolerations({ key: "k", operator: "Exists" })
      .withUpgrade({ envs: [{ name: "A", value: "1" }] })
      .build();
    const pod = renderPod({ plan, node: aNode("w").build(), step: "apply", latestVersion: "v1", latestHash: HASH }, OPTIONS);
    (pod.spec.tolerations[1] as { key?: string }).key = "changed";
    (main(pod).env[3] as { value?: string }).value = "changed";
    assert.equal(plan.spec.tolerations?.[0]?.key, "k");
    assert.equal(plan.spec.upgrade.envs?.[0]?.value, "1");
  });
  test("same input, same pod", () => assert.deepEqual(render(aPlan()), render(aPlan())));
});
