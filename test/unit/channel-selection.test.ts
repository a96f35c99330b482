// The `kubernetes` channel's rules (issue 11), one row per rule, plus the index parser, the
// per-minor cache and the schedule windows.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PackageIndex, indexUrl } from "../../src/channel/package-index.ts";
import { type MinorIndex, kubeadmReleases, selectRelease } from "../../src/channel/release-selection.ts";
import { windowValue } from "../../src/channel/schedule.ts";

/** A Packages file publishing these kubeadm versions (Debian versions), with other packages around them. */
function packages(...kubeadm: string[]): string {
  const other = (v: string) => `Package: kubelet\nVersion: ${v}\nArchitecture: amd64\nDescription: node agent\n multi-line description\n`;
  return kubeadm.map((v) => `${other(v)}\nPackage: kubeadm\nArchitecture: amd64\nVersion: ${v}\nFilename: pool/kubeadm_${v}_amd64.deb\n`).join("\n");
}
const index = (...kubeadm: string[]): MinorIndex => {
  const r = kubeadmReleases(packages(...kubeadm));
  assert.ok("releases" in r, "the fixture parses");
  return { kind: "releases", releases: r.releases };
};
const absent: MinorIndex = { kind: "absent" };

describe("selectRelease: the kubernetes channel's rules", () => {
  const rows: { name: string; nodes: string[]; current: MinorIndex; next: MinorIndex; want: string }[] = [
    { name: "a newer patch of the running minor", nodes: ["v1.35.1"], current: index("1.35.0-1.1", "1.35.1-1.1", "1.35.2-1.1"), next: absent, want: "v1.35.2" },
    {
      name: "a newer patch wins over a published next minor (never a jump before the patch)",
      nodes: ["v1.35.1"],
      current: index("1.35.1-1.1", "1.35.3-1.1"),
      next: index("1.36.0-1.1"),
      want: "v1.35.3",
    },
    {
      name: "on the newest patch, next minor published: its newest patch",
      nodes: ["v1.35.2"],
      current: index("1.35.2-1.1"),
      next: index("1.36.0-1.1", "1.36.1-1.1"),
      want: "v1.36.1",
    },
    {
      name: "on the newest patch, next minor absent: what runs",
      nodes: ["v1.35.2"],
      current: index("1.35.1-1.1", "1.35.2-1.1"),
      next: absent,
      want: "v1.35.2",
    },
    {
      name: "next minor's repository exists but publishes no kubeadm: what runs",
      nodes: ["v1.35.2"],
      current: index("1.35.2-1.1"),
      next: { kind: "releases", releases: [] },
      want: "v1.35.2",
    },
    {
      name: "the running minor's repository is gone: the next minor still counts",
      nodes: ["v1.35.2"],
      current: absent,
      next: index("1.36.0-1.1"),
      want: "v1.36.0",
    },
    {
      name: "mixed patches: the oldest kubelet decides, the newest patch is the answer",
      nodes: ["v1.35.2", "v1.35.0"],
      current: index("1.35.0-1.1", "1.35.2-1.1"),
      next: absent,
      want: "v1.35.2",
    },
    {
      name: "mixed minors (half-upgraded): never older than the newest kubelet, finish its minor",
      nodes: ["v1.35.2", "v1.34.5"],
      current: index("1.34.5-1.1", "1.34.6-1.1"),
      next: index("1.35.2-1.1", "1.35.3-1.1"),
      want: "v1.35.3",
    },
    {
      name: "mixed minors, nothing newer published: the newest kubelet, not an older patch",
      nodes: ["v1.35.2", "v1.34.5"],
      current: index("1.34.6-1.1"),
      next: index("1.35.1-1.1"),
      want: "v1.35.2",
    },
    {
      name: "pre-releases are ignored (Debian ~)",
      nodes: ["v1.35.2"],
      current: index("1.35.2-1.1", "1.35.3~rc.0-1.1"),
      next: index("1.36.0~rc.1-1.1"),
      want: "v1.35.2",
    },
    {
      name: "a next minor with only pre-releases is not published",
      nodes: ["v1.35.2"],
      current: index("1.35.2-1.1"),
      next: index("1.36.0~beta.0-1.1"),
      want: "v1.35.2",
    },
    {
      name: "'+' build metadata on a kubelet is read as its release",
      nodes: ["v1.35.1+k3s1"],
      current: index("1.35.1-1.1", "1.35.2-1.1"),
      next: absent,
      want: "v1.35.2",
    },
    { name: "'+' build metadata in the index is dropped", nodes: ["v1.35.1"], current: index("1.35.2+build.7-1.1"), next: absent, want: "v1.35.2" },
    { name: "an epoch in the Debian version is dropped", nodes: ["v1.35.1"], current: index("1:1.35.4-1.1"), next: absent, want: "v1.35.4" },
    { name: "versions of another minor in an index are not taken", nodes: ["v1.35.1"], current: index("1.37.0-1.1"), next: absent, want: "v1.35.1" },
    {
      name: "a kubelet newer than anything published: what runs, never older",
      nodes: ["v1.35.9"],
      current: index("1.35.2-1.1"),
      next: absent,
      want: "v1.35.9",
    },
  ];
  for (const r of rows) {
    it(r.name, () => {
      const got = selectRelease(r.nodes, r.current, r.next);
      assert.equal("version" in got ? got.version : got.error, r.want);
    });
  }

  const errors: { name: string; nodes: string[]; current: MinorIndex; next: MinorIndex; want: RegExp }[] = [
    {
      name: "the running minor's index failing is an error, not a guess",
      nodes: ["v1.35.1"],
      current: { kind: "error", reason: "HTTP 500" },
      next: absent,
      want: /1\.35 index: HTTP 500/,
    },
    {
      name: "the next minor's index failing when it matters is an error",
      nodes: ["v1.35.2"],
      current: index("1.35.2-1.1"),
      next: { kind: "error", reason: "unreachable" },
      want: /1\.36 index: unreachable/,
    },
    { name: "no node", nodes: [], current: absent, next: absent, want: /no node/ },
    { name: "no readable kubelet", nodes: ["", "garbage"], current: absent, next: absent, want: /no node reports a readable kubelet version/ },
    {
      name: "nodes two minors apart: kubeadm cannot, say so",
      nodes: ["v1.33.1", "v1.35.0"],
      current: index("1.33.2-1.1"),
      next: absent,
      want: /more than one minor/,
    },
  ];
  for (const r of errors) {
    it(`error: ${r.name}`, () => {
      const got = selectRelease(r.nodes, r.current, r.next);
      assert.ok("error" in got, `expected an error, got ${JSON.stringify(got)}`);
      assert.match(got.error, r.want);
    });
  }

  it("a patch is taken even when the next minor's index is failing", () => {
    const got = selectRelease(["v1.35.1"], index("1.35.2-1.1"), { kind: "error", reason: "unreachable" });
    assert.deepEqual("version" in got && got.version, "v1.35.2");
  });
});

