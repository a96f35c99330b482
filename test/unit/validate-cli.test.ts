// `plan-runner validate` end to end through main(): exit codes, file:line:col output, junk inputs.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parse } from "yaml";
import { bufferIO } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";

const repo = join(import.meta.dirname, "..", "..");
let dir = "";

/** A valid Plan; each file gets its own name, since one name twice is itself an error. */
const plan = (name: string): string => `apiVersion: upgrade.cattle.io/v1
kind: Plan
metadata:
  name: ${name}
spec:
  version: v1.31.0
  nodeSelector: {}
  upgrade:
    image: example.com/upgrader
`;

/** Writes files (path -> text or bytes) under the test directory. */
function files(entries: Record<string, string | Uint8Array>): void {
  for (const [name, content] of Object.entries(entries)) {
    const path = join(dir, name);
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, content);
  }
}

async function validate(...args: string[]): Promise<{ code: number; out: string[]; err: string }> {
  const io = bufferIO({}, dir);
  const code = await main(["validate", ...args], io);
  return {
    code,
    out: io
      .stdout()
      .split("\n")
      .filter((l) => l !== ""),
    err: io.stderr(),
  };
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), "plan-runner-validate-"));
  files({
    "good.yaml": plan("good"),
    "warn.yaml": plan("warn").replace("  nodeSelector: {}\n", ""),
    "drain.yaml": plan("drain").replace("  upgrade:", "  drain:\n    deleteLocalData: true\n    deleteEmptydirData: true\n  upgrade:"),
    "typo.yaml": plan("typo").replace("  version:", "  concurency: 2\n  version:"),
    "same-name.yaml": plan("good"),
    "binary.yaml": new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0xff, 0xfe]),
    "empty.yaml": "",
    "broken.yaml": "apiVersion: upgrade.cattle.io/v1\nkind: Plan\nmetadata: {name: [x\n",
    "tabs.yaml": "apiVersion: upgrade.cattle.io/v1\nkind: Plan\nspec:\n\tversion: v1\n",
    "scalar.yaml": "just some words\n",
    "other-kind.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    "deep.yaml": `a: ${"[".repeat(20_000)}${"]".repeat(20_000)}\n`,
    "duplicate-key.yaml": "apiVersion: upgrade.cattle.io/v1\nkind: Plan\nkind: Plan\n",
    "tree/a.yaml": plan("tree-a"),
    "tree/deeper/b.yml": plan("tree-b"),
    "tree/notes.txt": "not yaml",
    "tree/.hidden/c.yaml": "garbage: [",
    "tree/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [a.yaml]\n",
    "empty-dir/readme.md": "nothing here",
    "cycle/a.yaml": plan("cyc-a").replace("  upgrade:", "  after: [cyc-b]\n  upgrade:"),
    "cycle/b.yaml": plan("cyc-b").replace("  upgrade:", "  after: [cyc-a]\n  upgrade:"),
  });
  // 10 MB of YAML-looking text: refused by size before it is read.
  writeFileSync(join(dir, "huge.yaml"), "key: value\n".repeat(1_000_000));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe("plan-runner validate: exit codes and output", () => {
  it("exits 0 and prints no problem for a valid Plan", async () => {
    const r = await validate("good.yaml");
    assert.equal(r.code, 0);
    assert.deepEqual(r.out, []);
    assert.match(r.err, /1 Plan in 1 file: 0 errors, 0 warnings/);
  });

  it("exits 0 with warnings only", async () => {
    const r = await validate("warn.yaml");
    assert.equal(r.code, 0);
    assert.deepEqual(r.out, [
      "warn.yaml:5:1: warning: spec.nodeSelector: missing: the Plan selects no node and does nothing (as in SUC); an empty selector {} selects every node",
    ]);
  });

  it("exits 1 and prints file:line:col: error: path: message", async () => {
    const r = await validate("drain.yaml");
    assert.equal(r.code, 1);
    const line = readFileSync(join(dir, "drain.yaml"), "utf8").split("\n").indexOf("  drain:") + 1;
    assert.deepEqual(r.out, [
      `drain.yaml:${line}:3: error: spec.drain: deleteLocalData and deleteEmptydirData cannot both be set (deleteLocalData is the old name of deleteEmptydirData)`,
    ]);
    assert.match(r.err, /1 error/);
  });

  it("points an unknown field at the key itself", async () => {
    const r = await validate("typo.yaml");
    assert.equal(r.code, 1);
    assert.deepEqual(r.out, ['typo.yaml:6:3: error: spec: unknown field "concurency"; did you mean "concurrency"?']);
  });

  it("finds an after cycle across the files of a directory, once, at the spec.after that closes it", async () => {
    const r = await validate("cycle");
    assert.equal(r.code, 1);
    assert.deepEqual(r.out, [`${join("cycle", "b.yaml")}:8:3: error: spec.after: cycle: cyc-a -> cyc-b -> cyc-a; none of these Plans would ever start`]);
  });

  it("--quiet prints errors only", async () => {
    const r = await validate("--quiet", "warn.yaml", "drain.yaml");
    assert.equal(r.code, 1);
    assert.equal(r.out.length, 1);
    assert.match(r.out[0] ?? "", /^drain\.yaml:\d+:3: error: spec\.drain:/);
  });

  it("reports files in the order given, each sorted by line", async () => {
    const r = await validate("typo.yaml", "drain.yaml", "warn.yaml");
    assert.deepEqual(
      r.out.map((l) => l.split(":")[0]),
      ["typo.yaml", "drain.yaml", "warn.yaml"],
    );
  });

  it("walks directories for *.yaml and *.yml, skipping hidden directories, kustomization.yaml and other files", async () => {
    const r = await validate("tree");
    assert.equal(r.code, 0, r.out.join("\n"));
    assert.deepEqual(r.out, [], "no warning about the kustomization");
    assert.match(r.err, /2 Plans in 2 files/);
  });

  it("finds two Plans with one name across files", async () => {
    const r = await validate("good.yaml", "same-name.yaml");
    assert.equal(r.code, 1);
    assert.deepEqual(r.out, ['same-name.yaml:4:9: error: metadata.name: Plan "good" is also defined at good.yaml:1; applying both keeps only the last']);
  });
});

