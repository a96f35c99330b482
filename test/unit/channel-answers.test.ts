// What a channel's answer may be (issue 9, item 8): a version is an image tag and a label value;
// what the channel sent is quoted escaped; a channel not yet answered is waited for, never awaited.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ChannelPort } from "../../src/controller/kube/ports.ts";
import type { Resolution } from "../../src/controller/rollout/decision.ts";
import { channelResolution, knownVersion } from "../../src/controller/rollout/resolution.ts";
import { quoteUntrusted, versionProblem } from "../../src/controller/rollout/version.ts";
import { ChannelReader } from "../../src/controller/wiring/channel-reader.ts";

describe("versionProblem: a version is a valid image tag and label value", () => {
  const cases: Array<[string, RegExp | undefined]> = [
    ["v1.30.4-k3s2", undefined],
    ["1.35.2", undefined],
    ["v1_2.3", undefined],
    ["a".repeat(63), undefined],
    ["", /empty/],
    ["v1.2.3 evil\nline", /image tag/],
    ["-leading-dash", /image tag/],
    [".leading-dot", /image tag/],
    ["v1.2.3/x", /image tag/],
    ["a".repeat(129), /image tag/],
    ["a".repeat(64), /label value/],
    ["trailing-", /label value/],
    ["_underscore_first_", /label value/],
  ];
  for (const [version, want] of cases) {
    test(JSON.stringify(version.length > 40 ? `${version.slice(0, 10)}... (${version.length})` : version), () => {
      const got = versionProblem(version);
      if (want === undefined) assert.equal(got, undefined);
      else assert.match(got ?? "", want);
    });
  }
});

describe("quoteUntrusted: one line of printable ASCII, cut and said so", () => {
  const cases: Array<[string, string, number?]> = [
    ["v1.2.3", '"v1.2.3"'],
    ["v1.2.3 evil\nline", String.raw`"v1.2.3 evil\nline"`],
    ['say "hi"\\', String.raw`"say \"hi\"\\"`],
    ["\x1b[31mred\r\t", String.raw`"\x1b[31mred\r\t"`],
    ["\u202egnp.exe", String.raw`"\u202egnp.exe"`],
    ["abcdef", '"abc"... (6 characters)', 3],
  ];
  for (const [text, want, max] of cases) test(want, () => assert.equal(quoteUntrusted(text, max), want));
});

describe("channelResolution: the channel's answer, the last known version, or a wait", () => {
  const url = "http://channel.example/stable";
  const answered: Resolution = { version: "v2", source: "Channel" };
  const failed: Resolution = { reason: "ChannelInvalidVersion", message: `channel ${url}: answered "x y", not a version` };
  const cases: Array<{ name: string; answer: Resolution | undefined; lastKnown: string | undefined; want: Resolution }> = [
    { name: "an answer wins", answer: answered, lastKnown: "v1", want: answered },
    { name: "a failure keeps the last known version, told", answer: failed, lastKnown: "v1", want: { version: "v1", source: "Channel", error: failed } },
    { name: "a failure without a last known version is no version", answer: failed, lastKnown: undefined, want: failed },
    {
      name: "not answered yet: the last known version, and the wait",
      answer: undefined,
      lastKnown: "v1",
      want: { version: "v1", source: "Channel", resolving: `resolving channel ${url}` },
    },
    {
      name: "not answered yet, nothing known: resolving",
      answer: undefined,
      lastKnown: undefined,
      want: { reason: "Resolving", message: `resolving channel ${url}: no answer yet`, resolving: `resolving channel ${url}` },
    },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(channelResolution(url, c.answer, c.lastKnown), c.want));

  test("a status version that is no version (an older controller took it) is not known", () => {
    assert.equal(knownVersion("v1.2.3 evil\nline"), undefined);
    assert.equal(knownVersion("v1.2.3"), "v1.2.3");
    assert.equal(knownVersion(undefined), undefined);
  });
});

/** A channel port whose answers the test hands out, one pending request per call. */
function scriptedChannel(): { port: ChannelPort; calls: Array<{ url: string; answer: (r: Resolution) => void; signal?: AbortSignal | undefined }> } {
  const calls: Array<{ url: string; answer: (r: Resolution) => void; signal?: AbortSignal | undefined }> = [];
  const port: ChannelPort = { latest: (url, opts) => new Promise((resolve) => calls.push({ url, answer: resolve, signal: opts.signal })) };
  return { port, calls };
}

const settled = (): Promise<void> => new Promise((r) => setImmediate(r));

describe("ChannelReader: the reconcile never waits for a channel", () => {
  const setup = () => {
    const { port, calls } = scriptedChannel();
    let now = 1_000_000;
    const requeued: string[] = [];
    const reader = new ChannelReader({ channel: port, now: () => now, pollMs: 60_000, timeoutMs: 10_000, onAnswer: (keys) => requeued.push(...keys) });
    return { reader, calls, requeued, advance: (ms: number) => (now += ms) };
  };

  test("a first read returns at once with no answer; one request per URL however many Plans read it; readers queued when it lands", async () => {
    const { reader, calls, requeued } = setup();
    assert.deepEqual(reader.read("ns/a", "http://c/stable", undefined), { answer: undefined, asking: true });
    assert.deepEqual(reader.read("ns/b", "http://c/stable", undefined), { answer: undefined, asking: true });
    assert.equal(calls.length, 1);
    calls[0]!.answer({ version: "v1", source: "Channel" });
    await settled();
    assert.deepEqual(requeued.sort(), ["ns/a", "ns/b"]);
    assert.deepEqual(reader.read("ns/a", "http://c/stable", undefined), { answer: { version: "v1", source: "Channel" }, asking: false });
    assert.equal(calls.length, 1, "a fresh answer is not asked again");
  });

  test("a stale answer is used while the channel is asked again", async () => {
    const { reader, calls, advance } = setup();
    reader.read("ns/a", "http://c/stable", undefined);
    calls[0]!.answer({ version: "v1", source: "Channel" });
    await settled();
    advance(60_000);
    assert.deepEqual(reader.read("ns/a", "http://c/stable", undefined), { answer: { version: "v1", source: "Channel" }, asking: true });
    assert.equal(calls.length, 2);
  });

  test("asked again with the version it gave in the header, the channel's last answer is kept meanwhile", async () => {
    const { reader, calls } = setup();
    reader.read("ns/a", "http://c/stable", undefined);
    const answer: Resolution = { version: "v1", source: "Channel", message: "v1 from channel http://c/stable (redirected to elsewhere.example)" };
    calls[0]!.answer(answer);
    await settled();
    assert.deepEqual(reader.read("ns/a", "http://c/stable", "v1"), { answer, asking: true });
    assert.equal(calls.length, 2, "asked again, with the header");
    assert.deepEqual(reader.read("ns/b", "http://c/other", "v1"), { answer: undefined, asking: true }, "another URL's answer is not taken");
  });

  test("forget gives up the requests under way; their late answers are dropped", async () => {
    const { reader, calls, requeued } = setup();
    reader.read("ns/a", "http://c/hang", undefined);
    reader.forget();
    assert.equal(calls[0]!.signal?.aborted, true);
    calls[0]!.answer({ version: "late", source: "Channel" });
    await settled();
    assert.deepEqual(requeued, []);
    assert.deepEqual(reader.read("ns/a", "http://c/hang", undefined), { answer: undefined, asking: true });
  });
});
