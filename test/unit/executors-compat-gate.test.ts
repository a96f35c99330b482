import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  addonVersionFromImages,
  addonsApply,
  checkAddon,
  checkContainerd,
  checkDowngrade,
  checkRemovedApis,
  compatGate,
  formatReason,
  runningMinor,
  verdict,
  type AddonVersion,
  type NodeFacts,
  type Reason,
  type Tag,
} from "../../src/executors/compat-gate.ts";
import { minorOf, type Minor } from "../../src/executors/versions.ts";
import { FakeCluster, aMatrix, aNode, anAddon, anApi, apisInUse, prometheusDown } from "../fixtures/executors/gate-builders.ts";

const m = (s: string): Minor => minorOf(s) as Minor;
const v = (version: string): AddonVersion => ({ version });
const tags = (reasons: readonly Reason[]): Tag[] => reasons.map((r) => r.tag);

// calico: 3.25 -> 1.28, 3.26 -> 1.29, 3.27 -> 1.30, 3.28 -> 1.31
const calico = anAddon("calico", { "3.25": "1.28", "3.26": "1.29", "3.27": "1.30", "3.28": "1.31" });

describe("checkAddon: one addon against a target", () => {
  const cases: { name: string; addon: typeof calico; target: string; running: AddonVersion; tag?: Tag; says?: RegExp }[] = [
    { name: "running version supports the target", addon: calico, target: "1.29", running: v("3.26.4") },
    { name: "target exactly at the ceiling passes", addon: calico, target: "1.31", running: v("3.28.0") },
    {
      name: "over the ceiling, a newer matrix version supports it: actionable with the smallest sufficient upgrade",
      addon: calico,
      target: "1.30",
      running: v("3.26.1"),
      tag: "ACTIONABLE",
      says: /calico 3\.26\.1 supports Kubernetes up to 1\.29; target 1\.30 is beyond it; upgrade calico to >= 3\.27$/,
    },
    {
      name: "over the ceiling, several newer versions support it: the smallest is named",
      addon: calico,
      target: "1.29",
      running: v("3.25.0"),
      tag: "ACTIONABLE",
      says: /upgrade calico to >= 3\.26$/,
    },
    {
      name: "over the ceiling, no released version supports it: waiting",
      addon: calico,
      target: "1.32",
      running: v("3.28.2"),
      tag: "WAITING",
      says: /no released calico supports Kubernetes 1\.32 yet/,
    },
    {
      name: "over every ceiling from an old version: waiting, not actionable (nothing newer reaches it)",
      addon: calico,
      target: "1.33",
      running: v("3.25.0"),
      tag: "WAITING",
    },
    {
      name: "pinned with a supporting version available: pinned, not actionable",
      addon: anAddon("gpu-operator", { "25.3": "1.33", "26.3": "1.36" }, { pinned: true, pinReason: "driver image needs a newer kernel" }),
      target: "1.36",
      running: v("25.3.1"),
      tag: "PINNED",
      says: /pinned \(driver image needs a newer kernel\), holding$/,
    },
    {
      name: "pinned without a reason says so",
      addon: anAddon("gpu-operator", { "25.3": "1.33" }, { pinned: true }),
      target: "1.34",
      running: v("25.3.1"),
      tag: "PINNED",
      says: /pinned \(deliberately held\)/,
    },
    {
      name: "pinned but within its ceiling passes",
      addon: anAddon("gpu-operator", { "25.3": "1.36" }, { pinned: true }),
      target: "1.35",
      running: v("25.3.0"),
    },
    {
      name: "below the lowest version in the matrix: actionable, support unknown",
      addon: calico,
      target: "1.28",
      running: v("3.24.9"),
      tag: "ACTIONABLE",
      says: /older than every version in the compat matrix/,
    },
    {
      name: "unreadable version: actionable fail-safe",
      addon: calico,
      target: "1.28",
      running: { unreadable: "Deployment kube-system/calico not found" },
      tag: "ACTIONABLE",
      says: /cannot read its running version \(Deployment kube-system\/calico not found\); refusing to upgrade blind/,
    },
    {
      name: "patch-level floors compare by patch",
      addon: anAddon("eso", { "0.12.0": "1.31", "0.12.5": "1.33" }),
      target: "1.33",
      running: v("0.12.3"),
      tag: "ACTIONABLE",
      says: /upgrade eso to >= 0\.12\.5/,
    },
    { name: "a v-prefixed running version is read", addon: calico, target: "1.30", running: v("v3.27.0") },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = checkAddon(c.addon, m(c.target), c.running);
      if (c.tag === undefined) return assert.equal(r, undefined);
      assert.equal(r?.tag, c.tag);
      if (c.says !== undefined) assert.match(r.message, c.says);
    });
  }
});

