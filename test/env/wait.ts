import { setTimeout as delay } from "node:timers/promises";

export interface WaitOptions {
  /** Give up after this long; the error names `what` and the last value or error seen. */
  timeoutMs: number;
  /** Human words for the condition, e.g. "pod ns/a to be Succeeded". */
  what: string;
  /** Pause between polls; grows by half up to 1s so a long wait does not hammer the API server. */
  intervalMs?: number;
  /** Aborting stops the wait at once with the signal's reason (e.g. "etcd exited"). */
  signal?: AbortSignal;
}

export class WaitTimeoutError extends Error {
  constructor(
    what: string,
    timeoutMs: number,
    readonly last: unknown,
  ) {
    super(`timed out after ${timeoutMs}ms waiting for ${what}; last: ${describe(last)}`);
    this.name = "WaitTimeoutError";
  }
}

/**
 * Polls `fn` until it returns a value other than undefined, null or false, and returns it.
 * A throw counts as "not yet" (the API server may not be up); the last throw or value is in the
 * timeout error so a failing test says what it saw, not only that it waited.
 */
export async function waitFor<T>(fn: () => T | undefined | null | false | Promise<T | undefined | null | false>, options: WaitOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let interval = options.intervalMs ?? 50;
  let last: unknown = undefined;
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      const value = await fn();
      if (value !== undefined && value !== null && value !== false) return value;
      last = value;
    } catch (e: unknown) {
      last = e;
    }
    const left = deadline - Date.now();
    if (left <= 0) throw new WaitTimeoutError(options.what, options.timeoutMs, last);
    try {
      await delay(Math.min(interval, left), undefined, options.signal ? { signal: options.signal } : {});
    } catch (e: unknown) {
      // An abort rejects the timer with a generic AbortError; the signal's reason says why.
      options.signal?.throwIfAborted();
      throw e;
    }
    interval = Math.min(Math.ceil(interval * 1.5), 1000);
  }
}

function describe(v: unknown): string {
  if (v instanceof Error) return `${v.name}: ${v.message}`;
  if (v === undefined) return "nothing yet";
  try {
    const s = JSON.stringify(v);
    return s.length > 500 ? `${s.slice(0, 500)}...` : s;
  } catch {
    return Object.prototype.toString.call(v);
  }
}
