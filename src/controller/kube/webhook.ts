// The notification webhook: a Slack-compatible POST of {"text": ...}, off the reconcile path.
// Reconciles only ever add to a bounded queue; one sender drains it in order, each attempt
// bounded by a timeout, retried with backoff. The URL is a credential (a Slack incoming-webhook
// URL is its own secret): it is read from a Secret at each send and never logged, and no error
// text that could echo it (fetch's URL errors do) is logged either; only the kind of failure.
import { setTimeout as sleep } from "node:timers/promises";

export interface WebhookOptions {
  /** The URL now; undefined when its Secret or key is missing (a `no_secret` failure). */
  readonly url: () => string | undefined;
  readonly timeoutMs: number;
  /** Retries after the first attempt; the wait doubles from backoffMs. */
  readonly retries: number;
  readonly backoffMs: number;
  readonly queueSize: number;
  /** After each message: "sent", or the kind of the failure that made it give up. */
  readonly onResult: (result: "sent" | WebhookFailure, detail: { plan: string }) => void;
}

export type WebhookFailure = "timeout" | "network" | "bad_url" | "no_secret" | "queue_full" | "shutdown" | `http_${number}`;

interface Message {
  readonly plan: string;
  readonly text: string;
}

/** A kind for the metric label and the log: the status code, "timeout" or "network"; never the error's text. */
function failureOf(e: unknown): WebhookFailure {
  if (e instanceof Error && (e.name === "TimeoutError" || e.name === "AbortError")) return "timeout";
  return "network";
}

export async function postText(url: string, text: string, timeoutMs: number): Promise<"sent" | WebhookFailure> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return "bad_url";
  }
  if (target.protocol !== "http:" && target.protocol !== "https:") return "bad_url";
  try {
    const res = await fetch(target, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text }),
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
    // The body is read (and dropped) so the connection is freed; its content is not ours to log.
    await res.arrayBuffer().catch(() => undefined);
    return res.status >= 200 && res.status < 300 ? "sent" : `http_${res.status}`;
  } catch (e: unknown) {
    return failureOf(e);
  }
}

const retryable = (r: WebhookFailure): boolean => r === "timeout" || r === "network" || r === "http_429" || /^http_5\d\d$/.test(r);

export class Webhook {
  private readonly queue: Message[] = [];
  private running: Promise<void> | undefined;
  private stopping = false;
  private readonly abort = new AbortController();

  constructor(private readonly o: WebhookOptions) {}

  /** Never waits: a full queue drops the message (and counts it) rather than hold a reconcile. */
  enqueue(plan: string, text: string): void {
    if (this.stopping || this.queue.length >= this.o.queueSize) {
      this.o.onResult(this.stopping ? "shutdown" : "queue_full", { plan });
      return;
    }
    this.queue.push({ plan, text });
    this.running ??= this.drain().finally(() => (this.running = undefined));
  }

  private async drain(): Promise<void> {
    for (let m = this.queue.shift(); m !== undefined; m = this.queue.shift()) {
      this.o.onResult(await this.deliver(m), { plan: m.plan });
    }
  }

  private async deliver(m: Message): Promise<"sent" | WebhookFailure> {
    let result: "sent" | WebhookFailure = "network";
    for (let attempt = 0; attempt <= this.o.retries; attempt++) {
      if (attempt > 0) {
        const waited = await sleep(this.o.backoffMs * 2 ** (attempt - 1), true, { signal: this.abort.signal }).catch(() => false);
        if (!waited) return "shutdown";
      }
      const url = this.o.url();
      if (url === undefined) return "no_secret";
      result = await postText(url, m.text, this.o.timeoutMs);
      if (result === "sent" || !retryable(result)) return result;
    }
    return result;
  }

  /** Lets the message in flight finish (its attempt is bounded by the timeout); what is still queued is dropped and counted. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    for (const m of this.queue.splice(0)) this.o.onResult("shutdown", { plan: m.plan });
    await this.running;
  }
}
