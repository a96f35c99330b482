// The seed's incident (2026-05-11), for real: the controller runs as deploy/'s two-replica
// Deployment, from the built image, on the very nodes its Plan drains and upgrades. The drain
// never evicts it, the leader's own node is taken last, and when that node's upgrade ends the
// leader (its container killed, as a reboot would), the other replica takes over and finishes:
// one apply pod per node, every node labelled and uncordoned.
import assert from "node:assert/strict";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import type { Lease, Node, Pod } from "../../src/controller/rollout/objects.ts";
import { resources } from "../../src/controller/kube/ports.ts";
import type { RealNodeHandle } from "../env/real-node.ts";
import { waitFor } from "../env/wait.ts";
import { type Env, applyPlan, condition, startEnv, waitForPlan } from "./controller-env.ts";
import { EventLog, aRealPlan, apiServerEnv, killContainer, podsOfPlan } from "./real-node-env.ts";

const NS = "system-upgrade";
const LABEL = "test.plan-runner.dev/self";
const deployDir = fileURLToPath(new URL("../../deploy/", import.meta.url));
let env: Env;
const nodes = new Map<string, RealNodeHandle>();
let releaseDir = "";

before(async () => {
  env = await startEnv(0, 0);
  for (const name of ["real-1", "real-2"]) nodes.set(name, await env.cp.addRealNode({ name, labels: { [LABEL]: "yes" } }));
  releaseDir = await mkdtemp(join(tmpdir(), "self-preemption-"));
  // The payload runs as the image's user (node), which must see the release files.
  await chmod(releaseDir, 0o755);
});

after(async () => {
  await env?.stop();
  if (releaseDir !== "") await rm(releaseDir, { recursive: true, force: true });
});

/**
 * deploy/ as shipped, with what this harness lacks made up for: pods share the test's network
 * namespace (no CNI, no kube-proxy), so they use the host network, are told where the API
 * server is, and bind their metrics to their own node address; leases are short to keep the
 * test short.
 */
async function renderDeploy(): Promise<unknown[]> {
  const r = await env.cp.kubectl(["kustomize", deployDir]);
  if (r.code !== 0) throw new Error(`kubectl kustomize deploy/: ${r.stderr}`);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as { kind?: string; spec?: { template?: { spec?: Record<string, unknown> } } })
    .filter((o) => o !== null)
    .map((o) => {
      if (o.kind !== "Deployment") return o;
      const pod = o.spec?.template?.spec as { hostNetwork?: boolean; containers: Array<{ args: string[]; env?: unknown[] }> };
      pod.hostNetwork = true;
      const c = pod.containers[0]!;
      c.env = [...(c.env ?? []), ...apiServerEnv(env), { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } }];
      c.args = [
        ...c.args.filter((a) => !a.startsWith("--metrics-address")),
        "--metrics-address=$(POD_IP):8080",
        "--lease-duration=4s",
        "--renew-deadline=3s",
        "--retry-period=500ms",
      ];
      return o;
    });
}

const controllerPods = async (): Promise<Pod[]> =>
  (await env.kube.list<Pod>(resources.pods, NS)).items.filter((p) => p.metadata.labels?.["app.kubernetes.io/name"] === "plan-runner");
const leaseHolder = async (): Promise<string | undefined> => {
  try {
    return (await env.kube.get<Lease>(resources.leases, NS, "plan-runner-leader")).spec?.holderIdentity;
  } catch {
    return undefined;
  }
};
const podOfIdentity = (pods: readonly Pod[], identity: string | undefined): Pod | undefined =>
  pods.find((p) => identity?.startsWith(`${p.metadata.name}_`) === true);

async function dumpControllerLogs(): Promise<void> {
  const pods = await env.cp.kubectl(["get", "pods", "-n", NS, "-o", "wide"]);
  process.stderr.write(`--- pods ---\n${pods.stdout}${pods.stderr}\n`);
  for (const p of await podsOfPlan(env, NS, "self").catch(() => [])) {
    const d = await env.cp.kubectl(["describe", "pod", "-n", NS, p.metadata.name]);
    process.stderr.write(`--- ${p.metadata.name} ---\n${d.stdout.split("\n").slice(-25).join("\n")}\n`);
  }
  for (const p of await controllerPods().catch(() => [])) {
    const r = await env.cp.kubectl(["logs", "-n", NS, p.metadata.name, "--tail=40"]);
    process.stderr.write(`--- controller ${p.metadata.name} on ${p.spec?.nodeName ?? "?"} ---\n${r.stdout}${r.stderr}\n`);
  }
}

describe("the controller as a pod on the nodes it upgrades", () => {
  it("never evicts itself, upgrades the leader's node last, and a new leader finishes after the old one dies", async () => {
    await selfPreemption().catch(async (e: unknown) => {
      await dumpControllerLogs();
      throw e;
    });
  });
});

