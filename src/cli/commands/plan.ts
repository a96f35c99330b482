// `plan-runner plan FILE|DIR`: the dry run. For every Plan it prints which nodes are eligible, in
// which order, the waves at the Plan's concurrency, the nodes skipped grouped by why (naming the
// label), what will block the rollout, and the exact pods the controller would create: rendered by
// the controller's own function with its own defaults (ControllerDefaults). The summary is YAML
// comments and the pods are YAML documents, so the output pipes into
// `kubectl apply --dry-run=server -f -` as is.
import { readdir, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { stringify } from "yaml";
import type { Plan } from "../../generated/plan.ts";
import { type ValidatedPlan, formatProblem, validateLoaded } from "../../plan/validate.ts";
import { readPlanFile } from "../../plan/load.ts";
import { parseGoDuration } from "../../plan/duration.ts";
import { nodeSelectorMiss } from "../../plan/selector.ts";
import { INELIGIBILITY_TEXT } from "../../controller/rollout/eligibility.ts";
import { planHash } from "../../controller/rollout/hash.ts";
import { labelPlanName } from "../../controller/rollout/keys.ts";
import type { Node } from "../../controller/rollout/objects.ts";
import { type NodeView, type SecretView, toNodeView } from "../../controller/rollout/model.ts";
import { isControlPlane } from "../../controller/rollout/order.ts";
import { type PodSettings, renderContext, renderPlanPod } from "../../controller/rollout/render-for-plan.ts";
import { type Selection, type Skipped, selectNodes, waves } from "../../controller/rollout/select.ts";
import { mungeVersion } from "../../controller/rollout/version.ts";
import { resolveChannel } from "../../controller/kube/channel.ts";
import { loadCredentials } from "../../controller/kube/credentials.ts";
import { ControllerDefaults as D } from "../../controller/wiring/defaults.ts";
import { compilePlan } from "../../plan/compile.ts";
import { KubeAdapter } from "../../controller/kube/adapter.ts";
import type { Pod, Secret } from "../../controller/rollout/objects.ts";
import { podFacts } from "../../controller/rollout/pod-facts.ts";
import { resources } from "../../controller/kube/ports.ts";
import type { PlanObject } from "../../controller/wiring/reconciler.ts";
import { type CliIO, type Command, EXIT_INVALID, EXIT_OK, EXIT_USAGE } from "../io.ts";
import { readObjects, toSecretView } from "../read-objects.ts";
import { blockers } from "../plan-blockers.ts";

const USAGE = `usage: plan-runner plan FILE|DIR [--nodes NODES.yaml | --kubeconfig FILE] [options]

Dry run: for each Plan in FILE (or in each *.yaml and *.yml file of DIR, as \`kubectl apply -f DIR\`
reads it), the eligible nodes in order, the waves at the Plan's concurrency, the skipped nodes
grouped by why (naming the label), what will hold the rollout (a closed window, an \`after\` Plan
not Complete, a missing secret, a downgrade), and the pods (YAML) the controller would create,
exactly as it creates them with its default settings. Nothing is written to any cluster.

  --nodes FILE            offline: nodes as \`kubectl get nodes -o yaml\` prints them
  --kubeconfig FILE       live: read the nodes, the Plans and secrets of the Plan's namespace, the
                          pods already in flight and the channel from the cluster and the network.
                          Without --nodes or --kubeconfig the dry run is live too, with the
                          credentials kubectl would use: $KUBECONFIG (a list of files separated by
                          ':' is merged as kubectl merges it), else ~/.kube/config
  --secrets FILE          offline: the Plan's secrets as \`kubectl get secrets -o yaml\` prints them,
                          for the exact hash and the missing-secret warning
  --version V             the version to assume when the Plan resolves it from a channel
  --pods all|first|none   which nodes' pods to print (default all)
  --now TIME              judge spec.window at TIME (RFC 3339, e.g. 2026-12-05T02:30:00Z), not now
  --controller-name NAME  as the controller's --name (default ${D.controllerName})
  --namespace NS          namespace of Plans that name none (default ${D.namespace})
  --pod-ttl D             as the controller's --pod-ttl (default 1h)`;

interface Args {
  readonly target: string;
  readonly nodes: string | undefined;
  readonly kubeconfig: string | undefined;
  readonly secrets: string | undefined;
  readonly version: string | undefined;
  readonly pods: "all" | "first" | "none";
  readonly now: Date;
  readonly settings: PodSettings;
}

const KNOWN = new Set(["--nodes", "--secrets", "--version", "--pods", "--controller-name", "--namespace", "--kubeconfig", "--now", "--pod-ttl"]);

function splitArgs(argv: readonly string[]): { flags: Map<string, string>; positional: string[] } | { usage: string } {
  const flags = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? "";
    if (a === "--help" || a === "-h") return { usage: "" };
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = eq < 0 ? a : a.slice(0, eq);
      if (!KNOWN.has(name)) return { usage: `unknown option ${name}` };
      const value = eq < 0 ? argv[++i] : a.slice(eq + 1);
      if (value === undefined || value === "") return { usage: `${name} needs a value` };
      flags.set(name, value);
    } else positional.push(a);
  }
  return { flags, positional };
}