describe("addonVersionFromImages: the running version from the workload's images", () => {
  const cases: { name: string; images: string[]; expect: AddonVersion }[] = [
    {
      name: "the first image matching the pattern",
      images: ["docker.io/calico/cni:v3.27.0", "docker.io/calico/calico:v3.26.1"],
      expect: { version: "3.26.1" },
    },
    { name: "a sidecar that does not match is skipped", images: ["envoy:1.30", "quay.io/calico:v3.28.0"], expect: { version: "3.28.0" } },
    {
      name: "no matching image is unreadable",
      images: ["nginx:1.25"],
      expect: { unreadable: 'no image matches the pattern "/calico:v?(\\d+\\.\\d+(?:\\.\\d+)?)" (images: nginx:1.25)' },
    },
    { name: "no containers is unreadable", images: [], expect: { unreadable: "its workload has no containers" } },
  ];
  for (const c of cases) void test(c.name, () => assert.deepEqual(addonVersionFromImages(anAddon("calico", { "3.25": "1.28" }), c.images), c.expect));

  test("a capture that is not a version is unreadable (unparseable version)", () => {
    const addon = anAddon("calico", { "3.25": "1.28" }, { imagePattern: "/calico:(\\w+)" });
    const r = addonVersionFromImages(addon, ["quay.io/calico:latest"]);
    assert.deepEqual(r, { unreadable: '"latest" in image quay.io/calico:latest is not a version' });
    assert.equal(checkAddon(addon, m("1.28"), r)?.tag, "ACTIONABLE");
  });
});

describe("running minor and when addon ceilings apply", () => {
  test("the running minor is the oldest kubelet's", () => {
    assert.deepEqual(runningMinor([aNode("a", "v1.35.1"), aNode("b", "v1.34.7"), aNode("c", "v1.35.0")]), [1, 34]);
  });
  test("unparseable kubelet versions are ignored; none at all is unknown", () => {
    assert.deepEqual(runningMinor([aNode("a", "garbage"), aNode("b", "v1.33.2")]), [1, 33]);
    assert.equal(runningMinor([aNode("a", "")]), undefined);
    assert.equal(runningMinor([]), undefined);
  });
  const cases: { target: string; running: string | undefined; applies: boolean }[] = [
    { target: "1.34", running: "1.34", applies: false },
    { target: "1.33", running: "1.34", applies: false },
    { target: "1.35", running: "1.34", applies: true },
    { target: "2.0", running: "1.34", applies: true },
    { target: "1.35", running: undefined, applies: true },
  ];
  for (const c of cases) {
    test(`target ${c.target} on running ${c.running ?? "unknown"}: ceilings ${c.applies ? "apply" : "do not apply"}`, () => {
      assert.equal(addonsApply(m(c.target), c.running === undefined ? undefined : m(c.running)), c.applies);
    });
  }
});

describe("checkRemovedApis", () => {
  const psp = anApi("policy", "v1beta1", "podsecuritypolicies", "1.25");
  const flow = anApi("flowcontrol.apiserver.k8s.io", "v1beta3", "flowschemas", "1.32");
  const cases: { name: string; target: string; apis: ReturnType<typeof anApi>[]; expect: string[] }[] = [
    {
      name: "an API removed at the target blocks",
      target: "1.32",
      apis: [flow],
      expect: [
        "[ACTIONABLE] deprecated API flowcontrol.apiserver.k8s.io/v1beta3 flowschemas is still requested and is removed in Kubernetes 1.32 (target 1.32); migrate its clients first",
      ],
    },
    {
      name: "an API removed before the target blocks",
      target: "1.33",
      apis: [psp],
      expect: [
        "[ACTIONABLE] deprecated API policy/v1beta1 podsecuritypolicies is still requested and is removed in Kubernetes 1.25 (target 1.33); migrate its clients first",
      ],
    },
    { name: "an API removed after the target does not", target: "1.31", apis: [flow], expect: [] },
    {
      name: "the core group is named core",
      target: "1.30",
      apis: [anApi("", "v1", "componentstatuses", "1.30")],
      expect: [
        "[ACTIONABLE] deprecated API core/v1 componentstatuses is still requested and is removed in Kubernetes 1.30 (target 1.30); migrate its clients first",
      ],
    },
    { name: "a series without removed_release does not block", target: "1.40", apis: [anApi("x", "v1", "y", "")], expect: [] },
    {
      name: "the same API reported by several API servers is one reason",
      target: "1.32",
      apis: [flow, flow, flow],
      expect: [formatReason(checkRemovedApis(m("1.32"), [flow])[0] as Reason)],
    },
  ];
  for (const c of cases) void test(c.name, () => assert.deepEqual(checkRemovedApis(m(c.target), c.apis).map(formatReason), c.expect));

  test("Prometheus unreachable blocks, actionable (fail-safe)", () => {
    const r = checkRemovedApis(m("1.30"), { error: "connect ECONNREFUSED 127.0.0.1:9" });
    assert.deepEqual(r.map(formatReason), [
      "[ACTIONABLE] removed-API check could not query Prometheus (connect ECONNREFUSED 127.0.0.1:9); refusing to upgrade blind",
    ]);
  });
});

