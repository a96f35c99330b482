/**
 * The Plan hash (status.latestHash), byte for byte as SUC computes it, so a cluster moving from
 * SUC keeps every `plan.upgrade.cattle.io/<plan>=<hash>` node label valid and re-runs nothing.
 *
 * Reference: rancher/system-upgrade-controller d357e23 (v0.20.x), pkg/upgrade/plan/plan.go
 * DigestStatus + addToHashFromAnnotation; k8s.io/kubectl v0.36.3 pkg/util/hash SecretHash;
 * rancher/wrangler v3.7.0 pkg/data (Convert, Object.String) and pkg/data/convert.ToString.
 *
 *   latestHash = hex(SHA-224( latestVersion
 *                            ‖ spec.serviceAccountName
 *                            ‖ for each entry of the upgrade.cattle.io/digest annotation split on ",":
 *                                  ToString(value at the entry's "."-separated path in the Plan as JSON)
 *                            ‖ for each spec.secrets[i] without ignoreUpdates, in order:
 *                                  kubectl SecretHash(secret)   -- 10 characters
 *                            ))
 * with no separators between the parts. Image, args, env and drain are not hashed unless the
 * digest annotation names them. SUC skips the computation (keeping the old hash) while
 * LatestResolved is Error; that rule belongs to the caller.
 */
import { createHash } from "node:crypto";
import type { Plan } from "../../generated/plan.ts";
import { parseGoDuration } from "../../plan/duration.ts";
import { ANNOTATION_DIGEST } from "./keys.ts";
import type { SecretView } from "./model.ts";

export type SecretLookup = (name: string) => SecretView | undefined;

export type PlanHashResult = { readonly ok: true; readonly hash: string } | { readonly ok: false; readonly missingSecret: string };

export function planHash(plan: Plan, latestVersion: string, secret: SecretLookup): PlanHashResult {
  const h = createHash("sha224");
  h.update(latestVersion, "utf8");
  h.update(plan.spec.serviceAccountName ?? "", "utf8");
  for (const part of digestAnnotationParts(plan)) h.update(part, "utf8");
  for (const s of plan.spec.secrets ?? []) {
    if (s.ignoreUpdates === true) continue;
    const found = secret(s.name);
    if (found === undefined) return { ok: false, missingSecret: s.name };
    h.update(secretHash(found), "ascii");
  }
  return { ok: true, hash: h.digest("hex") };
}

/** What each entry of the digest annotation adds to the hash, in order. */
export function digestAnnotationParts(plan: Plan): string[] {
  const value = plan.metadata.annotations?.[ANNOTATION_DIGEST] ?? "";
  if (value === "") return [];
  const data = goJSON(plan, PLAN) as Record<string, unknown>;
  return value.split(",").map((entry) => wranglerToString(getValue(data, entry.split("."))));
}

// ---- kubectl SecretHash ----------------------------------------------------------------------

/**
 * kubectl's SecretHash: sha256 of the Go JSON of {data, immutable?, kind, name, type} (keys sorted,
 * values base64 of the bytes), first 10 hex characters with 0,1,3,a,e mapped to g,h,k,m,t.
 */
export function secretHash(s: SecretView): string {
  const fields: string[] = [];
  fields.push(`"data":${s.data === undefined ? "null" : goJSONObject(s.data, (v) => goJSONString(Buffer.from(v, "base64").toString("base64")))}`);
  if (s.immutable !== undefined) fields.push(`"immutable":${String(s.immutable)}`);
  fields.push(`"kind":"Secret"`, `"name":${goJSONString(s.name)}`, `"type":${goJSONString(s.type)}`);
  const hex = createHash("sha256")
    .update(`{${fields.join(",")}}`, "utf8")
    .digest("hex");
  return hex.slice(0, 10).replace(/[013ae]/g, (c) => CONSONANT[c] ?? c);
}

const CONSONANT: Readonly<Record<string, string>> = { "0": "g", "1": "h", "3": "k", a: "m", e: "t" };

