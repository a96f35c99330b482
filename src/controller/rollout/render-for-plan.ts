import type { CompiledPlan } from "../../plan/compile.ts";
import type { PodRenderer } from "./decision.ts";
import { type NodeView, type PodManifest, toNodeView } from "./model.ts";
import type { PodStep } from "./names.ts";
import type { Node } from "./objects.ts";
import { renderPod } from "./render-pod.ts";

export interface RenderContext {
  readonly hash: string;
  readonly version: string;
  readonly namespace: string;
  readonly controllerName: string;
  readonly defaultDeadlineSecs: number;
  readonly maxDeadlineSecs: number;
  /** Always set (from podTtlMs): render-pod's own fallback is SUC's 900, not the controller's. */
  readonly ttlSecondsAfterFinished: number;
}

/** The controller settings that shape its pods: ControllerDefaults, or the controller's flags. */
export interface PodSettings {
  readonly namespace: string;
  readonly controllerName: string;
  readonly defaultDeadlineSecs: number;
  readonly maxDeadlineSecs: number;
  readonly podTtlMs: number;
}

/** One mapping from settings to rendering, for the controller and the dry run alike, so their pods cannot differ. */
export function renderContext(settings: PodSettings, hash: string, version: string): RenderContext {
  return {
    hash,
    version,
    namespace: settings.namespace,
    controllerName: settings.controllerName,
    defaultDeadlineSecs: settings.defaultDeadlineSecs,
    maxDeadlineSecs: settings.maxDeadlineSecs,
    ttlSecondsAfterFinished: Math.round(settings.podTtlMs / 1000),
  };
}

/** The pod of `step` on `node`, as the controller creates it. */
export function renderPlanPod(plan: CompiledPlan, ctx: RenderContext, node: NodeView, step: PodStep, attempt: number): PodManifest {
  const delay = plan.postCompleteDelayMs;
  return renderPod(
    {
      plan: plan.source,
      node,
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
      ttlSecondsAfterFinished: ctx.ttlSecondsAfterFinished,
    },
  );
}

/** Binds a compiled Plan, its hash and the controller's defaults, leaving node and attempt. */
export function renderForPlan(plan: CompiledPlan, ctx: RenderContext): PodRenderer {
  const render = (step: "prepare" | "apply") => (node: Node, attempt: number) => renderPlanPod(plan, ctx, toNodeView(node), step, attempt);
  return { prepare: render("prepare"), apply: render("apply") };
}