describe("plan-runner validate: junk gets one clear message, never a stack trace", () => {
  const table: { file: string; code: number; message: RegExp }[] = [
    { file: "binary.yaml", code: 1, message: /^binary\.yaml:1:1: error: binary content \(a NUL byte at offset 7\): not a YAML file$/ },
    { file: "empty.yaml", code: 1, message: /^empty\.yaml:1:1: error: no YAML document in the file/ },
    { file: "broken.yaml", code: 1, message: /^broken\.yaml:3:1: error: metadata: YAML: the \[ opened on line 3 is never closed with \]$/ },
    { file: "tabs.yaml", code: 1, message: /^tabs\.yaml:4:1: error: spec: YAML: line 4 is indented with a tab; YAML indentation is spaces only$/ },
    {
      file: "scalar.yaml",
      code: 1,
      message: /^scalar\.yaml:1:1: error: not a Kubernetes object: expected a mapping with apiVersion and kind, got the string "just some words"$/,
    },
    { file: "other-kind.yaml", code: 0, message: /^other-kind\.yaml:2:7: warning: kind: not a Plan: kind ConfigMap \(v1\); skipped$/ },
    { file: "deep.yaml", code: 1, message: /^deep\.yaml:\d+:\d+: error: YAML: nested too deeply/ },
    { file: "duplicate-key.yaml", code: 1, message: /^duplicate-key\.yaml:3:1: error: YAML: key "kind" appears twice in one mapping$/ },
    { file: "huge.yaml", code: 1, message: /^huge\.yaml:1:1: error: file is 10\.5 MiB; Plan files are limited to 1 MiB/ },
  ];
  for (const c of table) {
    it(c.file, async () => {
      const r = await validate(c.file);
      assert.equal(r.code, c.code);
      assert.ok(r.out.length >= 1);
      assert.match(r.out[0] ?? "", c.message);
      assert.doesNotMatch(r.out.join("\n") + r.err, /\n\s+at /, "no stack trace");
    });
  }
});