function parseArgs(argv: readonly string[]): Args | { usage: string } {
  const split = splitArgs(argv);
  if ("usage" in split) return split;
  const { flags, positional } = split;
  if (positional.length !== 1) return { usage: positional.length === 0 ? "missing the Plan FILE" : `one Plan FILE expected, got ${positional.length}` };
  const nodes = flags.get("--nodes");
  const kubeconfig = flags.get("--kubeconfig");
  if (nodes !== undefined && kubeconfig !== undefined) return { usage: "give either --nodes NODES.yaml (offline) or --kubeconfig FILE (live), not both" };
  const pods = flags.get("--pods") ?? "all";
  if (pods !== "all" && pods !== "first" && pods !== "none") return { usage: `--pods must be all, first or none, got ${pods}` };
  const nowText = flags.get("--now");
  const now = nowText === undefined ? new Date() : new Date(nowText);
  if (Number.isNaN(now.getTime())) return { usage: `--now: "${nowText ?? ""}" is not a time such as 2026-12-05T02:30:00Z` };
  const ttl = parseGoDuration(flags.get("--pod-ttl") ?? "0s");
  if (!ttl.ok || ttl.ms < 0) return { usage: `--pod-ttl: ${ttl.ok ? "negative" : ttl.reason}` };
  return {
    target: positional[0] ?? "",
    nodes,
    kubeconfig,
    secrets: flags.get("--secrets"),
    version: flags.get("--version"),
    pods,
    now,
    settings: {
      ...D,
      controllerName: flags.get("--controller-name") ?? D.controllerName,
      namespace: flags.get("--namespace") ?? D.namespace,
      podTtlMs: flags.has("--pod-ttl") ? ttl.ms : D.podTtlMs,
    },
  };
}

const yamlDoc = (v: unknown): string => stringify(v, { version: "1.1", lineWidth: 0 });

const MAX_NAMES = 20;
const nameList = (names: readonly string[]): string =>
  names.length <= MAX_NAMES ? names.join(", ") : `${names.slice(0, MAX_NAMES).join(", ")}, ... and ${names.length - MAX_NAMES} more`;

/** Why a node is skipped, in words that name the label to change. */
function skipReason(plan: Plan, s: Skipped): string {
  const label = labelPlanName(plan.metadata.name);
  switch (s.reason) {
    case "not-selected":
      return `not selected: ${nodeSelectorMiss(plan.spec.nodeSelector, s.node.labels) ?? INELIGIBILITY_TEXT["not-selected"]}`;
    case "disabled":
      return `opted out: ${label}=disabled`;
    case "done":
      return `already upgraded: ${label} is this hash`;
    default:
      return INELIGIBILITY_TEXT[s.reason];
  }
}

/** The eligible nodes in order, the waves and the skipped nodes grouped by reason, as comment lines. */
function orderLines(plan: Plan, sel: Selection): string[] {
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
  const groups = new Map<string, string[]>();
  for (const s of sel.skipped) {
    const why = skipReason(plan, s);
    groups.set(why, [...(groups.get(why) ?? []), s.node.name]);
  }
  for (const [why, names] of [...groups].sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]))) {
    out.push(`  ${why} (${names.length}): ${nameList(names)}`);
  }
  return out;
}

/** The exact pods the controller would create, as YAML documents. */
function printPods(plan: Plan, ordered: readonly NodeView[], version: string, hash: string, args: Args, io: CliIO): void {
  const compiled = compilePlan(plan, D);
  const ctx = renderContext(args.settings, hash, version);
  const podNodes = args.pods === "none" ? [] : args.pods === "first" ? ordered.slice(0, 1) : ordered;
  for (const node of podNodes) {
    for (const step of plan.spec.prepare === undefined ? (["apply"] as const) : (["prepare", "apply"] as const)) {
      io.out(`---\n${yamlDoc(renderPlanPod(compiled, ctx, node, step, 1))}`);
    }
  }
}