describe("kubeadmReleases: a Debian Packages file", () => {
  it("reads only kubeadm stanzas' versions", () => {
    const r = kubeadmReleases(packages("1.35.0-1.1", "1.35.1-1.1"));
    assert.deepEqual("releases" in r && r.releases.map((x) => x.text), ["1.35.0", "1.35.1"]);
  });
  it("an empty index publishes nothing (not malformed)", () => assert.deepEqual(kubeadmReleases(""), { releases: [] }));
  for (const [name, text] of [
    ["an HTML page", "<html><body>Not here</body></html>\n"],
    ["a stanza without Package", "Version: 1.35.1-1.1\nArchitecture: amd64\n"],
    ["kubeadm without a Version", "Package: kubeadm\nArchitecture: amd64\n"],
  ] as const) {
    it(`${name} is malformed`, () => assert.ok("malformed" in kubeadmReleases(text)));
  }
});

describe("PackageIndex: one fetch per minor per TTL, concurrent asks coalesced", () => {
  it("caches per minor and refetches after the TTL", async () => {
    let now = 0;
    const asked: string[] = [];
    const fake = ((url: string) => {
      asked.push(url);
      return Promise.resolve(url.includes("v1.36") ? new Response("nope", { status: 404 }) : new Response(packages("1.35.2-1.1")));
    }) as unknown as typeof fetch;
    const idx = new PackageIndex({ base: "http://repo.test/stable", ttlMs: 1000, timeoutMs: 1000, now: () => now, fetch: fake });
    const answers = await Promise.all([idx.lookup([1, 35]), idx.lookup([1, 35]), idx.lookup([1, 36]), idx.lookup([1, 35])]);
    assert.deepEqual(asked, ["http://repo.test/stable/v1.35/deb/Packages", "http://repo.test/stable/v1.36/deb/Packages"]);
    assert.equal(answers[2]?.kind, "absent");
    now = 999;
    await idx.lookup([1, 35]);
    assert.equal(asked.length, 2, "still within the TTL");
    now = 1000;
    await idx.lookup([1, 35]);
    assert.equal(asked.length, 3, "refetched after the TTL");
  });
  it("a base with {minor} is a template", () => assert.equal(indexUrl("http://m.test/k8s/{minor}/Packages", [1, 36]), "http://m.test/k8s/v1.36/Packages"));
  it("a 5xx is an error, a 403 is a missing repository", async () => {
    for (const [status, kind] of [
      [503, "error"],
      [403, "absent"],
    ] as const) {
      const fake = (() => Promise.resolve(new Response("x", { status }))) as unknown as typeof fetch;
      const idx = new PackageIndex({ base: "http://repo.test", ttlMs: 1000, timeoutMs: 1000, fetch: fake });
      assert.equal((await idx.lookup([1, 35])).kind, kind);
    }
  });
});

describe("schedule windows: one value per window, a valid label value and image tag", () => {
  const rows = [
    ["weekly", "2026-11-30T10:00:00Z", "2026-w49"],
    ["weekly", "2026-12-06T23:59:59Z", "2026-w49"],
    ["weekly", "2026-12-07T00:00:00Z", "2026-w50"],
    ["weekly", "2027-01-01T00:00:00Z", "2026-w53"],
    ["daily", "2026-11-30T23:59:59Z", "2026-11-30"],
    ["monthly", "2026-11-30T23:59:59Z", "2026-11"],
  ] as const;
  for (const [period, at, want] of rows) {
    it(`${period} at ${at} is ${want}`, () => {
      const got = windowValue(period, new Date(at));
      assert.equal(got, want);
      assert.match(got, /^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$/);
    });
  }
});
