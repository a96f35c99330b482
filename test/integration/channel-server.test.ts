// plan-runner channel-server against the real control plane (its nodes) and a local package
// repository laid out per minor (issue 11): what it answers, how it fails, and a controller
// following it, so that a release appearing in the index starts a rollout with no edit of the Plan.
import assert from "node:assert/strict";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { PackageIndex } from "../../src/channel/package-index.ts";
import { type RunningChannelServer, startChannelServer } from "../../src/channel/server.ts";
import { silentLogger } from "../../src/controller/wiring/log.ts";
import { apiClusterReader, apiGetter, kubeconfigConfig } from "../../src/executors/kube-api.ts";
import { type Env, type RunningController, aPlan, applyPlan, condition, getNode, optIn, runController, startEnv, waitForPlan } from "./controller-env.ts";

let env: Env;
let ns: string;
let ctl: RunningController;
let repo: Server;
let repoUrl: string;
/** What the local repository serves per minor ("v1.35"): a Packages body, or an HTTP status. */
const published = new Map<string, { body: string } | { status: number }>();
/** Index requests the repository received, per path. */
const hits = new Map<string, number>();
const servers: RunningChannelServer[] = [];

const stanza = (pkg: string, v: string) => `Package: ${pkg}\nVersion: ${v}\nArchitecture: amd64\nFilename: pool/${pkg}_${v}_amd64.deb\n`;
const packages = (...versions: string[]): { body: string } => ({ body: versions.flatMap((v) => [stanza("kubelet", v), stanza("kubeadm", v)]).join("\n") });

function publish(entries: Record<string, { body: string } | { status: number }>): void {
  published.clear();
  for (const [k, v] of Object.entries(entries)) published.set(k, v);
}

/** A channel server over this cluster's nodes and the local repository (or `base`). */
async function channel(ttlMs: number, base = `${repoUrl}/stable`): Promise<string> {
  const cluster = apiClusterReader(apiGetter(await kubeconfigConfig(env.cp.kubeconfigPath)));
  const index = new PackageIndex({ base, ttlMs, timeoutMs: 2000 });
  const s = await startChannelServer(
    { kubelets: async () => (await cluster.listNodes()).map((n) => n.kubeletVersion), index, log: silentLogger },
    "127.0.0.1",
    0,
  );
  servers.push(s);
  return s.url;
}

const ask = async (url: string): Promise<{ status: number; location: string | null; body: string }> => {
  const res = await fetch(url, { redirect: "manual" });
  return { status: res.status, location: res.headers.get("location"), body: await res.text() };
};

before(async () => {
  env = await startEnv([
    { name: "cp-1", role: "control-plane", kubeletVersion: "v1.35.1" },
    { name: "w-1", role: "worker", kubeletVersion: "v1.35.1" },
  ]);
  ns = await env.cp.createNamespace("channel");
  repo = createServer((req, res) => {
    const path = req.url ?? "";
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const m = /^\/stable\/(v\d+\.\d+)\/deb\/Packages$/.exec(path);
    const answer = m === null ? { status: 404 } : (published.get(m[1] as string) ?? { status: 404 });
    if ("status" in answer) res.writeHead(answer.status).end();
    else res.writeHead(200, { "content-type": "text/plain" }).end(answer.body);
  });
  await new Promise<void>((r) => repo.listen(0, "127.0.0.1", () => r()));
  repoUrl = `http://127.0.0.1:${(repo.address() as AddressInfo).port}`;
});
after(async () => {
  await ctl?.stop();
  for (const s of servers) await s.close();
  repo?.close();
  await env?.stop();
});

