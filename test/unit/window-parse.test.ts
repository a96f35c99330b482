import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { TimeWindowSpec } from "../../src/generated/plan.ts";
import { parseClockTime, parseDay, parseWindow } from "../../src/plan/window.ts";

describe("parseDay: kured's day names", () => {
  const table: [string, number | undefined][] = [
    ["0", 0],
    ["6", 6],
    ["7", undefined],
    ["-1", undefined],
    ["su", 0],
    ["sun", 0],
    ["sunday", 0],
    ["Sunday", 0],
    ["MON", 1],
    ["tu", 2],
    ["wed", 3],
    ["thursday", 4],
    ["fr", 5],
    ["sat", 6],
    ["funday", undefined],
    ["", undefined],
  ];
  for (const [text, day] of table) it(`"${text}" -> ${String(day)}`, () => assert.equal(parseDay(text), day));
});

describe("parseClockTime: the Go layouts kured tries", () => {
  const h = (hh: number, mm = 0, ss = 0): number => hh * 3600 + mm * 60 + ss;
  const table: [string, number | undefined][] = [
    ["01:00", h(1)],
    ["1:00", h(1)],
    ["23:59", h(23, 59)],
    ["01:02:03", h(1, 2, 3)],
    ["01:00am", h(1)],
    ["12:30am", h(0, 30)],
    ["12:30pm", h(12, 30)],
    ["03pm", h(15)],
    ["3pm", h(15)],
    ["11pm", h(23)],
    ["15", h(15)],
    ["7", h(7)],
    ["24:00", undefined],
    ["01:60", undefined],
    ["1:00am", undefined], // Go's "03" wants two digits
    ["01:00AM", undefined], // Go's "pm" is lower case only
    ["13pm", undefined],
    ["1:2", undefined],
    [" 01:00", undefined],
    ["noon", undefined],
  ];
  for (const [text, sec] of table) it(`"${text}" -> ${String(sec)}`, () => assert.equal(parseClockTime(text), sec));
});

describe("parseWindow reports each problem at its field", () => {
  const table: { name: string; window: TimeWindowSpec; errors: string[]; warnings?: string[] }[] = [
    { name: "days form", window: { days: ["sat", "0"], startTime: "01:00", endTime: "04:00", timeZone: "Europe/Berlin" }, errors: [] },
    { name: "cron form", window: { cron: "0 1 * * 6", duration: "3h", timeZone: "Asia/Tokyo" }, errors: [] },
    { name: "empty", window: {}, errors: ["spec.window"] },
    { name: "only a time zone", window: { timeZone: "UTC" }, errors: ["spec.window"] },
    { name: "both forms", window: { days: ["sat"], startTime: "01:00", endTime: "02:00", cron: "0 1 * * *", duration: "1h" }, errors: ["spec.window"] },
    { name: "days without times", window: { days: ["sat"] }, errors: ["spec.window.startTime", "spec.window.endTime"] },
    { name: "times without days", window: { startTime: "01:00", endTime: "02:00" }, errors: ["spec.window.days"] },
    { name: "a bad day among good", window: { days: ["sat", "someday"], startTime: "01:00", endTime: "02:00" }, errors: ["spec.window.days[1]"] },
    { name: "bad times", window: { days: ["sat"], startTime: "1am", endTime: "26:00" }, errors: ["spec.window.endTime"] },
    { name: "unknown zone", window: { days: ["sat"], startTime: "01:00", endTime: "02:00", timeZone: "Europe/Atlantis" }, errors: ["spec.window.timeZone"] },
    { name: "offset instead of a zone name", window: { cron: "0 1 * * *", duration: "1h", timeZone: "+01:00" }, errors: ["spec.window.timeZone"] },
    { name: "cron without duration", window: { cron: "0 1 * * *" }, errors: ["spec.window.duration"] },
    { name: "duration without cron", window: { duration: "1h" }, errors: ["spec.window.cron"] },
    { name: "four cron fields", window: { cron: "0 1 * *", duration: "1h" }, errors: ["spec.window.cron"] },
    { name: "cron out of range", window: { cron: "0 24 * * *", duration: "1h" }, errors: ["spec.window.cron"] },
    { name: "negative duration", window: { cron: "0 1 * * *", duration: "-1h" }, errors: ["spec.window.duration"] },
    { name: "unreadable duration", window: { cron: "0 1 * * *", duration: "1 hour" }, errors: ["spec.window.duration"] },
    { name: "one-second window", window: { days: ["sat"], startTime: "01:00", endTime: "01:00" }, errors: [], warnings: ["spec.window"] },
    { name: "Local zone", window: { days: ["sat"], startTime: "01:00", endTime: "02:00", timeZone: "Local" }, errors: [], warnings: ["spec.window.timeZone"] },
  ];
  for (const c of table) {
    it(c.name, () => {
      const { window, problems } = parseWindow(c.window);
      const of = (s: string): string[] => problems.filter((p) => p.severity === s).map((p) => p.path);
      assert.deepEqual(of("error"), c.errors);
      assert.deepEqual(of("warning"), c.warnings ?? []);
      assert.equal(window !== undefined, c.errors.length === 0, "a parsed window exactly when there is no error");
    });
  }

  it("the 'bad times' case names both times when both are wrong", () => {
    const { problems } = parseWindow({ days: ["sat"], startTime: "25:00", endTime: "26:00" });
    assert.deepEqual(
      problems.map((p) => p.path),
      ["spec.window.startTime", "spec.window.endTime"],
    );
  });

  it("uses the given path prefix", () => {
    assert.deepEqual(
      parseWindow({}, "w").problems.map((p) => p.path),
      ["w"],
    );
  });
});
