import type { PlanStatus } from "../../generated/plan.ts";
import { eligibility } from "../../controller/rollout/eligibility.ts";
import { timeLeft, waitSummary, waitingNodeState } from "../../controller/rollout/waits.ts";
import { KubeAdapter } from "../../controller/kube/adapter.ts";
import { loadCredentials } from "../../controller/kube/credentials.ts";
import type { Node } from "../../controller/rollout/objects.ts";
import { type Kube, resources } from "../../controller/kube/ports.ts";
import type { PlanObject } from "../../controller/wiring/reconciler.ts";
import { parseGoDuration } from "../../plan/duration.ts";
import { type CliIO, type Command, EXIT_INVALID, EXIT_USAGE, parseCommandLine } from "../io.ts";
import { ControllerDefaults as D } from "../../controller/wiring/defaults.ts";

const HELP = `usage: plan-runner status [PLAN] [options]

Progress of each Plan in the namespace (or of PLAN alone) and the state of each node it selects.
Exit 0; 1 when PLAN does not exist or the cluster cannot be read; 2 on a wrong command line.

  PLAN                  show this Plan only (an error if it is not in the namespace)
  -n, --namespace NS    namespace of the Plans (default $POD_NAMESPACE, else system-upgrade)
  --kubeconfig FILE     cluster credentials (default $KUBECONFIG as kubectl reads it, else
                        ~/.kube/config, else the in-cluster service account)
  -w, --watch           redraw until interrupted
  --interval D          time between redraws with --watch, a duration such as 2s or 500ms (default 2s)
  -h, --help            this text`;

