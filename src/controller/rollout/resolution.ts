import type { CompiledPlan } from "../../plan/compile.ts";
import type { Resolution } from "./decision.ts";
import { mungeVersion } from "./version.ts";

/** spec.version wins; without it, and without a channel, nothing can be resolved. */
export function fixedResolution(plan: CompiledPlan): Resolution | undefined {
  if (plan.version !== undefined) return { version: mungeVersion(plan.version), source: "Version" };
  if (plan.channel === undefined) return { reason: "Error", message: "cannot resolve plan: missing channel and version (set spec.version or spec.channel)" };
  return undefined;
}

/** A channel that fails after it once answered keeps the rollout on the last known version. */
export function settleResolution(answer: Resolution, lastKnown: string | undefined): Resolution {
  if ("reason" in answer && lastKnown !== undefined && lastKnown !== "") {
    return { version: lastKnown, source: "Channel", error: { reason: answer.reason, message: answer.message } };
  }
  return answer;
}
