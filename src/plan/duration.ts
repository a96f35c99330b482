// Go's time.ParseDuration, because SUC Plans (postCompleteDelay, drain.timeout) are read by Go
// and the same text must mean the same span here: "1h30m", "1.5s", "300ms", "-5s", "0".

/** A span in milliseconds (fractions kept: "1500us" is 1.5), or why the text is not a Go duration. */
export type DurationResult = { readonly ok: true; readonly ms: number } | { readonly ok: false; readonly reason: string };

const NS_PER_UNIT: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  "\u00b5s": 1e3, // micro sign
  "\u03bcs": 1e3, // Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Go durations are int64 nanoseconds: about 292 years (2^63 - 1, rounded by the float). */
const MAX_NS = 2 ** 63;

const EXAMPLE = `a number and a unit (ns, us, ms, s, m, h), e.g. "90s", "1h30m"`;

function invalid(text: string, why: string): DurationResult {
  return { ok: false, reason: `invalid duration "${text}": ${why}` };
}

export function parseGoDuration(text: string): DurationResult {
  let s = text;
  let sign = 1;
  if (s.startsWith("-") || s.startsWith("+")) {
    sign = s.startsWith("-") ? -1 : 1;
    s = s.slice(1);
  }
  if (/\s/.test(s)) return invalid(text, `a Go duration has no spaces; expected ${EXAMPLE}`);
  if (s === "0") return { ok: true, ms: 0 };
  if (s === "") return invalid(text, `expected ${EXAMPLE}`);
  let ns = 0;
  while (s !== "") {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s);
    const whole = m?.[1] ?? "";
    const frac = m?.[2] ?? "";
    if (whole === "" && frac === "") return invalid(text, `expected ${EXAMPLE}`);
    s = s.slice(m?.[0].length ?? 0);
    const unitMatch = /^[^.\d]*/.exec(s);
    const unit = unitMatch?.[0] ?? "";
    s = s.slice(unit.length);
    if (unit === "") return invalid(text, `missing unit after ${whole}${frac === "" ? "" : `.${frac}`}; expected ${EXAMPLE}`);
    const scale = NS_PER_UNIT[unit];
    if (scale === undefined) return invalid(text, `unknown unit "${unit}"; expected ns, us, ms, s, m or h`);
    ns += Number(whole === "" ? "0" : whole) * scale + (frac === "" ? 0 : Number(`0.${frac}`) * scale);
    if (ns >= MAX_NS) return invalid(text, "longer than Go's limit of about 292 years");
  }
  return { ok: true, ms: (sign * ns) / 1e6 };
}

/**
 * drain.timeout is an IntOrString, as in SUC: an integer is a time.Duration in nanoseconds, a string a
 * Go duration. Negative spans are refused: kubectl drain would treat them as "no timeout".
 */
export function parseDrainTimeout(value: number | string): DurationResult {
  if (typeof value === "number") {
    if (!Number.isInteger(value)) return { ok: false, reason: `an integer drain timeout counts nanoseconds; ${value} is not an integer` };
    if (value < 0) return { ok: false, reason: `must not be negative, got ${value}` };
    return { ok: true, ms: value / 1e6 };
  }
  const d = parseGoDuration(value);
  if (d.ok && d.ms < 0) return { ok: false, reason: `must not be negative, got "${value}"` };
  return d;
}

/** For callers holding a Plan that already passed validatePlan: a bad value here is a programming error. */
export function durationMs(text: string): number {
  const d = parseGoDuration(text);
  if (!d.ok) throw new Error(d.reason);
  return d.ms;
}
