// Which Kubernetes release a cluster should run next (issue 11, the `kubernetes` channel). Pure:
// the node versions and the package indexes come in as data, so every rule is a table test.
import { type Minor, type Release, compareParts, debianUpstream, formatMinor } from "../executors/versions.ts";

/** What a minor's package repository says, as far as kubeadm goes. */
export type MinorIndex =
  | { readonly kind: "releases"; readonly releases: readonly Release[] }
  /** The repository does not exist (yet): the minor is not released. */
  | { readonly kind: "absent" }
  /** The repository could not be read, or not understood: nothing can be decided from it. */
  | { readonly kind: "error"; readonly reason: string };

export type Selection = { readonly version: string; readonly why: string } | { readonly error: string };

const release = (major: number, minor: number, patch: number): Release => ({ major, minor, patch, text: `${major}.${minor}.${patch}` });
const cmp = (a: Release, b: Release): number => compareParts([a.major, a.minor, a.patch], [b.major, b.minor, b.patch]);
const newest = (rs: readonly Release[]): Release | undefined =>
  rs.reduce<Release | undefined>((best, r) => (best === undefined || cmp(r, best) > 0 ? r : best), undefined);
export const minorOfRelease = (r: Release): Minor => [r.major, r.minor];

/**
 * A kubelet's version as a release: "v1.35.2", "v1.35.2+k3s1" (build metadata dropped). A
 * pre-release kubelet ("v1.36.0-rc.1") counts as the release before its X.Y.Z is out, so the
 * final X.Y.Z is still newer than it; undefined when unreadable.
 */
export function kubeletRelease(s: string): Release | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/.exec(s.trim());
  if (m === null) return undefined;
  const r = release(Number(m[1]), Number(m[2]), Number(m[3]));
  return m[4] === undefined || r.patch === 0 ? r : release(r.major, r.minor, r.patch - 1);
}

/**
 * kubeadm's releases in a Debian package index (a Packages file): the `Version:` of every
 * `Package: kubeadm` stanza, as upstream X.Y.Z ("1.35.2-1.1" -> 1.35.2, "1.35.2+meta-1" -> 1.35.2).
 * Pre-releases ("1.36.0~rc.1-1.1") are left out. Text that is not a Debian control file (an HTML
 * error page answered with 200, say) is malformed, never "no release".
 */
export function kubeadmReleases(text: string): { readonly releases: Release[] } | { readonly malformed: string } {
  const releases: Release[] = [];
  const stanzas = text.split(/\r?\n(?:[ \t]*\r?\n)+/);
  for (const [i, stanza] of stanzas.entries()) {
    if (stanza.trim() === "") continue;
    const fields = new Map<string, string>();
    for (const line of stanza.split(/\r?\n/)) {
      if (line === "" || line.startsWith(" ") || line.startsWith("\t")) continue;
      const m = /^([A-Za-z0-9][A-Za-z0-9-]*):[ \t]*(.*)$/.exec(line);
      if (m === null) return { malformed: `stanza ${i + 1}: "${line.slice(0, 60)}" is not a "Field: value" line` };
      fields.set((m[1] as string).toLowerCase(), (m[2] as string).trim());
    }
    if (!fields.has("package")) return { malformed: `stanza ${i + 1} has no Package field` };
    if (fields.get("package") !== "kubeadm") continue;
    const version = fields.get("version");
    if (version === undefined || version === "") return { malformed: `stanza ${i + 1}: kubeadm without a Version` };
    const upstream = debianUpstream(version).replace(/\+.*$/, "");
    const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(upstream);
    if (m !== null) releases.push(release(Number(m[1]), Number(m[2]), Number(m[3])));
  }
  return { releases };
}

/** The oldest and the newest kubelet, or why they cannot be told. */
export function runningRange(kubelets: readonly string[]): { readonly oldest: Release; readonly newest: Release } | { readonly error: string } {
  const rs = kubelets.map(kubeletRelease).filter((r): r is Release => r !== undefined);
  if (rs.length === 0)
    return { error: kubelets.length === 0 ? "no node in the cluster" : `no node reports a readable kubelet version (${kubelets.join(", ")})` };
  const sorted = [...rs].sort(cmp);
  return { oldest: sorted[0] as Release, newest: sorted[sorted.length - 1] as Release };
}

export const nextMinor = (m: Minor): Minor => [m[0], m[1] + 1];

const v = (r: Release): string => `v${r.text}`;
const ofMinor = (rs: readonly Release[], m: Minor): Release[] => rs.filter((r) => r.major === m[0] && r.minor === m[1]);

/**
 * The rules, in order: the newest patch of the running (oldest kubelet's) minor if it is newer;
 * else the newest patch of the next minor if its repository exists and publishes kubeadm; else
 * what runs. Never a skipped minor, never older than any kubelet (a half-upgraded cluster
 * finishes the minor its newest nodes reached), never a guess from an index that failed.
 */
export function selectRelease(kubelets: readonly string[], current: MinorIndex, next: MinorIndex): Selection {
  const range = runningRange(kubelets);
  if ("error" in range) return range;
  const { oldest, newest: newestNode } = range;
  const running = minorOfRelease(oldest);
  const ahead = newestNode.major !== oldest.major || newestNode.minor > oldest.minor + 1;
  if (ahead) return { error: `nodes span more than one minor (${oldest.text} to ${newestNode.text}): kubeadm cannot upgrade across that; align them by hand` };
  if (current.kind === "error") return { error: `the ${formatMinor(running)} index: ${current.reason}` };
  const patch = newest(current.kind === "releases" ? ofMinor(current.releases, running) : []);
  if (patch !== undefined && cmp(patch, oldest) > 0 && cmp(patch, newestNode) >= 0)
    return { version: v(patch), why: `newest patch of ${formatMinor(running)}` };
  const following = nextMinor(running);
  if (next.kind === "error") return { error: `the ${formatMinor(following)} index: ${next.reason}` };
  const bump = newest(next.kind === "releases" ? ofMinor(next.releases, following) : []);
  if (bump !== undefined && cmp(bump, newestNode) >= 0) return { version: v(bump), why: `${formatMinor(following)} is published: its newest patch` };
  const why = next.kind === "absent" ? `${formatMinor(following)} has no repository yet` : `${formatMinor(following)} publishes no kubeadm release yet`;
  return { version: v(newestNode), why: `nothing newer: ${why}` };
}