describe("channel-server: the kubernetes channel over a real cluster's nodes", () => {
  const cases: { name: string; repo: Record<string, { body: string } | { status: number }>; location: string }[] = [
    {
      name: "a patch bump: the newest patch of the running minor",
      repo: { "v1.35": packages("1.35.0-1.1", "1.35.1-1.1", "1.35.2-1.1"), "v1.36": packages("1.36.0-1.1") },
      location: "/kubernetes/v1.35.2",
    },
    {
      name: "a minor bump once the next minor publishes kubeadm",
      repo: { "v1.35": packages("1.35.1-1.1"), "v1.36": packages("1.36.0-1.1", "1.36.1-1.1", "1.36.2~rc.0-1.1") },
      location: "/kubernetes/v1.36.1",
    },
    { name: "a missing next minor: what runs", repo: { "v1.35": packages("1.35.0-1.1", "1.35.1-1.1") }, location: "/kubernetes/v1.35.1" },
  ];
  for (const c of cases) {
    it(`${c.name} -> 302 ${c.location}`, async () => {
      publish(c.repo);
      const got = await ask(`${await channel(1)}/kubernetes`);
      assert.equal(got.status, 302, got.body);
      assert.equal(got.location, c.location);
    });
  }

  it("a malformed index -> 502 with one line saying so", async () => {
    publish({ "v1.35": { body: "<html><body>maintenance</body></html>\n" } });
    const got = await ask(`${await channel(1)}/kubernetes`);
    assert.equal(got.status, 502);
    assert.match(got.body, /^the 1\.35 index: .*is not a package index.*\n$/);
    assert.equal(got.body.trim().split("\n").length, 1);
  });

  it("an unreachable index -> 502 naming it", async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const got = await ask(`${await channel(1, `http://127.0.0.1:${port}/stable`)}/kubernetes`);
    assert.equal(got.status, 502);
    assert.match(got.body, new RegExp(`127\\.0\\.0\\.1:${port}.* is unreachable`));
  });

  it("an index answering 500 -> 502, not a guess", async () => {
    publish({ "v1.35": { status: 500 } });
    const got = await ask(`${await channel(1)}/kubernetes`);
    assert.equal(got.status, 502);
    assert.match(got.body, /HTTP 500/);
  });

  it("many requests at once: one index fetch per minor within the TTL", async () => {
    publish({ "v1.35": packages("1.35.2-1.1") });
    hits.clear();
    const url = await channel(60_000);
    const answers = await Promise.all(Array.from({ length: 20 }, () => ask(`${url}/kubernetes`)));
    for (const a of answers) assert.equal(a.location, "/kubernetes/v1.35.2");
    assert.deepEqual(Object.fromEntries(hits), { "/stable/v1.35/deb/Packages": 1, "/stable/v1.36/deb/Packages": 1 });
  });

  it("nodes at mixed minors: the oldest kubelet's minor decides, never older than the newest", async () => {
    await env.cp.addNode({ name: "w-old", role: "worker", kubeletVersion: "v1.34.5" });
    try {
      publish({ "v1.34": packages("1.34.5-1.1", "1.34.6-1.1"), "v1.35": packages("1.35.1-1.1", "1.35.3-1.1") });
      const got = await ask(`${await channel(1)}/kubernetes`);
      assert.equal(got.location, "/kubernetes/v1.35.3", got.body);
    } finally {
      await env.cp.removeNode("w-old");
    }
  });

  it("the schedule channel: 302 to this week's value, a valid label value", async () => {
    const got = await ask(`${await channel(1)}/schedule/weekly`);
    assert.equal(got.status, 302);
    assert.match(got.location ?? "", /^\/schedule\/weekly\/\d{4}-w\d{2}$/);
    assert.equal((await ask(`${await channel(1)}/schedule/hourly`)).status, 404);
  });
});

describe("channel-server answering the controller", () => {
  it("a Plan with channel: gets latestVersion from it; a release appearing in the index starts a rollout with no edit", async () => {
    publish({ "v1.35": packages("1.35.1-1.1") });
    const url = await channel(200);
    ctl = await runController(env, ns, { channelPollMs: 500 });
    const label = "test.plan-runner.dev/channel";
    await optIn(env, ["w-1"], label);
    const plan = aPlan(ns, "follow", { channel: `${url}/kubernetes`, concurrency: 1, nodeSelector: { matchLabels: { [label]: "yes" } } });
    delete plan.spec.version;
    await applyPlan(env, plan);
    const first = await waitForPlan(
      env,
      ns,
      "follow",
      "v1.35.1 rolled out",
      (p) => p.status?.latestVersion === "v1.35.1" && condition(p, "Complete")?.status === "True",
    );
    assert.equal(condition(first, "LatestResolved")?.reason, "Channel");

    publish({ "v1.35": packages("1.35.1-1.1", "1.35.2-1.1") });
    const second = await waitForPlan(
      env,
      ns,
      "follow",
      "v1.35.2 rolled out",
      (p) => p.status?.latestVersion === "v1.35.2" && p.status.latestHash !== first.status?.latestHash && condition(p, "Complete")?.status === "True",
    );
    const node = await getNode(env, "w-1");
    assert.equal(node.metadata.labels?.["plan.upgrade.cattle.io/follow"], second.status?.latestHash, "the node ran the new release");

    // The index failing: LatestResolved=False with the channel's reason, the last version kept.
    publish({ "v1.35": { status: 500 } });
    const failing = await waitForPlan(env, ns, "follow", "LatestResolved=False", (p) => condition(p, "LatestResolved")?.status === "False");
    assert.match(condition(failing, "LatestResolved")?.message ?? "", /HTTP 502.*1\.35 index: .*HTTP 500/);
    assert.equal(failing.status?.latestVersion, "v1.35.2");
  });
});
