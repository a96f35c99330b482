// `plan-runner plan FILE --nodes NODES.yaml`: the offline dry run. For every Plan in FILE it
// prints which nodes are eligible, in which order, the waves at the Plan's concurrency, the
// nodes skipped and why, and the exact pods the controller would create. The summary is YAML
// comments and the pods are YAML documents, so the output pipes into
// `kubectl apply --dry-run=server -f -` as is.
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import type { Plan } from "../../generated/plan.ts";
import { parseGoDuration } from "../../plan/duration.ts";
import { readPlanFile } from "../../plan/load.ts";
import { formatProblem, validateLoaded } from "../../plan/validate.ts";
import { INELIGIBILITY_TEXT } from "../../controller/eligibility.ts";
import { planHash } from "../../controller/hash.ts";
import type { Node } from "../../controller/kube-types.ts";
import { type NodeView, type SecretView, toNodeView } from "../../controller/model.ts";
import { isControlPlane } from "../../controller/order.ts";
import { type RenderOptions, renderPod } from "../../controller/render-pod.ts";
import { selectNodes, waves } from "../../controller/select.ts";
import { mungeVersion } from "../../controller/version.ts";
import { type CliIO, type Command, EXIT_INVALID, EXIT_OK, EXIT_USAGE } from "../io.ts";

const USAGE = `usage: plan-runner plan FILE --nodes NODES.yaml [options]

Dry run, offline: for each Plan in FILE, the eligible nodes in order, the waves at the Plan's
concurrency, the skipped nodes and why, and the pods (YAML) the controller would create.

  --nodes FILE            nodes as \`kubectl get nodes -o yaml\` prints them (required)
  --secrets FILE          the Plan's secrets as \`kubectl get secrets -o yaml\` prints them, for the exact hash
  --version V             the version to assume when the Plan resolves it from a channel
  --pods all|first|none   which nodes' pods to print (default all)
  --controller-name NAME  value of the upgrade.cattle.io/controller label (default plan-runner)
  --namespace NS          namespace of Plans that name none (default system-upgrade)
  --kubeconfig FILE       live mode against a cluster: not yet available`;

/** SUC's defaults (pkg/upgrade/job): 600 s deadline, no maximum, IfNotPresent, privileged. */
const SUC_DEFAULTS = { activeDeadline: { defaultSeconds: 600, maxSeconds: 0 } } as const;

interface Args {
  readonly file: string;
  readonly nodes: string;
  readonly secrets: string | undefined;
  readonly version: string | undefined;
  readonly pods: "all" | "first" | "none";
  readonly controllerName: string;
  readonly namespace: string;
}

function parseArgs(argv: readonly string[]): Args | { usage: string } | { notYet: string } {
  const flags = new Map<string, string>();
  const positional: string[] = [];
  const known = new Set(["--nodes", "--secrets", "--version", "--pods", "--controller-name", "--namespace", "--kubeconfig"]);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? "";
    if (a === "--help" || a === "-h") return { usage: "" };
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = eq < 0 ? a : a.slice(0, eq);
      if (!known.has(name)) return { usage: `unknown option ${name}` };
      const value = eq < 0 ? argv[++i] : a.slice(eq + 1);
      if (value === undefined || value === "") return { usage: `${name} needs a value` };
      flags.set(name, value);
    } else positional.push(a);
  }
  if (flags.has("--kubeconfig")) return { notYet: "plan-runner plan: --kubeconfig (live mode) is not yet available; use --nodes with `kubectl get nodes -o yaml` output" };
  if (positional.length !== 1) return { usage: positional.length === 0 ? "missing the Plan FILE" : `one Plan FILE expected, got ${positional.length}` };
  const nodes = flags.get("--nodes");
  if (nodes === undefined) return { usage: "missing --nodes NODES.yaml (live mode with --kubeconfig is not yet available)" };
  const pods = flags.get("--pods") ?? "all";
  if (pods !== "all" && pods !== "first" && pods !== "none") return { usage: `--pods must be all, first or none, got ${pods}` };
  return {
    file: positional[0] ?? "",
    nodes,
    secrets: flags.get("--secrets"),
    version: flags.get("--version"),
    pods,
    controllerName: flags.get("--controller-name") ?? "plan-runner",
    namespace: flags.get("--namespace") ?? "system-upgrade",
  };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Objects of `kind` from a YAML stream of objects and Lists (what `kubectl get -o yaml` prints). */
