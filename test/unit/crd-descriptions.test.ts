// `kubectl explain plan.spec...` shows each field's description from the generated CRD: every
// field must have one, and a field with a default must say it, since kubectl explain prints no
// default of its own.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";

type Schema = { description?: string; default?: unknown; properties?: Record<string, Schema>; items?: Schema; type?: string };
const crd = parse(readFileSync(join(import.meta.dirname, "../../deploy/crd/plans.upgrade.cattle.io.yaml"), "utf8")) as {
  spec: { versions: { schema: { openAPIV3Schema: Schema } }[] };
};
const root = crd.spec.versions[0]?.schema.openAPIV3Schema ?? {};

/** Every field of the schema with its path as kubectl explain spells it (plan.spec.drain.timeout). */
function fields(node: Schema, path: string): { path: string; schema: Schema }[] {
  const out: { path: string; schema: Schema }[] = [];
  for (const [k, v] of Object.entries(node.properties ?? {})) {
    const p = `${path}.${k}`;
    out.push({ path: p, schema: v });
    out.push(...fields(v, p));
    // kubectl explain goes through lists to their items' fields (plan.spec.tolerations.key).
    if (v.items !== undefined) out.push(...fields(v.items, p));
  }
  return out;
}
const all = fields(root, "plan");

describe("the CRD as kubectl explain shows it", () => {
  it("has a field list to check", () => {
    assert.ok(all.length > 150, `${all.length} fields`);
    assert.ok(all.some((f) => f.path === "plan.spec.drain.timeout"));
  });

  it("describes every field (no <no description>)", () => {
    // metadata may hold nothing but {type: object} in a CRD; the API server describes it (ObjectMeta).
    const missing = all.filter((f) => f.path !== "plan.metadata" && (f.schema.description ?? "").trim() === "").map((f) => f.path);
    assert.deepEqual(missing, []);
  });

  it("says every field's default in its description", () => {
    const unsaid = all
      .filter((f) => f.schema.default !== undefined)
      .filter(
        (f) => !(f.schema.description ?? "").includes(`Default: ${typeof f.schema.default === "string" ? f.schema.default : JSON.stringify(f.schema.default)}`),
      )
      .map((f) => `${f.path} (default ${JSON.stringify(f.schema.default)})`);
    assert.deepEqual(unsaid, []);
  });

  it("documents the defaults of gates and failurePolicy, which have no default value of their own", () => {
    const at = (p: string): string => all.find((f) => f.path === p)?.schema.description ?? "";
    assert.match(at("plan.spec.gates"), /Default: no gate/);
    assert.match(at("plan.spec.failurePolicy"), /Default: retries 2, backoff 30s \(doubling\), onExhausted halt/);
  });

  it("says drain.timeout is an int-or-string (kubectl explain can only print <Object> for it)", () => {
    const t = all.find((f) => f.path === "plan.spec.drain.timeout")?.schema as Schema & { "x-kubernetes-int-or-string"?: boolean; anyOf?: unknown };
    assert.equal(t["x-kubernetes-int-or-string"], true);
    assert.deepEqual(t.anyOf, [{ type: "integer" }, { type: "string" }]);
    assert.match(t.description ?? "", /^IntOrString: .*Go duration string such as "15m", or an integer number of nanoseconds/);
  });
});
