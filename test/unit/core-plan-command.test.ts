import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { parseAllDocuments, stringify } from "yaml";
import { run } from "../../src/cli/commands/plan.ts";
import { blockers } from "../../src/cli/plan-blockers.ts";
import { bufferIO } from "../../src/cli/io.ts";
import { planHash } from "../../src/controller/rollout/hash.ts";
import { ControllerDefaults } from "../../src/controller/wiring/defaults.ts";
import type { PodManifest } from "../../src/controller/rollout/model.ts";
import { aPlan, aSecret } from "../fixtures/builders.ts";

const dir = mkdtempSync(join(tmpdir(), "plan-cmd-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const NODES = fileURLToPath(new URL("../fixtures/nodes/cluster-5.yaml", import.meta.url));
const BIG = fileURLToPath(new URL("../fixtures/nodes/cluster-123.yaml", import.meta.url));

function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === "string" ? content : stringify(content));
  return path;
}
async function plan(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = bufferIO({}, dir);
  const code = await run(argv, io);
  return { code, out: io.stdout(), err: io.stderr() };
}
const pods = (out: string): PodManifest[] =>
  parseAllDocuments(out)
    .map((d) => d.toJS() as unknown)
    .filter((v): v is PodManifest => typeof v === "object" && v !== null && (v as { kind?: string }).kind === "Pod");

const workers = aPlan("k8s-workers")
  .withConcurrency(2)
  .withServiceAccount("system-upgrade")
  .withPrepare({ image: "plan-runner/upgrade", args: ["compat-gate"] });

describe("plan-runner plan: the command line", () => {
  const cases: Array<[string, string[], number, RegExp]> = [
    ["no arguments", [], 2, /missing the Plan FILE/],
    ["both --nodes and --kubeconfig", ["x.yaml", "--nodes", NODES, "--kubeconfig", "kc"], 2, /either --nodes .* or --kubeconfig/],
    ["an unknown option", ["x.yaml", "--nodes", NODES, "--concurency", "2"], 2, /unknown option --concurency/],
    ["an option without its value", ["x.yaml", "--nodes"], 2, /--nodes needs a value/],
    ["a --now that is not a time", ["x.yaml", "--nodes", NODES, "--now", "tomorrow"], 2, /--now: "tomorrow" is not a time/],
    ["two files", ["a.yaml", "b.yaml", "--nodes", NODES], 2, /one Plan FILE expected/],
    ["a bad --pods", ["a.yaml", "--nodes", NODES, "--pods", "some"], 2, /--pods must be/],
  ];
  for (const [name, argv, code, message] of cases) {
    test(name, async () => {
      const r = await plan(argv);
      assert.equal(r.code, code);
      assert.match(r.err, message);
    });
  }
  test("--help prints the usage and succeeds", async () => {
    const r = await plan(["--help"]);
    assert.equal(r.code, 0);
    assert.match(r.out, /--nodes FILE/);
  });
});

