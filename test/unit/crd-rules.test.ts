// The rules the API server checks (CEL in the generated CRD) and the rules `validate` checks in
// TypeScript must agree: what one accepts the other accepts. The CEL rules come from the schema's
// patterns, so each pattern is tried here against the TypeScript parser on many inputs.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import schemaJson from "../../schemas/plan.schema.json" with { type: "json" };
import { parseGoDuration } from "../../src/plan/duration.ts";
import { parseClockTime } from "../../src/plan/window.ts";

type Node = { [k: string]: unknown };
const defs = schemaJson.definitions as unknown as Record<string, Node>;
const prop = (def: string, ...path: string[]): Node => {
  let n: Node = defs[def] ?? {};
  for (const p of path) n = (n["properties"] as Record<string, Node> | undefined)?.[p] ?? {};
  return n;
};
const regexOf = (n: Node): RegExp => new RegExp(String(n["pattern"]));

const units = ["ns", "us", "µs", "μs", "ms", "s", "m", "h", "d", "S", "sec", ""];
const numbers = ["0", "1", "10", "1.5", "1.", ".5", ".", "", "007", "-1", "+1", "-0", "+0", "1e3"];
function durations(): string[] {
  const out = new Set<string>([
    "0",
    "-0",
    "+0",
    "30 minutes",
    "1h 30m",
    " 5m",
    "5m ",
    "1h30m",
    "2h45m30.5s",
    "-5m",
    "+5m",
    "5m-3s",
    "",
    "h",
    "0.0s",
    "1h0",
    "1h1m1s1ms1us1ns",
  ]);
  for (const n of numbers) for (const u of units) out.add(`${n}${u}`);
  for (const a of ["1h", "30m", "1.5s", "0s"]) for (const b of ["1h", "30m", "5", "x", ".5s"]) out.add(`${a}${b}`);
  return [...out];
}

describe("the CRD's duration pattern accepts exactly the Go durations validate accepts", () => {
  const fields: [string, Node][] = [
    ["spec.postCompleteDelay", prop("PlanSpec", "postCompleteDelay")],
    ["spec.gates.health.soak", (prop("GatesSpec", "health")["properties"] as Record<string, Node>)["soak"] ?? {}],
    ["spec.gates.cluster.quietPeriod", (prop("GatesSpec", "cluster")["properties"] as Record<string, Node>)["quietPeriod"] ?? {}],
    ["spec.failurePolicy.backoff", prop("FailurePolicy", "backoff")],
    ["spec.window.duration", prop("TimeWindowSpec", "duration")],
  ];
  for (const [name, node] of fields) {
    it(name, () => {
      const re = regexOf(node);
      const disagree = durations().filter((d) => {
        const p = parseGoDuration(d);
        return re.test(d) !== (p.ok && p.ms >= 0);
      });
      assert.deepEqual(disagree, []);
    });
  }
});

describe("the CRD's more-than-zero rule refuses exactly the zero durations", () => {
  for (const [name, node] of [
    ["spec.gates.health.timeout", (prop("GatesSpec", "health")["properties"] as Record<string, Node>)["timeout"] ?? {}],
    ["spec.window.duration", prop("TimeWindowSpec", "duration")],
  ] as const) {
    it(name, () => {
      const rule = String(((node["x-kubernetes-validations"] as Node[] | undefined)?.[0] ?? {})["rule"]);
      const zero = new RegExp(/^!self\.matches\('(.*)'\)$/.exec(rule)?.[1] ?? "never");
      const disagree = durations()
        .filter((d) => regexOf(node).test(d))
        .filter((d) => {
          const p = parseGoDuration(d);
          return zero.test(d) !== (p.ok && p.ms === 0);
        });
      assert.deepEqual(disagree, []);
    });
  }
});

describe("the CRD's clock-time pattern accepts exactly the times SUC (and validate) read", () => {
  it("startTime and endTime, over every hour and minute shape", () => {
    const re = regexOf(prop("TimeWindowSpec", "startTime"));
    assert.equal(String(prop("TimeWindowSpec", "endTime")["pattern"]), re.source);
    const inputs = new Set<string>([
      "25:00",
      "24:00",
      "1:00am",
      "01:00AM",
      "1:30",
      "01:00",
      "13",
      "3pm",
      "03pm",
      "12am",
      "00pm",
      "13pm",
      "10:60",
      "10:00:60",
      "",
    ]);
    for (let h = 0; h <= 25; h++) {
      const hs = [String(h), String(h).padStart(2, "0")];
      for (const H of hs) {
        for (const tail of ["", ":00", ":59", ":60", ":5", ":00:00", ":59:59", ":00:60", "am", "pm", ":00am", ":30pm", ":00:00pm"]) inputs.add(`${H}${tail}`);
      }
    }
    const disagree = [...inputs].filter((t) => re.test(t) !== (parseClockTime(t) !== undefined));
    assert.deepEqual(disagree, []);
  });
});

describe("the generated CRD", () => {
  const crd = parse(readFileSync(join(import.meta.dirname, "../../deploy/crd/plans.upgrade.cattle.io.yaml"), "utf8")) as Node;
  const rules: { path: string; rule: string; message: string }[] = [];
  const patterns: string[] = [];
  const walk = (n: unknown, path: string): void => {
    if (typeof n !== "object" || n === null) return;
    const o = n as Node;
    for (const r of (o["x-kubernetes-validations"] as Node[] | undefined) ?? []) rules.push({ path, rule: String(r["rule"]), message: String(r["message"]) });
    if (typeof o["pattern"] === "string") patterns.push(path);
    for (const [k, v] of Object.entries((o["properties"] as Node | undefined) ?? {})) walk(v, path === "" ? k : `${path}.${k}`);
    if (o["items"] !== undefined) walk(o["items"], `${path}[]`);
  };
  const versions = (crd["spec"] as Node)["versions"] as Node[];
  walk((versions[0]?.["schema"] as Node)["openAPIV3Schema"] ?? {}, "");

  it("turns each pattern with a message into a CEL rule whose message starts with the field's name", () => {
    assert.ok(rules.some((r) => r.path === "spec.window.startTime" && r.message.startsWith("startTime must be a clock time")));
    assert.ok(rules.some((r) => r.path === "spec.drain.timeout" && r.message.startsWith("drain.timeout must be a Go duration")));
    for (const r of rules) {
      const field = r.path.split(".").pop()?.replace("[]", "") ?? "";
      assert.ok(r.path === "" || r.message.includes(field) || r.message.startsWith("values:"), `${r.path}: "${r.message}" names the field`);
    }
    // Only list items keep a plain pattern: a CEL rule per item would count against the cost limit once per item.
    assert.deepEqual(patterns, ["spec.window.days[]"]);
  });

  it("bounds every string a CEL rule matches a regular expression against (the API server's cost limit)", () => {
    const unbounded: string[] = [];
    const check = (n: unknown, path: string): void => {
      if (typeof n !== "object" || n === null) return;
      const o = n as Node;
      const matches = ((o["x-kubernetes-validations"] as Node[] | undefined) ?? []).some(
        (r) => String(r["rule"]).startsWith("self.matches") || String(r["rule"]).includes("? self.matches"),
      );
      if (matches && o["type"] === "string" && typeof o["maxLength"] !== "number") unbounded.push(path);
      for (const [k, v] of Object.entries((o["properties"] as Node | undefined) ?? {})) check(v, `${path}.${k}`);
    };
    check((versions[0]?.["schema"] as Node)["openAPIV3Schema"] ?? {}, "");
    assert.deepEqual(unbounded, []);
  });
});
