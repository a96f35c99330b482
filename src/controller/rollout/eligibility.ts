import type { Plan } from "../../generated/plan.ts";
import { type Labels, compileNodeSelector } from "../../plan/selector.ts";

import { DISABLED, LABEL_HOSTNAME, labelPlanName } from "./keys.ts";

/** Why a node is not a candidate; the order is the order of the checks. */
export type Ineligibility = "not-selected" | "no-hostname-label" | "disabled" | "done";

export const INELIGIBILITY_TEXT: Readonly<Record<Ineligibility, string>> = {
  "not-selected": "does not match spec.nodeSelector",
  "no-hostname-label": `has no ${LABEL_HOSTNAME} label (SUC requires it)`,
  disabled: "opted out: its plan label is 'disabled'",
  done: "already upgraded to this hash",
};

/**
 * SUC's node requirement (pkg/upgrade/plan NodeSelector + SelectConcurrentNodes): the Plan's
 * nodeSelector (absent selects nothing) AND kubernetes.io/hostname exists AND the Plan's label
 * is neither `disabled` nor the latest hash. Returns a checker so the per-node cost is a few
 * map look-ups.
 */
export function eligibility(plan: Plan, latestHash: string): (labels: Labels) => Ineligibility | undefined {
  const selected = compileNodeSelector(plan.spec.nodeSelector);
  const key = labelPlanName(plan.metadata.name);
  return (labels) => {
    if (!selected(labels)) return "not-selected";
    if (labels[LABEL_HOSTNAME] === undefined) return "no-hostname-label";
    const mark = labels[key];
    if (mark === DISABLED) return "disabled";
    if (mark === latestHash) return "done";
    return undefined;
  };
}
