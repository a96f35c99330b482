import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeText, loadPlanDocuments, MAX_FILE_BYTES } from "../../src/plan/load.ts";
import { crossPlanProblems, didYouMean, validatePlan, validatePlanText } from "../../src/plan/validate.ts";
import { type PlanBuilder, aPlan as aValidPlan } from "../fixtures/builders.ts";

type Json = Record<string, unknown>;

/** A valid Plan to start from; each test changes what it is about. */
const aPlan = (): PlanBuilder =>
  aValidPlan("workers")
    .withConcurrency(undefined)
    .withVersion("v1.31.0")
    .withNodeSelector({ matchLabels: { upgrade: "true" } })
    .withUpgrade({ image: "example.com/upgrader" });

const errorsOf = (obj: unknown): string[] =>
  validatePlan(obj)
    .filter((p) => p.severity === "error")
    .map((p) => p.path);
const warningsOf = (obj: unknown): string[] =>
  validatePlan(obj)
    .filter((p) => p.severity === "warning")
    .map((p) => p.path);

describe("validatePlan", () => {
  it("finds nothing wrong with a plain valid Plan", () => {
    assert.deepEqual(validatePlan(aPlan().build()), []);
  });

  it("never throws, whatever the shape of its input", () => {
    const junk: unknown[] = [
      null,
      undefined,
      42,
      "Plan",
      [],
      {},
      { kind: "Plan", spec: "upgrade everything" },
      aPlan()
        .withSpec({ drain: [], window: "always", nodeSelector: { matchExpressions: "x" } })
        .build(),
      aPlan()
        .withSpec({ secrets: [null, 3, { name: 5 }], upgrade: { image: "x", volumes: [{}, "v"], envs: [[]] } })
        .build(),
      aPlan()
        .withSpec({ postCompleteLabels: { a: 1 }, after: [1, null], gates: { prometheus: 1, health: [] }, tolerations: [1] })
        .build(),
      aPlan()
        .withSpec({ window: { days: "sat", startTime: 1, cron: 5 }, order: { groups: [1, { matchLabels: [] }] } })
        .build(),
    ];
    for (const j of junk) {
      const problems = validatePlan(j);
      assert.ok(
        problems.some((p) => p.severity === "error"),
        `no error for ${JSON.stringify(j)}`,
      );
    }
  });

  const table: { name: string; plan: unknown; errors?: string[]; warnings?: string[] }[] = [
    {
      name: "missing nodeSelector selects no node: a warning (SUC semantics)",
      plan: aPlan().withoutSpec("nodeSelector").build(),
      warnings: ["spec.nodeSelector"],
    },
    { name: "an empty nodeSelector selects every node", plan: aPlan().withSpec({ nodeSelector: {} }).build() },
    {
      name: "version and channel: the channel is ignored",
      plan: aPlan().withSpec({ channel: "https://update.example.com/stable" }).build(),
      warnings: ["spec.channel"],
    },
    { name: "a channel alone is enough", plan: aPlan().withoutSpec("version").withSpec({ channel: "https://update.example.com/stable" }).build() },
    { name: "'+' in a version becomes '-'", plan: aPlan().withSpec({ version: "v1.30.2+k3s1" }).build() },
    {
      name: "a 64-character version is too long for a label",
      plan: aPlan()
        .withSpec({ version: `v${"1".repeat(63)}` })
        .build(),
      errors: ["spec.version"],
    },
    {
      name: "negative jobActiveDeadlineSecs means the default: a warning",
      plan: aPlan().withSpec({ jobActiveDeadlineSecs: -1 }).build(),
      warnings: ["spec.jobActiveDeadlineSecs"],
    },
    { name: "jobActiveDeadlineSecs 0 means no deadline", plan: aPlan().withSpec({ jobActiveDeadlineSecs: 0 }).build() },
    {
      name: "a drain timeout of 300 is 300ns: a warning",
      plan: aPlan()
        .withSpec({ drain: { timeout: 300 } })
        .build(),
      warnings: ["spec.drain.timeout"],
    },
    {
      name: "unblockPDB without a timeout never acts",
      plan: aPlan()
        .withSpec({ drain: { unblockPDB: true } })
        .build(),
      warnings: ["spec.drain.unblockPDB"],
    },
    {
      name: "cordon: false with drain has no effect",
      plan: aPlan()
        .withSpec({ cordon: false, drain: { force: true } })
        .build(),
      warnings: ["spec.cordon"],
    },
    {
      name: "deleteLocalData false and deleteEmptydirData false are still both set (SUC)",
      plan: aPlan()
        .withSpec({ drain: { deleteLocalData: false, deleteEmptydirData: false } })
        .build(),
      errors: ["spec.drain"],
    },
    {
      name: "relative secret paths go under /run/system-upgrade/secrets (SUC)",
      plan: aPlan()
        .withSpec({
          secrets: [
            { name: "a", path: "a" },
            { name: "b", path: "/run/system-upgrade/secrets/a" },
          ],
        })
        .build(),
      errors: ["spec.secrets[1].path"],
    },
    {
      name: "a secret cannot be mounted over the pod info",
      plan: aPlan()
        .withSpec({ secrets: [{ name: "a", path: "/run/system-upgrade/pod" }] })
        .build(),
      errors: ["spec.secrets[0].path"],
    },
    {
      name: "a volume cannot take a secret's volume name",
      plan: aPlan()
        .withSpec({ secrets: [{ name: "auth", path: "/auth" }], upgrade: { image: "x", volumes: [{ name: "secret-auth", source: "/a", destination: "/b" }] } })
        .build(),
      errors: ["spec.upgrade.volumes[0].name"],
    },
    {
      name: "a volume cannot mount over a secret",
      plan: aPlan()
        .withSpec({ secrets: [{ name: "auth", path: "/auth" }], upgrade: { image: "x", volumes: [{ name: "v", source: "/a", destination: "/auth" }] } })
        .build(),
      errors: ["spec.upgrade.volumes[0].destination"],
    },
    {
      name: "prepare and upgrade may share a volume with the same source",
      plan: aPlan()
        .withSpec({
          prepare: { image: "x", volumes: [{ name: "v", source: "/a", destination: "/a" }] },
          upgrade: { image: "x", volumes: [{ name: "v", source: "/a", destination: "/a" }] },
        })
        .build(),
    },
    {
      name: "prepare and upgrade cannot give one volume name two sources",
      plan: aPlan()
        .withSpec({
          prepare: { image: "x", volumes: [{ name: "v", source: "/a", destination: "/a" }] },
          upgrade: { image: "x", volumes: [{ name: "v", source: "/b", destination: "/a" }] },
        })
        .build(),
      errors: ["spec.prepare.volumes[0].source"],
    },
    {
      name: "a repeated env var: the last wins, a warning",
      plan: aPlan()
        .withSpec({
          upgrade: {
            image: "x",
            envs: [
              { name: "A", value: "1" },
              { name: "A", value: "2" },
            ],
          },
        })
        .build(),
      warnings: ["spec.upgrade.envs[1].name"],
    },
    {
      name: "SYSTEM_UPGRADE_ variables belong to the controller",
      plan: aPlan()
        .withSpec({ upgrade: { image: "x", envs: [{ name: "SYSTEM_UPGRADE_NODE_NAME", value: "x" }] } })
        .build(),
      warnings: ["spec.upgrade.envs[0].name"],
    },
    {
      name: "valueFrom needs exactly one source",
      plan: aPlan()
        .withSpec({ upgrade: { image: "x", envs: [{ name: "A", valueFrom: {} }] } })
        .build(),
      errors: ["spec.upgrade.envs[0].valueFrom"],
    },
    {
      name: "unknown $(VARS) in postCompleteLabels are not expanded",
      plan: aPlan()
        .withSpec({ postCompleteLabels: { v: "$(VERSION)" } })
        .build(),
      warnings: ["spec.postCompleteLabels.v"],
      errors: ["spec.postCompleteLabels.v"],
    },
    {
      name: "postCompleteLabels expand with the Plan's own version",
      plan: aPlan()
        .withSpec({ version: `v${"1".repeat(50)}`, postCompleteLabels: { v: "$(LATEST_VERSION)-done-and-dusted" } })
        .build(),
      errors: ["spec.postCompleteLabels.v"],
    },
    {
      name: "a postCompleteLabels value of one hash fits",
      plan: aPlan()
        .withSpec({ postCompleteLabels: { "example.com/hash": "$(LATEST_HASH)" } })
        .build(),
    },
    {
      name: "after naming a Plan twice",
      plan: aPlan()
        .withSpec({ after: ["a", "a"] })
        .build(),
      warnings: ["spec.after[1]"],
    },
    {
      name: "an empty toleration key needs Exists",
      plan: aPlan()
        .withSpec({ tolerations: [{ operator: "Equal", value: "x" }] })
        .build(),
      errors: ["spec.tolerations[0].operator"],
    },
    {
      name: "a toleration of everything",
      plan: aPlan()
        .withSpec({ tolerations: [{ operator: "Exists" }] })
        .build(),
    },
    {
      name: "health soak 0 is fine, timeout 0 is not",
      plan: aPlan()
        .withSpec({ gates: { health: { soak: "0s", timeout: "0s" } } })
        .build(),
      errors: ["spec.gates.health.timeout"],
    },
    {
      name: "a Local window time zone depends on the controller",
      plan: aPlan()
        .withSpec({ window: { days: ["sat"], startTime: "01:00", endTime: "02:00", timeZone: "Local" } })
        .build(),
      warnings: ["spec.window.timeZone"],
    },
    {
      name: "metadata annotations keys are qualified names",
      plan: { ...(aPlan().build() as unknown as Json), metadata: { name: "x", annotations: { "a b": "c" } } },
      errors: ['metadata.annotations["a b"]'],
    },
  ];
  for (const c of table) {
    it(c.name, () => {
      assert.deepEqual(errorsOf(c.plan), c.errors ?? []);
      assert.deepEqual(warningsOf(c.plan), c.warnings ?? []);
    });
  }

  it("points an unknown field at its key and suggests the known one", () => {
    const [p] = validatePlan(aPlan().withSpec({ concurency: 2 }).build());
    assert.deepEqual(p, { path: "spec", message: 'unknown field "concurency"; did you mean "concurrency"?', severity: "error", key: "concurency" });
  });

  it("names the missing field in the path", () => {
    assert.deepEqual(errorsOf(aPlan().withoutSpec("upgrade").build()), ["spec.upgrade"]);
  });
});

