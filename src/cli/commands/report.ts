import type { PlanStatus } from "../../generated/plan.ts";
import { KubeAdapter } from "../../controller/kube/adapter.ts";
import { LABEL_PLAN, LABEL_ROLE } from "../../controller/rollout/keys.ts";
import type { Pod } from "../../controller/rollout/objects.ts";
import { resources } from "../../controller/kube/ports.ts";
import type { PlanObject } from "../../controller/wiring/reconciler.ts";
import { type Command, parseCommandLine } from "../io.ts";
import { ControllerDefaults as D } from "../../controller/wiring/defaults.ts";

const HELP = `usage: plan-runner report [--namespace NS] [--kubeconfig FILE]

One headline per Plan, for a CronJob's log or a notification (the seed's nightly report):
COMPLETE, APPLYING, HELD (the gate's reasons grouped ACTIONABLE / WAITING / PINNED), BLOCKED,
HALTED, and the rest by their state. Read-only; exit 0 whatever the Plans' states.`;

const TAGS = ["ACTIONABLE", "WAITING", "PINNED"] as const;
type Tag = (typeof TAGS)[number];

/** The gate's tagged lines ("[WAITING] ...") in the termination messages of a Plan's failed prepare pods, without repeats. */
export function gateReasons(pods: readonly Pod[], plan: string): Map<Tag, string[]> {
  const grouped = new Map<Tag, string[]>();
  for (const pod of pods) {
    if (pod.metadata.labels?.[LABEL_PLAN] !== plan || pod.metadata.labels[LABEL_ROLE] !== "prepare") continue;
    const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
    for (const s of statuses) {
      const t = s.state?.terminated;
      if (t === undefined || t.exitCode === 0) continue;
      for (const line of (t.message ?? "").split("\n")) {
        const m = /^\[(ACTIONABLE|WAITING|PINNED)\]\s*(.*)$/.exec(line.trim());
        if (m === null) continue;
        const list = grouped.get(m[1] as Tag) ?? [];
        if (!list.includes(m[2] as string)) list.push(m[2] as string);
        grouped.set(m[1] as Tag, list);
      }
    }
  }
  return grouped;
}

const conditionMessage = (s: PlanStatus, type: string): string => s.conditions?.find((c) => c.type === type && c.status === "True")?.message ?? "";

function headline(plan: PlanObject, pods: readonly Pod[]): string[] {
  const s: PlanStatus = plan.status ?? {};
  const name = plan.metadata.name;
  const version = s.latestVersion ?? "(no version)";
  const total = s.counts?.total ?? 0;
  const complete = s.counts?.complete ?? 0;
  const state = s.state ?? "Unknown";
  const progress = `${complete}/${total} nodes`;
  switch (state) {
    case "Complete":
      return [`COMPLETE  ${name}: ${version} on ${progress}`];
    case "Applying":
      return [`APPLYING  ${name}: ${version}, ${progress} done${(s.applying ?? []).length > 0 ? `, on ${(s.applying ?? []).join(", ")}` : ""}`];
    case "Held":
    case "Blocked": {
      const word = state === "Held" ? "HELD" : "BLOCKED";
      const lines = [`${word}  ${name}: ${version}, ${progress} done: ${conditionMessage(s, state) || s.message || "see kubectl describe plan"}`];
      const grouped = gateReasons(pods, name);
      for (const tag of TAGS) {
        const reasons = grouped.get(tag) ?? [];
        if (reasons.length === 0) continue;
        lines.push(`  ${tag}:`, ...reasons.map((r) => `    - ${r}`));
      }
      return lines;
    }
    case "Halted":
      return [`HALTED  ${name}: ${version}, ${progress} done: ${conditionMessage(s, "Halted") || s.message || "see kubectl describe plan"}`];
    default:
      return [`${state.toUpperCase()}  ${name}: ${version}${s.message !== undefined && s.message !== "" ? `: ${s.message}` : ""}`];
  }
}

/** The report, as text: Plans by name, a headline each, a HELD or BLOCKED one followed by its reasons. */
export function renderReport(plans: readonly PlanObject[], pods: readonly Pod[], namespace: string): string {
  if (plans.length === 0) return `no Plans in namespace ${namespace}\n`;
  return `${[...plans]
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
    .flatMap((p) => headline(p, pods))
    .join("\n")}\n`;
}

export const run: Command = async (argv, io) => {
  const parsed = parseCommandLine(
    argv,
    { kubeconfig: { type: "string" }, namespace: { type: "string", short: "n" }, help: { type: "boolean", short: "h" } },
    HELP,
    io,
    false,
  );
  if (typeof parsed === "number") return parsed;
  const { values } = parsed;
  const namespace = values.namespace ?? io.env["POD_NAMESPACE"] ?? D.namespace;
  try {
    const kube = new KubeAdapter({ kubeconfig: values.kubeconfig ?? io.env["KUBECONFIG"] });
    const [plans, pods] = await Promise.all([
      kube.list<PlanObject>(resources.plans, namespace),
      kube.list<Pod>(resources.pods, namespace, { labelSelector: `${LABEL_ROLE}=prepare` }),
    ]);
    io.out(renderReport(plans.items, pods.items, namespace));
  } catch (e: unknown) {
    // A report that cannot be made says so in the log it lands in; the CronJob itself did its job.
    io.out(`REPORT FAILED: cannot read the Plans in ${namespace}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return 0;
};