/** What the dry run knows of the world: the nodes, and in live mode (or with --secrets) more. */
interface World {
  readonly nodes: readonly NodeView[];
  readonly secrets: readonly SecretView[] | undefined;
  /** Live: the Plans in the namespaces of the given Plans. */
  readonly plans?: readonly Plan[];
  readonly inFlight?: ReadonlyMap<string, ReadonlySet<string>>;
  readonly channelVersion?: string;
  readonly channelError?: string;
}

/**
 * The Plan as the controller will read it once applied: the live Plan's uid (its pods' owner) and
 * the generation the API server will give it: unchanged when the file changes nothing it holds, one
 * more when it does, 1 for a new Plan. A file from `kubectl get -o yaml` keeps its own.
 */
function asApplied(plan: Plan, ns: string, world: World): { plan: Plan; note?: string } {
  if (typeof plan.metadata["generation"] === "number") return { plan };
  const live = world.plans?.find((p) => p.metadata.name === plan.metadata.name && (p.metadata.namespace ?? ns) === ns);
  if (live === undefined) {
    const note = "NOTE: a new Plan: its pods will also name it as their owner (uid assigned when it is created)";
    return { plan: { ...plan, metadata: { ...plan.metadata, generation: 1 } }, ...(world.plans !== undefined ? { note } : {}) };
  }
  const liveGen = typeof live.metadata["generation"] === "number" ? live.metadata["generation"] : 1;
  const unchanged = Object.entries(plan.spec).every(([k, v]) => isDeepStrictEqual((live.spec as unknown as Record<string, unknown>)[k], v));
  return { plan: { ...plan, metadata: { ...plan.metadata, uid: live.metadata["uid"], generation: unchanged ? liveGen : liveGen + 1 } } };
}

function resolveVersion(plan: Plan, args: Args, world: World): string | undefined {
  const v = plan.spec.version;
  return v !== undefined && v !== "" ? mungeVersion(v) : args.version !== undefined ? mungeVersion(args.version) : world.channelVersion;
}

function hashOf(plan: Plan, version: string, secrets: readonly SecretView[] | undefined): { hash: string; unknown: string[] } {
  const hashed = (plan.spec.secrets ?? []).filter((s) => s.ignoreUpdates !== true);
  const byName = new Map((secrets ?? []).map((s) => [s.name, s]));
  const unknown = hashed.filter((s) => !byName.has(s.name)).map((s) => s.name);
  // Without the secrets the hash cannot be SUC's; the dry run still shows order and pods, with that said loudly.
  const hashable =
    unknown.length > 0
      ? { ...plan, spec: { ...plan.spec, secrets: (plan.spec.secrets ?? []).filter((s) => byName.has(s.name) || s.ignoreUpdates === true) } }
      : plan;
  const h = planHash(hashable, version, (n) => byName.get(n));
  return { hash: h.ok ? h.hash : "", unknown };
}

function describePlan(source: Plan, world: World, args: Args, io: CliIO): boolean {
  const ns = source.metadata.namespace ?? args.settings.namespace;
  const { plan, note } = asApplied(source, ns, world);
  const version = resolveVersion(plan, args, world);
  if (version === undefined) {
    io.err(
      `plan-runner plan: Plan ${ns}/${plan.metadata.name} resolves its version from the channel ${plan.spec.channel ?? "(none)"}${world.channelError !== undefined ? `, which failed: ${world.channelError}` : ""}; pass --version`,
    );
    return false;
  }
  const { hash, unknown } = hashOf(plan, version, world.secrets);
  const inFlight = world.inFlight?.get(plan.metadata.name) ?? new Set<string>();
  const sel = selectNodes({ plan, nodes: world.nodes, latestHash: hash, inFlight });
  const lines: string[] = [];
  const say = (s = ""): void => void lines.push(s === "" ? "#" : `# ${s}`);
  say(`Plan ${ns}/${plan.metadata.name}`);
  say(`  version      ${version}`);
  say(`  hash         ${hash}${unknown.length > 0 ? `  (PROVISIONAL: contents of secret(s) ${unknown.join(", ")} unknown; pass --secrets)` : ""}`);
  say(`  concurrency  ${sel.concurrency}`);
  const live = world.inFlight !== undefined ? ` (live; ${inFlight.size} already in flight: ${[...inFlight].join(", ") || "none"})` : "";
  say(`  nodes        ${world.nodes.length} listed, ${sel.ordered.length} eligible, ${sel.skipped.length} skipped${live}`);
  if (plan.spec.nodeSelector === undefined) say("  NOTE: the Plan has no spec.nodeSelector, so it selects no node (as in SUC)");
  if (note !== undefined) say(`  ${note}`);
  const secretsKnown = world.secrets !== undefined && (world.plans !== undefined || args.secrets !== undefined) ? world.secrets : undefined;
  for (const b of blockers(plan, { namespace: ns, version, nodes: sel.ordered, secrets: secretsKnown, plans: world.plans, now: args.now })) say(`  ${b}`);
  say();
  for (const line of orderLines(plan, sel)) say(line);
  io.out(lines.join("\n"));
  printPods(plan, sel.ordered, version, hash, args, io);
  return true;
}