describe("didYouMean", () => {
  const known = ["concurrency", "nodeSelector", "deleteEmptydirData", "envs", "version"];
  const table: [string, string | undefined][] = [
    ["concurency", "concurrency"],
    ["nodeselector", "nodeSelector"],
    ["deleteEmptyDirData", "deleteEmptydirData"],
    ["env", "envs"],
    ["versoin", "version"],
    ["priority", undefined],
    ["x", undefined],
  ];
  for (const [word, guess] of table) it(`${word} -> ${String(guess)}`, () => assert.equal(didYouMean(word, known), guess));
});

describe("didYouMean never flips meaning", () => {
  const operators = ["In", "NotIn", "Exists", "DoesNotExist", "Equal"];
  const table: [string, string | undefined][] = [
    ["NotExists", "DoesNotExist"],
    ["NotExist", "DoesNotExist"],
    ["DoesntExist", "DoesNotExist"],
    ["DoesNotExists", "DoesNotExist"],
    ["Exist", "Exists"],
    ["notin", "NotIn"],
    ["in", "In"],
    ["Equals", "Equal"],
    ["NotEqual", undefined],
  ];
  for (const [word, guess] of table) it(`${word} -> ${String(guess)}`, () => assert.equal(didYouMean(word, operators), guess));

  it("a selector with operator NotExists is told DoesNotExist, not Exists", () => {
    const text = `apiVersion: upgrade.cattle.io/v1
kind: Plan
metadata: {name: p}
spec:
  version: v1.31.0
  nodeSelector:
    matchExpressions:
    - {key: example.com/skip, operator: NotExists}
  upgrade: {image: example.com/upgrader}
`;
    const messages = validatePlanText(text, "p.yaml").problems.map((p) => `${p.path}: ${p.message}`);
    assert.deepEqual(messages, [
      'spec.nodeSelector.matchExpressions[0].operator: must be one of "In", "NotIn", "Exists", "DoesNotExist", got the string "NotExists"; did you mean "DoesNotExist"?',
    ]);
  });
});

