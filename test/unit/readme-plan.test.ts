// The README's example Plan is one that ships: a reader who copies it gets exactly plans/k8s-workers.yaml.
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";

const repo = join(import.meta.dirname, "..", "..");

describe("README", () => {
  it("shows, under 'A Plan', a file of plans/ byte for byte", () => {
    const readme = readFileSync(join(repo, "README.md"), "utf8");
    const block = /^## A Plan\n[\s\S]*?^```yaml\n([\s\S]*?)^```$/m.exec(readme)?.[1];
    assert.ok(block !== undefined, "README.md has a yaml block under '## A Plan'");
    const named = /`(plans\/[^`]+\.yaml)`/.exec(readme.slice(readme.indexOf("## A Plan")))?.[1];
    assert.ok(named !== undefined, "the README names the file it shows");
    assert.ok(readdirSync(join(repo, "plans")).includes(named.slice("plans/".length)), `${named} ships`);
    assert.equal(block, readFileSync(join(repo, named), "utf8"), `the README's Plan differs from ${named}`);
  });
});