describe("plan-runner validate: a YAML mistake names the line that was broken and the field around it", () => {
  const head = "apiVersion: upgrade.cattle.io/v1\nkind: Plan\nmetadata:\n  name: p\nspec:\n  version: v1.31.0\n";
  const table: { name: string; text: string; line: string }[] = [
    {
      name: "a field indented one space short",
      text: `${head}  upgrade:\n    image: x\n   command: [a]\n`,
      line: 'f.yaml:9:4: error: spec.upgrade: YAML: "command" on line 9 is indented 3 spaces and lines up neither with "image" on line 8 (4 spaces) nor with "upgrade" on line 7 (2 spaces); the fields of one mapping must start in the same column',
    },
    {
      name: "a field indented under a field that has a value",
      text: `${head}  upgrade:\n    image: x\n      command: [a]\n`,
      line: 'f.yaml:9:7: error: spec.upgrade: YAML: "command" on line 9 is indented deeper (6 spaces) than "image" on line 8 (4 spaces), which already has the value "x"; line it up with "image"',
    },
    {
      name: "a list item out of line",
      text: `${head}  secrets:\n  - name: a\n    path: b\n   - name: c\n    path: d\n  upgrade: {image: x}\n`,
      line: "f.yaml:10:4: error: spec.secrets: YAML: the list item on line 10 is indented 3 spaces, but the item on line 8 above it is indented 2 spaces; the items of one list must start in the same column",
    },
    {
      name: "a quote never closed",
      text: `${head}  channel: "https://example.com\n  upgrade: {image: x}\n`,
      line: 'f.yaml:7:3: error: spec.channel: YAML: the quote (") opened on line 7 is never closed',
    },
    {
      name: "a key without its colon",
      text: `${head}  upgrade\n    image: x\n`,
      line: `f.yaml:7:3: error: spec: YAML: line 7 ("upgrade") is neither "key: value" nor a list item "- ..."; a ':' is missing?`,
    },
    {
      name: "a value holding ': '",
      text: `${head}  upgrade:\n    image: x\n    args: [a]\n    command: sh -c: run\n`,
      line: 'f.yaml:10:5: error: spec.upgrade: YAML: the value of "command" on line 10 contains ": "; put the value in quotes',
    },
  ];
  for (const c of table) {
    it(c.name, async () => {
      files({ "f.yaml": c.text });
      const r = await validate("f.yaml");
      assert.equal(r.code, 1);
      assert.deepEqual(r.out, [c.line]);
      assert.doesNotMatch(r.out.join("\n"), /implicit|compact|flow|block/i, "none of the parser's vocabulary");
    });
  }
});

describe("plan-runner validate --format, for CI", () => {
  it("json: one object with every problem located and the counts; exit code as in text", async () => {
    const r = await validate("--format", "json", "typo.yaml", "warn.yaml");
    assert.equal(r.code, 1);
    assert.equal(r.out.length, 1, "one JSON document on stdout");
    assert.deepEqual(JSON.parse(r.out[0] ?? ""), {
      problems: [
        { file: "typo.yaml", line: 6, column: 3, severity: "error", path: "spec", message: 'unknown field "concurency"; did you mean "concurrency"?' },
        {
          file: "warn.yaml",
          line: 5,
          column: 1,
          severity: "warning",
          path: "spec.nodeSelector",
          message: "missing: the Plan selects no node and does nothing (as in SUC); an empty selector {} selects every node",
        },
      ],
      summary: { plans: 2, files: 2, errors: 1, warnings: 1 },
    });
  });

  it("json: a valid Plan is an empty list, exit 0", async () => {
    const r = await validate("--format=json", "good.yaml");
    assert.equal(r.code, 0);
    assert.deepEqual(JSON.parse(r.out[0] ?? ""), { problems: [], summary: { plans: 1, files: 1, errors: 0, warnings: 0 } });
  });

  it("github: one workflow command per problem, properties escaped", async () => {
    files({ "gh dir/a,b.yaml": plan("gh").replace("  version:", "  concurency: 2\n  version:") });
    const r = await validate("--format", "github", "gh dir/a,b.yaml", "warn.yaml");
    assert.equal(r.code, 1);
    assert.deepEqual(r.out, [
      '::error file=gh dir/a%2Cb.yaml,line=6,col=3,title=spec::unknown field "concurency"; did you mean "concurrency"?',
      "::warning file=warn.yaml,line=5,col=1,title=spec.nodeSelector::missing: the Plan selects no node and does nothing (as in SUC); an empty selector {} selects every node",
    ]);
  });

  it("an unknown format is a usage error", async () => {
    const r = await validate("--format", "xml", "good.yaml");
    assert.equal(r.code, 2);
    assert.match(r.err, /--format needs one of text, json, github, got "xml"/);
  });
});