describe("loading YAML as kubectl does (YAML 1.1)", () => {
  const valueOf = (text: string): unknown => loadPlanDocuments(text, "t.yaml").documents[0]?.value;
  const table: [string, unknown][] = [
    ["mode: 0400", { mode: 256 }],
    ["mode: 0o400", { mode: "0o400" }],
    ["b: yes", { b: true }],
    ["b: off", { b: false }],
    ["b: y", { b: true }],
    ["t: 1:30", { t: "1:30" }],
    ["d: 2026-03-07", { d: "2026-03-07" }],
    ["v: 1.30", { v: 1.3 }],
    ["h: 0x1f", { h: 31 }],
    ["y: 1", { true: 1 }], // go-yaml v2 resolves the key y as a boolean too
    ["base: &b {x: 1}\nm:\n  <<: *b\n  z: 2", { base: { x: 1 }, m: { x: 1, z: 2 } }],
  ];
  for (const [text, value] of table) it(JSON.stringify(text), () => assert.deepEqual(valueOf(text), value));

  it("reports YAML syntax errors at their line, never throws", () => {
    const r = loadPlanDocuments("a: 1\nb: [1, 2\n", "t.yaml");
    assert.equal(r.documents.length, 0);
    assert.ok(r.problems.length > 0 && r.problems.every((p) => p.severity === "error" && p.message.startsWith("YAML: ")));
  });

  it("refuses duplicate keys, as go-yaml does", () => {
    const r = loadPlanDocuments("a: 1\nb: 2\na: 3\n", "t.yaml");
    assert.deepEqual(
      r.problems.map((p) => p.position.line),
      [3],
    );
  });

  it("refuses alias bombs without expanding them", () => {
    // Ten levels of ten aliases each: 10^10 strings if expanded.
    const names = "abcdefghij";
    const lines = [`a: &a [${Array(10).fill('"x"').join(", ")}]`];
    for (let i = 1; i < names.length; i++) {
      lines.push(
        `${names[i]}: &${names[i]} [${Array(10)
          .fill(`*${names[i - 1]}`)
          .join(", ")}]`,
      );
    }
    const r = loadPlanDocuments(lines.join("\n"), "bomb.yaml");
    assert.equal(r.documents.length, 0);
    assert.match(r.problems[0]?.message ?? "", /alias/i);
  });

  it("skips empty documents but refuses a file with none", () => {
    assert.deepEqual(loadPlanDocuments("---\na: 1\n---\n", "t.yaml").problems, []);
    for (const text of ["", "# only a comment\n", "---\n---\n"]) {
      const r = loadPlanDocuments(text, "t.yaml");
      assert.deepEqual(
        r.problems.map((p) => p.message),
        ["no YAML document in the file (kubectl would refuse it: no objects passed)"],
      );
    }
  });

  it("refuses text over the size cap before parsing it", () => {
    const r = loadPlanDocuments("a: b\n".repeat(MAX_FILE_BYTES / 4), "big.yaml");
    assert.equal(r.documents.length, 0);
    assert.match(r.problems[0]?.message ?? "", /limited to 1 MiB/);
  });

  it("locates field paths, including label keys with dots and quoted keys", () => {
    const text = [
      "spec:", //                                        1
      "  nodeSelector:", //                              2
      "    matchLabels:", //                             3
      '      node-role.kubernetes.io/worker: "true"', // 4
      "  secrets:", //                                   5
      "    - name: a", //                                6
      "      path: /a", //                               7
      "  drain:", //                                     8
    ].join("\n");
    const doc = loadPlanDocuments(text, "t.yaml").documents[0];
    assert.ok(doc !== undefined);
    assert.deepEqual(doc.position("spec.nodeSelector.matchLabels.node-role.kubernetes.io/worker"), { line: 4, col: 39 });
    assert.deepEqual(doc.position('spec.nodeSelector.matchLabels["node-role.kubernetes.io/worker"]'), { line: 4, col: 39 });
    assert.deepEqual(doc.position("spec.secrets[0].path"), { line: 7, col: 13 });
    assert.deepEqual(doc.position("spec.secrets[0]"), { line: 6, col: 7 });
    assert.deepEqual(doc.position("spec.drain"), { line: 8, col: 3 }, "a null value is located at its key");
    assert.deepEqual(doc.position("spec.drain.timeout"), { line: 8, col: 3 }, "a missing field falls back to its parent");
    assert.deepEqual(doc.position("spec.secrets[3].name"), { line: 5, col: 3 });
    assert.deepEqual(doc.position("spec", "drain"), { line: 8, col: 3 });
  });
});

