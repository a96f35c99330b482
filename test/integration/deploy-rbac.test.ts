// deploy/ is what users apply: the API server must accept it, and the controller must be able
// to do a whole rollout (cordon, drain, events, status, lease) with exactly the RBAC it grants,
// be refused what it does not, and get pod deletion (drain.disableEviction, drain.unblockPDB)
// only from the opt-in deploy/drain-delete/.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { KubeAdapter } from "../../src/controller/kube/adapter.ts";
import { KubeError, resources } from "../../src/controller/kube/ports.ts";
import { waitFor } from "../env/wait.ts";
import {
  type Env,
  aPlan,
  applyPlan,
  condition,
  getNode,
  kubectlApply,
  listPods,
  optIn,
  runController,
  serviceAccountKubeconfig,
  startEnv,
  waitForPlan,
} from "./controller-env.ts";

const deploy = fileURLToPath(new URL("../../deploy/", import.meta.url));
const ns = "system-upgrade";
let env: Env;
/** A kubeconfig that authenticates as the controller's ServiceAccount, as in its pod. */
let saKubeconfig: string;
before(async () => {
  env = await startEnv(4, 1);
  for (const f of ["namespace.yaml", "rbac.yaml", "upgrade-rbac.yaml"]) {
    const r = await env.cp.kubectl(["apply", "-f", `${deploy}${f}`]);
    assert.equal(r.code, 0, r.stderr);
  }
  saKubeconfig = await serviceAccountKubeconfig(env, ns, "plan-runner");
});
after(async () => env?.stop());

/** A one-replica workload pinned to a node, Running: what a drain must move. */
async function workloadOn(node: string, app: string): Promise<void> {
  const rs = {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: { name: app, namespace: "default" },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app } },
      template: {
        metadata: { labels: { app } },
        spec: { nodeSelector: { "kubernetes.io/hostname": node }, containers: [{ name: "c", image: "example.com/app" }] },
      },
    },
  };
  assert.equal((await kubectlApply(env, rs)).code, 0);
  await waitFor(async () => (await listPods(env, "default")).some((p) => p.metadata.labels?.["app"] === app && p.status?.phase === "Running"), {
    timeoutMs: 30_000,
    what: `the workload ${app} running on ${node}`,
  });
}

/** `verb group/resource[/subresource] namespace` (namespace "*" for a cluster-wide grant or a call across namespaces). */
type Access = string;

/** What an API path asks RBAC for. */
function accessOf(verb: string, path: string): Access {
  const parts = path.split("/").filter((p) => p !== "");
  const [root, ...rest] = parts;
  const group = root === "api" ? "" : (rest.shift() ?? "");
  rest.shift(); // the version
  let namespace = "*";
  if (rest[0] === "namespaces" && rest.length >= 3) {
    namespace = rest[1] ?? "";
    rest.splice(0, 2);
  }
  const [resource, , sub] = rest;
  const rbacVerb = verb === "evict" ? "create" : verb;
  return `${rbacVerb} ${group}/${resource ?? ""}${sub !== undefined ? `/${sub}` : ""} ${namespace}`;
}

/** Every grant of the controller's ServiceAccount in deploy/rbac.yaml, as Access lines. */
function grants(file: string): Set<Access> {
  const out = new Set<Access>();
  for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
    const o = doc.toJS() as {
      kind: string;
      metadata: { namespace?: string };
      rules?: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>;
    };
    if (o.kind !== "Role" && o.kind !== "ClusterRole") continue;
    const scope = o.kind === "Role" ? (o.metadata.namespace ?? "") : "*";
    for (const r of o.rules ?? []) for (const g of r.apiGroups) for (const res of r.resources) for (const v of r.verbs) out.add(`${v} ${g}/${res} ${scope}`);
  }
  return out;
}

/** A call is allowed by a grant in its namespace or by a cluster-wide one. */
const allowedBy = (call: Access, granted: ReadonlySet<Access>): boolean => granted.has(call) || granted.has(call.replace(/ [^ ]+$/, " *"));