async function selfPreemption(): Promise<void> {
  const manifest = join(releaseDir, "deploy.json");
  await writeFile(manifest, JSON.stringify({ apiVersion: "v1", kind: "List", items: await renderDeploy() }));
  const applied = await env.cp.kubectl(["apply", "--server-side", "-f", manifest]);
  assert.equal(applied.code, 0, applied.stderr);
  const ready = await waitFor(
    async () => {
      const pods = await controllerPods();
      const running = pods.filter((p) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
      return running.length === 2 ? running : false;
    },
    { timeoutMs: 120_000, what: "both controller replicas Ready" },
  );
  assert.notEqual(ready[0]?.spec?.nodeName, ready[1]?.spec?.nodeName, "the replicas are spread over both nodes");
  const leader = await waitFor(async () => podOfIdentity(ready, await leaseHolder()), { timeoutMs: 60_000, what: "a leader among the replicas" });
  const leaderNode = leader.spec?.nodeName ?? "";
  const otherNode = [...nodes.keys()].find((n) => n !== leaderNode) ?? "";

  // Each node's payload waits for its release file: the other node's is there at once.
  await writeFile(join(releaseDir, `release-${otherNode}`), "");
  const wait = `until [ -e /host${releaseDir}/release-$SYSTEM_UPGRADE_NODE_NAME ]; do sleep 0.2; done; echo upgraded $SYSTEM_UPGRADE_NODE_NAME`;
  const log = new EventLog(env, NS);
  const plan = aRealPlan(NS, "self", "", {
    nodeSelector: { matchLabels: { [LABEL]: "yes" } },
    // Even a priority group naming the leader's node first does not put it before the others.
    order: { groups: [{ matchLabels: { "kubernetes.io/hostname": leaderNode } }] },
    drain: { timeout: "60s", force: true },
    upgrade: { image: "plan-runner/upgrade:0.1.0", command: ["sh", "-c"], args: [wait] },
  });
  await applyPlan(env, plan);

  const podOn = (pods: readonly Pod[], node: string) => pods.filter((p) => p.spec?.nodeName === node);
  await waitFor(async () => podOn(await podsOfPlan(env, NS, "self", "apply"), leaderNode).find((p) => p.status?.phase === "Running"), {
    timeoutMs: 120_000,
    what: `the apply pod on the leader's node ${leaderNode} to run`,
  });
  const midway = await podsOfPlan(env, NS, "self", "apply");
  assert.equal(podOn(midway, otherNode)[0]?.status?.phase, "Succeeded", "the other node was upgraded first");
  const leaderNow = (await controllerPods()).find((p) => p.metadata.uid === leader.metadata.uid);
  assert.ok(leaderNow !== undefined, "the leader's pod survived the drain of its own node");
  assert.equal((await env.kube.get<Node>(resources.nodes, undefined, leaderNode)).spec?.unschedulable, true, "its node is cordoned for the upgrade");

  // The upgrade "reboots" the leader's node: its container dies, the other replica takes over.
  await killContainer(nodes.get(leaderNode)!, leaderNow);
  const successor = await waitFor(
    async () => {
      const holder = await leaseHolder();
      const pod = podOfIdentity(await controllerPods(), holder);
      return pod !== undefined && pod.metadata.uid !== leader.metadata.uid ? pod : false;
    },
    { timeoutMs: 60_000, what: "the other replica to take the lease" },
  );
  assert.equal(successor.spec?.nodeName, otherNode);
  await writeFile(join(releaseDir, `release-${leaderNode}`), "");

  const done = await waitForPlan(env, NS, "self", "Complete under the new leader", (p) => condition(p, "Complete")?.status === "True", 120_000);
  await log.stop();
  const applies = await podsOfPlan(env, NS, "self", "apply");
  assert.deepEqual(applies.map((p) => p.spec?.nodeName).sort(), [...nodes.keys()].sort(), "exactly one apply pod per node: nothing repeated, nothing skipped");
  assert.ok(applies.every((p) => p.status?.phase === "Succeeded"));
  for (const n of nodes.keys()) {
    const node = await env.kube.get<Node>(resources.nodes, undefined, n);
    assert.equal(node.metadata.labels?.["plan.upgrade.cattle.io/self"], done.status?.latestHash, `${n} labelled done`);
    assert.notEqual(node.spec?.unschedulable, true, `${n} uncordoned`);
  }
  const evicted = log.lines.filter((l) => /^DELETED plan-runner-/.test(l));
  assert.deepEqual(evicted, [], "no controller pod was deleted or evicted");
  const order = applies.map((p) => log.index(new RegExp(`^ADDED ${p.metadata.name} `)));
  assert.ok(order.every((i) => i >= 0));
  assert.equal(applies[order.indexOf(Math.max(...order))]?.spec?.nodeName, leaderNode, "the leader's node came last");
}
