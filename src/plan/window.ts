// Maintenance windows. Two forms:
// - SUC's: days + startTime + endTime (+ timeZone), read exactly as SUC reads it through kured's
//   timewindow package, so a SUC Plan opens and closes at the same instants here;
// - plan-runner's: a five-field cron expression + a Go duration (+ timeZone): each match opens the
//   window for that long.
// The window only gates the start of a node: a node that started inside finishes outside (as in SUC).
import { CronExpressionParser } from "cron-parser";
import type { TimeWindowSpec } from "../generated/plan.ts";
import { parseGoDuration } from "./duration.ts";
import { type Problem, error, warning } from "./problem.ts";

export type ParsedWindow =
  | {
      readonly form: "days";
      readonly days: ReadonlySet<number>;
      /** Seconds since local midnight. */
      readonly startSec: number;
      readonly endSec: number;
      /** IANA name. */
      readonly timeZone: string;
    }
  | { readonly form: "cron"; readonly cron: string; readonly durationMs: number; readonly timeZone: string };

export interface WindowParse {
  /** Present when there is no error. */
  readonly window?: ParsedWindow;
  readonly problems: readonly Problem[];
}

const DAY_NAMES: Readonly<Record<string, number>> = {
  su: 0,
  sun: 0,
  sunday: 0,
  mo: 1,
  mon: 1,
  monday: 1,
  tu: 2,
  tue: 2,
  tuesday: 2,
  we: 3,
  wed: 3,
  wednesday: 3,
  th: 4,
  thu: 4,
  thursday: 4,
  fr: 5,
  fri: 5,
  friday: 5,
  sa: 6,
  sat: 6,
  saturday: 6,
};

/** kured parses numbers with strconv.Atoi, so "+1" and "01" are days too; names are case-insensitive. */
export function parseDay(text: string): number | undefined {
  if (/^[+-]?\d+$/.test(text)) {
    const n = Number(text);
    return n >= 0 && n <= 6 ? n : undefined;
  }
  return DAY_NAMES[text.toLowerCase()];
}

const TWO = "(\\d{2})";
const ONE_OR_TWO = "(\\d{1,2})";
/**
 * kured tries Go layouts "15:04", "15:04:05", "03:04pm", "15", "03pm", "3pm" in turn. Go's "03" wants
 * exactly two digits and its "pm" is lower-case only, so "01:00am" parses and "1:00am" or "1:00AM" do not.
 */
const TIME_LAYOUTS: readonly { re: RegExp; twelveHour: boolean }[] = [
  { re: new RegExp(`^${ONE_OR_TWO}:${TWO}$`), twelveHour: false },
  { re: new RegExp(`^${ONE_OR_TWO}:${TWO}:${TWO}$`), twelveHour: false },
  { re: new RegExp(`^${TWO}:${TWO}(am|pm)$`), twelveHour: true },
  { re: new RegExp(`^${ONE_OR_TWO}$`), twelveHour: false },
  { re: new RegExp(`^${ONE_OR_TWO}(am|pm)$`), twelveHour: true },
];

/** Seconds since midnight, or undefined when kured would refuse the text. */
export function parseClockTime(text: string): number | undefined {
  for (const { re, twelveHour } of TIME_LAYOUTS) {
    const m = re.exec(text);
    if (m === null) continue;
    const fields = m.slice(1);
    const meridiem = twelveHour ? fields.pop() : undefined;
    const [h = 0, min = 0, sec = 0] = fields.map(Number);
    if (min > 59 || sec > 59) continue;
    let hour = h;
    if (twelveHour) {
      if (hour > 12) continue;
      if (meridiem === "pm" && hour < 12) hour += 12;
      if (meridiem === "am" && hour === 12) hour = 0;
    } else if (hour > 23) continue;
    return hour * 3600 + min * 60 + sec;
  }
  return undefined;
}

const zoneFormats = new Map<string, Intl.DateTimeFormat>();

/** A formatter giving wall-clock parts in `timeZone`, cached: they are costly to build. Throws on an unknown zone. */
function wallClock(timeZone: string): Intl.DateTimeFormat {
  let f = zoneFormats.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      weekday: "short",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    zoneFormats.set(timeZone, f);
  }
  return f;
}