describe("plan-runner plan: the dry run", () => {
  test("order, waves, skipped nodes and the pods, on a 5-node cluster", async () => {
    const r = await plan([file("workers.yaml", workers.build()), "--nodes", NODES]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /# Eligible nodes, in order \(4\):\n#\s+1\. cp-1\s+control-plane\n#\s+2\. worker-1\n#\s+3\. worker-2\s+NotReady\n#\s+4\. worker-4/);
    assert.match(r.out, /# Waves at concurrency 2: 2\n# {3}wave 1: cp-1, worker-1\n# {3}wave 2: worker-2, worker-4/);
    assert.match(r.out, /# Skipped nodes \(1\):\n# {3}opted out: plan\.upgrade\.cattle\.io\/k8s-workers=disabled \(1\): worker-3$/m);
    const ps = pods(r.out);
    assert.deepEqual(
      ps.map((p) => `${p.metadata.labels["plan-runner.dev/role"]}@${p.spec.nodeName}`),
      ["prepare@cp-1", "apply@cp-1", "prepare@worker-1", "apply@worker-1", "prepare@worker-2", "apply@worker-2", "prepare@worker-4", "apply@worker-4"],
    );
    assert.equal(new Set(ps.map((p) => p.metadata.name)).size, ps.length);
  });
  test("warns when the version is older than what eligible nodes run (a downgrade), and only then", async () => {
    const down = await plan([file("down.yaml", aPlan("k8s-workers").withVersion("v1.29.9").build()), "--nodes", NODES, "--pods", "none"]);
    assert.equal(down.code, 0, down.err);
    assert.match(down.out, /# {3}WARNING: 4 eligible node\(s\) run a newer Kubernetes than v1\.29\.9 \(cp-1 v1\.30\.4, worker-1 v1\.30\.4, .*\): a downgrade/);
    for (const v of ["v1.30.4", "v1.31.0"]) {
      const up = await plan([file(`up-${v}.yaml`, aPlan("k8s-workers").withVersion(v).build()), "--nodes", NODES, "--pods", "none"]);
      assert.doesNotMatch(up.out, /WARNING: .* newer Kubernetes/);
    }
  });
  test("the output is YAML: comments, then one Pod per document", async () => {
    const r = await plan([file("w2.yaml", workers.build()), "--nodes", NODES, "--pods", "first"]);
    const docs = parseAllDocuments(r.out);
    assert.ok(docs.every((d) => d.errors.length === 0));
    assert.equal(pods(r.out).length, 2);
  });
  test("--pods none prints only the summary", async () => {
    const r = await plan([file("w3.yaml", workers.build()), "--nodes", NODES, "--pods", "none"]);
    assert.equal(pods(r.out).length, 0);
  });
  test("the hash is SUC's, and provisional without the secrets", async () => {
    const p = workers.withSecrets({ name: "creds", path: "creds" }).build();
    const f = file("secret-plan.yaml", p);
    const without = await plan([f, "--nodes", NODES, "--pods", "none"]);
    assert.match(without.out, /PROVISIONAL: contents of secret\(s\) creds unknown/);
    const secretList = {
      apiVersion: "v1",
      kind: "List",
      items: [{ apiVersion: "v1", kind: "Secret", metadata: { name: "creds" }, type: "Opaque", data: { token: Buffer.from("s3cret").toString("base64") } }],
    };
    const withSecrets = await plan([f, "--nodes", NODES, "--pods", "none", "--secrets", file("secrets.yaml", secretList)]);
    const want = planHash(p, "v1.30.4", () => aSecret("creds", { token: "s3cret" }));
    assert.ok(want.ok);
    assert.match(withSecrets.out, new RegExp(`hash\\s+${want.hash}\\n`));
    assert.doesNotMatch(withSecrets.out, /PROVISIONAL/);
  });
  test("a node already at the hash is skipped as done", async () => {
    const p = aPlan("os-packages").withVersion("v1").build();
    const h = planHash(p, "v1", () => undefined);
    assert.ok(h.ok);
    const list = {
      apiVersion: "v1",
      kind: "List",
      items: [
        { apiVersion: "v1", kind: "Node", metadata: { name: "n1", labels: { "kubernetes.io/hostname": "n1", "plan.upgrade.cattle.io/os-packages": h.hash } } },
      ],
    };
    const r = await plan([file("os.yaml", p), "--nodes", file("n.yaml", list)]);
    assert.match(r.out, /^# {3}already upgraded: plan\.upgrade\.cattle\.io\/os-packages is this hash \(1\): n1$/m);
  });
  test("a Plan without nodeSelector says it selects nothing", async () => {
    const r = await plan([file("nosel.yaml", aPlan("x").withoutNodeSelector().build()), "--nodes", NODES]);
    assert.equal(r.code, 0);
    assert.match(r.out, /no spec.nodeSelector, so it selects no node/);
  });
  test("a channel Plan needs --version offline", async () => {
    const p = aPlan("ch")
      .with((s) => {
        delete s.version;
        s.channel = "https://update.example.com/v1-release/channels/stable";
      })
      .build();
    const f = file("channel.yaml", p);
    const r = await plan([f, "--nodes", NODES]);
    assert.equal(r.code, 2);
    assert.match(r.err, /pass --version/);
    const ok = await plan([f, "--nodes", NODES, "--version", "v1.31.0+k3s1", "--pods", "first"]);
    assert.equal(ok.code, 0);
    assert.match(ok.out, /version\s+v1.31.0-k3s1/);
  });
  test("an invalid Plan is reported with its place and fails", async () => {
    const r = await plan([
      file("bad.yaml", "apiVersion: upgrade.cattle.io/v1\nkind: Plan\nmetadata: {name: bad}\nspec:\n  concurency: 2\n  upgrade: {image: x}\n"),
      "--nodes",
      NODES,
    ]);
    assert.equal(r.code, 1);
    assert.match(r.err, /bad\.yaml:\d+:\d+: error: .*concurency/);
  });
  test("an unreadable node list fails with a message", async () => {
    const r = await plan([file("ok.yaml", workers.build()), "--nodes", join(dir, "missing.yaml")]);
    assert.equal(r.code, 1);
    assert.match(r.err, /cannot read/);
  });
  test("a node list of something else fails with a message", async () => {
    const r = await plan([
      file("ok2.yaml", workers.build()),
      "--nodes",
      file("pods.yaml", { apiVersion: "v1", kind: "List", items: [{ kind: "Pod", metadata: { name: "p" } }] }),
    ]);
    assert.equal(r.code, 1);
    assert.match(r.err, /expected Node objects/);
  });
  test("123 nodes: control planes first, FQDN names shortened in pod names", async () => {
    const r = await plan([file("big.yaml", aPlan("k8s-workers").withConcurrency(10).build()), "--nodes", BIG, "--pods", "first"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /1\. cp-1\.prod\.example\.net\s+control-plane\n#\s+2\. cp-2[^\n]*\n#\s+3\. cp-3\.prod\.example\.net\s+control-plane/);
    assert.match(r.out, /Waves at concurrency 10: 12/);
    assert.match(pods(r.out)[0]?.metadata.name ?? "", /^apply-k8s-workers-on-cp-1-with-/);
  });
});

describe("plan-runner plan: what it tells before a rollout", () => {
  const optIn = { matchExpressions: [{ key: "plan-runner.io/kubeadm-upgrade", operator: "In" as const, values: ["enabled"] }] };
  const node = (name: string, labels: Record<string, string>) => ({
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "kubernetes.io/hostname": name, ...labels } },
  });
  const nodeList = (...items: unknown[]) =>
    file(`nodes-${items.length}-${Math.random().toString(36).slice(2)}.yaml`, { apiVersion: "v1", kind: "List", items });

  test("skipped nodes are grouped by reason, naming the label that failed and what the selector needs", async () => {
    const nodes = nodeList(
      node("a", {}),
      node("b", {}),
      node("c", { "plan-runner.io/kubeadm-upgrade": "disabled" }),
      node("d", { "plan-runner.io/kubeadm-upgrade": "enabled" }),
    );
    const r = await plan([file("grouped.yaml", aPlan("k8s-workers").withNodeSelector(optIn).build()), "--nodes", nodes, "--pods", "none"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^# Skipped nodes \(3\):$/m);
    assert.match(
      r.out,
      /^# {3}not selected: has no label plan-runner\.io\/kubeadm-upgrade, spec\.nodeSelector needs plan-runner\.io\/kubeadm-upgrade In \(enabled\) \(2\): a, b$/m,
    );
    assert.match(
      r.out,
      /^# {3}not selected: has plan-runner\.io\/kubeadm-upgrade=disabled, spec\.nodeSelector needs plan-runner\.io\/kubeadm-upgrade In \(enabled\) \(1\): c$/m,
    );
  });

  test("the pods carry the controller's pod TTL and a new Plan's generation", async () => {
    const r = await plan([file("ttl.yaml", workers.build()), "--nodes", NODES, "--pods", "first"]);
    for (const p of pods(r.out)) {
      assert.equal(p.metadata.annotations["upgrade.cattle.io/ttl-seconds-after-finished"], String(ControllerDefaults.podTtlMs / 1000));
      assert.equal(p.metadata.annotations["plan-runner.dev/plan-generation"], "1");
    }
    const short = await plan([file("ttl2.yaml", workers.build()), "--nodes", NODES, "--pods", "first", "--pod-ttl", "10m"]);
    assert.equal(pods(short.out)[0]?.metadata.annotations["upgrade.cattle.io/ttl-seconds-after-finished"], "600");
  });

  test("a closed window is a warning with the next opening", async () => {
    const p = aPlan("k8s-workers")
      .with((s) => (s.window = { days: ["saturday"], startTime: "02:00", endTime: "04:00", timeZone: "UTC" }))
      .build();
    const f = file("window.yaml", p);
    const closed = await plan([f, "--nodes", NODES, "--pods", "none", "--now", "2026-12-02T10:15:30Z"]);
    assert.match(
      closed.out,
      /^# {3}WARNING: outside spec\.window at 2026-12-02T10:15:30\.000Z: no node starts until it opens \(next at 2026-12-05T02:00:00\.000Z\)$/m,
    );
    const open = await plan([f, "--nodes", NODES, "--pods", "none", "--now", "2026-12-05T03:00:00Z"]);
    assert.doesNotMatch(open.out, /spec\.window/);
  });

  test("a secret the Plan mounts that is not among --secrets is a warning; offline, spec.after is a note", async () => {
    const p = workers
      .withSecrets({ name: "creds", path: "creds" }, { name: "matrix", path: "m", ignoreUpdates: true })
      .with((s) => (s.after = ["k8s-control-plane"]))
      .build();
    const none = { apiVersion: "v1", kind: "List", items: [] };
    const r = await plan([file("missing-secret.yaml", p), "--nodes", NODES, "--pods", "none", "--secrets", file("no-secrets.yaml", none)]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^# {3}WARNING: secret creds \(spec\.secrets\) is not in namespace system-upgrade: the upgrade pods cannot start until it exists/m);
    assert.match(r.out, /^# {3}WARNING: secret matrix \(spec\.secrets\) is not in namespace system-upgrade: the pods run without it/m);
    assert.match(r.out, /^# {3}NOTE: starts only once Plan\(s\) k8s-control-plane are Complete \(spec\.after\); not checked offline$/m);
  });

  test("live, a Plan in spec.after that is Complete but Unverified is a warning quoting its postflight", () => {
    const wk = aPlan("k8s-workers")
      .with((s) => (s.after = ["k8s-control-plane"]))
      .build();
    const cp = aPlan("k8s-control-plane").build();
    const facts = (status: NonNullable<typeof cp.status>) => ({
      namespace: "system-upgrade",
      version: "v1.36.3",
      nodes: [],
      secrets: [],
      plans: [{ ...cp, status }],
      now: new Date("2026-12-07T00:00:00Z"),
    });
    const complete = { type: "Complete", status: "True" };
    const behind = { type: "Verified", status: "False", reason: "APIServerBehind", message: "the API server reports v1.35.4, not v1.36.3" };
    assert.deepEqual(blockers(wk, facts({ state: "Unverified", conditions: [complete, behind] })), [
      "WARNING: waits for Plan k8s-control-plane (spec.after), which is Complete but Unverified: the API server reports v1.35.4, not v1.36.3",
    ]);
    assert.deepEqual(blockers(wk, facts({ state: "Complete", conditions: [complete, { type: "Verified", status: "True" }] })), []);
  });

  test("a directory: every Plan of its *.yaml files, as kubectl apply -f DIR reads it", async () => {
    const sub = join(dir, "plans-dir");
    mkdirSync(join(sub, "nested"), { recursive: true });
    writeFileSync(join(sub, "a.yaml"), stringify(aPlan("alpha").build()));
    writeFileSync(join(sub, "b.yml"), stringify(aPlan("beta").build()));
    writeFileSync(join(sub, "Kustomization"), "resources: [a.yaml, b.yml]\n");
    writeFileSync(join(sub, "nested", "c.yaml"), stringify(aPlan("gamma").build()));
    const r = await plan([sub, "--nodes", NODES, "--pods", "none"]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(
      [...r.out.matchAll(/^# Plan (\S+)$/gm)].map((m) => m[1]),
      ["system-upgrade/alpha", "system-upgrade/beta"],
    );
  });

  test("without --nodes or --kubeconfig it reads $KUBECONFIG, every file of the list", async () => {
    const io = bufferIO({ KUBECONFIG: `${join(dir, "none-1")}:${join(dir, "none-2")}` }, dir);
    const code = await run([file("env.yaml", workers.build())], io);
    assert.equal(code, 1);
    assert.match(io.stderr(), /^plan-runner plan: cannot load \$KUBECONFIG: cannot read kubeconfig .*none-1:.*none-2: none of the files exists$/m);
  });
});