describe("checkContainerd: the floor per node", () => {
  const matrix = aMatrix([], { "1.37": "2.0" });
  const cases: { name: string; target: string; nodes: ReturnType<typeof aNode>[]; expect: string[] }[] = [
    {
      name: "a node below the floor blocks, named",
      target: "1.37",
      nodes: [aNode("n1", "v1.36.2", "containerd://1.7.28"), aNode("n2", "v1.36.2", "containerd://2.0.4")],
      expect: ["[ACTIONABLE] node n1 runs containerd 1.7.28, below the 2.0 Kubernetes 1.37 needs; upgrade containerd first"],
    },
    {
      name: "every node below the floor is named",
      target: "1.37",
      nodes: [aNode("n1", "v1.36.2", "containerd://1.7.1"), aNode("n2", "v1.36.2", "containerd://1.6.9")],
      expect: [
        "[ACTIONABLE] node n1 runs containerd 1.7.1, below the 2.0 Kubernetes 1.37 needs; upgrade containerd first",
        "[ACTIONABLE] node n2 runs containerd 1.6.9, below the 2.0 Kubernetes 1.37 needs; upgrade containerd first",
      ],
    },
    { name: "exactly at the floor passes", target: "1.37", nodes: [aNode("n1", "v1.36.2", "containerd://2.0.0")], expect: [] },
    { name: "no floor for the target minor: nothing to check", target: "1.36", nodes: [aNode("n1", "v1.35.2", "containerd://1.6.0")], expect: [] },
    {
      name: "an unparseable containerd version blocks (fail-safe)",
      target: "1.37",
      nodes: [aNode("n1", "v1.36.2", "containerd://unknown")],
      expect: ['[ACTIONABLE] node n1: cannot read its containerd version ("unknown"); refusing to upgrade blind'],
    },
    { name: "a node on another runtime is not judged by the containerd floor", target: "1.37", nodes: [aNode("n1", "v1.36.2", "cri-o://1.30.0")], expect: [] },
  ];
  for (const c of cases) void test(c.name, () => assert.deepEqual(checkContainerd(matrix, m(c.target), c.nodes).map(formatReason), c.expect));
});