/**
 * Go's time.LoadLocation: "" and "UTC" are UTC, "Local" the controller's own zone, anything else an
 * IANA name. Returns the Intl zone to use, or a problem.
 */
function zoneFor(tz: string | undefined, path: string): { zone?: string; problem?: Problem } {
  if (tz === undefined || tz === "" || tz === "UTC") return { zone: "UTC" };
  if (tz === "Local") {
    return {
      zone: new Intl.DateTimeFormat().resolvedOptions().timeZone,
      problem: warning(path, `"Local" is the controller's own time zone (UTC in most containers); name an IANA zone such as "Europe/Paris"`),
    };
  }
  // Intl also accepts offsets like "+01:00" that Go's LoadLocation refuses: only names pass.
  if (/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(tz)) {
    try {
      wallClock(tz);
      return { zone: tz };
    } catch {
      // fall through to the problem below
    }
  }
  return { problem: error(path, `unknown time zone "${tz}": use an IANA name such as "UTC", "Europe/Berlin" or "America/New_York"`) };
}

const present = (v: unknown): boolean => v !== undefined;

/** SUC's form: days + startTime + endTime. Problems go to `problems`. */
function parseDaysForm(w: TimeWindowSpec, path: string, zone: string | undefined, problems: Problem[]): ParsedWindow | undefined {
  const days = new Set<number>();
  if (w.days === undefined || (Array.isArray(w.days) && w.days.length === 0)) {
    problems.push(error(`${path}.days`, "required with startTime/endTime: without days the window never opens"));
  } else if (Array.isArray(w.days)) {
    w.days.forEach((d, i) => {
      const n = typeof d === "string" ? parseDay(d) : undefined;
      if (n === undefined) {
        problems.push(error(`${path}.days[${i}]`, `unknown day "${String(d)}": use 0-6 (0 is Sunday), su..sa, sun..sat or sunday..saturday`));
      } else days.add(n);
    });
  }
  const clock = (field: "startTime" | "endTime"): number | undefined => {
    const text = w[field];
    if (text === undefined) {
      problems.push(error(`${path}.${field}`, "required with days"));
      return undefined;
    }
    if (typeof text !== "string") return undefined; // the schema reports the type
    const sec = parseClockTime(text);
    if (sec === undefined) {
      problems.push(error(`${path}.${field}`, `cannot read "${text}" as a time: use 15:04, 15:04:05, 15, 03:04pm, 03pm or 3pm`));
    }
    return sec;
  };
  const startSec = clock("startTime");
  const endSec = clock("endTime");
  if (startSec !== undefined && startSec === endSec) {
    problems.push(warning(path, "startTime equals endTime: the window is open for one second a day"));
  }
  if (startSec !== undefined && endSec !== undefined && zone !== undefined) {
    return { form: "days", days, startSec, endSec, timeZone: zone };
  }
  return undefined;
}

/** plan-runner's form: a five-field cron + a Go duration. */
function parseCronForm(w: TimeWindowSpec, path: string, zone: string | undefined, problems: Problem[]): ParsedWindow | undefined {
  let cronOk = false;
  if (w.cron === undefined) {
    problems.push(error(`${path}.cron`, "required with duration"));
  } else if (typeof w.cron === "string") {
    const fields = w.cron.trim().split(/\s+/);
    if (fields.length !== 5) {
      problems.push(error(`${path}.cron`, `"${w.cron}" has ${fields.length} fields; expected 5 (minute hour day-of-month month day-of-week)`));
    } else {
      try {
        CronExpressionParser.parse(w.cron, { tz: zone ?? "UTC" });
        cronOk = true;
      } catch (e: unknown) {
        problems.push(error(`${path}.cron`, `cannot read "${w.cron}": ${e instanceof Error ? e.message : String(e)}`));
      }
    }
  }
  let durationMs: number | undefined;
  if (w.duration === undefined) {
    problems.push(error(`${path}.duration`, "required with cron: how long the window stays open after each match"));
  } else if (typeof w.duration === "string") {
    const d = parseGoDuration(w.duration);
    if (!d.ok) problems.push(error(`${path}.duration`, d.reason));
    else if (d.ms <= 0) problems.push(error(`${path}.duration`, `must be positive, got "${w.duration}": the window would never open`));
    else durationMs = d.ms;
  }
  if (cronOk && durationMs !== undefined && w.cron !== undefined && zone !== undefined) {
    return { form: "cron", cron: w.cron, durationMs, timeZone: zone };
  }
  return undefined;
}

