// The package repositories the `kubernetes` channel reads, one per minor, each fetched at most
// once per TTL: many Plans (and SUC's 15-minute polls) asking at once cost one request upstream.
import type { Minor } from "../executors/versions.ts";
import { type MinorIndex, kubeadmReleases } from "./release-selection.ts";

/**
 * The upstream community layout: one Debian repository per minor, `<base>/v1.X/deb/`, whose
 * index is `Packages`. Not one of this machine's mirrors; operators point --repository-base at
 * their own mirror of the same layout.
 */
export const DEFAULT_REPOSITORY_BASE = "https://pkgs.k8s.io/core:/stable:";

/** The index URL of a minor: `{minor}` in the base is replaced by vX.Y, else the upstream layout is appended. */
export function indexUrl(base: string, minor: Minor): string {
  const m = `v${minor[0]}.${minor[1]}`;
  if (base.includes("{minor}")) return base.replaceAll("{minor}", m);
  return `${base.replace(/\/+$/, "")}/${m}/deb/Packages`;
}

export interface PackageIndexOptions {
  readonly base: string;
  readonly ttlMs: number;
  readonly timeoutMs: number;
  readonly now?: () => number;
  readonly fetch?: typeof fetch;
}

/** Statuses that mean "this minor has no repository": an object store answers 403 for a missing key. */
const ABSENT = new Set([403, 404, 410]);

const causeOf = (e: unknown): string => (e instanceof Error && e.cause instanceof Error ? e.cause.message : e instanceof Error ? e.message : String(e));

async function readIndex(url: string, opts: PackageIndexOptions): Promise<MinorIndex> {
  let res: Response;
  try {
    res = await (opts.fetch ?? fetch)(url, { signal: AbortSignal.timeout(opts.timeoutMs), headers: { "user-agent": "plan-runner/channel-server" } });
  } catch (e: unknown) {
    const timedOut = e instanceof Error && (e.name === "TimeoutError" || e.name === "AbortError");
    return { kind: "error", reason: `${url} is unreachable (${timedOut ? `no answer within ${opts.timeoutMs} ms` : causeOf(e)})` };
  }
  if (ABSENT.has(res.status)) {
    await res.body?.cancel();
    return { kind: "absent" };
  }
  if (res.status !== 200) {
    await res.body?.cancel();
    return { kind: "error", reason: `${url} answered HTTP ${res.status}` };
  }
  const parsed = kubeadmReleases(await res.text());
  if ("malformed" in parsed) return { kind: "error", reason: `${url} is not a package index (${parsed.malformed})` };
  return { kind: "releases", releases: parsed.releases };
}

/** Per-minor cache: an answer (release list, absence or error) is kept for the TTL; concurrent asks share one fetch. */
export class PackageIndex {
  private readonly cache = new Map<string, { readonly at: number; readonly answer: Promise<MinorIndex> }>();
  /** Requests sent upstream, for tests and the log. */
  fetches = 0;

  constructor(private readonly opts: PackageIndexOptions) {}

  lookup(minor: Minor): Promise<MinorIndex> {
    const now = (this.opts.now ?? Date.now)();
    const url = indexUrl(this.opts.base, minor);
    const hit = this.cache.get(url);
    if (hit !== undefined && now - hit.at < this.opts.ttlMs) return hit.answer;
    this.fetches++;
    const answer = readIndex(url, this.opts);
    this.cache.set(url, { at: now, answer });
    return answer;
  }
}
