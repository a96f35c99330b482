import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { durationMs, parseDrainTimeout, parseGoDuration } from "../../src/plan/duration.ts";

describe("parseGoDuration reads what Go's time.ParseDuration reads", () => {
  const valid: [string, number][] = [
    ["0", 0],
    ["-0", 0],
    ["300ms", 300],
    ["1h30m", 5_400_000],
    ["-5s", -5_000],
    ["+3m", 180_000],
    ["1.5s", 1_500],
    ["1.s", 1_000],
    [".5s", 500],
    ["1500us", 1.5],
    ["2\u00b5s", 0.002],
    ["2\u03bcs", 0.002],
    ["1000000ns", 1],
    ["2h45m30.5s", 9_930_500],
    ["1h1h", 7_200_000],
  ];
  for (const [text, ms] of valid) {
    it(`"${text}" is ${ms} ms`, () => {
      const d = parseGoDuration(text);
      assert.ok(d.ok, `expected "${text}" to parse`);
      assert.ok(Math.abs(d.ms - ms) < 1e-9, `got ${d.ms}`);
    });
  }

  const invalid: [string, RegExp][] = [
    ["", /expected a number and a unit/],
    ["30", /missing unit/],
    ["1d", /unknown unit "d"/],
    ["h", /expected a number/],
    [".s", /expected a number/],
    ["-", /expected a number/],
    ["1 h", /no spaces/],
    ["10 minutes", /no spaces/],
    ["1.2.3s", /missing unit/],
    ["3000000h", /292 years/],
  ];
  for (const [text, why] of invalid) {
    it(`"${text}" is refused, saying why`, () => {
      const d = parseGoDuration(text);
      assert.equal(d.ok, false);
      if (!d.ok) assert.match(d.reason, why);
    });
  }
});

describe("parseDrainTimeout: SUC's IntOrString", () => {
  const table: [number | string, number | undefined][] = [
    [300_000_000_000, 300_000], // an integer is nanoseconds
    [0, 0],
    ["5m", 300_000],
    ["0", 0],
    [-1, undefined],
    [1.5, undefined],
    ["-5m", undefined],
    ["5", undefined],
  ];
  for (const [value, ms] of table) {
    it(`${JSON.stringify(value)} -> ${ms === undefined ? "refused" : `${ms} ms`}`, () => {
      const d = parseDrainTimeout(value);
      if (ms === undefined) assert.equal(d.ok, false);
      else assert.deepEqual(d, { ok: true, ms });
    });
  }
});

describe("durationMs", () => {
  it("returns milliseconds for a valid duration and throws with the reason otherwise", () => {
    assert.equal(durationMs("2m"), 120_000);
    assert.throws(() => durationMs("2 minutes"), /invalid duration "2 minutes"/);
  });
});
