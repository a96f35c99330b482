// Everything wrong with a Plan, each problem named by its field path. Used in three places from the
// same rules: `plan-runner validate` (pre-commit, CI), `plan-runner plan`, and the controller
// (Validated=False with the path in the message). The schema (the generated ajv validator) checks
// shapes; the rest are the rules SUC enforces in its controller plus those whose absence lets a Plan
// fail late, on a node, or silently do nothing.
import type { ErrorObject } from "ajv";
import schemaJson from "../../schemas/plan.schema.json" with { type: "json" };
import type { Plan } from "../generated/plan.ts";
import validateSchema from "../generated/plan-validator.js";
import { parseDrainTimeout, parseGoDuration } from "./duration.ts";
import { dns1123LabelProblem, dns1123SubdomainProblem, imageTagProblem, labelValueProblem, qualifiedNameProblem } from "./k8s-names.ts";
import { type LoadedDocument, type LoadResult, loadPlanDocuments } from "./load.ts";
import { type Problem, error, warning } from "./problem.ts";
import { selectorProblems } from "./selector.ts";
import { parseWindow } from "./window.ts";

/** A Problem that may point at a key below its path: an unknown field is reported on its parent, located at the key. */
export interface PlanProblem extends Problem {
  readonly key?: string;
}

/** A problem with its place in a file, ready to print as `file:line:col: severity: path: message`. */
export interface LocatedProblem {
  readonly fileName: string;
  readonly line: number;
  readonly col: number;
  readonly severity: "error" | "warning";
  /** Field path inside the document; empty for problems of the file itself (YAML syntax, size). */
  readonly path: string;
  readonly message: string;
}

export const formatProblem = (p: LocatedProblem): string =>
  `${p.fileName}:${p.line}:${p.col}: ${p.severity}: ${p.path === "" ? "" : `${p.path}: `}${p.message}`;

/** SUC's latestHash is a hex SHA-224: label values built from it must fit this. */
const HASH_EXAMPLE = "0123456789abcdef".repeat(4).slice(0, 56);
const VERSION_EXAMPLE = "v1.30.2-k3s1";
const CONTROLLER_VOLUMES = new Set(["host-root", "pod-info"]);
const CONTROLLER_MOUNTS = ["/host", "/run/system-upgrade/pod"];
const SECRETS_DIR = "/run/system-upgrade/secrets";

type Obj = Readonly<Record<string, unknown>>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const strAt = (o: Obj, k: string): string | undefined => (typeof o[k] === "string" ? o[k] : undefined);
const numAt = (o: Obj, k: string): number | undefined => (typeof o[k] === "number" ? o[k] : undefined);
const objAt = (o: Obj, k: string): Obj | undefined => (isObj(o[k]) ? o[k] : undefined);
const listAt = (o: Obj, k: string): readonly unknown[] | undefined => (Array.isArray(o[k]) ? (o[k] as unknown[]) : undefined);

/** `a.b`, or `a["example.com/x"]` when the key is not a plain word, so the path stays unambiguous. */
export function childPath(path: string, key: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return path === "" ? key : `${path}.${key}`;
  return `${path}[${JSON.stringify(key)}]`;
}

/**
 * Every problem with `obj` as a Plan: schema violations first, then the semantic rules. Pure: no
 * cluster, no clock, no files. An empty list (or warnings only) means the controller can run it.
 */