describe("plan-runner validate as a pre-commit hook", () => {
  const hooks = parse(readFileSync(join(repo, ".pre-commit-hooks.yaml"), "utf8")) as Record<string, unknown>[];
  const hook = hooks.find((h) => h["id"] === "plan-runner-validate") ?? {};

  it("is defined: a node hook running plan-runner validate, all files in one run", () => {
    assert.equal(hook["language"], "node");
    assert.match(String(hook["entry"]), /^plan-runner validate\b/);
    assert.equal(hook["require_serial"], true, "cross-file rules (one name twice, after cycles) need every file at once");
    const files = new RegExp(String(hook["files"]));
    assert.ok(files.test("plans/k8s-workers.yaml") && !files.test("deploy/crd/plans.upgrade.cattle.io.yaml"));
  });

  it("passes on a plans/ directory holding a kustomization.yaml, a patch it lists and a ConfigMap, as pre-commit calls it", async () => {
    files({
      "repo/plans/a.yaml": plan("hook-a"),
      "repo/plans/b.yaml": plan("hook-b"),
      "repo/plans/kustomization.yaml": "resources: [a.yaml, b.yaml, settings.yaml]\npatches:\n- path: faster.yaml\npatchesStrategicMerge:\n- older.yaml\n",
      "repo/plans/faster.yaml": "apiVersion: upgrade.cattle.io/v1\nkind: Plan\nmetadata: {name: hook-a}\nspec: {concurrency: 3}\n",
      "repo/plans/older.yaml": "apiVersion: upgrade.cattle.io/v1\nkind: Plan\nmetadata: {name: hook-b}\nspec: {version: v1.30.0}\n",
      "repo/plans/settings.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n",
    });
    // pre-commit runs `entry` with the staged files that match, relative to the repository root.
    const staged = ["a.yaml", "b.yaml", "faster.yaml", "kustomization.yaml", "older.yaml", "settings.yaml"].map((f) => `repo/plans/${f}`);
    const entry = String(hook["entry"]).split(" ").slice(1);
    const r = await validate(...entry.slice(1), ...staged);
    assert.equal(r.code, 0, r.out.join("\n"));
    assert.deepEqual(r.out, [], "--quiet: nothing but errors");
    const loud = await validate(...staged);
    assert.equal(loud.code, 0);
    assert.deepEqual(loud.out, [
      "repo/plans/faster.yaml:1:1: warning: a kustomize patch (listed in repo/plans/kustomization.yaml), not a whole Plan; skipped",
      "repo/plans/older.yaml:1:1: warning: a kustomize patch (listed in repo/plans/kustomization.yaml), not a whole Plan; skipped",
      "repo/plans/settings.yaml:2:7: warning: kind: not a Plan: kind ConfigMap (v1); skipped",
    ]);
    assert.match(loud.err, /2 Plans in 3 files: 0 errors, 3 warnings/);
    const walked = await validate("repo/plans");
    assert.deepEqual(walked.out, loud.out, "a directory walk skips the same files");
  });

  it("still fails on a broken Plan among them", async () => {
    files({ "repo2/plans/kustomization.yaml": "resources: [bad.yaml]\n", "repo2/plans/bad.yaml": plan("bad").replace("v1.31.0", '""') });
    const r = await validate("--quiet", "repo2/plans/bad.yaml", "repo2/plans/kustomization.yaml");
    assert.equal(r.code, 1);
    assert.deepEqual(r.out, ["repo2/plans/bad.yaml:6:12: error: spec.version: is empty: there is no version to upgrade to"]);
  });
});

describe("plan-runner validate: usage errors exit 2", () => {
  const table: { name: string; args: string[]; message: RegExp }[] = [
    { name: "no argument", args: [], message: /no file or directory given/ },
    { name: "an unknown option", args: ["--strict", "good.yaml"], message: /unknown option --strict/ },
    { name: "a missing file", args: ["good.yaml", "nope.yaml"], message: /nope\.yaml: no such file or directory/ },
    { name: "a directory without YAML", args: ["empty-dir"], message: /empty-dir: no \*\.yaml or \*\.yml file/ },
  ];
  for (const c of table) {
    it(c.name, async () => {
      const r = await validate(...c.args);
      assert.equal(r.code, 2);
      assert.deepEqual(r.out, []);
      assert.match(r.err, c.message);
    });
  }

  it("--help prints the usage on stdout and exits 0", async () => {
    const r = await validate("--help");
    assert.equal(r.code, 0);
    assert.match(r.out.join("\n"), /usage: plan-runner validate/);
  });
});

describe("plan-runner validate on the repository", () => {
  it("accepts plans/", async () => {
    const io = bufferIO({}, repo);
    const code = await main(["validate", "plans"], io);
    assert.equal(code, 0, io.stdout());
  });

  it("rejects every file of the invalid corpus", async () => {
    const io = bufferIO({}, repo);
    const code = await main(["validate", "--quiet", "test/fixtures/invalid"], io);
    assert.equal(code, 1);
    // The fixtures share one Plan name; that cross-file error is not what each file is about.
    const own = io
      .stdout()
      .split("\n")
      .filter((l) => l !== "" && !l.includes("is also defined at"));
    const failing = new Set(own.map((l) => l.split(":")[0]));
    const corpus = readdirSync(join(repo, "test/fixtures/invalid")).filter((f) => f.endsWith(".yaml"));
    assert.ok(corpus.length >= 40);
    assert.deepEqual([...failing].sort(), corpus.map((f) => join("test/fixtures/invalid", f)).sort());
  });
});
