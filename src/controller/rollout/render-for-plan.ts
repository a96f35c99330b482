import type { CompiledPlan } from "../../plan/compile.ts";
import type { PodRenderer } from "./decision.ts";
import { toNodeView } from "./model.ts";
import type { Node } from "./objects.ts";
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

/** Binds a compiled Plan, its hash and the controller's defaults, leaving node and attempt. */
export function renderForPlan(plan: CompiledPlan, ctx: RenderContext): PodRenderer {
  const delay = plan.postCompleteDelayMs;
  const render = (step: "prepare" | "apply") => (node: Node, attempt: number) =>
    renderPod(
      {
        plan: plan.source,
        node: toNodeView(node),
        step,
        latestVersion: ctx.version,
        latestHash: ctx.hash,
        attempt,
        ...(delay !== undefined ? { postCompleteDelayMs: delay } : {}),
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
