// The seed pipeline's addon-compat.json (compat-gate.py's input), read as it is, so a user of the
// seed can move to plan-runner without rewriting the matrix. It is recognised by its shape
// (snake_case fields: namespace/kind/resource/image_re/max_k8s/pin_reason, containerd_min) and
// converted to plan-runner's form before the schema sees it.
import type { WorkloadKind } from "./compat-matrix.ts";

/** The seed's kinds as `kubectl get` took them: any case, plural or short name. */
const KINDS: Record<string, WorkloadKind> = {
  deployment: "Deployment",
  deployments: "Deployment",
  deploy: "Deployment",
  "deployment.apps": "Deployment",
  daemonset: "DaemonSet",
  daemonsets: "DaemonSet",
  ds: "DaemonSet",
  "daemonset.apps": "DaemonSet",
  statefulset: "StatefulSet",
  statefulsets: "StatefulSet",
  sts: "StatefulSet",
  "statefulset.apps": "StatefulSet",
};

const SEED_ADDON_FIELDS = ["namespace", "kind", "resource", "image_re", "max_k8s", "pin_reason"];

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);

/** True when the data looks like the seed's format rather than plan-runner's. */
export function isSeedMatrix(data: unknown): data is Record<string, unknown> {
  if (!isObject(data)) return false;
  if ("containerd_min" in data) return true;
  const addons = data["addons"];
  return Array.isArray(addons) && addons.some((a) => isObject(a) && SEED_ADDON_FIELDS.some((f) => f in a));
}

/** Python's named groups, the one regex syntax of the seed that JavaScript spells differently. */
export const pythonRegexToJs = (re: string): string => re.replaceAll("(?P<", "(?<").replaceAll(/\(\?P=(\w+)\)/g, "\\k<$1>");

/**
 * The seed matrix in plan-runner's form. Fields are moved, not judged: the schema validation
 * that follows names whatever is wrong, at plan-runner's paths. Returns the problems it can tell
 * only here (an unknown kind).
 */
export function fromSeedMatrix(seed: Record<string, unknown>): { matrix: Record<string, unknown>; problems: string[] } {
  const problems: string[] = [];
  const addons = (Array.isArray(seed["addons"]) ? seed["addons"] : []).map((raw: unknown, i) => {
    if (!isObject(raw)) return raw;
    const { name, namespace, kind, resource, image_re, max_k8s, pinned, pin_reason, ...rest } = raw;
    const mapped = typeof kind === "string" ? KINDS[kind.toLowerCase()] : undefined;
    if (mapped === undefined) problems.push(`/addons/${i}/kind: "${String(kind)}" is not a Deployment, DaemonSet or StatefulSet`);
    return {
      name,
      workload: { kind: mapped ?? kind, namespace, name: resource },
      imagePattern: typeof image_re === "string" ? pythonRegexToJs(image_re) : image_re,
      maxKubernetes: max_k8s,
      ...(pinned !== undefined ? { pinned } : {}),
      ...(pin_reason !== undefined ? { pinReason: pin_reason } : {}),
      ...rest,
    };
  });
  const { addons: _addons, containerd_min, ...rest } = seed;
  return { matrix: { ...rest, addons, ...(containerd_min !== undefined ? { containerdMin: containerd_min } : {}) }, problems };
}