/**
 * Grants the test rollout below does not exercise, each with the situation that needs it; any
 * other grant must have been used, so a verb the controller never calls cannot creep back in.
 */
const situational: Record<Access, string> = {
  [`get /events ${ns}`]: "a restarted controller reads back an Event's counted keys",
  [`patch /events ${ns}`]: "a step told again for another node (one node here: each reason once, a create)",
  "create /events default": "a failure told on the Node too (AttemptFailed, DrainTimeout...)",
  "patch /events default": "the same, counted again",
  "get /events default": "the same, after a restart",
  "list policy/poddisruptionbudgets *": "a drain a PodDisruptionBudget blocks past drain.timeout names the PDB",
};

describe("deploy/", () => {
  it("is accepted by the API server as a whole, with the opt-in drain-delete too (kubectl apply -k, server-side dry run)", async () => {
    for (const dir of [deploy, `${deploy}drain-delete/`]) {
      const r = await env.cp.kubectl(["apply", "--server-side", "-k", dir, "--dry-run=server"]);
      assert.equal(r.code, 0, r.stderr);
    }
    const r = await env.cp.kubectl(["apply", "--server-side", "-k", deploy, "--dry-run=server"]);
    assert.match(r.stdout, /deployment.apps\/plan-runner/);
  });

  it("grants the controller what a rollout with cordon and drain calls, and nothing it does not call", async () => {
    // Events: its own namespace (the Plans') and default (the API's only place for an Event about a Node), nowhere else.
    const can = async (verb: string, what: string, where: string): Promise<string> =>
      (await env.cp.kubectl(["--kubeconfig", saKubeconfig, "auth", "can-i", verb, what, "-n", where])).stdout.trim();
    assert.equal(await can("get", "secrets", "kube-system"), "no");
    assert.equal(await can("create", "pods", "default"), "no");
    assert.equal(await can("delete", "pods", "default"), "no", "deleting other namespaces' pods is opt-in (deploy/drain-delete/)");
    assert.equal(await can("patch", "events", ns), "yes");
    assert.equal(await can("create", "events", "default"), "yes");
    assert.equal(await can("create", "events", "kube-system"), "no");
    assert.equal(await can("delete", "events", ns), "no");

    const node = "worker-1";
    await optIn(env, [node], "test.plan-runner.dev/rbac");
    await workloadOn(node, "rbac-app");
    await env.kube.create(resources.secrets, ns, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "creds", namespace: ns },
      stringData: { k: "v" },
    } as never);
    // What the Plan's pods run as and at: the controller looks both up before it cordons a node.
    await env.kube.create(resources.serviceAccounts, ns, { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "upgrader", namespace: ns } } as never);
    await env.kube.create(resources.priorityClasses, undefined, {
      apiVersion: "scheduling.k8s.io/v1",
      kind: "PriorityClass",
      metadata: { name: "rbac-upgrade" },
      value: 1000,
    } as never);
    const calls = new Map<Access, number>();
    const record = (verb: string, path: string, code: number): void => {
      const a = accessOf(verb, path);
      if (code !== 403) calls.set(a, code);
      else calls.set(`${a} (403)`, code);
    };
    // A short pod TTL, so the clean-up of its own finished pods is among the calls measured.
    const ctl = await runController(env, ns, { leaderElection: true, podTtlMs: 1000 }, saKubeconfig, record);
    try {
      await applyPlan(
        env,
        aPlan(ns, "rbac", {
          drain: { timeout: "20s", force: true },
          secrets: [{ name: "creds", path: "/creds" }],
          serviceAccountName: "upgrader",
          priorityClassName: "rbac-upgrade",
          nodeSelector: { matchLabels: { "test.plan-runner.dev/rbac": "yes" } },
        }),
      );
      await waitForPlan(env, ns, "rbac", "Complete under the shipped RBAC", (p) => condition(p, "Complete")?.status === "True", 60_000);
      assert.notEqual((await getNode(env, node)).spec?.unschedulable, true);
      await waitFor(async () => (await listPods(env, ns)).length === 0, { timeoutMs: 30_000, what: "its finished pods deleted after --pod-ttl" });
      const errors = await ctl.metrics.reconcileErrors.get();
      assert.equal(
        errors.values.reduce((n, v) => n + v.value, 0),
        0,
        "no reconcile failed (no 403 anywhere)",
      );
      const told = await env.kube.list<{ metadata: { name: string }; reason?: string; count?: number }>(resources.events, ns, {
        fieldSelector: "involvedObject.name=rbac",
      });
      assert.equal(told.items.find((e) => e.metadata.name === "rbac.nodecomplete")?.count, 1, "the Plan's Events were written");
    } finally {
      await ctl.stop();
    }
    const granted = grants(`${deploy}rbac.yaml`);
    const made = [...calls.keys()];
    assert.deepEqual(
      made.filter((c) => c.endsWith("(403)") || !allowedBy(c, granted)),
      [],
      "every call it made is granted",
    );
    const unused = [...granted].filter((g) => !made.some((c) => c === g || (g.endsWith(" *") && c.replace(/ [^ ]+$/, " *") === g)));
    assert.deepEqual(
      unused.filter((g) => situational[g] === undefined),
      [],
      `every grant is a call it makes (measured: ${made.sort().join(", ")})`,
    );
  });

  it("is refused by the API server what it is not granted: another namespace's pod deleted, an Event elsewhere", async () => {
    const sa = new KubeAdapter({ kubeconfig: saKubeconfig });
    await workloadOn("worker-2", "bystander");
    const victim = (await listPods(env, "default")).find((p) => p.metadata.labels?.["app"] === "bystander");
    assert.ok(victim !== undefined);
    const refusal = async (call: () => Promise<unknown>): Promise<number | undefined> => {
      try {
        await call();
        return undefined;
      } catch (e: unknown) {
        if (e instanceof KubeError) return e.status;
        throw e;
      }
    };
    assert.equal(await refusal(() => sa.delete(resources.pods, "default", victim.metadata.name)), 403, "a pod in default deleted without deploy/drain-delete/");
    const other = await env.cp.createNamespace("unrelated");
    const event = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: "x.planned", namespace: other },
      involvedObject: { kind: "Namespace", name: other },
      reason: "Planned",
      message: "m",
    };
    assert.equal(await refusal(() => sa.create(resources.events, other, event as never)), 403, "an Event in an unrelated namespace");
    assert.equal(await refusal(() => sa.get(resources.secrets, "kube-system", "anything")), 403, "a secret elsewhere");
    assert.ok(
      (await listPods(env, "default")).some((p) => p.metadata.name === victim.metadata.name),
      "the pod is still there",
    );
  });

  it("a disableEviction drain is Refused naming the missing permission, and works once deploy/drain-delete/ is applied", async () => {
    const node = "worker-3";
    await optIn(env, [node], "test.plan-runner.dev/noevict");
    await workloadOn(node, "noevict-app");
    const ctl = await runController(env, ns, { refusedRequeueMs: 1000 }, saKubeconfig);
    try {
      await applyPlan(
        env,
        aPlan(ns, "noevict", {
          drain: { disableEviction: true, force: true, timeout: "5m" },
          nodeSelector: { matchLabels: { "test.plan-runner.dev/noevict": "yes" } },
        }),
      );
      const refused = await waitForPlan(env, ns, "noevict", "Refused for the delete", (p) => condition(p, "Refused")?.status === "True", 60_000);
      assert.match(condition(refused, "Refused")?.message ?? "", /cannot delete resource "pods" in API group "" in the namespace "default"/);
      assert.match(condition(refused, "Refused")?.message ?? "", /deploy\/drain-delete/, "the message says what grants it");

      const r = await env.cp.kubectl(["apply", "-k", `${deploy}drain-delete/`]);
      assert.equal(r.code, 0, r.stderr);
      const done = await waitForPlan(env, ns, "noevict", "Complete with the opt-in", (p) => condition(p, "Complete")?.status === "True", 60_000);
      assert.notEqual(condition(done, "Refused")?.status, "True");
      assert.notEqual((await getNode(env, node)).spec?.unschedulable, true, "uncordoned");
    } finally {
      await ctl.stop();
    }
  });
});
