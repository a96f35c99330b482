// gates.postflight, the seed's postflight Job: once a Plan whose version is a Kubernetes release
// is Complete, every node it selects must run that release (the kubelet's own report,
// status.nodeInfo.kubeletVersion) and so must the API server (/version, read through a port).
// An upgrade pod that exits 0 without the kubelet moving is exactly what this catches.
import type { ServerVersion } from "./decision.ts";
import type { GateVerdict } from "./gates.ts";
import type { Node } from "./objects.ts";

export interface PostflightSubject {
  /** status.latestVersion, e.g. v1.31.4. */
  readonly target: string;
  /** The nodes the Plan selects. */
  readonly nodes: readonly Node[];
  /** undefined: the API server is not compared (gates.postflight.apiServer: false). */
  readonly server: ServerVersion | undefined;
}

/**
 * Versions compare without the leading "v", and with "+" read as "-": spec.version is munged
 * that way for image tags (SUC's MungeVersion), while a kubelet reports "+" build metadata as is.
 */
export const sameVersion = (a: string, b: string): boolean => {
  const norm = (v: string): string => v.trim().toLowerCase().replace(/^v/, "").replaceAll("+", "-");
  return norm(a) === norm(b);
};

const few = (xs: readonly string[]): string => (xs.length > 5 ? `${xs.slice(0, 5).join(", ")} and ${xs.length - 5} more` : xs.join(", "));

/** Open when every kubelet and the API server report the target; closed names what does not. */
export const postflightGate: { check(s: PostflightSubject): GateVerdict & { readonly nodes: readonly string[] } } = {
  check: ({ target, nodes, server }) => {
    const off = nodes
      .map((n) => [n.metadata.name, n.status?.nodeInfo?.kubeletVersion ?? "(none)"] as const)
      .filter(([, v]) => !sameVersion(v, target))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const problems: string[] = [];
    if (off.length > 0) problems.push(`kubelet on node(s) ${few(off.map(([n, v]) => `${n} (${v})`))} does not report ${target}`);
    let reason = off.length > 0 ? "KubeletVersionMismatch" : "VersionsMatch";
    if (server !== undefined && "error" in server) {
      problems.push(`cannot read the API server's version: ${server.error}`);
      reason = off.length > 0 ? reason : "APIServerVersionUnknown";
    } else if (server !== undefined && !sameVersion(server.gitVersion, target)) {
      problems.push(`the API server reports ${server.gitVersion}, not ${target}`);
      reason = off.length > 0 ? reason : "APIServerVersionMismatch";
    }
    const names = off.map(([n]) => n);
    if (problems.length === 0) return { open: true, reason, message: "", nodes: names };
    return { open: false, reason, message: `postflight: ${problems.join("; ")}`, nodes: names };
  },
};
