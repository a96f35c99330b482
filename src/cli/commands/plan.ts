// `plan-runner plan FILE --nodes NODES.yaml`: the offline dry run. For every Plan in FILE it
// prints which nodes are eligible, in which order, the waves at the Plan's concurrency, the
// nodes skipped and why, and the exact pods the controller would create. The summary is YAML
// comments and the pods are YAML documents, so the output pipes into
// `kubectl apply --dry-run=server -f -` as is.
import { resolve } from "node:path";
import { stringify } from "yaml";
import type { Plan } from "../../generated/plan.ts";
import { readPlanFile } from "../../plan/load.ts";
import { formatProblem, validateLoaded } from "../../plan/validate.ts";
import { INELIGIBILITY_TEXT } from "../../controller/rollout/eligibility.ts";
import { planHash } from "../../controller/rollout/hash.ts";
import type { Node } from "../../controller/rollout/objects.ts";
import { type NodeView, type SecretView, toNodeView } from "../../controller/rollout/model.ts";
import { isControlPlane } from "../../controller/rollout/order.ts";
import { type RenderOptions, renderPod } from "../../controller/rollout/render-pod.ts";
import { selectNodes, waves } from "../../controller/rollout/select.ts";
import { mungeVersion } from "../../controller/rollout/version.ts";
import { resolveChannel } from "../../controller/kube/channel.ts";
import { ControllerDefaults as D } from "../../controller/wiring/defaults.ts";
import { compilePlan } from "../../plan/compile.ts";
import { KubeAdapter } from "../../controller/kube/adapter.ts";
import type { Pod, Secret } from "../../controller/rollout/objects.ts";
import { podFacts } from "../../controller/rollout/pod-facts.ts";
import { resources } from "../../controller/kube/ports.ts";
import { type CliIO, type Command, EXIT_INVALID, EXIT_OK, EXIT_USAGE } from "../io.ts";
import { readObjects, toSecretView } from "../read-objects.ts";

const USAGE = `usage: plan-runner plan FILE (--nodes NODES.yaml | --kubeconfig FILE) [options]

Dry run: for each Plan in FILE, the eligible nodes in order, the waves at the Plan's
concurrency, the skipped nodes and why, and the pods (YAML) the controller would create.
Nothing is written to any cluster.

  --nodes FILE            offline: nodes as \`kubectl get nodes -o yaml\` prints them
  --kubeconfig FILE       live: read the nodes, the Plan's secrets (for the exact hash), the pods
                          already in flight and the channel from the cluster and the network
  --secrets FILE          the Plan's secrets as \`kubectl get secrets -o yaml\` prints them, for the exact hash
  --version V             the version to assume when the Plan resolves it from a channel
  --pods all|first|none   which nodes' pods to print (default all)
  --controller-name NAME  value of the upgrade.cattle.io/controller label (default plan-runner)
  --namespace NS          namespace of Plans that name none (default system-upgrade)`;

/** The controller's own defaults, so the pods shown are the pods it would create. */
const CONTROLLER_DEFAULTS = { activeDeadline: { defaultSeconds: D.defaultDeadlineSecs, maxSeconds: D.maxDeadlineSecs } } as const;

interface Args {
  readonly file: string;
  readonly nodes: string | undefined;
  readonly kubeconfig: string | undefined;
  readonly secrets: string | undefined;
  readonly version: string | undefined;
  readonly pods: "all" | "first" | "none";
  readonly controllerName: string;
  readonly namespace: string;
}

function parseArgs(argv: readonly string[]): Args | { usage: string } {
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
  if (positional.length !== 1) return { usage: positional.length === 0 ? "missing the Plan FILE" : `one Plan FILE expected, got ${positional.length}` };
  const nodes = flags.get("--nodes");
  const kubeconfig = flags.get("--kubeconfig");
  if ((nodes === undefined) === (kubeconfig === undefined)) return { usage: "give either --nodes NODES.yaml (offline) or --kubeconfig FILE (live)" };
  const pods = flags.get("--pods") ?? "all";
  if (pods !== "all" && pods !== "first" && pods !== "none") return { usage: `--pods must be all, first or none, got ${pods}` };
  return {
    file: positional[0] ?? "",
    nodes,
    kubeconfig,
    secrets: flags.get("--secrets"),
    version: flags.get("--version"),
    pods,
    controllerName: flags.get("--controller-name") ?? D.controllerName,
    namespace: flags.get("--namespace") ?? D.namespace,
  };
}

