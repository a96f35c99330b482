// The Plan hash must equal SUC's latestHash for the same inputs (src/controller/hash.ts has the
// reference). Vectors come from published test vectors, not from this implementation:
// - FIPS 180-2 SHA-224: "" and "abc";
// - kubectl pkg/util/hash hash_test.go TestSecretHash: t75bgf6ctb, 74bd68bm66, dgcb6h9tmk;
// - the composition (version, then service account, then digest paths, then secret hashes, no
//   separators) spelled out here from SUC's DigestStatus, hashed with node's own SHA-224.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import { digestAnnotationParts, formatGoDuration, planHash, secretHash, wranglerToString } from "../../src/controller/rollout/hash.ts";
import type { SecretView } from "../../src/controller/rollout/model.ts";
import { aPlan, aSecret } from "../fixtures/builders.ts";

const sha224 = (s: string): string => createHash("sha224").update(s, "utf8").digest("hex");
const none = (): SecretView | undefined => undefined;
const hashOf = (r: ReturnType<typeof planHash>): string => {
  assert.ok(r.ok, "hash computed");
  return r.hash;
};

describe("planHash: SHA-224 over version ‖ serviceAccountName ‖ digest paths ‖ secret hashes", () => {
  test("nothing to hash is SHA-224 of the empty string (FIPS)", () => {
    const plan = aPlan()
      .with((s) => delete s.serviceAccountName)
      .build();
    assert.equal(hashOf(planHash(plan, "", none)), "d14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f");
  });
  test("version 'a' and service account 'bc' hash as \"abc\" (FIPS vector): no separators", () => {
    const plan = aPlan().withServiceAccount("bc").build();
    assert.equal(hashOf(planHash(plan, "a", none)), "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7");
  });
  test("so 'ab' + 'c' is the same hash, as in SUC", () => {
    assert.equal(hashOf(planHash(aPlan().withServiceAccount("c").build(), "ab", none)), "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7");
  });
  test("56 lower-case hex characters", () => assert.match(hashOf(planHash(aPlan().build(), "v1.30.4", none)), /^[0-9a-f]{56}$/));

  test("image, args, env, drain, concurrency and selector are not hashed", () => {
    const base = hashOf(planHash(aPlan().withServiceAccount("sa").build(), "v1", none));
    const changed = aPlan()
      .withServiceAccount("sa")
      .withConcurrency(5)
      .withUpgrade({ image: "other/image:tag", args: ["x"], envs: [{ name: "A", value: "1" }] })
      .withNodeSelector({ matchLabels: { a: "b" } })
      .with((s) => (s.drain = { force: true }))
      .build();
    assert.equal(hashOf(planHash(changed, "v1", none)), base);
  });

  test("secrets: each non-ignoreUpdates secret adds its kubectl SecretHash, in spec order", () => {
    const plan = aPlan()
      .withServiceAccount("system-upgrade")
      .withSecrets({ name: "one", path: "one" }, { name: "skipped", path: "s", ignoreUpdates: true }, { name: "three", path: "three" })
      .build();
    // kubectl's own vectors, for nameless secrets of type my-type.
    const secrets = new Map<string, SecretView>([
      ["one", { ...aSecret("", { one: "" }, "my-type") }],
      ["three", { ...aSecret("", { two: "2", one: "", three: "3" }, "my-type") }],
    ]);
    const got = hashOf(planHash(plan, "v1.30.4", (n) => secrets.get(n)));
    assert.equal(got, sha224("v1.30.4" + "system-upgrade" + "74bd68bm66" + "dgcb6h9tmk"));
  });
  test("an ignoreUpdates secret is neither read nor hashed", () => {
    const plan = aPlan().withSecrets({ name: "s", path: "s", ignoreUpdates: true }).build();
    assert.equal(hashOf(planHash(plan, "v1", none)), sha224("v1"));
  });
  test("a missing secret is reported, not hashed around", () => {
    const plan = aPlan().withSecrets({ name: "creds", path: "creds" }).build();
    assert.deepEqual(planHash(plan, "v1", none), { ok: false, missingSecret: "creds" });
  });
  test("a secret's contents change the hash", () => {
    const plan = aPlan().withSecrets({ name: "s", path: "s" }).build();
    const a = hashOf(planHash(plan, "v1", () => aSecret("s", { token: "a" })));
    const b = hashOf(planHash(plan, "v1", () => aSecret("s", { token: "b" })));
    assert.notEqual(a, b);
  });
});

describe("secretHash = kubectl SecretHash (hash_test.go vectors)", () => {
  const cases: Array<[string, SecretView, string]> = [
    ["empty data", { name: "", type: "my-type", data: {} }, "t75bgf6ctb"],
    ["one key", aSecret("", { one: "" }, "my-type"), "74bd68bm66"],
    ["three keys (sorted)", aSecret("", { two: "2", one: "", three: "3" }, "my-type"), "dgcb6h9tmk"],
  ];
  for (const [name, secret, want] of cases) void test(name, () => assert.equal(secretHash(secret), want));

  test("no data is JSON null, which differs from {}", () => {
    assert.notEqual(secretHash({ name: "", type: "my-type", data: undefined }), "t75bgf6ctb");
  });
  test("encoding/json form, spelled out: keys sorted, immutable between data and kind, <>& escaped", () => {
    const s: SecretView = { name: "a<b", type: "t&u", data: { k: Buffer.from(">").toString("base64") }, immutable: true };
    const json = '{"data":{"k":"Pg=="},"immutable":true,"kind":"Secret","name":"a\\u003cb","type":"t\\u0026u"}';
    const hex = createHash("sha256").update(json).digest("hex").slice(0, 10);
    const want = hex.replace(/[013ae]/g, (c) => ({ "0": "g", "1": "h", "3": "k", a: "m", e: "t" })[c] ?? c);
    assert.equal(secretHash(s), want);
  });
  test("non-canonical base64 from a hand-written list is read as bytes", () => {
    assert.equal(secretHash({ name: "", type: "my-type", data: { three: "Mw", two: "Mg==", one: "" } }), "dgcb6h9tmk");
  });
  test("only [0-9a-z] without vowels a/e and digits 0,1,3", () => assert.match(secretHash(aSecret("x", { k: "v" })), /^[2456789bcdfghkmt]{10}$/));
});