async function readLive(args: Args, io: CliIO, plans: readonly Plan[]): Promise<World | { error: string }> {
  let kube: KubeAdapter;
  const where = args.kubeconfig ?? "$KUBECONFIG";
  try {
    kube = new KubeAdapter({ credentials: loadCredentials(args.kubeconfig === undefined ? undefined : resolve(io.cwd, args.kubeconfig), io.env) });
  } catch (e: unknown) {
    return { error: `cannot load ${where}: ${e instanceof Error ? e.message : String(e)}` };
  }
  try {
    const nodes = (await kube.list<Node>(resources.nodes, undefined)).items.map(toNodeView);
    const namespaces = [...new Set(plans.map((p) => p.metadata.namespace ?? args.settings.namespace))];
    const secrets: SecretView[] = [];
    const livePlans: PlanObject[] = [];
    const inFlight = new Map<string, Set<string>>();
    for (const ns of namespaces) {
      for (const s of (await kube.list<Secret>(resources.secrets, ns)).items) secrets.push(toSecretView(s));
      livePlans.push(...(await kube.list<PlanObject>(resources.plans, ns)).items);
      const selector = `upgrade.cattle.io/controller=${args.settings.controllerName}`;
      for (const pod of (await kube.list<Pod>(resources.pods, ns, { labelSelector: selector })).items) {
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
    return { nodes, secrets, plans: livePlans, inFlight, ...channel };
  } catch (e: unknown) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

async function readOffline(args: Args, io: CliIO): Promise<World | { error: string }> {
  const nodeObjects = await readObjects(resolve(io.cwd, args.nodes ?? ""), "Node");
  if ("error" in nodeObjects) return nodeObjects;
  const nodes = nodeObjects.objects.map((o) => toNodeView(o as unknown as Node));
  if (args.secrets === undefined) return { nodes, secrets: undefined };
  const s = await readObjects(resolve(io.cwd, args.secrets), "Secret");
  if ("error" in s) return s;
  return { nodes, secrets: s.objects.map(toSecretView) };
}

/** FILE, or the *.yaml and *.yml files of DIR (not its subdirectories, as `kubectl apply -f DIR`). */
async function planFiles(target: string, io: CliIO): Promise<Array<{ path: string; shown: string }> | { error: string }> {
  const path = resolve(io.cwd, target);
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch {
    return { error: `${target}: no such file or directory` };
  }
  if (!isDir) return [{ path, shown: target }];
  const names = (await readdir(path, { withFileTypes: true })).filter((e) => e.isFile() && /\.ya?ml$/i.test(e.name)).map((e) => e.name);
  if (names.length === 0) return { error: `${target}: no *.yaml or *.yml file in this directory` };
  return names.sort().map((n) => ({ path: join(path, n), shown: join(target, n) }));
}

async function loadPlans(args: Args, io: CliIO): Promise<ValidatedPlan[] | { code: number }> {
  const files = await planFiles(args.target, io);
  if ("error" in files) {
    io.err(`plan-runner plan: ${files.error}`);
    return { code: EXIT_INVALID };
  }
  const plans: ValidatedPlan[] = [];
  let invalid = false;
  for (const f of files) {
    const loaded = validateLoaded(await readPlanFile(f.path, f.shown));
    for (const p of loaded.problems) io.err(formatProblem(p));
    invalid ||= loaded.problems.some((p) => p.severity === "error");
    plans.push(...loaded.plans);
  }
  if (invalid) return { code: EXIT_INVALID };
  if (plans.length === 0) {
    io.err(`plan-runner plan: no Plan in ${args.target}`);
    return { code: EXIT_INVALID };
  }
  return plans;
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
  const loaded = await loadPlans(args, io);
  if ("code" in loaded) return loaded.code;
  const plans = loaded.map((p) => p.plan);
  const world = args.nodes !== undefined ? await readOffline(args, io) : await readLive(args, io, plans);
  if ("error" in world) {
    io.err(`plan-runner plan: ${world.error}`);
    return EXIT_INVALID;
  }
  for (const [i, plan] of plans.entries()) {
    if (i > 0) io.out("");
    if (!describePlan(plan, world, args, io)) return EXIT_USAGE;
  }
  return EXIT_OK;
};
