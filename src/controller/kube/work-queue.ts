import PQueue from "p-queue";

export interface WorkQueueOptions {
  readonly concurrency: number;
  readonly baseBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

export type Outcome = { readonly requeueAfterMs?: number | undefined };

/**
 * Keys, not events: the reconciler reads the world itself, so an event adds nothing
 * (docs/architecture.md). A key is pending at most once and running at most once; an add
 * while it runs marks it dirty so it runs once more afterwards. Errors back off
 * exponentially per key; a success resets the key's backoff.
 */
export class WorkQueue {
  private readonly queue: PQueue;
  private readonly pending = new Set<string>();
  private readonly running = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly failures = new Map<string, number>();
  private closed = false;

  constructor(
    private readonly handler: (key: string) => Promise<Outcome>,
    private readonly opts: WorkQueueOptions,
    private readonly onError: (key: string, e: unknown) => void = () => {},
  ) {
    this.queue = new PQueue({ concurrency: opts.concurrency });
  }

  add(key: string): void {
    if (this.closed) return;
    if (this.running.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.pending.has(key)) return;
    this.pending.add(key);
    void this.queue.add(() => this.process(key));
  }

  /** Adds the key after a delay; an earlier request for the same key wins. */
  addAfter(key: string, ms: number): void {
    if (this.closed) return;
    const at = Date.now() + ms;
    const have = this.timers.get(key);
    if (have !== undefined && have.at <= at) return;
    if (have !== undefined) clearTimeout(have.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  private async process(key: string): Promise<void> {
    this.pending.delete(key);
    this.running.add(key);
    try {
      const outcome = await this.handler(key);
      this.failures.delete(key);
      if (outcome.requeueAfterMs !== undefined) this.addAfter(key, outcome.requeueAfterMs);
    } catch (e: unknown) {
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      this.onError(key, e);
      const base = this.opts.baseBackoffMs ?? 200;
      this.addAfter(key, Math.min(this.opts.maxBackoffMs ?? 60_000, base * 2 ** Math.min(n - 1, 16)));
    } finally {
      this.running.delete(key);
      if (this.dirty.delete(key)) this.add(key);
    }
  }

  get size(): number {
    return this.pending.size + this.running.size;
  }

  async shutdown(): Promise<void> {
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t.timer);
    this.timers.clear();
    this.queue.clear();
    await this.queue.onIdle();
  }
}