/** "node (v1.35.1)" for each node whose kubelet is newer than a Kubernetes-looking version (v1.X.Y). */
function newerKubelets(nodes: readonly NodeView[], version: string): string[] {
  const target = /^v?1\.(\d+)\.(\d+)$/.exec(version);
  if (target === null) return [];
  const [minor, patch] = [Number(target[1]), Number(target[2])];
  return nodes.flatMap((n) => {
    const m = /^v?1\.(\d+)\.(\d+)/.exec(n.kubeletVersion ?? "");
    if (m === null) return [];
    const [nm, np] = [Number(m[1]), Number(m[2])];
    return nm > minor || (nm === minor && np > patch) ? [`${n.name} ${n.kubeletVersion ?? ""}`] : [];
  });
}

const yamlDoc = (v: unknown): string => stringify(v, { version: "1.1", lineWidth: 0 });

/** The eligible nodes in order, the waves and the skipped nodes, as comment lines. */
function orderLines(sel: ReturnType<typeof selectNodes>): string[] {
  const out: string[] = [];
  const wv = waves(sel.ordered, sel.concurrency);
  out.push(`Eligible nodes, in order (${sel.ordered.length}):`);
  const width = Math.max(4, ...sel.ordered.map((n) => n.name.length));
  const marks = (n: NodeView): string =>
    `${isControlPlane(n.labels) ? "  control-plane" : ""}${n.ready ? "" : "  NotReady"}${n.unschedulable ? "  cordoned" : ""}`;
  sel.ordered.forEach((n, i) => out.push(`  ${String(i + 1).padStart(4)}. ${n.name.padEnd(width)}${marks(n)}`));
  out.push("", `Waves at concurrency ${sel.concurrency}: ${wv.length}`);
  wv.forEach((w, i) => out.push(`  wave ${i + 1}: ${w.map((n) => n.name).join(", ")}`));
  out.push("", `Skipped nodes (${sel.skipped.length}):`);
  for (const s of sel.skipped) out.push(`  ${s.node.name}: ${INELIGIBILITY_TEXT[s.reason]}`);
  return out;
}

/** The exact pods the controller would create, as YAML documents. */
function printPods(plan: Plan, ordered: readonly NodeView[], version: string, hash: string, args: Args, io: CliIO): void {
  const options: RenderOptions = { controllerName: args.controllerName, defaultNamespace: args.namespace, ...CONTROLLER_DEFAULTS };
  const postCompleteDelayMs = compilePlan(plan, D).postCompleteDelayMs;
  const podNodes = args.pods === "none" ? [] : args.pods === "first" ? ordered.slice(0, 1) : ordered;
  for (const node of podNodes) {
    for (const step of plan.spec.prepare === undefined ? (["apply"] as const) : (["prepare", "apply"] as const)) {
      const input = { plan, node, step, latestVersion: version, latestHash: hash, ...(postCompleteDelayMs === undefined ? {} : { postCompleteDelayMs }) };
      io.out(`---\n${yamlDoc(renderPod(input, options))}`);
    }
  }
}

function describePlan(plan: Plan, nodes: readonly NodeView[], secrets: readonly SecretView[] | undefined, args: Args, io: CliIO, live?: LiveFacts): boolean {
  const name = plan.metadata.name;
  const ns = plan.metadata.namespace ?? args.namespace;
  const spec = plan.spec;
  const version =
    spec.version !== undefined && spec.version !== ""
      ? mungeVersion(spec.version)
      : args.version !== undefined
        ? mungeVersion(args.version)
        : live?.channelVersion;
  const lines: string[] = [];
  const say = (s = ""): void => void lines.push(s === "" ? "#" : `# ${s}`);
  if (version === undefined) {
    io.err(
      `plan-runner plan: Plan ${ns}/${name} resolves its version from the channel ${spec.channel ?? "(none)"}${live?.channelError !== undefined ? `, which failed: ${live.channelError}` : ""}; pass --version`,
    );
    return false;
  }
  const hashed = (spec.secrets ?? []).filter((s) => s.ignoreUpdates !== true);
  const byName = new Map((secrets ?? []).map((s) => [s.name, s]));
  const provisional = hashed.some((s) => !byName.has(s.name));
  // Without the secrets the hash cannot be SUC's; the dry run still shows order and pods, with that said loudly.
  const h = planHash(
    provisional ? { ...plan, spec: { ...spec, secrets: (spec.secrets ?? []).filter((s) => byName.has(s.name) || s.ignoreUpdates === true) } } : plan,
    version,
    (n) => byName.get(n),
  );
  const hash = h.ok ? h.hash : "";

  const inFlight = live?.inFlight.get(name) ?? new Set<string>();
  const sel = selectNodes({ plan, nodes, latestHash: hash, inFlight });
  say(`Plan ${ns}/${name}`);
  say(`  version      ${version}`);
  say(
    `  hash         ${hash}${
      provisional
        ? `  (PROVISIONAL: contents of secret(s) ${hashed
            .filter((s) => !byName.has(s.name))
            .map((s) => s.name)
            .join(", ")} unknown; pass --secrets)`
        : ""
    }`,
  );
  say(`  concurrency  ${sel.concurrency}`);
  say(
    `  nodes        ${nodes.length} listed, ${sel.ordered.length} eligible, ${sel.skipped.length} skipped${live !== undefined ? ` (live; ${inFlight.size} already in flight: ${[...inFlight].join(", ") || "none"})` : ""}`,
  );
  if (spec.nodeSelector === undefined) say("  NOTE: the Plan has no spec.nodeSelector, so it selects no node (as in SUC)");
  const newer = newerKubelets(sel.ordered, version);
  if (newer.length > 0) {
    say(
      `  WARNING: ${newer.length} eligible node(s) run a newer Kubernetes than ${version} (${newer.slice(0, 5).join(", ")}${newer.length > 5 ? ", ..." : ""}): a downgrade, which kubeadm-upgrade refuses and the compat gate blocks`,
    );
  }
  say();
  for (const line of orderLines(sel)) say(line);
  io.out(lines.join("\n"));

  printPods(plan, sel.ordered, version, hash, args, io);
  return true;
}

