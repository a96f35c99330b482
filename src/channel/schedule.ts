// The `schedule` channel: one new value per window, for Plans that should run again periodically
// (OS patches, the way kured reboots come round). The value is the window's start, UTC, written
// so that it is both a valid label value and a valid image tag.
export const PERIODS = ["daily", "weekly", "monthly"] as const;
export type Period = (typeof PERIODS)[number];

const pad = (n: number): string => String(n).padStart(2, "0");

/** ISO 8601 week of a UTC date: the week with the year's first Thursday is week 1. */
function isoWeek(d: Date): { year: number; week: number } {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const day = t.getUTCDay() === 0 ? 7 : t.getUTCDay();
  t.setUTCDate(t.getUTCDate() + 4 - day);
  const yearStart = Date.UTC(t.getUTCFullYear(), 0, 1);
  return { year: t.getUTCFullYear(), week: Math.ceil(((t.getTime() - yearStart) / 86_400_000 + 1) / 7) };
}

/** "2026-11-30" (daily), "2026-w49" (weekly, ISO week), "2026-11" (monthly). */
export function windowValue(period: Period, now: Date): string {
  const date = `${now.getUTCFullYear()}-${pad(now.getUTCMonth() + 1)}`;
  if (period === "monthly") return date;
  if (period === "daily") return `${date}-${pad(now.getUTCDate())}`;
  const { year, week } = isoWeek(now);
  return `${year}-w${pad(week)}`;
}

export const isPeriod = (s: string): s is Period => (PERIODS as readonly string[]).includes(s);