/** Go orders map keys by bytes; UTF-16 order differs only above U+D7FF, but be exact. */
const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));

/** encoding/json escapes <, > and & (HTML safety) and U+2028/9 beyond what JSON.stringify does. */
function goJSONString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function goJSONObject(m: Readonly<Record<string, string>>, value: (v: string) => string): string {
  const keys = Object.keys(m).sort(byteOrder);
  return `{${keys.map((k) => `${goJSONString(k)}:${value(m[k] ?? "")}`).join(",")}}`;
}

// ---- the Plan as SUC's Go types re-encode it ------------------------------------------------
//
// wrangler's data.Convert marshals the typed Plan to JSON: absent non-omitempty fields appear as
// zero values, omitempty zero values disappear, metav1.Duration is re-printed ("5m" -> "5m0s").
// The tables below are SUC's Go types (pkg/apis/upgrade.cattle.io/v1/types.go) and the core/v1
// types they embed, as far as a digest path can reach. Values outside them (plan-runner
// extensions, metadata, status, resource quantities) pass through unchanged.

type GoType =
  | { readonly k: "string" | "bool" | "int" | "any" | "duration" | "quantity" }
  | { readonly k: "ptr" | "slice" | "map"; readonly of: GoType }
  | { readonly k: "struct"; readonly fields: Readonly<Record<string, Field>>; readonly open?: boolean };

interface Field {
  readonly t: GoType;
  readonly omitempty: boolean;
}

const str: GoType = { k: "string" };
const bool: GoType = { k: "bool" };
const int: GoType = { k: "int" };
const any: GoType = { k: "any" };
const ptr = (of: GoType): GoType => ({ k: "ptr", of });
const slice = (of: GoType): GoType => ({ k: "slice", of });
const map = (of: GoType): GoType => ({ k: "map", of });
const struct = (fields: Record<string, Field>, open = false): GoType => ({ k: "struct", fields, open });
const o = (t: GoType): Field => ({ t, omitempty: true });
const r = (t: GoType): Field => ({ t, omitempty: false });

