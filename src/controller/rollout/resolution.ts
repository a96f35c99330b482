import type { CompiledPlan } from "../../plan/compile.ts";
import type { Resolution } from "./decision.ts";
import { mungeVersion, versionProblem } from "./version.ts";

/** spec.version wins; without it, and without a channel, nothing can be resolved. */
export function fixedResolution(plan: CompiledPlan): Resolution | undefined {
  if (plan.version !== undefined) return { version: mungeVersion(plan.version), source: "Version" };
  if (plan.channel === undefined) return { reason: "Error", message: "cannot resolve plan: missing channel and version (set spec.version or spec.channel)" };
  return undefined;
}

/**
 * status.latestVersion, when it is a version: an earlier controller took any answer, and sent it
 * back as X-SUC-Latest-Version, where a newline made every later request fail (issue 9).
 */
export const knownVersion = (status: string | undefined): string | undefined =>
  status !== undefined && versionProblem(status) === undefined ? status : undefined;

/**
 * What a channel Plan rolls out, from the channel's latest answer (undefined: none yet, it is
 * being asked) and the last known version (knownVersion).
 */
export function channelResolution(url: string, answer: Resolution | undefined, lastKnown: string | undefined): Resolution {
  if (answer !== undefined) return settleResolution(answer, lastKnown);
  const resolving = `resolving channel ${url}`;
  if (lastKnown !== undefined) return { version: lastKnown, source: "Channel", resolving };
  return { reason: "Resolving", message: `${resolving}: no answer yet`, resolving };
}

/** A channel that fails after it once answered keeps the rollout on the last known version. */
export function settleResolution(answer: Resolution, lastKnown: string | undefined): Resolution {
  if ("reason" in answer && lastKnown !== undefined && lastKnown !== "") {
    return { version: lastKnown, source: "Channel", error: { reason: answer.reason, message: answer.message } };
  }
  return answer;
}
