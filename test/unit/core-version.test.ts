import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { imageWithLatestTag, mungeVersion, parseImageReference } from "../../src/controller/rollout/version.ts";

const SHA = "sha256:" + "0123456789abcdef".repeat(4);

describe("mungeVersion ('+' becomes '-', as SUC's MungeVersion)", () => {
  const cases: Array<[string, string]> = [
    ["v1.30.2+k3s1", "v1.30.2-k3s1"],
    ["v1.2.3+a+b", "v1.2.3-a-b"],
    ["v1.30.2", "v1.30.2"],
    ["", ""],
  ];
  for (const [input, want] of cases) void test(JSON.stringify(input), () => assert.equal(mungeVersion(input), want));
});

describe("imageWithLatestTag: SUC's container_test WithLatestTag cases", () => {
  const tag = "test";
  const cases: Array<[string, string]> = [
    ["test/image", "test/image:test"],
    ["test/image:test-with-image-tag", "test/image:test-with-image-tag"],
    ["img.example.com:5000/test/image", "img.example.com:5000/test/image:test"],
    ["img.example.com:5000/test/image:test-with-image-tag", "img.example.com:5000/test/image:test-with-image-tag"],
  ];
  for (const [image, want] of cases) void test(image, () => assert.equal(imageWithLatestTag(image, tag), want));
});

describe("imageWithLatestTag: more references", () => {
  const cases: Array<[string, string, string, string]> = [
    ["official image", "alpine", "v1", "alpine:v1"],
    ["docker.io/library is made familiar", "docker.io/library/alpine", "v1", "alpine:v1"],
    ["index.docker.io is docker.io", "index.docker.io/rancher/k3s-upgrade", "v1.30.2-k3s1", "rancher/k3s-upgrade:v1.30.2-k3s1"],
    ["docker.io user image", "docker.io/rancher/k3s-upgrade", "v1", "rancher/k3s-upgrade:v1"],
    ["localhost registry", "localhost/upgrade", "v1", "localhost/upgrade:v1"],
    ["registry with port, no path", "localhost:5000/upgrade", "v1", "localhost:5000/upgrade:v1"],
    ["registry with port, nested path", "registry.internal:443/platform/ops/upgrade", "v2", "registry.internal:443/platform/ops/upgrade:v2"],
    ["IPv6 registry", "[::1]:5000/upgrade", "v1", "[::1]:5000/upgrade:v1"],
    ["pinned by digest: left alone", `alpine@${SHA}`, "v1", `alpine@${SHA}`],
    ["tag and digest: left alone", `registry:5000/a/b:1.0@${SHA}`, "v1", `registry:5000/a/b:1.0@${SHA}`],
    ["port but no tag is not a tag", "registry:5000/a", "v1", "registry:5000/a:v1"],
    ["upper-case first component is a domain", "Registry/upgrade", "v1", "Registry/upgrade:v1"],
    ["upper-case repository does not parse: left alone", "rancher/Upgrade", "v1", "rancher/Upgrade"],
    ["64-hex identifier: left alone", "0123456789abcdef".repeat(4), "v1", "0123456789abcdef".repeat(4)],
    ["a version that is not a valid tag: left alone", "alpine", "v1+meta", "alpine"],
    ["an empty version: left alone", "alpine", "", "alpine"],
    ["garbage: left alone", "not an image", "v1", "not an image"],
  ];
  for (const [name, image, version, want] of cases) void test(name, () => assert.equal(imageWithLatestTag(image, version), want));
});

describe("parseImageReference", () => {
  test("normalises to docker.io/library", () => {
    assert.deepEqual(parseImageReference("alpine:3.20"), { domain: "docker.io", path: "library/alpine", tag: "3.20", digest: undefined });
  });
  test("keeps a registry port apart from the tag", () => {
    assert.deepEqual(parseImageReference("reg:5000/x/y:1"), { domain: "reg:5000", path: "x/y", tag: "1", digest: undefined });
  });
  test("rejects a digest of the wrong length", () => assert.equal(parseImageReference("alpine@sha256:abcd"), undefined));
  test("rejects names over 255 characters", () => assert.equal(parseImageReference(`reg/${"a".repeat(260)}`), undefined));
});