async function readObjects(path: string, kind: string): Promise<{ objects: Record<string, unknown>[] } | { error: string }> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e: unknown) {
    return { error: `cannot read ${path}: ${e instanceof Error ? e.message : String(e)}` };
  }
  const objects: Record<string, unknown>[] = [];
  const docs = parseAllDocuments(text);
  for (const doc of Array.isArray(docs) ? docs : []) {
    const first = doc.errors[0];
    if (first !== undefined) return { error: `${path}: YAML: ${first.message}` };
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue;
    const items = isRecord(value) && Array.isArray(value["items"]) ? (value["items"] as unknown[]) : [value];
    for (const item of items) {
      if (!isRecord(item) || (item["kind"] !== undefined && item["kind"] !== kind)) {
        return { error: `${path}: expected ${kind} objects (or a List of them), found ${isRecord(item) ? String(item["kind"]) : typeof item}` };
      }
      const meta = item["metadata"];
      if (!isRecord(meta) || typeof meta["name"] !== "string") return { error: `${path}: a ${kind} without metadata.name` };
      objects.push(item);
    }
  }
  return { objects };
}

function toSecretView(o: Record<string, unknown>): SecretView {
  const meta = o["metadata"] as Record<string, unknown>;
  const data = o["data"];
  const immutable = o["immutable"];
  return {
    name: String(meta["name"]),
    type: typeof o["type"] === "string" ? o["type"] : "",
    data: isRecord(data) && Object.keys(data).length > 0 ? Object.fromEntries(Object.entries(data).map(([k, v]) => [k, String(v)])) : undefined,
    ...(typeof immutable === "boolean" ? { immutable } : {}),
  };
}

const yamlDoc = (v: unknown): string => stringify(v, { version: "1.1", lineWidth: 0 });

