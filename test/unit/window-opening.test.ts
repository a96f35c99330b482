// When a closed window opens next (issue 10, item 1: "outside the window" says when it opens).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { TimeWindowSpec } from "../../src/generated/plan.ts";
import { isWindowOpen } from "../../src/plan/window.ts";
import { nextOpening } from "../../src/plan/window-opening.ts";

const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString().replace(/\.000Z$/, "Z"));

describe("nextOpening: the first open instant after a closed one", () => {
  const cases: Array<[string, TimeWindowSpec, string, string | undefined]> = [
    [
      "SUC days form, in a time zone",
      { days: ["monday"], startTime: "02:00", endTime: "06:00", timeZone: "America/New_York" },
      "2026-12-02T01:00:00Z",
      "2026-12-07T07:00:00Z",
    ],
    ["later the same day", { days: ["wednesday"], startTime: "02:30:15", endTime: "03:00", timeZone: "UTC" }, "2026-12-02T01:00:00Z", "2026-12-02T02:30:15Z"],
    [
      "a window that wraps opens at the allowed day's midnight (kured reads the weekday of now)",
      { days: ["friday"], startTime: "22:00", endTime: "02:00" },
      "2026-12-02T01:00:00Z",
      "2026-12-04T00:00:00Z",
    ],
    [
      "the day DST starts (Berlin skips 02:00-03:00)",
      { days: ["sunday"], startTime: "03:30", endTime: "04:00", timeZone: "Europe/Berlin" },
      "2026-03-27T12:00:00Z",
      "2026-03-29T01:30:00Z",
    ],
    [
      "the day DST ends (Berlin repeats 02:00-03:00)",
      { days: ["sunday"], startTime: "01:30", endTime: "04:00", timeZone: "Europe/Berlin" },
      "2026-10-24T12:00:00Z",
      "2026-10-24T23:30:00Z",
    ],
    ["cron form: the next match", { cron: "0 2 * * 1", duration: "1h", timeZone: "Europe/London" }, "2026-12-02T01:00:00Z", "2026-12-07T02:00:00Z"],
    ["a cron that matches once a year: not within 8 days", { cron: "0 2 1 1 *", duration: "1h" }, "2026-12-02T01:00:00Z", undefined],
  ];
  for (const [what, w, now, want] of cases) {
    it(what, () => {
      const t = Date.parse(now);
      assert.equal(isWindowOpen(w, new Date(t)), false, "closed at now");
      const got = nextOpening(w, t);
      assert.equal(iso(got), want);
      if (got !== undefined) {
        assert.equal(isWindowOpen(w, new Date(got)), true, "open then");
        assert.equal(isWindowOpen(w, new Date(got - 1000)), false, "and closed a second before");
      }
    });
  }
});