const LABEL_SELECTOR = struct({
  matchLabels: o(map(str)),
  matchExpressions: o(slice(struct({ key: r(str), operator: r(str), values: o(slice(str)) }))),
});
const KEY_SELECTOR = struct({ name: o(str), key: r(str), optional: o(ptr(bool)) });
const ENV_VAR = struct({
  name: r(str),
  value: o(str),
  valueFrom: o(
    ptr(
      struct({
        fieldRef: o(ptr(struct({ apiVersion: o(str), fieldPath: r(str) }))),
        resourceFieldRef: o(ptr(struct({ containerName: o(str), resource: r(str), divisor: o({ k: "quantity" }) }))),
        configMapKeyRef: o(ptr(KEY_SELECTOR)),
        secretKeyRef: o(ptr(KEY_SELECTOR)),
      }),
    ),
  ),
});
const OPTIONAL_REF = struct({ name: o(str), optional: o(ptr(bool)) });
const PROFILE = struct({ type: r(str), localhostProfile: o(ptr(str)) });
const SECURITY_CONTEXT = struct({
  capabilities: o(ptr(struct({ add: o(slice(str)), drop: o(slice(str)) }))),
  privileged: o(ptr(bool)),
  seLinuxOptions: o(ptr(struct({ user: o(str), role: o(str), type: o(str), level: o(str) }))),
  windowsOptions: o(
    ptr(struct({ gmsaCredentialSpecName: o(ptr(str)), gmsaCredentialSpec: o(ptr(str)), runAsUserName: o(ptr(str)), hostProcess: o(ptr(bool)) })),
  ),
  runAsUser: o(ptr(int)),
  runAsGroup: o(ptr(int)),
  runAsNonRoot: o(ptr(bool)),
  readOnlyRootFilesystem: o(ptr(bool)),
  allowPrivilegeEscalation: o(ptr(bool)),
  procMount: o(ptr(str)),
  seccompProfile: o(ptr(PROFILE)),
  appArmorProfile: o(ptr(PROFILE)),
});
const CONTAINER_SPEC = struct({
  image: r(str),
  command: o(slice(str)),
  args: o(slice(str)),
  envs: o(slice(ENV_VAR)),
  envFrom: o(slice(struct({ prefix: o(str), configMapRef: o(ptr(OPTIONAL_REF)), secretRef: o(ptr(OPTIONAL_REF)) }))),
  volumes: o(slice(struct({ name: r(str), source: r(str), destination: r(str) }))),
  securityContext: o(ptr(SECURITY_CONTEXT)),
});
const PLAN_SPEC = struct(
  {
    concurrency: o(int),
    jobActiveDeadlineSecs: o(ptr(int)),
    nodeSelector: o(ptr(LABEL_SELECTOR)),
    serviceAccountName: o(str),
    channel: o(str),
    version: o(str),
    secrets: o(slice(struct({ name: r(str), path: r(str), ignoreUpdates: o(bool), defaultMode: o(ptr(int)) }))),
    tolerations: o(slice(struct({ key: o(str), operator: o(str), value: o(str), effect: o(str), tolerationSeconds: o(ptr(int)) }))),
    exclusive: o(bool),
    window: o(ptr(struct({ days: o(slice(str)), startTime: o(str), endTime: o(str), timeZone: o(str) }, true))),
    prepare: o(ptr(CONTAINER_SPEC)),
    upgrade: r(ptr(CONTAINER_SPEC)),
    cordon: o(bool),
    drain: o(
      ptr(
        struct(
          {
            timeout: o(ptr(any)),
            gracePeriod: o(ptr(int)),
            deleteLocalData: o(ptr(bool)),
            deleteEmptydirData: o(ptr(bool)),
            ignoreDaemonSets: o(ptr(bool)),
            force: o(bool),
            disableEviction: o(bool),
            skipWaitForDeleteTimeout: o(int),
            podSelector: o(ptr(LABEL_SELECTOR)),
          },
          true,
        ),
      ),
    ),
    imagePullSecrets: o(slice(struct({ name: o(str) }))),
    postCompleteDelay: o(ptr({ k: "duration" })),
    priorityClassName: o(str),
    postCompleteLabels: o(map(str)),
  },
  true,
);
const PLAN = struct(
  {
    apiVersion: o(str),
    kind: o(str),
    metadata: r(any),
    spec: r(PLAN_SPEC),
    status: r(struct({ conditions: o(slice(any)), latestVersion: o(str), latestHash: o(str), applying: o(slice(str)) }, true)),
  },
  true,
);

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The value Go would print for `v` typed `t`; `undefined` in, Go's zero value out. */
function goJSON(v: unknown, t: GoType): unknown {
  switch (t.k) {
    case "string":
      return typeof v === "string" ? v : v === undefined || v === null ? "" : v;
    case "bool":
      return v === undefined || v === null ? false : v;
    case "int":
      return v === undefined || v === null ? 0 : v;
    case "any":
      return v === undefined ? null : v;
    case "duration":
      return goDurationText(v);
    case "quantity":
      // resource.Quantity is a struct, which omitempty never drops; its zero value prints "0".
      return v === undefined || v === null ? "0" : v;
    case "ptr":
      return v === undefined || v === null ? null : goJSON(v, t.of);
    case "slice":
      return Array.isArray(v) ? v.map((e) => goJSON(e, t.of)) : null;
    case "map":
      return isRecord(v) ? Object.fromEntries(Object.entries(v).map(([k, e]) => [k, goJSON(e, t.of)])) : null;
    case "struct": {
      const input = isRecord(v) ? v : {};
      const out: Record<string, unknown> = {};
      for (const [name, f] of Object.entries(t.fields)) {
        const e = goJSON(input[name], f.t);
        if (f.omitempty && isGoEmpty(e, f.t)) continue;
        out[name] = e;
      }
      if (t.open === true) {
        for (const [name, e] of Object.entries(input)) if (!(name in t.fields) && e !== undefined) out[name] = e;
      }
      return out;
    }
  }
}

