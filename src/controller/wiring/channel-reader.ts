// Channel answers, read off the reconcile path. A reconcile never waits for a channel: it takes
// the latest answer (fresh or stale) and, when that is older than the poll interval, a request
// starts in the background; when it lands, the Plans that read the URL are queued again. Six
// channels that accepted the connection and never answered once held every worker of the queue
// for the whole timeout, and a Plan with a fixed version waited behind them (issue 9).
import type { ChannelPort } from "../kube/ports.ts";
import type { Resolution } from "../rollout/decision.ts";

export interface ChannelReaderDeps {
  readonly channel: ChannelPort;
  readonly now: () => number;
  /** An answer is used this long before the channel is asked again (channelPollMs). */
  readonly pollMs: number;
  /** One request's limit (channelTimeoutMs); past it, the answer is ChannelTimeout. */
  readonly timeoutMs: number;
  readonly clusterId?: (() => string | undefined) | undefined;
  /** The Plans (work-queue keys) that read a channel whose answer just landed. */
  readonly onAnswer: (planKeys: readonly string[]) => void;
}

export interface ChannelReading {
  /** The latest answer, fresh or stale; undefined until the channel first answers. */
  readonly answer: Resolution | undefined;
  /** A request is under way. */
  readonly asking: boolean;
}

interface Entry {
  answer?: Resolution;
  answeredAt: number;
  readAt: number;
  asking?: AbortController;
  readonly readers: Set<string>;
}

/** A port that ignores its timeout still gets one: this much past it, the request is given up. */
const GRACE_MS = 1000;

export class ChannelReader {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly d: ChannelReaderDeps) {}

  /**
   * What the channel answered last, for the Plan `planKey`. One request per URL (and the version
   * the Plan reports to it, X-SUC-Latest-Version) at a time, however many Plans read it.
   */
  read(planKey: string, url: string, latestVersion: string | undefined): ChannelReading {
    const now = this.d.now();
    this.prune(now);
    const id = `${url}\n${latestVersion ?? ""}`;
    let entry = this.entries.get(id);
    if (entry === undefined) {
      entry = { answeredAt: 0, readAt: now, readers: new Set() };
      this.entries.set(id, entry);
    }
    entry.readAt = now;
    entry.readers.add(planKey);
    const fresh = entry.answer !== undefined && now - entry.answeredAt < this.d.pollMs;
    if (!fresh && entry.asking === undefined) this.ask(id, entry, url, latestVersion);
    return { answer: entry.answer ?? this.lastAnswer(url), asking: entry.asking !== undefined };
  }

  /**
   * The channel's latest answer to any version header: a Plan that just wrote the version it was
   * given asks again with it in the header, and meanwhile keeps the answer it has (and its message).
   */
  private lastAnswer(url: string): Resolution | undefined {
    let best: Entry | undefined;
    for (const [id, e] of this.entries) {
      if (e.answer !== undefined && id.startsWith(`${url}\n`) && (best === undefined || e.answeredAt > best.answeredAt)) best = e;
    }
    return best?.answer;
  }

  /** Drops every answer and gives up every request under way: a new term reads afresh. */
  forget(): void {
    for (const e of this.entries.values()) e.asking?.abort();
    this.entries.clear();
  }

  private ask(id: string, entry: Entry, url: string, latestVersion: string | undefined): void {
    const abort = new AbortController();
    entry.asking = abort;
    const { timeoutMs } = this.d;
    let guard: NodeJS.Timeout | undefined;
    const givenUp = new Promise<Resolution>((resolve) => {
      guard = setTimeout(() => {
        abort.abort();
        resolve({ reason: "ChannelTimeout", message: `channel ${url}: no answer within ${timeoutMs} ms` });
      }, timeoutMs + GRACE_MS);
      guard.unref();
    });
    const asked = this.d.channel
      .latest(url, { clusterId: this.d.clusterId?.(), latestVersion, timeoutMs, signal: abort.signal })
      .catch((e: unknown): Resolution => ({ reason: "ChannelUnreachable", message: `channel ${url}: ${e instanceof Error ? e.message : String(e)}` }));
    void Promise.race([asked, givenUp]).then((answer) => {
      clearTimeout(guard);
      // Forgotten meanwhile (a new term): the answer belongs to a term that is over.
      if (this.entries.get(id) !== entry) return;
      entry.answer = answer;
      entry.answeredAt = this.d.now();
      delete entry.asking;
      const readers = [...entry.readers];
      entry.readers.clear();
      this.d.onAnswer(readers);
    });
  }

  /** A URL no Plan has read for two poll intervals is no longer any Plan's channel. */
  private prune(now: number): void {
    for (const [id, e] of this.entries) if (e.asking === undefined && now - e.readAt > 2 * this.d.pollMs) this.entries.delete(id);
  }
}
