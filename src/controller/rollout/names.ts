import { createHash } from "node:crypto";

const MAX = 63;
const sha256Hex = (s: string): string => createHash("sha256").update(s, "utf8").digest("hex");
const isAlnum = (c: string | undefined): boolean => c !== undefined && /^[a-z0-9]$/.test(c);

/**
 * SUC's job and volume names come from rancher/wrangler pkg/name.SafeConcatName: parts joined
 * with '-'; at 64 characters or more, the first 57 are kept (56 when the 57th is not [a-z0-9])
 * and '-' plus the head of sha256(joined) fills up to exactly 63. Same inputs, same output, so
 * names stay familiar to SUC users (e.g. the secret volume `secret-<name>`).
 */
export function safeConcatName(...parts: readonly string[]): string {
  const full = parts.join("-");
  if (full.length < MAX + 1) return full;
  const digest = sha256Hex(full);
  return isAlnum(full[56]) ? `${full.slice(0, 57)}-${digest.slice(0, 5)}` : `${full.slice(0, 56)}-${digest.slice(0, 6)}`;
}

/** SUC names a node's job after the node name up to the first '.' (FQDN node names). */
export const shortNodeName = (node: string): string => node.split(".", 1)[0] ?? node;

/**
 * Lower-cased, only [a-z0-9.-], starting and ending alphanumeric: what a DNS-1123 subdomain
 * part can hold. Real node and Plan names already are; anything else (an upper-case or
 * underscored name from a hand-written node list) is coerced instead of producing a pod the
 * API server rejects.
 */
export function sanitizeNamePart(s: string): string {
  const out = s
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, "-")
    .replace(/\.{2,}/g, ".")
    .replace(/-?\.-?/g, ".")
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, "");
  return out.length > 0 ? out : "x";
}

export type PodStep = "prepare" | "apply";

/**
 * `<step>-<plan>-on-<node>-with-<hash>[-<attempt>]` (attempts count from 1; the first has no
 * suffix), at most 63 characters, valid and unique.
 *
 * The readable part uses SUC's short node name, sanitised; the hash suffix (when the name must be
 * cut or was altered) is taken over the untouched identity, full node name included. So two
 * nodes `w1.zone-a` and `w1.zone-b`, or a plan `Edge` and a plan `edge`, never share a pod name,
 * which SUC's job names do not guarantee. With ordinary names and a SUC hash (56 hex characters,
 * always too long) the result is exactly SafeConcatName of the same parts.
 */
export function podName(step: PodStep, plan: string, node: string, hash: string, attempt = 1): string {
  const tail = attempt > 1 ? [String(attempt)] : [];
  const display = [step, sanitizeNamePart(plan), "on", sanitizeNamePart(shortNodeName(node)), "with", sanitizeNamePart(hash), ...tail].join("-");
  const identity = [step, plan, "on", node, "with", hash, ...tail].join("-");
  if (display === identity) return safeConcatName(display);
  const digest = sha256Hex(identity);
  if (display.length + 6 <= MAX) return `${display}-${digest.slice(0, 5)}`;
  const cut = display.slice(0, 57).replace(/[^a-z0-9]+$/, "");
  return `${cut}-${digest.slice(0, MAX - cut.length - 1)}`;
}

/**
 * A label value for a name that may not fit one (node names run to 253 characters): unchanged
 * when valid, else sanitised and cut, with a hash of the original so distinct names stay distinct.
 */
export function labelSafeValue(value: string): string {
  if (value.length <= MAX && /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/.test(value)) return value;
  const digest = sha256Hex(value).slice(0, 8);
  const base = value
    .replace(/[^A-Za-z0-9_.-]+/g, "-")
    .slice(0, MAX - digest.length - 1)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "");
  return base === "" ? digest : `${base}-${digest}`;
}