/** Every option; the help text names each (a unit test holds it to that). */
export const STATUS_OPTIONS = {
  kubeconfig: { type: "string" },
  namespace: { type: "string", short: "n" },
  watch: { type: "boolean", short: "w" },
  interval: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

const BAR = 24;

/** Nothing selected is an empty bar, not a full one: "done" is the Plan's Complete condition, not a drawing. */
export function progressBar(done: number, total: number): string {
  const filled = total <= 0 ? 0 : Math.min(BAR, Math.round((done / total) * BAR));
  return `[${"#".repeat(filled)}${".".repeat(BAR - filled)}]`;
}

interface StatusWait {
  readonly node?: string;
  readonly reason: string;
  readonly message: string;
  readonly until?: number;
}

/** status.waits as written by the controller (unknown fields and bad values tolerated). */
function waitsOf(s: PlanStatus): StatusWait[] {
  const out: StatusWait[] = [];
  for (const w of s.waits ?? []) {
    const until = w.until === undefined ? Number.NaN : Date.parse(w.until);
    out.push({
      ...(w.node !== undefined ? { node: w.node } : {}),
      reason: w.reason ?? "",
      message: w.message ?? "",
      ...(Number.isNaN(until) ? {} : { until }),
    });
  }
  return out;
}

const left = (w: StatusWait, now: number): string => (w.until === undefined ? "" : ` (${timeLeft(w.until, now)} left)`);

/** A node's state word and what follows it on its line. */
function nodeLine(
  why: string | undefined,
  f: Record<string, unknown> | undefined,
  wait: StatusWait | undefined,
  applying: boolean,
  planWait: StatusWait | undefined,
  now: number,
): [string, string] {
  if (why === "done") return ["complete", ""];
  if (why === "disabled") return ["skipped", "labelled disabled for this Plan"];
  const said = f?.["message"];
  const failure = typeof said === "string" ? said : "";
  if (wait !== undefined) {
    const text = `${wait.message}${left(wait, now)}`;
    return [waitingNodeState(wait.reason) ?? "applying", failure === "" ? text : `${text}; ${failure}`];
  }
  if (f !== undefined) return [f["reason"] === "Retrying" ? "retrying" : "failed", failure];
  if (applying) return ["applying", ""];
  return ["pending", planWait === undefined ? "" : `${waitSummary(planWait)}${left(planWait, now)}`];
}

/** One screen of status, as text: a block per Plan, a line per node. */
export function renderStatus(plans: readonly PlanObject[], nodes: readonly Node[], now = Date.now()): string {
  if (plans.length === 0) return "no Plans found\n";
  const out: string[] = [];
  for (const plan of [...plans].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
    const s: PlanStatus = plan.status ?? {};
    const counts = s.counts ?? {};
    const total = counts.total ?? 0;
    const complete = counts.complete ?? 0;
    if (plan.status === undefined) {
      out.push(`${plan.metadata.name}  no status yet: no controller has reconciled it (is one running and watching this namespace?)`);
      continue;
    }
    out.push(`${plan.metadata.name}  ${s.state ?? "Unknown"}  version ${s.latestVersion ?? "?"}  ${progressBar(complete, total)} ${complete}/${total}`);
    if (total === 0) out.push("  selects no node (check spec.nodeSelector and the nodes' labels)");
    if (s.message !== undefined && s.message !== "") out.push(`  ${s.message}`);
    const waits = waitsOf(s);
    const planWait = waits.find((w) => w.node === undefined);
    // The Plan's message is often its wait already (after, the window): said once, with the time left.
    if (planWait !== undefined && planWait.message !== "" && planWait.message === s.message)
      out[out.length - 1] = `  ${planWait.message}${left(planWait, now)}`;
    else if (planWait !== undefined) out.push(`  waiting: ${planWait.message}${left(planWait, now)}`);
    const nodeWaits = new Map(waits.filter((w) => w.node !== undefined).map((w) => [w.node!, w]));
    const check = eligibility(plan, s.latestHash ?? "\u0000");
    const applying = new Set(s.applying ?? []);
    const failed = new Map((s.failures ?? []).map((f) => [String(f["node"] ?? ""), f]));
    for (const n of nodes) {
      const why = check(n.metadata.labels ?? {});
      if (why !== undefined && why !== "done" && why !== "disabled") continue;
      const name = n.metadata.name;
      const host = n.metadata.labels?.["kubernetes.io/hostname"] ?? name;
      const [state, text] = nodeLine(why, failed.get(name), nodeWaits.get(name), applying.has(host), planWait, now);
      const cordoned = n.spec?.unschedulable === true ? " (cordoned)" : "";
      out.push(`  ${name.padEnd(28)} ${state}${cordoned}${text !== "" ? `  ${text}` : ""}`);
    }
  }
  out.push(`(${new Date(now).toISOString()})`);
  return `${out.join("\n")}\n`;
}

async function snapshot(kube: Kube, namespace: string, only: string | undefined): Promise<string> {
  const [plans, nodes] = await Promise.all([kube.list<PlanObject>(resources.plans, namespace), kube.list<Node>(resources.nodes, undefined)]);
  const shown = plans.items.filter((p) => only === undefined || p.metadata.name === only);
  if (only !== undefined && shown.length === 0) {
    const others = plans.items.map((p) => p.metadata.name).sort();
    throw new Error(
      `no Plan ${only} in namespace ${namespace} (${others.length === 0 ? "it has no Plans" : `it has ${others.join(", ")}`}; -n NS for another)`,
    );
  }
  return renderStatus(shown, nodes.items);
}

export const run: Command = async (argv: readonly string[], io: CliIO) => {
  const parsed = parseCommandLine(argv, STATUS_OPTIONS, HELP, io, true);
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  if (positionals.length > 1) {
    io.err(`plan-runner status: one PLAN at most, got ${positionals.join(" ")}\n${HELP}`);
    return EXIT_USAGE;
  }
  const interval = parseGoDuration(values.interval ?? "2s");
  if (!interval.ok || interval.ms <= 0) {
    io.err(`plan-runner status: --interval: ${interval.ok ? "must be more than 0" : interval.reason}`);
    return EXIT_USAGE;
  }
  const namespace = values.namespace ?? io.env["POD_NAMESPACE"] ?? D.namespace;
  let kube: KubeAdapter;
  try {
    kube = new KubeAdapter({ credentials: loadCredentials(values.kubeconfig, io.env) });
  } catch (e: unknown) {
    io.err(`plan-runner status: cannot load cluster credentials: ${e instanceof Error ? e.message : String(e)}`);
    return EXIT_USAGE;
  }
  const intervalMs = interval.ms;
  try {
    if (values.watch !== true) {
      io.out(await snapshot(kube, namespace, positionals[0]));
      return 0;
    }
    for (;;) {
      const text = await snapshot(kube, namespace, positionals[0]);
      io.out(`\u001b[2J\u001b[H${text}`);
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  } catch (e: unknown) {
    io.err(`plan-runner status: ${e instanceof Error ? e.message : String(e)}`);
    return EXIT_INVALID;
  }
};
