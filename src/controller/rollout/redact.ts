// Secret values out of what the controller writes. A failing upgrade pod's termination message is
// copied into the Plan's status, its Events, the log and the webhook's notices; a script that
// echoes a credential it was given (a token, a password, an Authorization header) would spread it
// to everyone who may read a Plan. The controller knows the values it mounts (spec.secrets), so it
// takes them, and their base64, out of every text it is about to write.
import type { Pod, Secret } from "./objects.ts";

export const REDACTED = "[redacted]";

/**
 * Shorter values are left alone: replacing every "yes", "1" or "abc" in a message would make it
 * unreadable and protects nothing a guess would not find.
 */
export const MIN_REDACTED_LENGTH = 4;

export type Redact = (text: string) => string;

const decode = (b64: string): string => Buffer.from(b64, "base64").toString("utf8");
const encode = (s: string): string => Buffer.from(s, "utf8").toString("base64");

/** Each value of the secrets as it may be printed: as is, without its trailing newline, and in base64 (padded or not). */
export function secretTexts(secrets: readonly Secret[]): string[] {
  const out = new Set<string>();
  for (const s of secrets) {
    for (const stored of Object.values(s.data ?? {})) {
      if (typeof stored !== "string") continue;
      const value = decode(stored);
      for (const v of [value, value.trimEnd()]) {
        out.add(v);
        out.add(encode(v));
        out.add(encode(v).replace(/=+$/, ""));
      }
      out.add(stored);
    }
  }
  return [...out].filter((t) => t.length >= MIN_REDACTED_LENGTH);
}

/** The redactor of a Plan that mounts no secret (or none long enough to redact): text as it is. */
export const NOTHING_SECRET: Redact = (text) => text;

/** Replaces every one of `texts` (longest first, so a value inside another is not left half-shown). */
export function redactor(texts: readonly string[]): Redact {
  // A value inside the marker itself ("dact") would be replaced again on every pass that reads it back.
  const ordered = [...new Set(texts)].filter((t) => t.length >= MIN_REDACTED_LENGTH && !REDACTED.includes(t)).sort((a, b) => b.length - a.length);
  if (ordered.length === 0) return NOTHING_SECRET;
  return (text) => {
    let out = text;
    for (const t of ordered) if (out.includes(t)) out = out.split(t).join(REDACTED);
    return out;
  };
}

/** Every string in a JSON value, redacted (keys are ours, never a secret's). */
export function redactDeep<T>(value: T, redact: Redact): T {
  if (typeof value === "string") return redact(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => redactDeep(v, redact)) as T;
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v, redact)])) as T;
  }
  return value;
}

/** A pod with its status (termination messages, reasons, the kubelet's message) redacted; the rest as it is. */
export function redactPod(pod: Pod, redact: Redact): Pod {
  if (pod.status === undefined || redact === NOTHING_SECRET) return pod;
  return { ...pod, status: redactDeep(pod.status, redact) };
}
