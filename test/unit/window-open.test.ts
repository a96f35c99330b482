import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { TimeWindowSpec } from "../../src/generated/plan.ts";
import { isWindowOpen } from "../../src/plan/window.ts";

// 2026-03-06 is a Friday, 2026-03-07 a Saturday. Paris is UTC+1 in March and UTC+2 in July.
const at = (iso: string): Date => new Date(iso);

interface Case {
  readonly name: string;
  readonly window: TimeWindowSpec | undefined;
  readonly now: string;
  readonly open: boolean;
}

const satNight: TimeWindowSpec = { days: ["sat"], startTime: "01:00", endTime: "04:00" };
const friAcrossMidnight: TimeWindowSpec = { days: ["fr"], startTime: "22:00", endTime: "02:00" };
const parisSat: TimeWindowSpec = { days: ["6"], startTime: "01:00", endTime: "04:00", timeZone: "Europe/Paris" };
const weeknightsParis: TimeWindowSpec = { cron: "0 22 * * 1-5", duration: "6h", timeZone: "Europe/Paris" };

const cases: Case[] = [
  { name: "no window: always open", window: undefined, now: "2026-03-07T12:00:00Z", open: true },
  { name: "days: before the start", window: satNight, now: "2026-03-07T00:59:59Z", open: false },
  { name: "days: at the start", window: satNight, now: "2026-03-07T01:00:00Z", open: true },
  { name: "days: inside", window: satNight, now: "2026-03-07T02:30:00Z", open: true },
  { name: "days: within endTime's last second (kured's end is inclusive)", window: satNight, now: "2026-03-07T04:00:00.999Z", open: true },
  { name: "days: after the end", window: satNight, now: "2026-03-07T04:00:01Z", open: false },
  { name: "days: right hours, wrong day", window: satNight, now: "2026-03-08T02:00:00Z", open: false },
  { name: "across midnight: the evening part", window: friAcrossMidnight, now: "2026-03-06T23:00:00Z", open: true },
  { name: "across midnight: the early part of the same weekday (kured)", window: friAcrossMidnight, now: "2026-03-06T01:00:00Z", open: true },
  { name: "across midnight: the next day's early hours are another weekday (kured)", window: friAcrossMidnight, now: "2026-03-07T01:00:00Z", open: false },
  { name: "across midnight: midday is outside", window: friAcrossMidnight, now: "2026-03-06T12:00:00Z", open: false },
  { name: "time zone: 00:30 UTC is 01:30 in Paris (winter)", window: parisSat, now: "2026-03-07T00:30:00Z", open: true },
  { name: "time zone: 03:30 UTC is 04:30 in Paris (winter)", window: parisSat, now: "2026-03-07T03:30:00Z", open: false },
  { name: "time zone: 23:30 UTC Friday is Saturday 01:30 in Paris (summer)", window: parisSat, now: "2026-07-03T23:30:00Z", open: true },
  { name: "time zone: 02:30 UTC is 04:30 in Paris (summer)", window: parisSat, now: "2026-07-04T02:30:00Z", open: false },
  { name: "12-hour clock: 10pm to 03am", window: { days: ["sunday"], startTime: "10pm", endTime: "03am" }, now: "2026-03-08T22:30:00Z", open: true },
  { name: "cron: exactly at a match", window: weeknightsParis, now: "2026-03-10T21:00:00Z", open: true },
  { name: "cron: one second before a match", window: weeknightsParis, now: "2026-03-10T20:59:59Z", open: false },
  { name: "cron: Tuesday 23:00 Paris", window: weeknightsParis, now: "2026-03-10T22:00:00Z", open: true },
  { name: "cron: Wednesday 03:59 Paris, still inside Tuesday's six hours", window: weeknightsParis, now: "2026-03-11T02:59:00Z", open: true },
  { name: "cron: Wednesday 04:00 Paris, the six hours are over", window: weeknightsParis, now: "2026-03-11T03:00:00Z", open: false },
  { name: "cron: Saturday 02:00 Paris, inside Friday night's window", window: weeknightsParis, now: "2026-03-07T01:00:00Z", open: true },
  { name: "cron: Saturday 23:00 Paris, no match on weekends", window: weeknightsParis, now: "2026-03-07T22:00:00Z", open: false },
  { name: "cron in UTC by default", window: { cron: "30 1 * * *", duration: "30m" }, now: "2026-03-07T01:45:00Z", open: true },
  {
    name: "an invalid window never opens (as in SUC)",
    window: { days: ["funday"], startTime: "01:00", endTime: "04:00" },
    now: "2026-03-07T02:00:00Z",
    open: false,
  },
  { name: "an empty window never opens", window: {}, now: "2026-03-07T02:00:00Z", open: false },
];

describe("isWindowOpen", () => {
  for (const c of cases) {
    it(`${c.name}: ${c.open ? "open" : "closed"}`, () => {
      assert.equal(isWindowOpen(c.window, at(c.now)), c.open);
    });
  }
});
