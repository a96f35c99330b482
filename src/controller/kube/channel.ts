import type { Resolution } from "../rollout/decision.ts";
import { mungeVersion } from "../rollout/version.ts";
import type { ChannelPort } from "./ports.ts";

export interface ChannelOptions {
  readonly clusterId?: string | undefined;
  readonly latestVersion?: string | undefined;
  readonly timeoutMs: number;
}

/**
 * Asks a channel for the latest version as SUC does: GET without following redirects; a 302
 * names the version in the last element of its Location path; a 2xx means the URL itself
 * names it. Anything else is an error that becomes LatestResolved=False with the reason
 * (SUC only emits an Event; a condition is what `kubectl get plans` and alerts can see).
 */
export async function resolveChannel(url: string, opts: ChannelOptions): Promise<Resolution> {
  const headers: Record<string, string> = {};
  if (opts.clusterId !== undefined) headers["X-SUC-Cluster-ID"] = opts.clusterId;
  if (opts.latestVersion !== undefined) headers["X-SUC-Latest-Version"] = opts.latestVersion;
  let res: Response;
  try {
    res = await fetch(url, { redirect: "manual", headers, signal: AbortSignal.timeout(opts.timeoutMs) });
  } catch (e: unknown) {
    const timedOut = e instanceof Error && (e.name === "TimeoutError" || e.name === "AbortError");
    const cause = e instanceof Error && e.cause instanceof Error ? e.cause.message : e instanceof Error ? e.message : String(e);
    return {
      reason: timedOut ? "ChannelTimeout" : "ChannelUnreachable",
      message: `channel ${url}: ${timedOut ? `no answer within ${opts.timeoutMs} ms` : cause}`,
    };
  }
  if (res.status >= 400) {
    // A channel's one-line reason (plan-runner channel-server answers 502 with one) is worth more than the status alone.
    const plain = res.headers.get("content-type")?.startsWith("text/plain") === true;
    const said = plain ? ((await res.text().catch(() => "")).split("\n")[0]?.trim().slice(0, 300) ?? "") : "";
    if (!plain) await res.body?.cancel();
    return {
      reason: "ChannelError",
      message: `channel ${url}: unexpected HTTP ${res.status} ${res.statusText}${said !== "" ? `: ${said}` : ""} (want a 302 redirect to the latest version)`,
    };
  }
  await res.body?.cancel();
  if (res.status >= 300 && res.status < 400) {
    const location = res.headers.get("location");
    if (location === null || location === "") return { reason: "ChannelError", message: `channel ${url}: ${res.status} without a Location header` };
    const version = lastElement(new URL(location, url).pathname);
    if (version === "") return { reason: "ChannelError", message: `channel ${url}: Location ${location} names no version` };
    return { version: mungeVersion(version), source: "Channel" };
  }
  if (res.status >= 200 && res.status < 300) {
    const version = lastElement(new URL(url).pathname);
    if (version === "") return { reason: "ChannelError", message: `channel ${url}: answered ${res.status} but its path names no version` };
    return { version: mungeVersion(version), source: "Channel" };
  }
  return { reason: "ChannelError", message: `channel ${url}: unexpected HTTP ${res.status} ${res.statusText} (want a 302 redirect to the latest version)` };
}

const lastElement = (path: string): string => decodeURIComponent(path.replace(/\/+$/, "").split("/").pop() ?? "");

/** The channel port over the network. */
export const httpChannel: ChannelPort = { latest: (url, opts) => resolveChannel(url, opts) };
