import type { LabelSelector } from "../generated/plan.ts";
import { labelValueProblem, qualifiedNameProblem } from "./k8s-names.ts";
import { type Problem, error } from "./problem.ts";

export type Labels = Readonly<Record<string, string | undefined>>;

/** Label selector operators, as metav1.LabelSelectorOperator spells them. */
export const SELECTOR_OPERATORS = ["In", "NotIn", "Exists", "DoesNotExist"] as const;

/**
 * What an absent selector means. Kubernetes has both readings, so every caller must say which:
 * SUC turns a nil Plan.spec.nodeSelector into `labels.Nothing()` (a Plan without one selects no node),
 * while an optional filter such as drain.podSelector means "no restriction" when absent.
 */
export type WhenAbsent = "matches-nothing" | "matches-everything";

/**
 * Kubernetes label selector semantics: matchLabels and matchExpressions are ANDed; an empty
 * selector `{}` matches every label set; NotIn and DoesNotExist match when the key is absent.
 * `whenAbsent` must be chosen by the caller because the two Kubernetes readings of "no selector" differ.
 */
export function matchesSelector(sel: LabelSelector | undefined, labels: Labels, whenAbsent: WhenAbsent): boolean {
  return compileSelector(sel, whenAbsent)(labels);
}

type Requirement = (labels: Labels) => boolean;

/** The selector as one predicate, for matching many label sets (100,000 nodes) without re-reading it. */
export function compileSelector(sel: LabelSelector | undefined, whenAbsent: WhenAbsent): (labels: Labels) => boolean {
  if (sel === undefined) {
    const answer = whenAbsent === "matches-everything";
    return () => answer;
  }
  const reqs: Requirement[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) {
    if (v !== undefined) reqs.push((l) => l[k] === v);
  }
  for (const req of sel.matchExpressions ?? []) {
    const key = req.key;
    const values = new Set(req.values ?? []);
    const op: string = req.operator;
    switch (op) {
      case "In":
        reqs.push((l) => {
          const v = l[key];
          return v !== undefined && values.has(v);
        });
        break;
      case "NotIn":
        reqs.push((l) => {
          const v = l[key];
          return v === undefined || !values.has(v);
        });
        break;
      case "Exists":
        reqs.push((l) => l[key] !== undefined);
        break;
      case "DoesNotExist":
        reqs.push((l) => l[key] === undefined);
        break;
      default:
        // An operator the schema does not know can only come from unvalidated input: match nothing, never everything.
        return () => false;
    }
  }
  return (labels) => {
    for (const r of reqs) if (!r(labels)) return false;
    return true;
  };
}

/**
 * Why `labels` fail a Plan's nodeSelector, naming the first requirement they fail and the label as
 * the node has it; undefined when they match. For the dry run's list of skipped nodes.
 */
export function nodeSelectorMiss(sel: LabelSelector | undefined, labels: Labels): string | undefined {
  if (sel === undefined) return "the Plan has no spec.nodeSelector, which selects no node";
  const has = (k: string): string => {
    const v = labels[k];
    return v === undefined ? `has no label ${k}` : v === "" ? `has label ${k}` : `has ${k}=${v}`;
  };
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) {
    if (v !== undefined && labels[k] !== v) return `${has(k)}, spec.nodeSelector.matchLabels needs ${k}=${v}`;
  }
  for (const req of sel.matchExpressions ?? []) {
    if (compileSelector({ matchExpressions: [req] }, "matches-nothing")(labels)) continue;
    const values = req.values === undefined || req.values.length === 0 ? "" : ` (${req.values.join(", ")})`;
    return `${has(req.key)}, spec.nodeSelector needs ${req.key} ${req.operator}${values}`;
  }
  return undefined;
}

/** A Plan's nodeSelector: absent selects no node, as in SUC (labels.Nothing()). */
export const matchesNodeSelector = (sel: LabelSelector | undefined, labels: Labels): boolean => matchesSelector(sel, labels, "matches-nothing");

export const compileNodeSelector = (sel: LabelSelector | undefined): ((labels: Labels) => boolean) => compileSelector(sel, "matches-nothing");

/**
 * Everything that makes `sel` unusable, as metav1 ValidateLabelSelector would report it: bad keys and
 * values, unknown operators, values missing for In/NotIn or present for Exists/DoesNotExist.
 * `path` is the selector's own path ("spec.nodeSelector"); keys that are not plain words are
 * quoted (`matchLabels["example.com/x"]`), as the loader's positions expect.
 */
export function selectorProblems(sel: LabelSelector | undefined, path: string): Problem[] {
  if (sel === undefined) return [];
  const out: Problem[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) {
    const p = /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? `${path}.matchLabels.${k}` : `${path}.matchLabels[${JSON.stringify(k)}]`;
    const kp = qualifiedNameProblem(k);
    if (kp !== undefined) out.push(error(p, kp));
    if (typeof v !== "string") out.push(error(p, `label "${k}": the value must be a string`));
    else {
      const vp = labelValueProblem(v);
      if (vp !== undefined) out.push(error(p, vp));
    }
  }
  (sel.matchExpressions ?? []).forEach((req, i) => {
    const p = `${path}.matchExpressions[${i}]`;
    const kp = qualifiedNameProblem(String(req.key));
    if (kp !== undefined) out.push(error(`${p}.key`, kp));
    const op: string = req.operator;
    const values = req.values ?? [];
    if (op === "In" || op === "NotIn") {
      if (values.length === 0) out.push(error(`${p}.values`, `operator ${op} needs at least one value`));
    } else if (op === "Exists" || op === "DoesNotExist") {
      if (values.length > 0) out.push(error(`${p}.values`, `operator ${op} takes no values`));
    } else {
      out.push(error(`${p}.operator`, `unknown operator "${op}"; expected one of ${SELECTOR_OPERATORS.join(", ")}`));
    }
    values.forEach((v, j) => {
      const vp = typeof v === "string" ? labelValueProblem(v) : "values must be strings";
      if (vp !== undefined) out.push(error(`${p}.values[${j}]`, vp));
    });
  });
  return out;
}
