// Generates everything derived from schemas/plan.schema.json: the CRD, the TypeScript types
// and the compiled validator. `--check` regenerates in memory and fails on any difference,
// so CI catches a schema edit whose outputs were not regenerated.
import { readFile, writeFile, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv } from "ajv";
import standalone from "ajv/dist/standalone/index.js";
import { compile } from "json-schema-to-typescript";
import { stringify } from "yaml";

// A CommonJS module whose default export TypeScript sees one level down under NodeNext.
const standaloneCode = standalone.default;
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

const banner = "generated from schemas/plan.schema.json by `npm run gen`; do not edit";

async function loadJson(rel: string): Promise<JsonObject> {
  return JSON.parse(await readFile(join(root, rel), "utf8")) as JsonObject;
}

/** The ajv options shared by every generated validator. */
export function ajvFor(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: true, code: { source: true, esm: true }, useDefaults: false });
  ajv.addKeyword({
    keyword: "x-kubernetes-int-or-string",
    macro: () => ({ anyOf: [{ type: "integer" }, { type: "string" }] }),
  });
  // x-kubernetes-validations are the API server's (CEL); validate.ts says the same in TypeScript.
  for (const k of ["x-kubernetes-crd", "x-kubernetes-preserve-unknown-fields", "x-kubernetes-validations", "x-pattern-message", "x-crd-omit", "tsType"]) {
    ajv.addKeyword(k);
  }
  ajv.addFormat("int32", true);
  ajv.addFormat("int64", true);
  return ajv;
}

/** A CEL string literal. */
const celString = (s: string): string => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;

/**
 * A `pattern` with an `x-pattern-message` becomes a CEL rule, so the API server's refusal says in
 * words what is wrong ("postCompleteDelay must be a Go duration ...") instead of quoting the
 * regular expression. `field` is the property's name, put in front of the message.
 */
function patternRule(obj: JsonObject, field: string): JsonObject {
  const pattern = obj["pattern"];
  const message = obj["x-pattern-message"];
  if (typeof message !== "string") return obj;
  if (typeof pattern !== "string") throw new Error(`${field}: x-pattern-message without a pattern`);
  const { pattern: _p, "x-pattern-message": _m, ...rest } = obj;
  const rules = Array.isArray(rest["x-kubernetes-validations"]) ? rest["x-kubernetes-validations"] : [];
  return { ...rest, "x-kubernetes-validations": [{ rule: `self.matches(${celString(pattern)})`, message: `${field} ${message}` }, ...rules] };
}

/** Structural schema for the CRD: refs inlined, JSON-Schema-only keywords dropped. */
function toStructural(node: Json, defs: JsonObject, field = ""): Json {
  if (Array.isArray(node)) return node.map((n) => toStructural(n, defs));
  if (node === null || typeof node !== "object") return node;
  let obj: JsonObject = node;
  const ref = obj["$ref"];
  if (typeof ref === "string") {
    const target = defs[ref.replace("#/definitions/", "")];
    if (target === undefined) throw new Error(`unresolved ${ref}`);
    const { $ref: _drop, ...rest } = obj;
    obj = { ...(target as JsonObject), ...rest };
  }
  // The API server refuses anything else at metadata, and describes it itself (ObjectMeta).
  if (obj["x-crd-omit"] === true) return { type: "object" };
  obj = patternRule(obj, field);
  // The shape the API server (and kubectl explain, which then shows <IntOrString>) expects.
  if (obj["x-kubernetes-int-or-string"] === true) obj = { anyOf: [{ type: "integer" }, { type: "string" }], ...obj };
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(obj)) {
    if (["$schema", "$id", "title", "definitions", "x-kubernetes-crd", "x-crd-omit", "tsType", "const"].includes(k)) continue;
    if (k === "additionalProperties" && typeof v === "boolean") continue; // structural schemas prune instead
    if (k === "properties" || k === "definitions") {
      const props: JsonObject = {};
      for (const [pk, pv] of Object.entries(v as JsonObject)) props[pk] = toStructural(pv, defs, pk);
      out[k] = props;
      continue;
    }
    // A list's items are named after the list ("after must name a Plan").
    out[k] = toStructural(v, defs, k === "items" ? field : "");
  }
  return out;
}

function crd(schema: JsonObject): string {
  const meta = schema["x-kubernetes-crd"] as Record<string, string> & JsonObject;
  const defs = schema["definitions"] as JsonObject;
  const open = toStructural(schema, defs) as JsonObject;
  delete open["required"];
  open["required"] = ["spec"];
  const doc = {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${meta["plural"]}.${meta["group"]}` },
    spec: {
      group: meta["group"],
      names: { kind: meta["kind"], listKind: meta["listKind"], plural: meta["plural"], singular: meta["singular"] },
      scope: meta["scope"],
      versions: [
        {
          name: meta["version"],
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: meta["printerColumns"],
          schema: { openAPIV3Schema: open },
        },
      ],
    },
  };
  return `# ${banner}\n${stringify(doc, { lineWidth: 0 })}`;
}

/** A $ref with a sibling description would become a duplicate type (ContainerSpec1). */
function refsOnly(node: Json): Json {
  if (Array.isArray(node)) return node.map(refsOnly);
  if (node === null || typeof node !== "object") return node;
  if (typeof node["$ref"] === "string") return { $ref: node["$ref"] };
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, refsOnly(v)]));
}

async function types(schema: JsonObject): Promise<string> {
  const ts = await compile(refsOnly(schema) as never, "Plan", {
    bannerComment: `/* ${banner} */`,
    additionalProperties: false,
    unreachableDefinitions: true,
    strictIndexSignatures: true,
    format: true,
  });
  return ts;
}

function validator(schema: JsonObject): string {
  const ajv = ajvFor();
  const validate = ajv.compile(schema);
  // ajv's ESM output still require()s its small runtime helpers (ucs2length for minLength).
  const prelude = 'import { createRequire } from "node:module";\nconst require = createRequire(import.meta.url);\n';
  return `// ${banner}\n// @ts-nocheck\n${prelude}${standaloneCode(ajv, validate).replace(/^"use strict";/, "")}\n`;
}

const validatorTypes = `// ${banner}
import type { ErrorObject } from "ajv";
import type { Plan } from "./plan.ts";
declare const validate: ((data: unknown) => data is Plan) & { errors?: ErrorObject[] | null };
export default validate;
`;

async function main(): Promise<number> {
  const check = process.argv.includes("--check");
  const schema = await loadJson("schemas/plan.schema.json");
  const outputs: Array<[string, string]> = [
    ["deploy/crd/plans.upgrade.cattle.io.yaml", crd(schema)],
    ["src/generated/plan.ts", await types(schema)],
    ["src/generated/plan-validator.js", validator(schema)],
    ["src/generated/plan-validator.d.ts", validatorTypes],
  ];
  let stale = 0;
  for (const [rel, text] of outputs) {
    const path = join(root, rel);
    if (check) {
      const have = await readFile(path, "utf8").catch(() => "");
      if (have !== text) {
        console.error(`stale: ${rel} differs from what schemas/plan.schema.json generates; run npm run gen`);
        stale++;
      }
    } else {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, text);
      console.log(`wrote ${rel}`);
    }
  }
  return stale === 0 ? 0 : 1;
}

process.exitCode = await main();