export function validatePlan(obj: unknown): PlanProblem[] {
  const rules = isObj(obj) ? planRules(obj) : [];
  const ruled = new Set(rules.map((p) => p.path));
  // A schema pattern says only "must match ^(...)$": the rule at the same path says it in words.
  const fromSchema = schemaProblems(obj)
    .filter((s) => !(s.keyword === "pattern" && ruled.has(s.problem.path)))
    .map((s) => s.problem);
  const seen = new Set(fromSchema.map((p) => p.path));
  // Otherwise a rule at a path the schema already flagged would only repeat it in other words.
  const semantic = rules.filter((p) => !seen.has(p.path));
  const out: PlanProblem[] = [];
  const keys = new Set<string>();
  for (const p of [...fromSchema, ...semantic]) {
    const k = `${p.path}\u0000${p.message}`;
    if (!keys.has(k)) {
      keys.add(k);
      out.push(p);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Schema errors -> field paths and plain messages

interface SchemaNode {
  readonly $ref?: string;
  readonly properties?: Readonly<Record<string, SchemaNode>>;
  readonly items?: SchemaNode;
  readonly additionalProperties?: boolean | SchemaNode;
  readonly definitions?: Readonly<Record<string, SchemaNode>>;
}
const rootSchema = schemaJson as unknown as SchemaNode;

function deref(node: SchemaNode | undefined): SchemaNode | undefined {
  const ref = node?.$ref;
  if (ref === undefined) return node;
  return rootSchema.definitions?.[ref.replace("#/definitions/", "")];
}

/** The field names the schema allows at a path of the instance, for "did you mean". */
function allowedKeys(segments: readonly string[]): string[] {
  let node = deref(rootSchema);
  for (const seg of segments) {
    if (node === undefined) return [];
    if (/^\d+$/.test(seg) && node.items !== undefined) node = deref(node.items);
    else if (node.properties?.[seg] !== undefined) node = deref(node.properties[seg]);
    else node = typeof node.additionalProperties === "object" ? deref(node.additionalProperties) : undefined;
  }
  return Object.keys(node?.properties ?? {});
}

function pointerSegments(pointer: string): string[] {
  if (pointer === "") return [];
  return pointer
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** Field path of a JSON pointer, with array indices as [i] (decided by the data, not by the text). */
function fieldPath(data: unknown, segments: readonly string[]): string {
  let path = "";
  let cur = data;
  for (const seg of segments) {
    if (Array.isArray(cur)) {
      path = `${path}[${seg}]`;
      cur = (cur as unknown[])[Number(seg)];
    } else {
      path = childPath(path, seg);
      cur = isObj(cur) ? cur[seg] : undefined;
    }
  }
  return path;
}

function valueAt(data: unknown, segments: readonly string[]): unknown {
  let cur = data;
  for (const seg of segments) {
    if (Array.isArray(cur)) cur = (cur as unknown[])[Number(seg)];
    else if (isObj(cur)) cur = cur[seg];
    else return undefined;
  }
  return cur;
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return "nothing (null)";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  if (typeof v === "string") return `the string ${JSON.stringify(v)}`;
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return `the ${typeof v} ${String(v)}`;
  return typeof v;
}

const TYPE_NAMES: Readonly<Record<string, string>> = {
  string: "a string",
  integer: "an integer",
  number: "a number",
  boolean: "a boolean (true or false)",
  object: "a mapping",
  array: "a list",
};

function typeMessage(expected: string, value: unknown): string {
  let msg = `expected ${TYPE_NAMES[expected] ?? expected}, got ${describe(value)}`;
  if (expected === "string" && (typeof value === "number" || typeof value === "boolean")) {
    // YAML 1.1 (kubectl's) reads 1.30 as the number 1.3 and yes/on/off as booleans.
    msg += "; quote it in YAML to keep it text";
  }
  return msg;
}

/** Damerau-free edit distance, small inputs only. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/** The words of a camelCase or PascalCase name, lower-cased, a plural "s" dropped: "DoesNotExist" -> does, not, exist. */
function words(name: string): string[] {
  return (name.match(/[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])/g) ?? [name]).map((w) => w.toLowerCase().replace(/(?<=[a-z]{3})s$/, ""));
}

const NEGATIONS = new Set(["not", "no", "non", "never", "without", "dont", "doesnt", "isnt"]);
const negated = (name: string): boolean => words(name).some((w) => NEGATIONS.has(w));

/**
 * The candidate the user most likely meant, or none. A guess never flips meaning: a word that says
 * "not" is only matched to a candidate that says it too (NotExists is DoesNotExist, never Exists).
 * Besides spelling, a candidate holding every other word of the input counts (NotExists ->
 * DoesNotExist, whose spelling is too far off).
 */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  const sameLetters = candidates.find((c) => c.toLowerCase() === lower);
  if (sameLetters !== undefined) return sameLetters;
  const polarity = negated(word);
  const same = candidates.filter((c) => negated(c) === polarity);
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of same) {
    const d = distance(lower, c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  if (best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3))) return best;
  const own = words(word).filter((w) => !NEGATIONS.has(w) && w !== "does" && w !== "is");
  if (own.length === 0) return undefined;
  const holding = same.filter((c) => {
    const theirs = new Set(words(c));
    return own.every((w) => theirs.has(w));
  });
  return holding.length === 1 ? holding[0] : undefined;
}

const BOUND_REASONS: Readonly<Record<string, string>> = {
  "spec.concurrency": "must be at least 1: with 0 no node is ever upgraded (SUC would silently do nothing)",
  "spec.drain.gracePeriod": "must be -1 (each pod's own) or more",
  "spec.drain.skipWaitForDeleteTimeout": "must not be negative",
};

interface SchemaProblem {
  readonly keyword: string;
  readonly problem: PlanProblem;
}

function schemaProblems(obj: unknown): SchemaProblem[] {
  if (validateSchema(obj)) return [];
  const errors: readonly ErrorObject[] = validateSchema.errors ?? [];
  // The int-or-string macro expands to anyOf: its own error says it in one sentence.
  return errors.filter((e) => e.keyword !== "anyOf" && !e.schemaPath.includes("/anyOf/")).map((e) => ({ keyword: e.keyword, problem: readable(e, obj) }));
}

/** An ajv error as a field path and a sentence. */
function readable(e: ErrorObject, obj: unknown): PlanProblem {
  const segs = pointerSegments(e.instancePath);
  const path = fieldPath(obj, segs);
  const value = valueAt(obj, segs);
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "additionalProperties": {
      const name = String(params["additionalProperty"]);
      const guess = didYouMean(name, allowedKeys(segs));
      return { ...error(path, `unknown field "${name}"${guess === undefined ? "" : `; did you mean "${guess}"?`}`), key: name };
    }
    case "required":
      return error(childPath(path, String(params["missingProperty"])), "required field is missing");
    case "type":
      return error(path, typeMessage(String(params["type"]), value));
    case "x-kubernetes-int-or-string":
      return error(path, `expected an integer or a string, got ${describe(value)}`);
    case "const":
      return error(path, `must be ${JSON.stringify(params["allowedValue"])}, got ${describe(value)}`);
    case "enum": {
      const allowed = (params["allowedValues"] as unknown[]).filter((v): v is string => typeof v === "string");
      const guess = typeof value === "string" ? didYouMean(value, allowed) : undefined;
      const list = allowed.map((v) => JSON.stringify(v)).join(", ");
      return error(path, `must be one of ${list}, got ${describe(value)}${guess === undefined ? "" : `; did you mean "${guess}"?`}`);
    }
    case "minimum":
    case "maximum":
      return error(path, BOUND_REASONS[path] ?? `must be ${e.keyword === "minimum" ? "at least" : "at most"} ${String(params["limit"])}, got ${String(value)}`);
    case "minLength":
      return error(path, "must not be empty");
    case "maxLength":
      return error(path, `must be at most ${String(params["limit"])} characters long`);
    case "minItems":
      return error(path, `must have at least ${String(params["limit"])} item(s)`);
    case "maxItems":
      return error(path, `must have at most ${String(params["limit"])} items`);
    default:
      return error(path, e.message ?? `fails the schema rule ${e.keyword}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Rules beyond the schema. Each reads its input defensively: a field of the wrong type was already
// reported by the schema and is skipped here.

function planRules(plan: Obj): Problem[] {
  const out: Problem[] = [];
  const meta = objAt(plan, "metadata");
  const planName = meta === undefined ? undefined : strAt(meta, "name");
  if (meta !== undefined) out.push(...metadataRules(meta));
  const spec = objAt(plan, "spec");
  if (spec !== undefined) out.push(...specRules(spec, planName));
  return out;
}

function metadataRules(meta: Obj): Problem[] {
  const out: Problem[] = [];
  const name = strAt(meta, "name");
  if (name !== undefined && name !== "") {
    // The name becomes the label key plan.upgrade.cattle.io/<name> on every node, whose name part is limited to 63.
    const p = dns1123LabelProblem(name);
    if (p !== undefined) out.push(error("metadata.name", `${p} (the name is part of the node label plan.upgrade.cattle.io/<name> and of pod names)`));
  }
  const ns = strAt(meta, "namespace");
  if (ns !== undefined) {
    const p = dns1123LabelProblem(ns);
    if (p !== undefined) out.push(error("metadata.namespace", p));
  }
  const labels = objAt(meta, "labels");
  for (const [k, v] of Object.entries(labels ?? {})) {
    const path = childPath("metadata.labels", k);
    const kp = qualifiedNameProblem(k);
    if (kp !== undefined) out.push(error(path, kp));
    const vp = typeof v === "string" ? labelValueProblem(v) : undefined;
    if (vp !== undefined) out.push(error(path, vp));
  }
  for (const k of Object.keys(objAt(meta, "annotations") ?? {})) {
    const kp = qualifiedNameProblem(k);
    if (kp !== undefined) out.push(error(childPath("metadata.annotations", k), kp));
  }
  return out;
}

function specRules(spec: Obj, planName: string | undefined): Problem[] {
  const out: Problem[] = [];

  // Selection: SUC turns a missing nodeSelector into "no node" and reports the Plan complete.
  if (spec["nodeSelector"] === undefined) {
    out.push(warning("spec.nodeSelector", "missing: the Plan selects no node and does nothing (as in SUC); an empty selector {} selects every node"));
  }
  out.push(...selectorRules(spec["nodeSelector"], "spec.nodeSelector"));

  out.push(...versionRules(spec));

  const deadline = numAt(spec, "jobActiveDeadlineSecs");
  if (deadline !== undefined && deadline < 0) {
    out.push(warning("spec.jobActiveDeadlineSecs", `${deadline} means "the controller's default deadline"; leave the field out to say so`));
  }

  out.push(...objectNameRules(spec));

  const secretMounts = new Map<string, string>();
  out.push(...secretRules(spec, secretMounts));
  out.push(...tolerationRules(spec));

  const window = objAt(spec, "window");
  if (window !== undefined) out.push(...parseWindow(window, "spec.window").problems);

  const secretNames = new Set((listAt(spec, "secrets") ?? []).flatMap((s) => (isObj(s) && typeof s["name"] === "string" ? [s["name"]] : [])));
  const upgrade = objAt(spec, "upgrade");
  const prepare = objAt(spec, "prepare");
  if (prepare !== undefined) out.push(...containerRules(prepare, "spec.prepare", secretNames, secretMounts));
  if (upgrade !== undefined) out.push(...containerRules(upgrade, "spec.upgrade", secretNames, secretMounts));
  if (prepare !== undefined && upgrade !== undefined) out.push(...sharedVolumeRules(prepare, upgrade));

  out.push(...drainRules(spec));

  const delay = strAt(spec, "postCompleteDelay");
  if (delay !== undefined) out.push(...durationRules(delay, "spec.postCompleteDelay", "non-negative"));

  out.push(...postCompleteLabelRules(spec, planName));

  const order = objAt(spec, "order");
  listAt(order ?? {}, "groups")?.forEach((g, i) => out.push(...selectorRules(g, `spec.order.groups[${i}]`)));

  out.push(...afterRules(spec, planName));
  out.push(...gateRules(spec));

  const policy = objAt(spec, "failurePolicy");
  const backoff = policy === undefined ? undefined : strAt(policy, "backoff");
  if (backoff !== undefined) out.push(...durationRules(backoff, "spec.failurePolicy.backoff", "non-negative"));
  return out;
}

/** serviceAccountName, priorityClassName and imagePullSecrets name API objects: DNS-1123 subdomains. */
function objectNameRules(spec: Obj): Problem[] {
  const out: Problem[] = [];
  for (const field of ["serviceAccountName", "priorityClassName"]) {
    const v = strAt(spec, field);
    const p = v === undefined || v === "" ? undefined : dns1123SubdomainProblem(v);
    if (p !== undefined) out.push(error(`spec.${field}`, p));
  }
  listAt(spec, "imagePullSecrets")?.forEach((ref, i) => {
    if (!isObj(ref)) return;
    const name = strAt(ref, "name");
    const path = `spec.imagePullSecrets[${i}].name`;
    if (name === undefined || name === "") out.push(error(path, "required: the name of a Secret of type kubernetes.io/dockerconfigjson"));
    else {
      const p = dns1123SubdomainProblem(name);
      if (p !== undefined) out.push(error(path, p));
    }
  });
  return out;
}

function versionRules(spec: Obj): Problem[] {
  const out: Problem[] = [];
  const version = strAt(spec, "version");
  const channel = strAt(spec, "channel");
  const hasVersion = version !== undefined && version !== "";
  const hasChannel = channel !== undefined && channel !== "";
  if (!hasVersion && !hasChannel && spec["version"] === undefined && spec["channel"] === undefined) {
    out.push(error("spec", "neither version nor channel is set: there is no version to upgrade to (SUC: cannot resolve plan)"));
  } else if (!hasVersion && !hasChannel && (version === "" || channel === "")) {
    out.push(error(version === "" ? "spec.version" : "spec.channel", "is empty: there is no version to upgrade to"));
  }
  if (hasVersion) {
    // SUC turns '+' into '-' (semver build metadata is not allowed in tags or labels); the result is
    // status.latestVersion, used as the image tag of an untagged image and as a label value.
    const resolved = version.replace(/\+/g, "-");
    const p = labelValueProblem(resolved) ?? imageTagProblem(resolved);
    if (p !== undefined) out.push(error("spec.version", `${p}${resolved === version ? "" : ` (after '+' becomes '-')`}`));
    if (hasChannel) out.push(warning("spec.channel", "ignored: version is set, so the channel is never polled"));
  }
  if (hasChannel) {
    let url: URL | undefined;
    try {
      url = new URL(channel);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
      out.push(error("spec.channel", `"${channel}" is not an http(s) URL; a channel is a URL that redirects to the latest release`));
    }
  }
  return out;
}

function selectorRules(sel: unknown, path: string): Problem[] {
  if (!isObj(sel) || !selectorShapeOk(sel)) return [];
  return selectorProblems(sel, path);
}

/** selectorProblems trusts the shape; only hand it selectors the schema accepted. */
function selectorShapeOk(sel: Obj): boolean {
  const labels = sel["matchLabels"];
  if (labels !== undefined && !isObj(labels)) return false;
  const exprs = sel["matchExpressions"];
  if (exprs === undefined) return true;
  if (!Array.isArray(exprs)) return false;
  return exprs.every(
    (e: unknown) =>
      isObj(e) &&
      typeof e["key"] === "string" &&
      typeof e["operator"] === "string" &&
      (e["values"] === undefined || (Array.isArray(e["values"]) && e["values"].every((v: unknown) => typeof v === "string"))),
  );
}

function secretRules(spec: Obj, mounts: Map<string, string>): Problem[] {
  const out: Problem[] = [];
  const names = new Map<string, number>();
  listAt(spec, "secrets")?.forEach((s, i) => {
    if (!isObj(s)) return;
    const path = `spec.secrets[${i}]`;
    const name = strAt(s, "name");
    if (name !== undefined && name !== "") {
      const p = dns1123SubdomainProblem(name);
      if (p !== undefined) out.push(error(`${path}.name`, p));
      const first = names.get(name);
      if (first !== undefined) out.push(error(`${path}.name`, `secret "${name}" is already listed at spec.secrets[${first}]`));
      else names.set(name, i);
    }
    const mount = strAt(s, "path");
    if (mount !== undefined && mount !== "") {
      // SUC mounts a relative path under /run/system-upgrade/secrets; the resolved paths must differ.
      const resolved = mount.startsWith("/") ? normalize(mount) : normalize(`${SECRETS_DIR}/${mount}`);
      const first = mounts.get(resolved);
      if (first !== undefined) out.push(error(`${path}.path`, `${resolved} is already the mount path of ${first}`));
      else if (CONTROLLER_MOUNTS.includes(resolved)) out.push(error(`${path}.path`, `${resolved} is where the controller mounts its own volume`));
      else mounts.set(resolved, path);
    }
  });
  return out;
}

function normalize(p: string): string {
  const parts: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return `/${parts.join("/")}`;
}

function tolerationRules(spec: Obj): Problem[] {
  const out: Problem[] = [];
  listAt(spec, "tolerations")?.forEach((t, i) => {
    if (!isObj(t)) return;
    const path = `spec.tolerations[${i}]`;
    const key = strAt(t, "key") ?? "";
    const op = strAt(t, "operator") ?? "Equal";
    if (key !== "") {
      const p = qualifiedNameProblem(key);
      if (p !== undefined) out.push(error(`${path}.key`, p));
    } else if (op !== "Exists") {
      out.push(error(`${path}.operator`, "must be Exists when key is empty (an empty key with Exists tolerates every taint)"));
    }
    const value = strAt(t, "value") ?? "";
    if (op === "Exists" && value !== "") out.push(error(`${path}.value`, "must be empty when operator is Exists"));
    else if (value !== "") {
      const p = labelValueProblem(value);
      if (p !== undefined) out.push(error(`${path}.value`, p));
    }
    if (t["tolerationSeconds"] !== undefined && strAt(t, "effect") !== "NoExecute") {
      out.push(error(`${path}.tolerationSeconds`, "only applies with effect NoExecute"));
    }
  });
  return out;
}

const ENV_NAME = /^[^=]+$/;

/** envs: names without '=', SYSTEM_UPGRADE_* and repeats warned of, one value source each. */
function envRules(c: Obj, path: string): Problem[] {
  const out: Problem[] = [];
  const envNames = new Map<string, number>();
  listAt(c, "envs")?.forEach((e, i) => {
    if (!isObj(e)) return;
    const ep = `${path}.envs[${i}]`;
    const name = strAt(e, "name");
    if (name !== undefined && name !== "") {
      if (!ENV_NAME.test(name)) out.push(error(`${ep}.name`, `"${name}" must not contain '='`));
      else if (name.startsWith("SYSTEM_UPGRADE_")) {
        out.push(warning(`${ep}.name`, `${name}: SYSTEM_UPGRADE_* variables are set by the controller and may override this one`));
      }
      const first = envNames.get(name);
      if (first !== undefined) out.push(warning(`${ep}.name`, `${name} is already set at ${path}.envs[${first}]; the last one wins`));
      else envNames.set(name, i);
    }
    const from = objAt(e, "valueFrom");
    if (from !== undefined) {
      if (e["value"] !== undefined) out.push(error(ep, "value and valueFrom cannot both be set"));
      const sources = Object.keys(from).filter((k) => from[k] !== undefined);
      if (sources.length !== 1)
        out.push(error(`${ep}.valueFrom`, `needs exactly one source (fieldRef, resourceFieldRef, configMapKeyRef or secretKeyRef), got ${sources.length}`));
    }
  });
  return out;
}

function containerRules(c: Obj, path: string, secretNames: ReadonlySet<string>, secretMounts: ReadonlyMap<string, string>): Problem[] {
  const out: Problem[] = [];
  const image = strAt(c, "image");
  if (image !== undefined && image !== "" && (/\s/.test(image) || image !== image.trim())) {
    out.push(error(`${path}.image`, `"${image}" contains white space: not an image reference`));
  }

  out.push(...envRules(c, path));

  const volNames = new Map<string, number>();
  const mountPaths = new Map<string, string>([...CONTROLLER_MOUNTS.map((m): [string, string] => [m, "the controller"]), ...secretMounts]);
  listAt(c, "volumes")?.forEach((v, i) => {
    if (!isObj(v)) return;
    const vp = `${path}.volumes[${i}]`;
    const name = strAt(v, "name");
    if (name !== undefined && name !== "") {
      const p = dns1123LabelProblem(name);
      if (p !== undefined) out.push(error(`${vp}.name`, p));
      else if (CONTROLLER_VOLUMES.has(name) || (name.startsWith("secret-") && secretNames.has(name.slice("secret-".length)))) {
        out.push(error(`${vp}.name`, `"${name}" is the name of a volume the controller adds to the pod`));
      }
      const first = volNames.get(name);
      if (first !== undefined) out.push(error(`${vp}.name`, `volume "${name}" is already declared at ${path}.volumes[${first}]`));
      else volNames.set(name, i);
    }
    const source = strAt(v, "source");
    if (source !== undefined && source !== "" && !source.startsWith("/")) {
      out.push(error(`${vp}.source`, `"${source}" must be an absolute path on the host`));
    }
    const dest = strAt(v, "destination");
    if (dest !== undefined && dest !== "") {
      if (!dest.startsWith("/")) out.push(error(`${vp}.destination`, `"${dest}" must be an absolute path in the container`));
      else {
        const d = normalize(dest);
        const first = mountPaths.get(d);
        if (first !== undefined) out.push(error(`${vp}.destination`, `${d} is already mounted by ${first}`));
        else mountPaths.set(d, vp);
      }
    }
  });
  return out;
}

/** One pod holds both containers: a volume name means one host path for both. */
function sharedVolumeRules(prepare: Obj, upgrade: Obj): Problem[] {
  const sources = new Map<string, string>();
  for (const v of listAt(upgrade, "volumes") ?? []) {
    if (isObj(v) && typeof v["name"] === "string" && typeof v["source"] === "string") sources.set(v["name"], v["source"]);
  }
  const out: Problem[] = [];
  listAt(prepare, "volumes")?.forEach((v, i) => {
    if (!isObj(v) || typeof v["name"] !== "string" || typeof v["source"] !== "string") return;
    const other = sources.get(v["name"]);
    if (other !== undefined && other !== v["source"]) {
      out.push(
        error(
          `spec.prepare.volumes[${i}].source`,
          `volume "${v["name"]}" is ${other} in spec.upgrade.volumes: one pod cannot mount two host paths under one name`,
        ),
      );
    }
  });
  return out;
}

function drainRules(spec: Obj): Problem[] {
  const drain = objAt(spec, "drain");
  if (drain === undefined) return [];
  const out: Problem[] = [];
  if (drain["deleteLocalData"] !== undefined && drain["deleteEmptydirData"] !== undefined) {
    out.push(error("spec.drain", "deleteLocalData and deleteEmptydirData cannot both be set (deleteLocalData is the old name of deleteEmptydirData)"));
  }
  if (spec["cordon"] === false) out.push(warning("spec.cordon", "false has no effect: drain always cordons the node"));
  const timeout = drain["timeout"];
  if (typeof timeout === "number" || typeof timeout === "string") {
    const d = parseDrainTimeout(timeout);
    if (!d.ok) out.push(error("spec.drain.timeout", d.reason));
    else if (typeof timeout === "number" && timeout > 0 && timeout < 1e6) {
      out.push(
        warning("spec.drain.timeout", `${timeout} is ${timeout} nanoseconds (an integer counts nanoseconds, as in SUC); write "${timeout}s" for seconds`),
      );
    }
  } else if (drain["unblockPDB"] === true) {
    out.push(warning("spec.drain.unblockPDB", "acts when drain.timeout expires, and no timeout is set: a blocked drain would wait forever"));
  }
  const grace = numAt(drain, "gracePeriod");
  if (grace !== undefined && grace < -1) out.push(error("spec.drain.gracePeriod", `must be -1 (each pod's own) or more, got ${grace}`));
  const skip = numAt(drain, "skipWaitForDeleteTimeout");
  if (skip !== undefined && skip < 0) out.push(error("spec.drain.skipWaitForDeleteTimeout", `must not be negative, got ${skip}`));
  out.push(...selectorRules(drain["podSelector"], "spec.drain.podSelector"));
  return out;
}

function durationRules(text: string, path: string, rule: "non-negative" | "positive"): Problem[] {
  const d = parseGoDuration(text);
  if (!d.ok) return [error(path, d.reason)];
  if (d.ms < 0) return [error(path, `must not be negative, got "${text}"`)];
  if (rule === "positive" && d.ms === 0) return [error(path, `must be more than 0, got "${text}"`)];
  return [];
}

const KNOWN_VARS = new Set(["LATEST_VERSION", "LATEST_HASH"]);

function postCompleteLabelRules(spec: Obj, planName: string | undefined): Problem[] {
  const labels = objAt(spec, "postCompleteLabels");
  if (labels === undefined) return [];
  const out: Problem[] = [];
  const version = strAt(spec, "version");
  const exampleVersion = version !== undefined && version !== "" ? version.replace(/\+/g, "-") : VERSION_EXAMPLE;
  for (const [key, value] of Object.entries(labels)) {
    const path = childPath("spec.postCompleteLabels", key);
    const kp = qualifiedNameProblem(key);
    if (kp !== undefined) out.push(error(path, kp));
    else if (planName !== undefined && key === `plan.upgrade.cattle.io/${planName}`) {
      out.push(error(path, "this label is the controller's record that the node is done; setting it here would mark nodes done wrongly"));
    }
    if (typeof value !== "string") continue;
    for (const m of value.matchAll(/\$\(([^)]*)\)/g)) {
      const name = m[1] ?? "";
      if (!KNOWN_VARS.has(name)) out.push(warning(path, `$(${name}) is not expanded: only $(LATEST_VERSION) and $(LATEST_HASH) are`));
    }
    const expanded = value.replaceAll("$(LATEST_VERSION)", exampleVersion).replaceAll("$(LATEST_HASH)", HASH_EXAMPLE);
    const vp = labelValueProblem(expanded);
    if (vp === undefined) continue;
    if (expanded === value) out.push(error(path, vp));
    else {
      out.push(error(path, `once $(LATEST_VERSION) (e.g. ${exampleVersion}) and $(LATEST_HASH) (56 hex characters) are expanded, ${vp}`));
    }
  }
  return out;
}

function afterRules(spec: Obj, planName: string | undefined): Problem[] {
  const out: Problem[] = [];
  const seen = new Map<string, number>();
  listAt(spec, "after")?.forEach((a, i) => {
    if (typeof a !== "string" || a === "") return;
    const path = `spec.after[${i}]`;
    const p = dns1123LabelProblem(a);
    if (p !== undefined) out.push(error(path, `${p}: not the name of a Plan`));
    if (a === planName) out.push(error(path, "a Plan cannot wait for itself: it would never start"));
    const first = seen.get(a);
    if (first !== undefined) out.push(warning(path, `"${a}" is already listed at spec.after[${first}]`));
    else seen.set(a, i);
  });
  return out;
}

function gateRules(spec: Obj): Problem[] {
  const gates = objAt(spec, "gates");
  if (gates === undefined) return [];
  const out: Problem[] = [];
  const prom = objAt(gates, "prometheus");
  const url = prom === undefined ? undefined : strAt(prom, "url");
  if (url !== undefined && url !== "") {
    let ok = false;
    try {
      const u = new URL(url);
      ok = u.protocol === "http:" || u.protocol === "https:";
    } catch {
      ok = false;
    }
    if (!ok) out.push(error("spec.gates.prometheus.url", `"${url}" is not an http(s) URL (e.g. http://prometheus.monitoring:9090)`));
  }
  const ignore = prom === undefined ? undefined : strAt(prom, "ignoreAlerts");
  if (ignore !== undefined) {
    try {
      new RegExp(ignore);
    } catch (e: unknown) {
      out.push(error("spec.gates.prometheus.ignoreAlerts", `not a regular expression: ${e instanceof Error ? e.message : String(e)}`));
    }
  }
  const health = objAt(gates, "health");
  const soak = health === undefined ? undefined : strAt(health, "soak");
  if (soak !== undefined) out.push(...durationRules(soak, "spec.gates.health.soak", "non-negative"));
  const timeout = health === undefined ? undefined : strAt(health, "timeout");
  if (timeout !== undefined) out.push(...durationRules(timeout, "spec.gates.health.timeout", "positive"));
  const cluster = objAt(gates, "cluster");
  const quiet = cluster === undefined ? undefined : strAt(cluster, "quietPeriod");
  if (quiet !== undefined) out.push(...durationRules(quiet, "spec.gates.cluster.quietPeriod", "non-negative"));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Files: documents -> Plans and located problems

export interface ValidatedPlan {
  readonly plan: Plan;
  readonly fileName: string;
  readonly document: LoadedDocument;
  /** False when the Plan has errors; its problems are in the result's problems. */
  readonly valid: boolean;
}

export interface FileValidation {
  readonly plans: readonly ValidatedPlan[];
  readonly problems: readonly LocatedProblem[];
}

/**
 * Validates every document of a loaded file. Documents that are not Plans are skipped with a warning
 * (a directory of manifests may hold RBAC and Secrets next to Plans), except documents of the
 * upgrade.cattle.io group with another kind, which are errors: that is a typo of Plan, not a neighbour.
 */
export function validateLoaded(loaded: LoadResult): FileValidation {
  const { fileName } = loaded;
  const problems: LocatedProblem[] = loaded.problems.map((p) => ({
    fileName,
    ...p.position,
    severity: p.severity,
    path: p.path ?? "",
    message: p.message,
  }));
  const plans: ValidatedPlan[] = [];
  for (const doc of loaded.documents) {
    if (doc.value === undefined) continue;
    const at = (p: PlanProblem): LocatedProblem => ({ fileName, ...doc.position(p.path, p.key), severity: p.severity, path: p.path, message: p.message });
    const kindProblem = notAPlan(doc.value);
    if (kindProblem !== undefined) {
      problems.push(at(kindProblem));
      continue;
    }
    const found = validatePlan(doc.value).map(at);
    problems.push(...found);
    plans.push({ plan: doc.value as Plan, fileName, document: doc, valid: !found.some((p) => p.severity === "error") });
  }
  return { plans, problems };
}

function notAPlan(value: unknown): Problem | undefined {
  if (!isObj(value)) return error("", `not a Kubernetes object: expected a mapping with apiVersion and kind, got ${describe(value)}`);
  const kind = value["kind"];
  const apiVersion = value["apiVersion"];
  if (kind === "Plan") return undefined;
  if (typeof apiVersion === "string" && apiVersion.startsWith("upgrade.cattle.io/")) {
    return error("kind", `expected "Plan" for ${apiVersion}, got ${describe(kind)}`);
  }
  if (typeof kind !== "string" || kind === "") return error("kind", "missing: not a Kubernetes object");
  return warning("kind", `not a Plan: kind ${kind}${typeof apiVersion === "string" ? ` (${apiVersion})` : ""}; skipped`);
}

/** Loads and validates YAML text (one file's worth). */
export function validatePlanText(text: string, fileName: string): FileValidation {
  return validateLoaded(loadPlanDocuments(text, fileName));
}

/**
 * Rules across Plans that are applied together: two documents with one name overwrite each other,
 * and a cycle in `after` means none of its Plans ever starts.
 */
export function crossPlanProblems(plans: readonly ValidatedPlan[]): LocatedProblem[] {
  const out: LocatedProblem[] = [];
  const byKey = new Map<string, ValidatedPlan>();
  const locate = (vp: ValidatedPlan, path: string, severity: "error" | "warning", message: string): LocatedProblem => ({
    fileName: vp.fileName,
    ...vp.document.position(path),
    severity,
    path,
    message,
  });
  for (const vp of plans) {
    const meta = isObj(vp.plan.metadata) ? vp.plan.metadata : undefined;
    const name = meta?.name;
    if (typeof name !== "string") continue;
    const key = `${typeof meta?.namespace === "string" ? meta.namespace : ""}/${name}`;
    const first = byKey.get(key);
    if (first !== undefined) {
      const where = `${first.fileName}:${first.document.start.line}`;
      out.push(locate(vp, "metadata.name", "error", `Plan "${name}" is also defined at ${where}; applying both keeps only the last`));
    } else byKey.set(key, vp);
  }
  // Cycles in `after`, among the Plans of one namespace.
  const edges = new Map<string, string[]>();
  for (const [key, vp] of byKey) {
    const ns = key.slice(0, key.indexOf("/"));
    const after = isObj(vp.plan.spec) && Array.isArray(vp.plan.spec.after) ? vp.plan.spec.after : [];
    edges.set(
      key,
      after.filter((a): a is string => typeof a === "string").map((a) => `${ns}/${a}`),
    );
  }
  const state = new Map<string, "visiting" | "done">();
  const reported = new Set<string>();
  const visit = (key: string, stack: string[]): void => {
    state.set(key, "visiting");
    for (const next of edges.get(key) ?? []) {
      if (!edges.has(next)) continue;
      const s = state.get(next);
      if (s === "visiting") {
        const cycle = [...stack.slice(stack.indexOf(next)), key].filter((k, i, all) => all.indexOf(k) === i);
        const id = [...cycle].sort().join(",");
        const vp = byKey.get(key);
        if (!reported.has(id) && vp !== undefined && cycle.length > 1) {
          reported.add(id);
          const names = [...cycle, next].map((k) => k.slice(k.indexOf("/") + 1));
          out.push(locate(vp, "spec.after", "error", `cycle: ${names.join(" -> ")}; none of these Plans would ever start`));
        }
      } else if (s === undefined) visit(next, [...stack, key]);
    }
    state.set(key, "done");
  };
  for (const key of [...edges.keys()].sort()) if (!state.has(key)) visit(key, []);
  return out;
}
