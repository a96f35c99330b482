/** Client-side rate limit of API requests: a token bucket (as client-go's QPS and burst). */
export interface RateLimit {
  /** Requests per second, sustained. */
  readonly qps: number;
  /** Requests allowed at once after a quiet spell. */
  readonly burst: number;
}

/**
 * Generous for one controller (client-go's 5/10 would make a 1,000-node wave crawl), still a
 * ceiling: --kube-api-qps and --kube-api-burst move it, plan_runner_api_throttled_seconds_total
 * says when it is what a rollout waits for.
 */
export const DEFAULT_RATE_LIMIT: RateLimit = { qps: 100, burst: 200 };

export class TokenBucket {
  private tokens: number;
  private last: number;
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = limit.burst;
    this.last = now();
  }

  /** Resolves when a request may go, with how long the bucket held it (ms, 0 with a token to spare); callers queue in order. */
  take(): Promise<number> {
    const turn = this.tail.then(() => this.wait());
    this.tail = turn.then(() => undefined);
    return turn;
  }

  private async wait(): Promise<number> {
    const t = this.now();
    this.tokens = Math.min(this.limit.burst, this.tokens + ((t - this.last) / 1000) * this.limit.qps);
    this.last = t;
    let held = 0;
    if (this.tokens < 1) {
      await new Promise((r) => setTimeout(r, ((1 - this.tokens) / this.limit.qps) * 1000));
      this.tokens = 1;
      this.last = this.now();
      held = this.last - t;
    }
    this.tokens -= 1;
    return held;
  }
}

/** Retry-After in ms (seconds or an HTTP date), capped; undefined when absent or unreadable. */
export function retryAfterMs(header: string | string[] | undefined, now: number, capMs = 30_000): number | undefined {
  const text = Array.isArray(header) ? header[0] : header;
  if (text === undefined || text.trim() === "") return undefined;
  const secs = Number(text);
  const ms = Number.isFinite(secs) ? secs * 1000 : Date.parse(text) - now;
  return Number.isFinite(ms) ? Math.min(capMs, Math.max(0, ms)) : undefined;
}