describe("decodeText", () => {
  const table: [string, Uint8Array, string | RegExp][] = [
    ["UTF-8", new TextEncoder().encode("a: é"), "a: é"],
    ["UTF-8 with a byte order mark", new Uint8Array([0xef, 0xbb, 0xbf, 0x61]), "a"],
    ["UTF-16", new Uint8Array([0xff, 0xfe, 0x61, 0x00]), /UTF-16/],
    ["a NUL byte", new Uint8Array([0x61, 0x00, 0x62]), /binary content \(a NUL byte at offset 1\)/],
    ["invalid UTF-8", new Uint8Array([0x61, 0xc3, 0x28]), /not valid UTF-8/],
  ];
  for (const [name, bytes, expected] of table) {
    it(name, () => {
      const r = decodeText(bytes);
      if (typeof expected === "string") assert.equal(r, expected);
      else assert.match(typeof r === "string" ? r : r.reason, expected);
    });
  }
});

describe("documents that are not Plans", () => {
  const kinds = (text: string): { severity: string; path: string }[] =>
    validatePlanText(text, "t.yaml").problems.map(({ severity, path }) => ({ severity, path }));
  it("skips other kinds with a warning", () =>
    assert.deepEqual(kinds("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"), [{ severity: "warning", path: "kind" }]));
  it("refuses another kind of the upgrade.cattle.io group", () =>
    assert.deepEqual(kinds("apiVersion: upgrade.cattle.io/v1\nkind: Plans\n"), [{ severity: "error", path: "kind" }]));
  it("refuses a document without kind", () => assert.deepEqual(kinds("apiVersion: v1\nmetadata: {name: x}\n"), [{ severity: "error", path: "kind" }]));
  it("refuses a document that is not a mapping", () => assert.deepEqual(kinds("- a\n- b\n"), [{ severity: "error", path: "" }]));
});