/** Every problem with `w` (at `path`, "spec.window"), and the parsed window when there is no error. */
export function parseWindow(w: TimeWindowSpec, path = "spec.window"): WindowParse {
  const problems: Problem[] = [];
  const daysForm = [w.days, w.startTime, w.endTime].some(present);
  const cronForm = [w.cron, w.duration].some(present);
  const zone = zoneFor(typeof w.timeZone === "string" ? w.timeZone : undefined, `${path}.timeZone`);
  if (zone.problem !== undefined) problems.push(zone.problem);

  if (daysForm && cronForm) {
    problems.push(error(path, "give either days/startTime/endTime or cron/duration, not both"));
  } else if (!daysForm && !cronForm) {
    problems.push(error(path, "a window with neither days/startTime/endTime nor cron/duration never opens, so no node would ever start"));
  }

  let parsed: ParsedWindow | undefined;
  if (daysForm && !cronForm) parsed = parseDaysForm(w, path, zone.zone, problems);
  if (cronForm && !daysForm) parsed = parseCronForm(w, path, zone.zone, problems);

  const hasError = problems.some((p) => p.severity === "error");
  return hasError || parsed === undefined ? { problems } : { window: parsed, problems };
}

const WEEKDAYS: Readonly<Record<string, number>> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

/** Weekday and milliseconds since local midnight of `now` in `timeZone`. */
function localClock(now: Date, timeZone: string): { weekday: number; msOfDay: number } {
  const parts = wallClock(timeZone).formatToParts(now);
  const get = (type: Intl.DateTimeFormatPartTypes): string => parts.find((p) => p.type === type)?.value ?? "0";
  const msOfDay = (Number(get("hour")) * 3600 + Number(get("minute")) * 60 + Number(get("second"))) * 1000 + now.getUTCMilliseconds();
  return { weekday: WEEKDAYS[get("weekday")] ?? 0, msOfDay };
}

/**
 * Is the window open at `now`? No window: always. A window that does not parse: never, as in SUC
 * (its Contains returns false on a parse error), so a bad window holds a rollout rather than ignoring it.
 */
export function isWindowOpen(w: TimeWindowSpec | undefined, now: Date): boolean {
  return compileWindow(w)(now);
}

/** The window read once, as a question to ask at any instant (same rules as isWindowOpen). */
export function compileWindow(w: TimeWindowSpec | undefined): (now: Date) => boolean {
  if (w === undefined) return () => true;
  const { window } = parseWindow(w);
  if (window === undefined) return () => false;
  return window.form === "days" ? (now) => daysWindowOpen(window, now) : (now) => cronWindowOpen(window, now);
}

function daysWindowOpen(w: Extract<ParsedWindow, { form: "days" }>, now: Date): boolean {
  const { weekday, msOfDay } = localClock(now, w.timeZone);
  // kured checks the weekday of `now` itself, even in the after-midnight part of a window that
  // wraps: days [fri] 22:00-02:00 is open on Friday 23:00 and on Friday 01:00, not on Saturday 01:00.
  if (!w.days.has(weekday)) return false;
  const start = w.startSec * 1000;
  const end = w.endSec * 1000 + 999; // kured's end is inclusive to the last nanosecond of endTime's second
  if (w.startSec > w.endSec) return msOfDay <= end || msOfDay >= start;
  return msOfDay >= start && msOfDay <= end;
}

function cronWindowOpen(w: Extract<ParsedWindow, { form: "cron" }>, now: Date): boolean {
  const t = now.getTime();
  // prev() is strictly before currentDate: start just after `now` so a match at `now` counts.
  const expr = CronExpressionParser.parse(w.cron, { tz: w.timeZone, currentDate: new Date(t + 1) });
  const last = expr.prev().getTime();
  return last <= t && t < last + w.durationMs;
}
