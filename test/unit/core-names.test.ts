import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import { labelSafeValue, podName, safeConcatName, sanitizeNamePart, shortNodeName } from "../../src/controller/rollout/names.ts";
import { dns1123SubdomainProblem, labelValueProblem } from "../../src/plan/k8s-names.ts";

const sha256 = (s: string): string => createHash("sha256").update(s).digest("hex");
const HASH = "4f6c1f8cb3a2d0e7a1b9c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8"; // 56 hex, like SUC's SHA-224

/** A pod name must be a DNS-1123 subdomain; ours also fit a label value (63). */
function assertValidName(name: string): void {
  assert.ok(name.length <= 63, `${name} is ${name.length} long`);
  assert.equal(dns1123SubdomainProblem(name), undefined, name);
  assert.equal(labelValueProblem(name), undefined, name);
}

describe("safeConcatName (wrangler pkg/name.SafeConcatName)", () => {
  test("short names are joined with '-'", () => assert.equal(safeConcatName("secret", "creds"), "secret-creds"));
  test("63 characters are kept whole", () => {
    const s = "a".repeat(56);
    assert.equal(safeConcatName("secret", s), `secret-${s}`);
  });
  test("64 characters: first 57, '-', 5 hex of sha256(full)", () => {
    const full = `secret-${"b".repeat(57)}`;
    assert.equal(safeConcatName("secret", "b".repeat(57)), `${full.slice(0, 57)}-${sha256(full).slice(0, 5)}`);
  });
  test("when the 57th character is not [a-z0-9]: first 56, '-', 6 hex", () => {
    const name = `${"c".repeat(49)}-${"d".repeat(20)}`; // "secret-" + 49 c's puts '-' at index 56
    const full = `secret-${name}`;
    assert.equal(full[56], "-");
    const got = safeConcatName("secret", name);
    assert.equal(got, `${full.slice(0, 56)}-${sha256(full).slice(0, 6)}`);
    assert.equal(got.length, 63);
  });
  test("SUC container_test: a long secret name keeps its first 50 characters in the volume name", () => {
    const name = "not-having-path-with-a-supercalifragilisticexpialidocious-name";
    const got = safeConcatName("secret", name);
    assert.ok(got.includes(name.slice(0, 50)));
    assertValidName(got);
  });
});

describe("shortNodeName and sanitizeNamePart", () => {
  const short: Array<[string, string]> = [
    ["worker-1", "worker-1"],
    ["ip-10-0-0-1.eu-west-1.compute.internal", "ip-10-0-0-1"],
    ["a.b", "a"],
  ];
  for (const [n, want] of short) void test(`short ${n}`, () => assert.equal(shortNodeName(n), want));
  const clean: Array<[string, string]> = [
    ["worker-1", "worker-1"],
    ["Worker_1", "worker-1"],
    ["-edge.", "edge"],
    ["a..b", "a.b"],
    ["a-.b", "a.b"],
    ["___", "x"],
  ];
  for (const [n, want] of clean) void test(`sanitize ${JSON.stringify(n)}`, () => assert.equal(sanitizeNamePart(n), want));
});

describe("podName", () => {
  test("SUC's shape for ordinary names: SafeConcatName(step, plan, 'on', node, 'with', hash)", () => {
    assert.equal(podName("apply", "k3s-server", "cp-1", HASH), safeConcatName("apply", "k3s-server", "on", "cp-1", "with", HASH));
    assert.equal(podName("prepare", "k3s-server", "cp-1", HASH), safeConcatName("prepare", "k3s-server", "on", "cp-1", "with", HASH));
  });
  test("short hashes keep the whole readable name", () => assert.equal(podName("apply", "os", "w1", "abc"), "apply-os-on-w1-with-abc"));
  test("the first attempt has no suffix, later ones do", () => {
    assert.equal(podName("apply", "os", "w1", "abc", 1), "apply-os-on-w1-with-abc");
    assert.equal(podName("apply", "os", "w1", "abc", 2), "apply-os-on-w1-with-abc-2");
  });
  test("FQDN node names read as the short name", () =>
    assert.match(podName("apply", "os", "w1.zone-a.example", "abc"), /^apply-os-on-w1-with-abc-[0-9a-f]{5}$/));

  const cases: Array<[string, [string, string, string, number?]]> = [
    ["long plan name", ["p".repeat(63), "worker-1", HASH]],
    ["long node name", ["os", `n${"x".repeat(252)}`, HASH]],
    ["upper-case names", ["Edge-Plan", "Worker_1", HASH]],
    ["dotted plan name", ["os.packages", "worker-1", HASH]],
    ["dots at the cut", [`${"a".repeat(40)}.b.c.d.e.f.g.h`, "w", HASH]],
    ["retry of a long one", ["p".repeat(63), "n".repeat(63), HASH, 7]],
    ["empty-ish names", ["_", "-", "abc"]],
  ];
  for (const [name, [plan, node, hash, attempt]] of cases) {
    test(`valid: ${name}`, () => {
      assertValidName(podName("apply", plan, node, hash, attempt));
      assertValidName(podName("prepare", plan, node, hash, attempt));
    });
  }

  test("unique where SUC's job names collide", () => {
    const pairs: Array<[string, [string, string, string, number?], [string, string, string, number?]]> = [
      ["same host in two domains", ["os", "w1.zone-a.example", HASH], ["os", "w1.zone-b.example", HASH]],
      ["names equal after lower-casing", ["Edge", "w1", HASH], ["edge", "w1", HASH]],
      ["long plans sharing 60 characters", [`${"p".repeat(60)}-a`, "w1", HASH], [`${"p".repeat(60)}-b`, "w1", HASH]],
      ["long nodes sharing a prefix", ["os", `${"n".repeat(80)}1`, HASH], ["os", `${"n".repeat(80)}2`, HASH]],
      ["attempts of one node", ["os", "w1", HASH, 2], ["os", "w1", HASH, 3]],
      ["two hashes", ["os", "w1", HASH], ["os", "w1", HASH.replace(/^4/, "5")]],
    ];
    for (const [what, a, b] of pairs) assert.notEqual(podName("apply", ...a), podName("apply", ...b), what);
  });

  test("deterministic", () => assert.equal(podName("apply", "P", "N.x", HASH, 3), podName("apply", "P", "N.x", HASH, 3)));
});

describe("labelSafeValue", () => {
  test("valid values are unchanged", () => assert.equal(labelSafeValue("v1.30.4-k3s1"), "v1.30.4-k3s1"));
  test("long values are cut with a hash and stay distinct", () => {
    const a = labelSafeValue(`${"n".repeat(70)}a`);
    const b = labelSafeValue(`${"n".repeat(70)}b`);
    assert.equal(labelValueProblem(a), undefined);
    assert.notEqual(a, b);
  });
  test("invalid characters are replaced", () => assert.equal(labelValueProblem(labelSafeValue("v1 + build")), undefined));
});
