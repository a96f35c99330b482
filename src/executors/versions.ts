/** A Kubernetes minor as [major, minor]. */
export type Minor = readonly [number, number];

/** An exact Kubernetes release, X.Y.Z. */
export interface Release {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** "1.35.2", without the v. */
  readonly text: string;
}

/**
 * "1.35.2" or "v1.35.2" (what SUC puts in SYSTEM_UPGRADE_PLAN_LATEST_VERSION); nothing else, since
 * the value ends up in package names and repository paths.
 */
export function parseRelease(s: string): Release | undefined {
  const m = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/.exec(s.trim());
  if (m === null) return undefined;
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return { major, minor, patch, text: `${major}.${minor}.${patch}` };
}

/**
 * A gate target: vX.Y, vX.Y.Z, optionally with a pre-release or build suffix (v1.35.2+k3s1,
 * v1.36.0-rc.1). Only its minor matters to the gate.
 */
export function parseTargetMinor(s: string): Minor | undefined {
  const m = /^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+][0-9A-Za-z.+-]+)?$/.exec(s.trim());
  return m === null ? undefined : [Number(m[1]), Number(m[2])];
}

/**
 * The numeric parts of the first dotted version in `s` ("v3.26.1" -> [3, 26, 1],
 * "containerd://1.7.28" -> [1, 7, 28]); undefined when there is none.
 */
export function versionParts(s: string | undefined): number[] | undefined {
  const m = /(\d+)\.(\d+)(?:\.(\d+))?/.exec(s ?? "");
  if (m === null) return undefined;
  return m[3] === undefined ? [Number(m[1]), Number(m[2])] : [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** The minor of the first dotted version in `s`, as the seed gate read it. */
export function minorOf(s: string | undefined): Minor | undefined {
  const p = versionParts(s);
  return p === undefined ? undefined : [p[0] as number, p[1] as number];
}

/** Compares dotted versions part by part; a missing part counts as 0, so 3.26 == 3.26.0. */
export function compareParts(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

export const formatMinor = (m: Minor): string => `${m[0]}.${m[1]}`;

/** The upstream part of a Debian version: "1:1.35.2-1.1" -> "1.35.2". */
export function debianUpstream(version: string): string {
  const noEpoch = version.includes(":") ? version.slice(version.indexOf(":") + 1) : version;
  const dash = noEpoch.lastIndexOf("-");
  return dash === -1 ? noEpoch : noEpoch.slice(0, dash);
}