describe("crossPlanProblems", () => {
  const planYaml = (name: string, after: string[] = [], namespace = "system-upgrade"): string =>
    `apiVersion: upgrade.cattle.io/v1\nkind: Plan\nmetadata: {name: ${name}, namespace: ${namespace}}\nspec:\n  version: v1\n  nodeSelector: {}\n  after: [${after.join(", ")}]\n  upgrade: {image: x}\n`;
  const cross = (...docs: string[]): string[] =>
    crossPlanProblems(validatePlanText(docs.join("---\n"), "all.yaml").plans).map((p) => `${p.path}: ${p.message}`);

  it("accepts a chain", () => assert.deepEqual(cross(planYaml("cp"), planYaml("workers", ["cp"]), planYaml("os", ["workers", "elsewhere"])), []));
  it("refuses one name twice in a namespace", () => {
    assert.deepEqual(cross(planYaml("a"), planYaml("a")), ['metadata.name: Plan "a" is also defined at all.yaml:1; applying both keeps only the last']);
  });
  it("allows one name in two namespaces", () => assert.deepEqual(cross(planYaml("a", [], "one"), planYaml("a", [], "two")), []));
  it("reports an after-cycle once, naming it", () => {
    assert.deepEqual(cross(planYaml("a", ["c"]), planYaml("b", ["a"]), planYaml("c", ["b"])), [
      "spec.after: cycle: a -> c -> b -> a; none of these Plans would ever start",
    ]);
  });
  it("does not link Plans of different namespaces", () => assert.deepEqual(cross(planYaml("a", ["b"], "one"), planYaml("b", ["a"], "two")), []));
});
