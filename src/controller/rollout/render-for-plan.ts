import type { Plan } from "../../generated/plan.ts";
import { parseGoDuration } from "../../plan/duration.ts";
import type { Node, Pod } from "./objects.ts";
import type { NodeView } from "./model.ts";
import { renderPod } from "./render-pod.ts";

export interface RenderContext {
  readonly hash: string;
  readonly version: string;
  readonly namespace: string;
  readonly controllerName: string;
  readonly defaultDeadlineSecs: number;
  readonly maxDeadlineSecs: number;
  readonly ttlSecondsAfterFinished?: number;
}

/** The projection of an API Node that rendering needs. */
export function nodeView(n: Node): NodeView {
  return {
    name: n.metadata.name,
    uid: n.metadata.uid ?? "",
    labels: (n.metadata.labels ?? {}),
    annotations: (n.metadata.annotations ?? {}),
    unschedulable: n.spec?.unschedulable === true,
    ready: n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
  };
}

/** Binds a Plan, its hash and the controller's defaults, leaving node and attempt. */
export function renderForPlan(plan: Plan, ctx: RenderContext): { prepare: (node: Node, attempt: number) => Pod; apply: (node: Node, attempt: number) => Pod } {
  const delay = plan.spec.postCompleteDelay === undefined ? undefined : parseGoDuration(plan.spec.postCompleteDelay);
  const render = (step: "prepare" | "apply") => (node: Node, attempt: number): Pod =>
    renderPod(
      {
        plan,
        node: nodeView(node),
        step,
        latestVersion: ctx.version,
        latestHash: ctx.hash,
        attempt,
        ...(delay?.ok === true ? { postCompleteDelayMs: delay.ms } : {}),
      },
      {
        controllerName: ctx.controllerName,
        activeDeadline: { defaultSeconds: ctx.defaultDeadlineSecs, maxSeconds: ctx.maxDeadlineSecs },
        defaultNamespace: ctx.namespace,
        ...(ctx.ttlSecondsAfterFinished !== undefined ? { ttlSecondsAfterFinished: ctx.ttlSecondsAfterFinished } : {}),
      },
    );
  return { prepare: render("prepare"), apply: render("apply") };
}
