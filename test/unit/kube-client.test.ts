// The one Kubernetes client (controller and node-side commands alike): kubeconfig files merged
// as kubectl merges $KUBECONFIG, proxy-url and tls-server-name honoured, Retry-After respected
// on 429 (but an eviction's 429 is the PDB's answer, handed back), and a client-side rate limit.
// Against servers on loopback that answer as the API server would.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { type IncomingMessage, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { after, describe, it } from "node:test";
import { stringify } from "yaml";
import { KubeAdapter } from "../../src/controller/kube/adapter.ts";
import { loadCredentials } from "../../src/controller/kube/credentials.ts";
import { KubeError, resources } from "../../src/controller/kube/ports.ts";
import { TokenBucket, retryAfterMs } from "../../src/controller/kube/rate-limit.ts";

const dir = mkdtempSync(join(tmpdir(), "kube-client-"));
const file = (name: string, doc: unknown): string => {
  const path = join(dir, name);
  writeFileSync(path, stringify(doc));
  return path;
};

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const servers: Array<{ close: () => void }> = [];
async function serve(handler: Handler): Promise<string> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
after(() => servers.forEach((s) => s.close()));

const kubeconfig = (server: string, cluster: Record<string, unknown> = {}): string =>
  file(`kc-${Math.random().toString(16).slice(2)}`, {
    "current-context": "c",
    contexts: [{ name: "c", context: { cluster: "k", user: "u" } }],
    clusters: [{ name: "k", cluster: { server, ...cluster } }],
    users: [{ name: "u", user: { token: "t0k" } }],
  });

describe("one client: kubeconfig", () => {
  it("merges every file of $KUBECONFIG as kubectl does: the first to set a value wins, missing files are skipped", () => {
    const a = file("a", { "current-context": "ctx", contexts: [{ name: "ctx", context: { cluster: "k", user: "u" } }] });
    const b = file("b", {
      "current-context": "other",
      clusters: [{ name: "k", cluster: { server: "https://10.0.0.1:6443", "tls-server-name": "api.internal", "proxy-url": "http://proxy.local:3128" } }],
      users: [{ name: "u", user: { tokenFile: "token" } }],
    });
    writeFileSync(join(dir, "token"), "from-b\n");
    const c = loadCredentials(undefined, { KUBECONFIG: [a, join(dir, "missing"), b].join(delimiter) });
    assert.equal(c.server.href, "https://10.0.0.1:6443/");
    assert.equal(c.authorization(), "Bearer from-b", "the token file is read relative to the file that named it");
    assert.equal(c.tlsServerName, "api.internal");
    assert.equal(c.proxy?.href, "http://proxy.local:3128/");
  });

  it("a $KUBECONFIG with no readable file is an error that names it", () => {
    assert.throws(() => loadCredentials(undefined, { KUBECONFIG: join(dir, "nope") }), /cannot read kubeconfig .*nope/);
  });
});

describe("one client: requests", () => {
  it("goes through proxy-url, asking the proxy for the server's URL", async () => {
    const seen: string[] = [];
    const proxy = await serve((req, res) => {
      seen.push(`${req.method ?? ""} ${req.url ?? ""}`);
      res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ metadata: { name: "n1" } }));
    });
    const kube = new KubeAdapter({ kubeconfig: kubeconfig("http://api.invalid:6443", { "proxy-url": proxy }) });
    const node = await kube.get(resources.nodes, undefined, "n1");
    assert.equal(node.metadata.name, "n1");
    assert.deepEqual(seen, ["GET http://api.invalid:6443/api/v1/nodes/n1"]);
  });

  it("waits out a 429's Retry-After and sends again; an eviction's 429 comes back to the drain", async () => {
    let calls = 0;
    const api = await serve((req, res) => {
      calls++;
      if (req.url?.endsWith("/eviction") === true || calls === 1) {
        res
          .writeHead(429, { "Retry-After": "0", "Content-Type": "application/json" })
          .end(JSON.stringify({ kind: "Status", reason: "TooManyRequests", message: "slow down" }));
        return;
      }
      res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ metadata: { name: "n1" } }));
    });
    const kube = new KubeAdapter({ kubeconfig: kubeconfig(api) });
    assert.equal((await kube.get(resources.nodes, undefined, "n1")).metadata.name, "n1");
    assert.equal(calls, 2);
    await assert.rejects(kube.evict("ns", "p"), (e: unknown) => e instanceof KubeError && e.tooManyRequests);
    assert.equal(calls, 3, "an eviction refused by a PDB is not sent again by the client");
  });

  it("Retry-After is read as seconds or an HTTP date, and capped", () => {
    assert.equal(retryAfterMs("2", 0), 2000);
    assert.equal(retryAfterMs(new Date(5000).toUTCString(), 0), 5000);
    assert.equal(retryAfterMs("3600", 0), 30_000);
    assert.equal(retryAfterMs(undefined, 0), undefined);
  });

  it("the rate limit lets a burst through at once, then spaces requests at the QPS", async () => {
    let t = 0;
    const bucket = new TokenBucket({ qps: 1000, burst: 3 }, () => t);
    for (let i = 0; i < 3; i++) await bucket.take();
    let fourth = false;
    const waiting = bucket.take().then(() => (fourth = true));
    await Promise.resolve();
    assert.equal(fourth, false, "the fourth waits for a token");
    t += 5;
    await waiting;
    assert.equal(fourth, true);
  });
});