describe("the upgrade.cattle.io/digest annotation (wrangler data.Object.String of the Plan as Go JSON)", () => {
  const plan = aPlan()
    .withConcurrency(2)
    .withUpgrade({
      image: "rancher/k3s-upgrade",
      args: ["first", "second"],
      envs: [
        { name: "FOO", value: "bar" },
        { name: "B", value: "2" },
      ],
    })
    .withSecrets({ name: "creds", path: "creds" })
    .with((s) => {
      s.postCompleteDelay = "5m";
      s.drain = { deleteLocalData: false, force: false, timeout: 300000000000 };
      s.exclusive = false;
      s.postCompleteLabels = { "example.com/upgraded": "yes", a: " padded " };
    })
    .build();
  const cases: Array<[string, string]> = [
    ["spec.concurrency", "2"],
    ["spec.upgrade.image", "rancher/k3s-upgrade"],
    ["spec.upgrade.args", "first"], // a slice stands for its first element (convert.Singular)
    ["spec.upgrade.envs", "map[name:FOO value:bar]"],
    ["spec.upgrade", "map[args:[first second] envs:[map[name:FOO value:bar] map[name:B value:2]] image:rancher/k3s-upgrade]"],
    ["spec.secrets", "map[name:creds path:creds]"], // ignoreUpdates false is omitempty
    ["spec.postCompleteDelay", "5m0s"], // metav1.Duration re-printed by Go
    ["spec.drain", "map[deleteLocalData:false timeout:300000000000]"], // *bool kept, force false dropped
    ["spec.exclusive", ""], // false is omitempty
    ["spec.postCompleteLabels", "map[a: padded  example.com/upgraded:yes]"],
    ["spec.postCompleteLabels.a", "padded"], // TrimSpace
    ["spec.nothing", ""],
    [" spec.concurrency", ""], // entries are not trimmed
    ["spec.upgrade.args.0", ""], // paths walk maps only
    ["metadata.name", "upgrade"],
    ["spec.version", "v1.30.4"],
  ];
  for (const [path, want] of cases) {
    test(JSON.stringify(path), () =>
      assert.deepEqual(digestAnnotationParts({ ...plan, metadata: { ...plan.metadata, annotations: { "upgrade.cattle.io/digest": path } } }), [want]),
    );
  }

  test("the parts follow version and service account, in annotation order", () => {
    const p = aPlan()
      .withServiceAccount("sa")
      .withConcurrency(3)
      .withAnnotations({ "upgrade.cattle.io/digest": "spec.upgrade.envs,spec.concurrency" })
      .withUpgrade({ envs: [{ name: "K", value: "v" }] })
      .build();
    assert.equal(hashOf(planHash(p, "v1", none)), sha224("v1" + "sa" + "map[name:K value:v]" + "3"));
  });
  test("an empty annotation adds nothing", () => {
    const p = aPlan().withAnnotations({ "upgrade.cattle.io/digest": "" }).build();
    assert.equal(hashOf(planHash(p, "v1", none)), sha224("v1"));
  });
  test("editing a digested field changes the hash", () => {
    const p = (n: number) => aPlan().withConcurrency(n).withAnnotations({ "upgrade.cattle.io/digest": "spec.concurrency" }).build();
    assert.notEqual(hashOf(planHash(p(1), "v1", none)), hashOf(planHash(p(2), "v1", none)));
  });
  test("absent non-omitempty Go fields appear as zero values", () => {
    const p = aPlan().withSecrets({ name: "s", path: "" }).withAnnotations({ "upgrade.cattle.io/digest": "spec.secrets" }).build();
    assert.deepEqual(digestAnnotationParts(p), ["map[name:s path:]"]);
  });
});

describe("wranglerToString (convert.ToString)", () => {
  const cases: Array<[string, unknown, string]> = [
    ["nil", undefined, ""],
    ["empty slice", [], ""],
    ["slice of strings", ["a", "b"], "a"],
    ["number", 42, "42"],
    ["bool", true, "true"],
    ["nested nil", { a: null }, "map[a:<nil>]"],
    ["keys in byte order", { b: 1, B: 2, a: [1, "x"] }, "map[B:2 a:[1 x] b:1]"],
    ["Go's TrimSpace, not JS trim", "\u0085x\ufeff", "x\ufeff"],
  ];
  for (const [name, v, want] of cases) void test(name, () => assert.equal(wranglerToString(v), want));
});

describe("formatGoDuration (time.Duration.String)", () => {
  const cases: Array<[bigint, string]> = [
    [0n, "0s"],
    [1n, "1ns"],
    [1500n, "1.5\u00b5s"],
    [300_000_000n, "300ms"],
    [1_500_000_000n, "1.5s"],
    [90_000_000_000n, "1m30s"],
    [300_000_000_000n, "5m0s"],
    [3_600_000_000_000n, "1h0m0s"],
    [-5_000_000_000n, "-5s"],
  ];
  for (const [ns, want] of cases) void test(want, () => assert.equal(formatGoDuration(ns), want));
});