function describePlan(plan: Plan, nodes: readonly NodeView[], secrets: readonly SecretView[] | undefined, args: Args, io: CliIO): boolean {
  const name = plan.metadata.name;
  const ns = plan.metadata.namespace ?? args.namespace;
  const spec = plan.spec;
  const version = spec.version !== undefined && spec.version !== "" ? mungeVersion(spec.version) : args.version === undefined ? undefined : mungeVersion(args.version);
  const lines: string[] = [];
  const say = (s = ""): void => void lines.push(s === "" ? "#" : `# ${s}`);
  if (version === undefined) {
    io.err(`plan-runner plan: Plan ${ns}/${name} resolves its version from the channel ${spec.channel ?? "(none)"}; pass --version to dry-run it offline`);
    return false;
  }
  const hashed = (spec.secrets ?? []).filter((s) => s.ignoreUpdates !== true);
  const byName = new Map((secrets ?? []).map((s) => [s.name, s]));
  const provisional = hashed.some((s) => !byName.has(s.name));
  // Without the secrets the hash cannot be SUC's; the dry run still shows order and pods, with that said loudly.
  const h = planHash(provisional ? { ...plan, spec: { ...spec, secrets: (spec.secrets ?? []).filter((s) => byName.has(s.name) || s.ignoreUpdates === true) } } : plan, version, (n) => byName.get(n));
  const hash = h.ok ? h.hash : "";

  const sel = selectNodes({ plan, nodes, latestHash: hash, inFlight: new Set() });
  const wv = waves(sel.ordered, sel.concurrency);
  say(`Plan ${ns}/${name}`);
  say(`  version      ${version}`);
  say(`  hash         ${hash}${provisional ? `  (PROVISIONAL: contents of secret(s) ${hashed.filter((s) => !byName.has(s.name)).map((s) => s.name).join(", ")} unknown; pass --secrets)` : ""}`);
  say(`  concurrency  ${sel.concurrency}`);
  say(`  nodes        ${nodes.length} listed, ${sel.ordered.length} eligible, ${sel.skipped.length} skipped`);
  if (spec.nodeSelector === undefined) say("  NOTE: the Plan has no spec.nodeSelector, so it selects no node (as in SUC)");
  say();
  say(`Eligible nodes, in order (${sel.ordered.length}):`);
  const width = Math.max(4, ...sel.ordered.map((n) => n.name.length));
  sel.ordered.forEach((n, i) => say(`  ${String(i + 1).padStart(4)}. ${n.name.padEnd(width)}${isControlPlane(n.labels) ? "  control-plane" : ""}${n.ready ? "" : "  NotReady"}${n.unschedulable ? "  cordoned" : ""}`));
  say();
  say(`Waves at concurrency ${sel.concurrency}: ${wv.length}`);
  wv.forEach((w, i) => say(`  wave ${i + 1}: ${w.map((n) => n.name).join(", ")}`));
  say();
  say(`Skipped nodes (${sel.skipped.length}):`);
  for (const s of sel.skipped) say(`  ${s.node.name}: ${INELIGIBILITY_TEXT[s.reason]}`);
  io.out(lines.join("\n"));

  const options: RenderOptions = { controllerName: args.controllerName, defaultNamespace: args.namespace, ...SUC_DEFAULTS };
  const delay = spec.postCompleteDelay === undefined ? undefined : parseGoDuration(spec.postCompleteDelay);
  const postCompleteDelayMs = delay?.ok === true ? delay.ms : undefined;
  const podNodes = args.pods === "none" ? [] : args.pods === "first" ? sel.ordered.slice(0, 1) : sel.ordered;
  for (const node of podNodes) {
    for (const step of spec.prepare === undefined ? (["apply"] as const) : (["prepare", "apply"] as const)) {
      const pod = renderPod({ plan, node, step, latestVersion: version, latestHash: hash, ...(postCompleteDelayMs === undefined ? {} : { postCompleteDelayMs }) }, options);
      io.out(`---\n${yamlDoc(pod)}`);
    }
  }
  return true;
}

export const run: Command = async (argv, io) => {
  const args = parseArgs(argv);
  if ("notYet" in args) {
    io.err(args.notYet);
    return EXIT_USAGE;
  }
  if ("usage" in args) {
    if (args.usage === "") {
      io.out(USAGE);
      return EXIT_OK;
    }
    io.err(`plan-runner plan: ${args.usage}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  const loaded = validateLoaded(await readPlanFile(resolve(io.cwd, args.file), args.file));
  for (const p of loaded.problems) io.err(formatProblem(p));
  if (loaded.problems.some((p) => p.severity === "error")) return EXIT_INVALID;
  if (loaded.plans.length === 0) {
    io.err(`plan-runner plan: no Plan in ${args.file}`);
    return EXIT_INVALID;
  }
  const nodeObjects = await readObjects(resolve(io.cwd, args.nodes), "Node");
  if ("error" in nodeObjects) {
    io.err(`plan-runner plan: ${nodeObjects.error}`);
    return EXIT_INVALID;
  }
  const nodes = nodeObjects.objects.map((o) => toNodeView(o as unknown as Node));
  let secrets: SecretView[] | undefined;
  if (args.secrets !== undefined) {
    const s = await readObjects(resolve(io.cwd, args.secrets), "Secret");
    if ("error" in s) {
      io.err(`plan-runner plan: ${s.error}`);
      return EXIT_INVALID;
    }
    secrets = s.objects.map(toSecretView);
  }
  let first = true;
  for (const { plan } of loaded.plans) {
    if (!first) io.out("");
    first = false;
    if (!describePlan(plan, nodes, secrets, args, io)) return EXIT_USAGE;
  }
  return EXIT_OK;
};