describe("checkDowngrade: a target older than a node's kubelet is blocked (actionable)", () => {
  const cases: { name: string; target: number[]; nodes: NodeFacts[]; expect: string[] }[] = [
    { name: "same version: nothing", target: [1, 35, 1], nodes: [aNode("n1", "v1.35.1")], expect: [] },
    { name: "older nodes: nothing", target: [1, 35, 1], nodes: [aNode("n1", "v1.34.5")], expect: [] },
    {
      name: "a patch downgrade on one node names it",
      target: [1, 35, 1],
      nodes: [aNode("n1", "v1.35.1"), aNode("n2", "v1.35.2")],
      expect: ["[ACTIONABLE] node n2 runs v1.35.2, newer than the target 1.35.1: plan-runner never downgrades; correct the Plan's version or channel"],
    },
    { name: "a minor-only target compares minors", target: [1, 35], nodes: [aNode("n1", "v1.35.4")], expect: [] },
    {
      name: "a minor-only target below the node's minor",
      target: [1, 34],
      nodes: [aNode("n1", "v1.35.0+k3s1")],
      expect: ["[ACTIONABLE] node n1 runs v1.35.0+k3s1, newer than the target 1.34: plan-runner never downgrades; correct the Plan's version or channel"],
    },
  ];
  for (const c of cases) void test(c.name, () => assert.deepEqual(checkDowngrade(c.target, c.nodes).map(formatReason), c.expect));

  test("the whole gate blocks a downgrade of its own node with exit 2; a newer node elsewhere is not its business", async () => {
    const cluster = new FakeCluster().withNodes(aNode("cp", "v1.35.1"), aNode("w1", "v1.34.3"));
    const own = await compatGate({ cluster, deprecatedApis: apisInUse() }, aMatrix([]), m("1.34.5"), { version: [1, 34, 5], node: "cp" });
    assert.equal(own.exitCode, 2);
    assert.match(formatReason(own.reasons[0] as Reason), /node cp runs v1\.35\.1, newer than the target 1\.34\.5: plan-runner never downgrades/);
    const worker = await compatGate({ cluster, deprecatedApis: apisInUse() }, aMatrix([]), m("1.34.5"), { version: [1, 34, 5], node: "w1" });
    assert.equal(worker.exitCode, 0);
    const byHand = await compatGate({ cluster, deprecatedApis: apisInUse() }, aMatrix([]), m("1.34.5"), { version: [1, 34, 5] });
    assert.equal(byHand.exitCode, 0, "without a node there is no downgrade to judge");
  });
});

describe("verdict: exit codes", () => {
  const r = (tag: Tag): Reason => ({ tag, message: "x" });
  const cases: { name: string; reasons: Reason[]; exit: number }[] = [
    { name: "no reason: safe", reasons: [], exit: 0 },
    { name: "only actionable: blocked", reasons: [r("ACTIONABLE"), r("ACTIONABLE")], exit: 2 },
    { name: "waiting: held", reasons: [r("WAITING")], exit: 4 },
    { name: "pinned: held", reasons: [r("PINNED")], exit: 4 },
    { name: "held wins over actionable (pinned + actionable)", reasons: [r("ACTIONABLE"), r("PINNED")], exit: 4 },
    { name: "held wins over actionable (actionable + waiting)", reasons: [r("WAITING"), r("ACTIONABLE")], exit: 4 },
  ];
  for (const c of cases) void test(c.name, () => assert.equal(verdict(c.reasons), c.exit));
});