/** What `omitempty` drops: false, 0, "", nil pointers, and empty slices and maps; never a struct. */
function isGoEmpty(v: unknown, t: GoType): boolean {
  switch (t.k) {
    case "string":
    case "bool":
    case "int":
      return v === "" || v === false || v === 0;
    case "slice":
      return v === null || (Array.isArray(v) && v.length === 0);
    case "map":
      return v === null || (isRecord(v) && Object.keys(v).length === 0);
    case "ptr":
    case "any":
    case "duration":
      return v === null;
    case "quantity":
    case "struct":
      return false;
  }
}

/** metav1.Duration marshals as time.Duration.String(). */
function goDurationText(v: unknown): unknown {
  if (typeof v !== "string") return v;
  const d = parseGoDuration(v);
  return d.ok ? formatGoDuration(BigInt(Math.round(d.ms * 1e6))) : v;
}

/** Go's time.Duration.String: "1h0m0s", "1m30s", "1.5s", "300ms", "1µs", "0s". */
export function formatGoDuration(ns: bigint): string {
  if (ns === 0n) return "0s";
  const sign = ns < 0n ? "-" : "";
  let u = ns < 0n ? -ns : ns;
  const frac = (x: bigint, digits: number): string => {
    const scale = 10n ** BigInt(digits);
    const f = (x % scale).toString().padStart(digits, "0").replace(/0+$/, "");
    return `${x / scale}${f === "" ? "" : `.${f}`}`;
  };
  if (u < 1_000_000_000n) {
    if (u < 1000n) return `${sign}${u}ns`;
    return u < 1_000_000n ? `${sign}${frac(u, 3)}\u00b5s` : `${sign}${frac(u, 6)}ms`;
  }
  const h = u / 3_600_000_000_000n;
  u %= 3_600_000_000_000n;
  const m = u / 60_000_000_000n;
  u %= 60_000_000_000n;
  const s = `${frac(u, 9)}s`;
  if (h > 0n) return `${sign}${h}h${m}m${s}`;
  if (m > 0n) return `${sign}${m}m${s}`;
  return `${sign}${s}`;
}

// ---- wrangler data.Object.String -------------------------------------------------------------

/** data.GetValueN: walks maps only; anything else on the way yields nil. */
function getValue(data: Record<string, unknown>, keys: readonly string[]): unknown {
  let cur: unknown = data;
  for (const k of keys) {
    if (!isRecord(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

/** convert.ToString: a slice stands for its first element, nil for "", then fmt.Sprint, then TrimSpace. */
export function wranglerToString(v: unknown): string {
  const single: unknown = Array.isArray(v) ? (v as unknown[])[0] : v;
  if (single === undefined || single === null) return "";
  return goTrimSpace(goSprint(single));
}

/** fmt.Sprint of what encoding/json decodes into interface{} (numbers as json.Number). */
function goSprint(v: unknown): string {
  if (v === undefined || v === null) return "<nil>";
  if (typeof v === "string") return v;
  if (typeof v === "number") return Number.isInteger(v) ? BigInt(v).toString() : String(v);
  if (typeof v === "boolean") return v ? "true" : "false";
  if (Array.isArray(v)) return `[${v.map(goSprint).join(" ")}]`;
  if (isRecord(v)) {
    const keys = Object.keys(v).sort(byteOrder);
    return `map[${keys.map((k) => `${k}:${goSprint(v[k])}`).join(" ")}]`;
  }
  return typeof v === "bigint" ? v.toString() : "";
}

/** strings.TrimSpace: Go's unicode.IsSpace set, which differs from String.prototype.trim. */
function goTrimSpace(s: string): string {
  return s.replace(
    /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g,
    "",
  );
}
