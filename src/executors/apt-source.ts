// The Kubernetes package repositories (pkgs.k8s.io) are one per minor: the minor is a path
// segment of the repository URI (…/core:/stable:/v1.35/deb/). A minor bump rewrites it.

const MINOR_SEGMENT = /\/v(\d+)\.(\d+)\//;

const isEntry = (line: string): boolean => {
  const t = line.trim();
  return t !== "" && !t.startsWith("#") && (t.startsWith("deb") || t.startsWith("URIs:"));
};

/** The minor the source points at ("1.34"), from its first repository entry naming one. */
export function sourceMinor(content: string): string | undefined {
  for (const line of content.split("\n")) {
    if (!isEntry(line)) continue;
    const m = MINOR_SEGMENT.exec(line);
    if (m !== null) return `${m[1]}.${m[2]}`;
  }
  return undefined;
}

/** The source with every repository entry pointed at `minor`; comments and other lines untouched. */
export function rewriteSourceMinor(content: string, minor: string): string {
  return content
    .split("\n")
    .map((line) => (isEntry(line) ? line.replace(new RegExp(MINOR_SEGMENT, "g"), `/v${minor}/`) : line))
    .join("\n");
}
