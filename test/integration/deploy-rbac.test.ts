// deploy/ is what users apply: the API server must accept it, and the controller must be able
// to do a whole rollout (cordon, drain, events, status, lease) with exactly the RBAC it grants.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parse, stringify } from "yaml";
import { readFileSync } from "node:fs";
import { resources } from "../../src/controller/kube/ports.ts";
import { waitFor } from "../env/wait.ts";
import { type Env, aPlan, applyPlan, condition, getNode, kubectlApply, listPods, optIn, runController, startEnv, waitForPlan } from "./controller-env.ts";

const deploy = fileURLToPath(new URL("../../deploy/", import.meta.url));
let env: Env;
before(async () => {
  env = await startEnv(3, 1);
});
after(async () => env?.stop());

describe("deploy/", () => {
  it("is accepted by the API server as a whole (kubectl apply -k, server-side dry run)", async () => {
    // The namespace must exist for a dry run of what goes in it (a dry run persists nothing).
    assert.equal((await env.cp.kubectl(["apply", "-f", `${deploy}namespace.yaml`])).code, 0);
    const r = await env.cp.kubectl(["apply", "--server-side", "-k", deploy, "--dry-run=server"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /deployment.apps\/plan-runner/);
  });

  it("grants the controller enough to roll out with cordon and drain, and no more than it lists", async () => {
    for (const f of ["namespace.yaml", "rbac.yaml", "upgrade-rbac.yaml"]) {
      const r = await env.cp.kubectl(["apply", "-f", `${deploy}${f}`]);
      assert.equal(r.code, 0, r.stderr);
    }
    const token = await env.cp.kubectl(["create", "token", "plan-runner", "-n", "system-upgrade", "--duration=1h"]);
    assert.equal(token.code, 0, token.stderr);
    const admin = parse(readFileSync(env.cp.kubeconfigPath, "utf8")) as {
      clusters: unknown[];
      "current-context": string;
      contexts: Array<{ name: string; context: { cluster: string } }>;
    };
    const cluster = admin.contexts.find((c) => c.name === admin["current-context"])?.context.cluster;
    const path = `${env.cp.dir}/plan-runner-sa.kubeconfig`;
    writeFileSync(
      path,
      stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: admin.clusters,
        users: [{ name: "sa", user: { token: token.stdout.trim() } }],
        contexts: [{ name: "sa", context: { cluster, user: "sa" } }],
        "current-context": "sa",
      }),
    );

    // The service account cannot read secrets elsewhere or create pods outside its namespace.
    const denied = await env.cp.kubectl(["--kubeconfig", path, "auth", "can-i", "get", "secrets", "-n", "kube-system"]);
    assert.equal(denied.stdout.trim(), "no");
    const deniedPods = await env.cp.kubectl(["--kubeconfig", path, "auth", "can-i", "create", "pods", "-n", "default"]);
    assert.equal(deniedPods.stdout.trim(), "no");
    // Events: its own namespace (the Plans') and default (the API's only place for an Event about a Node), nowhere else.
    const canEvents = async (verb: string, ns: string): Promise<string> =>
      (await env.cp.kubectl(["--kubeconfig", path, "auth", "can-i", verb, "events", "-n", ns])).stdout.trim();
    assert.equal(await canEvents("patch", "system-upgrade"), "yes");
    assert.equal(await canEvents("create", "default"), "yes");
    assert.equal(await canEvents("create", "kube-system"), "no");
    assert.equal(await canEvents("delete", "system-upgrade"), "no");

    const ns = "system-upgrade";
    const node = "worker-1";
    await optIn(env, [node], "test.plan-runner.dev/rbac");
    const rs = {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: { name: "app", namespace: "default" },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "rbac-app" } },
        template: {
          metadata: { labels: { app: "rbac-app" } },
          spec: { nodeSelector: { "kubernetes.io/hostname": node }, containers: [{ name: "c", image: "example.com/app" }] },
        },
      },
    };
    assert.equal((await kubectlApply(env, rs)).code, 0);
    await waitFor(async () => (await listPods(env, "default")).some((p) => p.metadata.labels?.["app"] === "rbac-app" && p.status?.phase === "Running"), {
      timeoutMs: 30_000,
      what: "the workload running",
    });
    await env.kube.create(resources.secrets, ns, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "creds", namespace: ns },
      stringData: { k: "v" },
    } as never);
    const ctl = await runController(env, ns, { leaderElection: true }, path);
    try {
      await applyPlan(
        env,
        aPlan(ns, "rbac", {
          drain: { timeout: "20s", force: true },
          secrets: [{ name: "creds", path: "/creds" }],
          nodeSelector: { matchLabels: { "test.plan-runner.dev/rbac": "yes" } },
        }),
      );
      await waitForPlan(env, ns, "rbac", "Complete under the shipped RBAC", (p) => condition(p, "Complete")?.status === "True", 60_000);
      assert.notEqual((await getNode(env, node)).spec?.unschedulable, true);
      const errors = await ctl.metrics.reconcileErrors.get();
      assert.equal(
        errors.values.reduce((n, v) => n + v.value, 0),
        0,
        "no reconcile failed (no 403 anywhere)",
      );
      const forbidden = (await ctl.metrics.apiRequests.get()).values.filter((v) => v.labels["code"] === "403");
      assert.deepEqual(forbidden, [], "no request was forbidden");
      const told = await env.kube.list<{ metadata: { name: string }; reason?: string; count?: number }>(resources.events, ns, {
        fieldSelector: "involvedObject.name=rbac",
      });
      assert.equal(told.items.find((e) => e.metadata.name === "rbac.nodecomplete")?.count, 1, "the Plan's Events were written");
    } finally {
      await ctl.stop();
    }
  });
});
