import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { stringify } from "yaml";
import { loadCredentials } from "../../src/controller/kube/credentials.ts";

function kubeconfig(
  user: Record<string, unknown>,
  cluster: Record<string, unknown> = { server: "https://127.0.0.1:6443", "certificate-authority-data": Buffer.from("CA").toString("base64") },
): string {
  const dir = mkdtempSync(join(tmpdir(), "kc-"));
  const path = join(dir, "config");
  writeFileSync(join(dir, "token"), "from-file\n");
  writeFileSync(
    path,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      "current-context": "c",
      contexts: [{ name: "c", context: { cluster: "k", user: "u" } }],
      clusters: [{ name: "k", cluster }],
      users: [{ name: "u", user }],
    }),
  );
  return path;
}

describe("loadCredentials: kubeconfig as kubectl reads it", () => {
  it("a token becomes a Bearer header, and the CA is decoded", () => {
    const c = loadCredentials(kubeconfig({ token: "abc" }), {});
    assert.equal(c.authorization(), "Bearer abc");
    assert.equal(c.ca?.toString(), "CA");
    assert.equal(c.server.href, "https://127.0.0.1:6443/");
    assert.equal(c.plugin, undefined);
  });

  it("a tokenFile is read relative to the kubeconfig, trimmed", () => {
    assert.equal(loadCredentials(kubeconfig({ tokenFile: "token" }), {}).authorization(), "Bearer from-file");
  });

  it("client certificates are used as they are given", () => {
    const c = loadCredentials(
      kubeconfig({ "client-certificate-data": Buffer.from("CERT").toString("base64"), "client-key-data": Buffer.from("KEY").toString("base64") }),
      {},
    );
    assert.equal(c.cert?.toString(), "CERT");
    assert.equal(c.key?.toString(), "KEY");
    assert.equal(c.authorization(), undefined);
  });

  it("insecure-skip-tls-verify is honoured", () => {
    assert.equal(loadCredentials(kubeconfig({ token: "t" }, { server: "https://x:1", "insecure-skip-tls-verify": true }), {}).insecure, true);
  });

  it("an exec plugin is handed to client-node", () => {
    const path = kubeconfig({ exec: { command: "aws", apiVersion: "client.authentication.k8s.io/v1" } });
    assert.deepEqual(loadCredentials(path, {}).plugin, { kubeconfig: path });
  });

  it("a missing context or server is an error that names it", () => {
    const dir = mkdtempSync(join(tmpdir(), "kc-"));
    writeFileSync(join(dir, "config"), stringify({ "current-context": "nope", contexts: [] }));
    assert.throws(() => loadCredentials(join(dir, "config"), {}), /current-context nope not found/);
    assert.throws(() => loadCredentials(join(dir, "missing"), {}), /cannot read kubeconfig/);
  });
});
