// Migration from the seed pipeline (issue 11, part 5): the seed's addon-compat.json, read as it
// is, gives the same verdicts and tags as plan-runner's own format over the same cluster states,
// and those are the verdicts the seed's documented rules give (exit 0 safe, 2 actionable, 4 held).
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { compatGateCommand } from "../../src/cli/commands/compat-gate.ts";
import { run as matrixCommand } from "../../src/cli/commands/matrix.ts";
import { bufferIO } from "../../src/cli/io.ts";
import { type DeprecatedApiReader, type NodeFacts, type Tag, compatGate } from "../../src/executors/compat-gate.ts";
import { MatrixError, parseMatrix } from "../../src/executors/compat-matrix.ts";
import { parseTargetMinor, versionParts } from "../../src/executors/versions.ts";
import { FakeCluster, aNode, anApi, apisInUse, prometheusDown } from "../fixtures/executors/gate-builders.ts";

/** A matrix as a seed user has it (the seed gate's fields, Python regexes, kubectl kinds). */
const SEED = JSON.stringify({
  addons: [
    {
      name: "calico",
      namespace: "calico-system",
      kind: "deployment",
      resource: "calico-kube-controllers",
      image_re: "kube-controllers:v(?P<v>\\d+\\.\\d+)",
      max_k8s: { "3.28": "1.31", "3.29": "1.33", "3.30": "1.35" },
    },
    {
      name: "kyverno",
      namespace: "kyverno",
      kind: "deploy",
      resource: "kyverno-admission-controller",
      image_re: "kyverno:v(\\d+\\.\\d+)",
      max_k8s: { "1.13": "1.34", "1.14": "1.35" },
    },
    {
      name: "gpu-operator",
      namespace: "gpu-operator",
      kind: "DaemonSet",
      resource: "gpu-operator",
      image_re: "gpu-operator:v(\\d+\\.\\d+)",
      max_k8s: { "25.3": "1.34", "26.3": "1.36" },
      pinned: true,
      pin_reason: "driver/OS coupling",
    },
  ],
  containerd_min: { "1.35": "2.0" },
});

/** The same matrix in plan-runner's format. */
const OURS = JSON.stringify({
  addons: [
    {
      name: "calico",
      workload: { kind: "Deployment", namespace: "calico-system", name: "calico-kube-controllers" },
      imagePattern: "kube-controllers:v(?<v>\\d+\\.\\d+)",
      maxKubernetes: { "3.28": "1.31", "3.29": "1.33", "3.30": "1.35" },
    },
    {
      name: "kyverno",
      workload: { kind: "Deployment", namespace: "kyverno", name: "kyverno-admission-controller" },
      imagePattern: "kyverno:v(\\d+\\.\\d+)",
      maxKubernetes: { "1.13": "1.34", "1.14": "1.35" },
    },
    {
      name: "gpu-operator",
      workload: { kind: "DaemonSet", namespace: "gpu-operator", name: "gpu-operator" },
      imagePattern: "gpu-operator:v(\\d+\\.\\d+)",
      maxKubernetes: { "25.3": "1.34", "26.3": "1.36" },
      pinned: true,
      pinReason: "driver/OS coupling",
    },
  ],
  containerdMin: { "1.35": "2.0" },
});

interface State {
  name: string;
  target: string;
  nodes?: NodeFacts[];
  /** Running addon versions by workload; a missing one cannot be read. */
  addons: Record<string, string>;
  prometheus?: DeprecatedApiReader;
  exit: number;
  tags: Tag[];
}

const fine = { "calico-kube-controllers": "3.30", "kyverno-admission-controller": "1.14", "gpu-operator": "26.3" };
const images: Record<string, string> = {
  "calico-kube-controllers": "quay.io/calico/kube-controllers:v",
  "kyverno-admission-controller": "ghcr.io/kyverno/kyverno:v",
  "gpu-operator": "nvcr.io/nvidia/gpu-operator:v",
};
const at134 = [aNode("cp-1", "v1.34.2", "containerd://2.0.5"), aNode("w-1", "v1.34.2", "containerd://2.0.5")];

