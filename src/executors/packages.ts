// Reading dpkg and apt answers. The formats are fixed by the commands below (LC_ALL=C).
import type { HostRunner } from "./host-runner.ts";
import { debianUpstream } from "./versions.ts";

export interface PackageState {
  readonly installed: boolean;
  /** apt-mark hold: apt never changes it. */
  readonly held: boolean;
  /** Debian version, "" when not installed. */
  readonly version: string;
}

const NOT_INSTALLED: PackageState = { installed: false, held: false, version: "" };

/** dpkg-query answers 1 when a package is unknown; that is an answer, not a failure. */
export async function packageStates(runner: HostRunner, step: string, names: readonly string[]): Promise<Map<string, PackageState>> {
  const { stdout } = await runner.run(step, ["dpkg-query", "-W", "-f=${Package}\\t${db:Status-Abbrev}\\t${Version}\\n", ...names], {
    okExitCodes: [0, 1],
    quiet: true,
  });
  const states = new Map<string, PackageState>(names.map((n) => [n, NOT_INSTALLED]));
  for (const line of stdout.split("\n")) {
    const [name, abbrev, version] = line.split("\t");
    if (name === undefined || abbrev === undefined || version === undefined || !states.has(name)) continue;
    // Status-Abbrev: desired action (h = hold), then state (i = installed), then error flag.
    const installed = abbrev[1] === "i" && (abbrev[2] ?? " ") === " ";
    states.set(name, { installed, held: abbrev[0] === "h", version: installed ? version : "" });
  }
  return states;
}

export const isAt = (s: PackageState | undefined, upstream: string): boolean => s !== undefined && s.installed && debianUpstream(s.version) === upstream;

/** `apt-cache madison` lines: "pkg | version | source"; the first listed (newest) version per upstream wins. */
export function madisonVersions(stdout: string, upstream: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const line of stdout.split("\n")) {
    const [pkg, version] = line.split("|").map((f) => f.trim());
    if (pkg === undefined || version === undefined || pkg === "" || found.has(pkg)) continue;
    if (debianUpstream(version) === upstream) found.set(pkg, version);
  }
  return found;
}