/** What live mode reads from the cluster and the network, beyond nodes and secrets. */
interface LiveFacts {
  readonly inFlight: ReadonlyMap<string, ReadonlySet<string>>;
  readonly channelVersion?: string;
  readonly channelError?: string;
}

async function readLive(
  args: Args & { kubeconfig: string },
  plans: readonly Plan[],
): Promise<{ nodes: NodeView[]; secrets: SecretView[]; live: LiveFacts } | { error: string }> {
  let kube: KubeAdapter;
  try {
    kube = new KubeAdapter({ kubeconfig: args.kubeconfig });
  } catch (e: unknown) {
    return { error: `cannot load ${args.kubeconfig}: ${e instanceof Error ? e.message : String(e)}` };
  }
  try {
    const nodes = (await kube.list<Node>(resources.nodes, undefined)).items.map(toNodeView);
    const namespaces = [...new Set(plans.map((p) => p.metadata.namespace ?? args.namespace))];
    const secrets: SecretView[] = [];
    const inFlight = new Map<string, Set<string>>();
    for (const ns of namespaces) {
      for (const s of (await kube.list<Secret>(resources.secrets, ns)).items) secrets.push(toSecretView(s));
      for (const pod of (await kube.list<Pod>(resources.pods, ns, { labelSelector: `upgrade.cattle.io/controller=${args.controllerName}` })).items) {
        const f = podFacts(pod);
        if (f === undefined || f.phase === "Succeeded" || f.phase === "Failed") continue;
        inFlight.set(f.plan, (inFlight.get(f.plan) ?? new Set()).add(f.node));
      }
    }
    const channelPlan = plans.find((p) => (p.spec.version === undefined || p.spec.version === "") && p.spec.channel !== undefined);
    let channel: { channelVersion?: string; channelError?: string } = {};
    if (channelPlan?.spec.channel !== undefined && args.version === undefined) {
      const r = await resolveChannel(channelPlan.spec.channel, { timeoutMs: D.channelTimeoutMs });
      channel = "version" in r ? { channelVersion: r.version } : { channelError: r.message };
    }
    return { nodes, secrets, live: { inFlight, ...channel } };
  } catch (e: unknown) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

export const run: Command = async (argv, io) => {
  const args = parseArgs(argv);
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
  if (args.kubeconfig !== undefined) {
    const got = await readLive(
      { ...args, kubeconfig: resolve(io.cwd, args.kubeconfig) },
      loaded.plans.map((p) => p.plan),
    );
    if ("error" in got) {
      io.err(`plan-runner plan: ${got.error}`);
      return EXIT_INVALID;
    }
    let firstLive = true;
    for (const { plan } of loaded.plans) {
      if (!firstLive) io.out("");
      firstLive = false;
      if (!describePlan(plan, got.nodes, got.secrets, args, io, got.live)) return EXIT_USAGE;
    }
    return EXIT_OK;
  }
  const nodeObjects = await readObjects(resolve(io.cwd, args.nodes ?? ""), "Node");
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
