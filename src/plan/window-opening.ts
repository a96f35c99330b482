// When a closed window opens next, for a person waiting on it ("window opens 2026-12-07T02:00Z").
// Asked once per pass while the window is closed, so it must be cheap: a cron window's next match
// comes from the cron itself; a days window is tried at each day's startTime (and local midnight,
// where a window that wraps opens again), never minute by minute.
import { CronExpressionParser } from "cron-parser";
import type { TimeWindowSpec } from "../generated/plan.ts";
import { compileWindow, parseWindow } from "./window.ts";

const DAY = 86_400_000;
const HOUR = 3_600_000;
const MINUTE = 60_000;
/** Far enough for any weekly window. */
const HORIZON_DAYS = 8;

const wallClock = (zone: string): Intl.DateTimeFormat =>
  new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", hour: "2-digit", minute: "2-digit", second: "2-digit" });

function msOfDay(clock: Intl.DateTimeFormat, t: number): number {
  const parts = clock.formatToParts(new Date(t));
  const get = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value ?? "0");
  return (get("hour") * 3600 + get("minute") * 60 + get("second")) * 1000 + (t % 1000);
}

/**
 * The first instant after `now` at which the window is open, or undefined when it does not open
 * within 8 days (or does not parse). `now` must be an instant at which it is closed.
 */
export function nextOpening(w: TimeWindowSpec, now: number): number | undefined {
  const { window } = parseWindow(w);
  if (window === undefined) return undefined;
  if (window.form === "cron") {
    const next = CronExpressionParser.parse(window.cron, { tz: window.timeZone, currentDate: new Date(now) })
      .next()
      .getTime();
    return next - now <= HORIZON_DAYS * DAY ? next : undefined;
  }
  const isOpen = compileWindow(w);
  const open = (t: number): boolean => t > now && isOpen(new Date(t));
  const clock = wallClock(window.timeZone);
  const today = msOfDay(clock, now);
  const start = window.startSec * 1000;
  // The window opens at startTime on an allowed day, or at midnight of one for a window that wraps.
  const offsets = [(start - today + DAY) % DAY || DAY, DAY - today];
  for (let d = 0; d < HORIZON_DAYS; d++) {
    const candidates = offsets.map((o) => now + o + d * DAY).sort((a, b) => a - b);
    for (const c of candidates) {
      // A change of UTC offset (DST) moves the local instant by up to an hour: look either side.
      const hit = [c - HOUR, c, c + HOUR].find(open);
      if (hit === undefined) continue;
      let t = hit;
      while (open(t - MINUTE)) t -= MINUTE;
      while (open(t - 1000)) t -= 1000;
      return t;
    }
  }
  return undefined;
}