const states: State[] = [
  { name: "every addon supports the next minor", target: "v1.35.0", addons: fine, exit: 0, tags: [] },
  {
    name: "a patch target: ceilings ignored even below the running minor",
    target: "v1.34.5",
    addons: { ...fine, "calico-kube-controllers": "3.28" },
    exit: 0,
    tags: [],
  },
  { name: "a same-minor target (X.Y): ceilings ignored", target: "v1.34", addons: { ...fine, "kyverno-admission-controller": "1.13" }, exit: 0, tags: [] },
  {
    name: "a newer addon version supports it: actionable",
    target: "v1.35.0",
    addons: { ...fine, "calico-kube-controllers": "3.29" },
    exit: 2,
    tags: ["ACTIONABLE"],
  },
  {
    name: "no released version supports it: waiting (held)",
    target: "v1.36.0",
    addons: { ...fine, "gpu-operator": "26.3" },
    exit: 4,
    tags: ["WAITING", "WAITING"],
  },
  {
    name: "pinned below the target: pinned (held) although a newer version supports it",
    target: "v1.35.0",
    addons: { ...fine, "gpu-operator": "25.3" },
    exit: 4,
    tags: ["PINNED"],
  },
  {
    name: "held wins over actionable",
    target: "v1.35.0",
    addons: { ...fine, "calico-kube-controllers": "3.29", "gpu-operator": "25.3" },
    exit: 4,
    tags: ["ACTIONABLE", "PINNED"],
  },
  {
    name: "an addon's version cannot be read: fail safe, actionable",
    target: "v1.35.0",
    addons: { "kyverno-admission-controller": "1.14", "gpu-operator": "26.3" },
    exit: 2,
    tags: ["ACTIONABLE"],
  },
  {
    name: "an addon older than the matrix: actionable",
    target: "v1.35.0",
    addons: { ...fine, "kyverno-admission-controller": "1.12" },
    exit: 2,
    tags: ["ACTIONABLE"],
  },
  {
    name: "a removed API still requested: actionable",
    target: "v1.35.0",
    addons: fine,
    prometheus: apisInUse(anApi("flowcontrol.apiserver.k8s.io", "v1beta3", "flowschemas", "1.35")),
    exit: 2,
    tags: ["ACTIONABLE"],
  },
  { name: "Prometheus unreachable: fail safe, actionable", target: "v1.35.0", addons: fine, prometheus: prometheusDown(), exit: 2, tags: ["ACTIONABLE"] },
  {
    name: "containerd below the target's floor: actionable",
    target: "v1.35.0",
    nodes: [aNode("cp-1", "v1.34.2", "containerd://1.7.28")],
    addons: fine,
    exit: 2,
    tags: ["ACTIONABLE"],
  },
  {
    name: "the oldest kubelet is the running minor: a half-upgraded cluster is judged by its lowest node",
    target: "v1.35.1",
    nodes: [aNode("cp-1", "v1.35.0", "containerd://2.0.5"), aNode("w-1", "v1.34.2", "containerd://2.0.5")],
    addons: { ...fine, "calico-kube-controllers": "3.29" },
    exit: 2,
    tags: ["ACTIONABLE"],
  },
  {
    name: "no kubelet version readable: the addon checks run in full (fail safe)",
    target: "v1.34.5",
    nodes: [aNode("cp-1", "", "containerd://2.0.5")],
    addons: { ...fine, "calico-kube-controllers": "3.28" },
    exit: 2,
    tags: ["ACTIONABLE"],
  },
];

async function judge(matrixText: string, s: State): Promise<{ exit: number; tags: Tag[] }> {
  const matrix = await parseMatrix(matrixText, "test");
  const cluster = new FakeCluster().withNodes(...(s.nodes ?? at134));
  for (const [w, v] of Object.entries(s.addons)) cluster.running(w, `${images[w]}${v}.1`);
  const target = parseTargetMinor(s.target);
  assert.ok(target);
  const r = await compatGate({ cluster, deprecatedApis: s.prometheus ?? apisInUse() }, matrix, target, { version: versionParts(s.target) ?? target });
  return { exit: r.exitCode, tags: r.reasons.map((x) => x.tag) };
}

