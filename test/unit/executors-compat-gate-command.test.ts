import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { bufferIO } from "../../src/cli/io.ts";
import { compatGateCommand, type GateSources } from "../../src/cli/commands/compat-gate.ts";
import { parseMatrix } from "../../src/executors/compat-matrix.ts";
import { FakeCluster, aNode, anApi, apisInUse, prometheusDown } from "../fixtures/executors/gate-builders.ts";

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "executors-gate-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const matrixJson = (addons: unknown[], extra: Record<string, unknown> = {}) => JSON.stringify({ addons, ...extra });
const calico = {
  name: "calico",
  workload: { kind: "DaemonSet", namespace: "calico-system", name: "calico-node" },
  imagePattern: "/node:v(\\d+\\.\\d+)",
  maxKubernetes: { "3.28": "1.31", "3.29": "1.32" },
};

async function matrixFile(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

function sources(cluster: FakeCluster, prometheus = apisInUse()): GateSources & { askedPrometheus: string[] } {
  const askedPrometheus: string[] = [];
  return {
    askedPrometheus,
    cluster: () => Promise.resolve(cluster),
    prometheus: (url) => {
      askedPrometheus.push(url);
      return prometheus;
    },
  };
}

const cluster = () => new FakeCluster().withNodes(aNode("cp", "v1.31.2")).running("calico-node", "quay.io/calico/node:v3.28.1");

async function gate(args: string[], src = sources(cluster()), env: Record<string, string> = {}) {
  const io = bufferIO(env);
  const code = await compatGateCommand(src)(args, io);
  return { code, out: io.stdout(), err: io.stderr() };
}

describe("compat-gate command: verdicts", () => {
  test("safe: exit 0 and an OK line", async () => {
    const m = await matrixFile("safe.json", matrixJson([calico]));
    const r = await gate(["--target", "v1.31.5", "--matrix", m, "--prometheus", "http://prom:9090"]);
    assert.equal(r.code, 0);
    assert.match(r.out, /^compat-gate OK: the cluster is safe to upgrade to v1\.31\.5$/m);
  });

  test("actionable: exit 2, one tagged reason per line", async () => {
    const m = await matrixFile("act.json", matrixJson([calico]));
    const r = await gate(
      ["--target", "v1.32.0", "--matrix", m, "--prometheus", "http://prom:9090"],
      sources(cluster(), apisInUse(anApi("", "v1", "componentstatuses", "1.32"))),
    );
    assert.equal(r.code, 2);
    const reasons = r.out.split("\n").filter((l) => l.startsWith("["));
    assert.deepEqual(reasons, [
      "[ACTIONABLE] addon calico 3.28 supports Kubernetes up to 1.31; target 1.32 is beyond it; upgrade calico to >= 3.29",
      "[ACTIONABLE] deprecated API core/v1 componentstatuses is still requested and is removed in Kubernetes 1.32 (target 1.32); migrate its clients first",
    ]);
  });

  test("held: exit 4 even with an actionable reason beside it", async () => {
    const m = await matrixFile("held.json", matrixJson([calico]));
    const r = await gate(["--target", "v1.33.0", "--matrix", m, "--prometheus", "http://prom:9090"], sources(cluster(), prometheusDown()));
    assert.equal(r.code, 4);
    assert.match(r.out, /^\[WAITING\] addon calico/m);
    assert.match(r.out, /^\[ACTIONABLE\] removed-API check could not query Prometheus/m);
  });

  test("Prometheus URL from the environment; none at all blocks, actionable", async () => {
    const m = await matrixFile("env.json", matrixJson([calico]));
    const src = sources(cluster());
    assert.equal((await gate(["--target", "1.31", "--matrix", m], src, { PLAN_RUNNER_PROMETHEUS_URL: "http://from-env:9090" })).code, 0);
    assert.deepEqual(src.askedPrometheus, ["http://from-env:9090"]);
    const none = await gate(["--target", "1.31", "--matrix", m]);
    assert.equal(none.code, 2);
    assert.match(none.out, /no Prometheus URL given/);
  });

  test("--skip-removed-apis says so and passes", async () => {
    const m = await matrixFile("skip.json", matrixJson([calico]));
    const r = await gate(["--target", "1.31", "--matrix", m, "--skip-removed-apis"]);
    assert.equal(r.code, 0);
    assert.match(r.out, /removed-API check skipped/);
  });

  test("the matrix path can come from the environment", async () => {
    const m = await matrixFile("envmatrix.yaml", "addons: []\n");
    const r = await gate(["--target", "1.31", "--skip-removed-apis"], sources(cluster()), { PLAN_RUNNER_COMPAT_MATRIX: m });
    assert.equal(r.code, 0);
  });
});

describe("compat-gate command: bad input is exit 3 with a message naming it, never a stack trace", () => {
  const cases: { name: string; args: () => Promise<string[]>; says: RegExp }[] = [
    { name: "no target", args: () => Promise.resolve([]), says: /--target is required/ },
    { name: "malformed target", args: () => Promise.resolve(["--target", "1.35.x"]), says: /bad target version "1\.35\.x"/ },
    { name: "unknown option", args: () => Promise.resolve(["--target", "1.35", "--frobnicate"]), says: /Unknown option '--frobnicate'/ },
    {
      name: "missing matrix",
      args: () => Promise.resolve(["--target", "1.35", "--matrix", join(dir, "nope.json")]),
      says: /matrix .*nope\.json does not exist/,
    },
    {
      name: "matrix that is not JSON or YAML",
      args: async () => ["--target", "1.35", "--matrix", await matrixFile("bad.json", '{"addons": [')],
      says: /is not valid JSON or YAML/,
    },
    {
      name: "matrix of a wrong type (a list)",
      args: async () => ["--target", "1.35", "--matrix", await matrixFile("list.json", "[1, 2]")],
      says: /the matrix must be object/,
    },
    {
      name: "matrix with addons of a wrong type",
      args: async () => ["--target", "1.35", "--matrix", await matrixFile("addons.json", '{"addons": {"calico": 1}}')],
      says: /\/addons must be array/,
    },
    {
      name: "matrix with an unknown workload kind",
      args: async () => [
        "--target",
        "1.35",
        "--matrix",
        await matrixFile("kind.json", matrixJson([{ ...calico, workload: { ...calico.workload, kind: "Pod" } }])),
      ],
      says: /\/addons\/0\/workload\/kind must be one of Deployment, DaemonSet, StatefulSet/,
    },
    {
      name: "matrix with a ceiling that is not a version",
      args: async () => ["--target", "1.35", "--matrix", await matrixFile("ceil.json", matrixJson([{ ...calico, maxKubernetes: { "3.28": "latest" } }]))],
      says: /\/addons\/0\/maxKubernetes\/3\.28 must match pattern/,
    },
    {
      name: "matrix with a floor that is not a version",
      args: async () => ["--target", "1.35", "--matrix", await matrixFile("floor.json", matrixJson([{ ...calico, maxKubernetes: { newest: "1.31" } }]))],
      says: /key "newest" is not a version/,
    },
    {
      name: "matrix with a misspelt field",
      args: async () => ["--target", "1.35", "--matrix", await matrixFile("typo.json", matrixJson([calico], { containerdMinimum: {} }))],
      says: /unknown field "containerdMinimum"/,
    },
    {
      name: "image pattern without a capture group",
      args: async () => ["--target", "1.35", "--matrix", await matrixFile("nogroup.json", matrixJson([{ ...calico, imagePattern: "/node:v\\d+" }]))],
      says: /imagePattern of calico has no capture group/,
    },
    {
      name: "image pattern that is not a regular expression",
      args: async () => ["--target", "1.35", "--matrix", await matrixFile("badre.json", matrixJson([{ ...calico, imagePattern: "(unclosed" }]))],
      says: /imagePattern of calico is not a valid regular expression/,
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const r = await gate(await c.args());
      assert.equal(r.code, 3, r.err);
      assert.match(r.err, c.says);
      assert.doesNotMatch(r.err, /\n\s+at /);
    });
  }

  test("a cluster that cannot be read is the gate's own error: exit 3", async () => {
    const m = await matrixFile("ok.json", matrixJson([calico]));
    const broken = cluster();
    broken.nodesError = "cannot list nodes: HTTP 403 nodes is forbidden";
    const r = await gate(["--target", "1.32", "--matrix", m, "--skip-removed-apis"], sources(broken));
    assert.equal(r.code, 3);
    assert.match(r.err, /cannot judge the cluster: cannot list nodes: HTTP 403/);
  });

  test("--help prints the exit codes and succeeds", async () => {
    const r = await gate(["--help"]);
    assert.equal(r.code, 0);
    assert.match(r.out, /exit 0 safe · 2 blocked, actionable · 4 held/);
  });
});

test("the example matrix shipped with the image follows the schema", async () => {
  const { readFile } = await import("node:fs/promises");
  const path = new URL("../../images/upgrade/compat-matrix.example.json", import.meta.url);
  const matrix = await parseMatrix(await readFile(path, "utf8"), "compat-matrix.example.json");
  assert.ok(matrix.addons.some((a) => a.pinned === true));
});