describe("compatGate: the whole gate over a cluster", () => {
  const eso = anAddon("eso", { "0.10": "1.31", "0.14": "1.34" });
  const matrix = aMatrix([calico, eso], { "1.32": "1.7.20" });
  const healthyCluster = () =>
    new FakeCluster()
      .withNodes(aNode("cp", "v1.31.4"), aNode("w1", "v1.31.4"))
      .running("calico", "quay.io/calico:v3.28.1")
      .running("eso", "ghcr.io/eso:v0.14.2");

  test("a patch target is never blocked by addon ceilings, even a ceiling below the running minor", async () => {
    const cluster = new FakeCluster().withNodes(aNode("cp", "v1.34.2")).running("calico", "quay.io/calico:v3.25.0").running("eso", "ghcr.io/eso:v0.10.1");
    const r = await compatGate({ cluster, deprecatedApis: apisInUse() }, matrix, m("1.34.5"));
    assert.deepEqual(r.reasons, []);
    assert.equal(r.exitCode, 0);
    assert.equal(r.addonsChecked, false);
  });

  test("the same addons block a minor target", async () => {
    const cluster = new FakeCluster().withNodes(aNode("cp", "v1.34.2")).running("calico", "quay.io/calico:v3.25.0").running("eso", "ghcr.io/eso:v0.10.1");
    const r = await compatGate({ cluster, deprecatedApis: apisInUse() }, matrix, m("1.35.0"));
    assert.deepEqual(tags(r.reasons), ["WAITING", "WAITING"]);
    assert.equal(r.exitCode, 4);
  });

  test("a half-upgraded cluster is judged by its oldest kubelet", async () => {
    const cluster = healthyCluster().withNodes(aNode("cp", "v1.32.0"), aNode("w1", "v1.31.4"));
    const r = await compatGate({ cluster, deprecatedApis: apisInUse() }, matrix, m("1.32"));
    assert.deepEqual(r.running, [1, 31]);
    assert.equal(r.addonsChecked, true);
    // judged by the newest node (1.32) the target would be a patch and pass unchecked
    assert.deepEqual(r.reasons.map(formatReason), [
      "[WAITING] addon calico 3.28.1 supports Kubernetes up to 1.31; target 1.32 is beyond it; no released calico supports Kubernetes 1.32 yet",
    ]);
    assert.equal(r.exitCode, 4);
  });

  test("safe cluster, minor target within every ceiling: exit 0", async () => {
    const r = await compatGate({ cluster: healthyCluster(), deprecatedApis: apisInUse() }, aMatrix([calico, eso]), m("1.31.9"));
    assert.equal(r.exitCode, 0);
  });

  test("an addon whose workload is missing blocks, actionable", async () => {
    const cluster = new FakeCluster().withNodes(aNode("cp", "v1.30.1")).running("calico", "quay.io/calico:v3.28.1");
    const r = await compatGate({ cluster, deprecatedApis: apisInUse() }, aMatrix([calico, eso]), m("1.31"));
    assert.deepEqual(r.reasons.map(formatReason), [
      "[ACTIONABLE] addon eso: cannot read its running version (Deployment kube-system/eso not found); refusing to upgrade blind",
    ]);
    assert.equal(r.exitCode, 2);
  });

  test("every class together: held wins, every reason listed in order addons, APIs, containerd", async () => {
    const gpu = anAddon("gpu", { "25.3": "1.31", "26.3": "1.36" }, { pinned: true });
    const cluster = healthyCluster()
      .running("gpu", "nvcr.io/gpu:v25.3.0")
      .withNodes(aNode("cp", "v1.31.4", "containerd://1.7.2"));
    const r = await compatGate(
      { cluster, deprecatedApis: apisInUse(anApi("flowcontrol.apiserver.k8s.io", "v1beta3", "flowschemas", "1.32")) },
      aMatrix([calico, gpu], { "1.32": "1.7.20" }),
      m("1.32.0"),
    );
    assert.deepEqual(tags(r.reasons), ["WAITING", "PINNED", "ACTIONABLE", "ACTIONABLE"]);
    assert.match(r.reasons[2]?.message ?? "", /flowschemas/);
    assert.match(r.reasons[3]?.message ?? "", /node cp runs containerd 1\.7\.2/);
    assert.equal(r.exitCode, 4);
  });

  test("Prometheus down blocks a cluster that is otherwise safe", async () => {
    const r = await compatGate({ cluster: healthyCluster(), deprecatedApis: prometheusDown() }, aMatrix([calico]), m("1.31"));
    assert.deepEqual(tags(r.reasons), ["ACTIONABLE"]);
    assert.equal(r.exitCode, 2);
  });

  test("the removed-API check switched off asks nothing of Prometheus", async () => {
    const r = await compatGate({ cluster: healthyCluster(), deprecatedApis: null }, aMatrix([calico]), m("1.31"));
    assert.equal(r.exitCode, 0);
  });

  test("nodes that cannot be listed are the gate's own error", async () => {
    const cluster = healthyCluster();
    cluster.nodesError = "HTTP 403 nodes is forbidden";
    await assert.rejects(compatGate({ cluster, deprecatedApis: apisInUse() }, matrix, m("1.32")), /403/);
  });
});

describe("runtimes other than containerd", () => {
  const matrix = aMatrix([], { "1.35": "2.0" });
  const nodes = [aNode("c", "v1.34.2", "containerd://2.0.5"), aNode("crio", "v1.34.2", "cri-o://1.34.1"), aNode("none", "v1.34.2", "")];
  test("a node on another runtime is named, not blocked; one reporting none blocks (fail safe)", async () => {
    const r = await compatGate({ cluster: new FakeCluster().withNodes(...nodes), deprecatedApis: null }, matrix, m("1.35"));
    assert.deepEqual(r.notes, [
      "node crio runs cri-o://1.34.1, not containerd: the containerd floor 2.0 for Kubernetes 1.35 does not apply to it; check its runtime supports 1.35 by hand",
    ]);
    assert.deepEqual(r.reasons.map(formatReason), ["[ACTIONABLE] node none reports no container runtime version; refusing to upgrade blind"]);
    assert.equal(r.exitCode, 2);
  });
  test("no floor for the target: nothing to say", async () => {
    const r = await compatGate({ cluster: new FakeCluster().withNodes(...nodes), deprecatedApis: null }, matrix, m("1.34"));
    assert.deepEqual([r.notes, r.reasons], [[], []]);
  });
});
