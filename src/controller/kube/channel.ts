import type { Resolution } from "../rollout/decision.ts";
import { mungeVersion, quoteUntrusted, versionProblem } from "../rollout/version.ts";
import type { ChannelPort } from "./ports.ts";

export interface ChannelOptions {
  readonly clusterId?: string | undefined;
  readonly latestVersion?: string | undefined;
  readonly timeoutMs: number;
  /** Aborts the request early (the controller stops, or its term ends). */
  readonly signal?: AbortSignal | undefined;
}

/** Of an error answer's body, only this much is read: a channel may stream without end. */
const BODY_LIMIT = 64 * 1024;

const failed = (url: string, reason: string, why: string): Resolution => ({ reason, message: `channel ${url}: ${why}` });

/**
 * Asks a channel for the latest version as SUC does: GET without following redirects; a 302 (or
 * another redirect) names the version in the last segment of its Location path. The version must
 * be a valid image tag and label value (versionProblem). Everything else is an error that becomes
 * LatestResolved=False with the reason (SUC only emits an Event; a condition is what `kubectl get
 * plans` and alerts can see). Unlike SUC, a 200 is an error too: SUC then takes the channel URL's
 * own last segment (`stable`) as the version. What the channel sent is always quoted escaped.
 */
export async function resolveChannel(url: string, opts: ChannelOptions): Promise<Resolution> {
  const headers: Record<string, string> = {};
  if (opts.clusterId !== undefined) headers["X-SUC-Cluster-ID"] = opts.clusterId;
  if (opts.latestVersion !== undefined) headers["X-SUC-Latest-Version"] = opts.latestVersion;
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal === undefined ? timeout : AbortSignal.any([timeout, opts.signal]);
  let res: Response | undefined;
  try {
    res = await fetch(url, { redirect: "manual", headers, signal });
    return await readAnswer(url, res);
  } catch (e: unknown) {
    if (timeout.aborted) return failed(url, "ChannelTimeout", `no answer within ${opts.timeoutMs} ms`);
    const cause = e instanceof Error && e.cause instanceof Error ? e.cause.message : e instanceof Error ? e.message : String(e);
    return failed(url, "ChannelUnreachable", quoteUntrusted(cause, 200));
  } finally {
    await res?.body?.cancel().catch(() => undefined);
  }
}

async function readAnswer(url: string, res: Response): Promise<Resolution> {
  // The reason phrase comes from the channel too: shown only when it is plain words.
  const status = `HTTP ${res.status}${/^[\w .'-]{1,40}$/.test(res.statusText) ? ` ${res.statusText}` : ""}`;
  if (res.status >= 300 && res.status < 400 && res.status !== 304) return fromLocation(url, res.status, res.headers.get("location"));
  if (res.status >= 400) {
    // A channel's one-line reason (plan-runner channel-server answers 502 with one) is worth more than the status alone.
    const said = res.headers.get("content-type")?.startsWith("text/plain") === true ? await firstLine(res) : "";
    return failed(
      url,
      "ChannelError",
      `unexpected ${status}${said !== "" ? `: ${quoteUntrusted(said, 200)}` : ""} (want a 302 redirect to the latest version)`,
    );
  }
  return failed(
    url,
    "ChannelError",
    `answered ${status}, not a redirect: a channel answers 302 with the version as the last segment of its Location (a fixed version belongs in spec.version)`,
  );
}

function fromLocation(url: string, code: number, location: string | null): Resolution {
  if (location === null || location.trim() === "") return failed(url, "ChannelError", `HTTP ${code} without a Location header`);
  const quoted = quoteUntrusted(location, 200);
  let target: URL;
  try {
    target = new URL(location, url);
  } catch {
    return failed(url, "ChannelError", `HTTP ${code} with Location ${quoted} is not a URL`);
  }
  if (target.protocol !== "http:" && target.protocol !== "https:") return failed(url, "ChannelError", `Location ${quoted} is not an http(s) URL`);
  const self = new URL(url);
  if (target.host === self.host && trimSlashes(target.pathname) === trimSlashes(self.pathname)) {
    return failed(url, "ChannelError", `redirects to itself (Location ${quoted}): its last segment is the channel's name, not a version`);
  }
  let raw: string;
  try {
    raw = decodeURIComponent(trimSlashes(target.pathname).split("/").pop() ?? "");
  } catch {
    return failed(url, "ChannelError", `Location ${quoted}: its last segment is not valid percent-encoding`);
  }
  if (raw === "") return failed(url, "ChannelError", `Location ${quoted} names no version (its path has no last segment)`);
  const version = mungeVersion(raw);
  const problem = versionProblem(version);
  if (problem !== undefined) return failed(url, "ChannelInvalidVersion", `answered ${quoteUntrusted(raw)}, not a version: ${problem}`);
  // update.k3s.io sends its users to github.com: another host is how channels work, worth naming, not refusing.
  const via = target.host !== self.host ? ` (redirected to ${target.host})` : "";
  return { version, source: "Channel", message: `${version} from channel ${url}${via}` };
}

const trimSlashes = (path: string): string => path.replace(/\/+$/, "");

/** The first line of the body, reading at most BODY_LIMIT bytes of it. */
async function firstLine(res: Response): Promise<string> {
  const reader = res.body?.getReader();
  if (reader === undefined) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < BODY_LIMIT) {
      const next = (await reader.read()) as { done: boolean; value?: Uint8Array };
      const value = next.value;
      if (next.done || value === undefined) break;
      chunks.push(value);
      size += value.byteLength;
      if (value.includes(0x0a)) break;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  const text = new TextDecoder().decode(Buffer.concat(chunks).subarray(0, BODY_LIMIT));
  return (text.split("\n")[0] ?? "").trim();
}

/** The channel port over the network. */
export const httpChannel: ChannelPort = { latest: (url, opts) => resolveChannel(url, opts) };