describe("the seed's addon-compat.json and plan-runner's format: same verdicts over the same cluster states", () => {
  for (const s of states) {
    test(s.name, async () => {
      const [seed, ours] = await Promise.all([judge(SEED, s), judge(OURS, s)]);
      assert.deepEqual(seed, { exit: s.exit, tags: s.tags }, "the seed-format matrix");
      assert.deepEqual(ours, seed, "plan-runner's format");
    });
  }
});

describe("reading the seed format", () => {
  test("detected by shape and converted field by field", async () => {
    const seed = await parseMatrix(SEED, "addon-compat.json");
    const { seedFormat, ...converted } = seed;
    assert.equal(seedFormat, true);
    assert.deepEqual(converted, JSON.parse(OURS));
    assert.equal((await parseMatrix(OURS, "ours.json")).seedFormat, undefined);
  });

  test("an unknown kind, or a field the seed never had, is named", async () => {
    const bad = (addon: Record<string, unknown>) =>
      JSON.stringify({
        addons: [{ name: "x", namespace: "n", kind: "deployment", resource: "r", image_re: "x:(\\d+\\.\\d+)", max_k8s: { "1.0": "1.30" }, ...addon }],
      });
    await assert.rejects(
      parseMatrix(bad({ kind: "cronjob" }), "a.json"),
      (e: unknown) => e instanceof MatrixError && /\/addons\/0\/kind: "cronjob"/.test(e.message),
    );
    await assert.rejects(
      parseMatrix(bad({ max_k8s: { latest: "1.30" } }), "a.json"),
      (e: unknown) => e instanceof MatrixError && /seed's addon-compat\.json format/.test(e.message),
    );
  });

  let dir = "";
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "seed-matrix-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test("plan-runner matrix convert prints plan-runner's format; the output reads back the same", async () => {
    await writeFile(join(dir, "addon-compat.json"), SEED);
    const io = bufferIO();
    assert.equal(await matrixCommand(["convert", join(dir, "addon-compat.json")], io), 0);
    const printed = JSON.parse(io.stdout()) as Record<string, unknown>;
    assert.equal(printed["$schema"], "https://plan-runner.dev/schemas/compat-matrix.schema.json");
    const { $schema: _s, ...rest } = printed;
    assert.deepEqual(rest, JSON.parse(OURS));
    await writeFile(join(dir, "converted.json"), io.stdout());
    const again = bufferIO();
    assert.equal(await matrixCommand(["convert", join(dir, "converted.json")], again), 0);
    assert.match(again.stderr(), /already in plan-runner's format/);
    assert.equal(
      await (async () => {
        const b = bufferIO();
        return matrixCommand(["convert", join(dir, "missing.json")], b);
      })(),
      1,
    );
    assert.equal(await matrixCommand(["frobnicate"], bufferIO()), 2);
  });

  test("compat-gate --matrix reads the seed file as it is, says so, and names a node whose runtime is not containerd", async () => {
    await writeFile(join(dir, "seed.json"), SEED);
    const cluster = new FakeCluster().withNodes(aNode("cp-1", "v1.34.2", "containerd://2.0.5"), aNode("crio-1", "v1.34.2", "cri-o://1.34.1"));
    for (const [w, v] of Object.entries(fine)) cluster.running(w, `${images[w]}${v}.1`);
    const io = bufferIO();
    const code = await compatGateCommand({ cluster: () => Promise.resolve(cluster), prometheus: () => apisInUse() })(
      ["--target", "v1.35.0", "--matrix", join(dir, "seed.json"), "--prometheus", "http://prom.test"],
      io,
    );
    assert.equal(code, 0, io.stdout() + io.stderr());
    assert.match(io.stdout(), /seed pipeline's addon-compat\.json format/);
    assert.match(
      io.stdout(),
      /^compat-gate: node crio-1 runs cri-o:\/\/1\.34\.1, not containerd: the containerd floor 2\.0 for Kubernetes 1\.35 does not apply/m,
    );
    assert.doesNotMatch(io.stdout(), /node cp-1/);
  });
});
