// The corpus: every file in test/fixtures/invalid is one mistake, named by its header
// `# expect: <field path>` (and optionally `# message: <text the message must contain>`); it must be
// rejected with errors at exactly that path. Every file in test/fixtures/valid and plans/ must pass,
// with warnings only where `# expect-warning: <path>` lines say so (fixtures) — plans/ may warn.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { formatProblem, validatePlanText } from "../../src/plan/validate.ts";

const root = join(import.meta.dirname, "..", "..");
const yamlIn = (dir: string): string[] =>
  readdirSync(join(root, dir))
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(dir, f));

const headers = (text: string, name: string): string[] => [...text.matchAll(new RegExp(`^# ${name}: (.*)$`, "gm"))].map((m) => m[1] ?? "");

describe("invalid Plans are rejected at the field their header names", () => {
  const files = yamlIn("test/fixtures/invalid");
  it("the corpus holds at least 40 Plans", () => assert.ok(files.length >= 40, `only ${files.length}`));
  for (const file of files) {
    it(file.replace("test/fixtures/invalid/", ""), () => {
      const text = readFileSync(join(root, file), "utf8");
      const [expect] = headers(text, "expect");
      assert.ok(expect !== undefined, "the fixture needs a '# expect: <field path>' header");
      const { problems } = validatePlanText(text, file);
      const errors = problems.filter((p) => p.severity === "error");
      const shown = problems.map(formatProblem).join("\n");
      assert.deepEqual([...new Set(errors.map((p) => p.path))], [expect], `errors:\n${shown}`);
      for (const fragment of headers(text, "message")) {
        assert.ok(
          errors.some((p) => p.message.includes(fragment)),
          `no error message contains "${fragment}":\n${shown}`,
        );
      }
      // The position is the offending line, not the top of the file.
      assert.ok(
        errors.every((p) => p.line > 1),
        shown,
      );
    });
  }
});

describe("valid Plans pass", () => {
  for (const file of yamlIn("test/fixtures/valid")) {
    it(file.replace("test/fixtures/valid/", ""), () => {
      const text = readFileSync(join(root, file), "utf8");
      const { plans, problems } = validatePlanText(text, file);
      const shown = problems.map(formatProblem).join("\n");
      assert.ok(plans.length > 0, "at least one Plan");
      assert.ok(plans.every((p) => p.valid));
      assert.deepEqual(
        problems.filter((p) => p.severity === "error"),
        [],
        shown,
      );
      assert.deepEqual(problems.map((p) => p.path).sort(), headers(text, "expect-warning").sort(), shown);
    });
  }
  for (const file of [...yamlIn("plans"), ...yamlIn("examples/suc")]) {
    it(`shipped ${file}`, () => {
      const { plans, problems } = validatePlanText(readFileSync(join(root, file), "utf8"), file);
      assert.ok(plans.length > 0, "at least one Plan");
      assert.deepEqual(problems.filter((p) => p.severity === "error").map(formatProblem), []);
    });
  }
});
