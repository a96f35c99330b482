// Kubernetes naming rules (apimachinery's validation package), as plain predicates that explain
// themselves: each returns why the text is not acceptable, or undefined when it is. The API server
// would reject the same values, but only when the object (or the pod the controller derives from it)
// is created — far from the Plan line that caused it.

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

export const DNS1123_LABEL_MAX = 63;
export const DNS1123_SUBDOMAIN_MAX = 253;
export const LABEL_VALUE_MAX = 63;

/** Names of namespaces, Plans (they become part of label keys and pod names) and volumes. */
export function dns1123LabelProblem(value: string): string | undefined {
  if (value.length === 0) return "must not be empty";
  if (value.length > DNS1123_LABEL_MAX) return `"${value}" is ${value.length} characters; at most ${DNS1123_LABEL_MAX} are allowed`;
  if (!LABEL.test(value)) {
    return `"${value}" is not a DNS-1123 label: use lower-case letters, digits and '-', starting and ending with a letter or digit`;
  }
  return undefined;
}

/** Names of most objects: Secrets, ServiceAccounts, PriorityClasses. */
export function dns1123SubdomainProblem(value: string): string | undefined {
  if (value.length === 0) return "must not be empty";
  if (value.length > DNS1123_SUBDOMAIN_MAX) return `"${value}" is ${value.length} characters; at most ${DNS1123_SUBDOMAIN_MAX} are allowed`;
  if (!SUBDOMAIN.test(value)) {
    return `"${value}" is not a DNS-1123 subdomain: use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit`;
  }
  return undefined;
}

/** Label and annotation keys: an optional DNS subdomain prefix and '/', then a name of at most 63 characters. */
export function qualifiedNameProblem(key: string): string | undefined {
  const slash = key.indexOf("/");
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (prefix !== undefined) {
    if (prefix.length === 0) return `key "${key}": the prefix before '/' must not be empty`;
    const p = dns1123SubdomainProblem(prefix);
    if (p !== undefined) return `key "${key}": the prefix ${p}`;
  }
  if (name.length === 0) return `key "${key}": the name must not be empty`;
  if (name.length > 63) return `key "${key}": the name after the prefix is ${name.length} characters; at most 63 are allowed`;
  if (!NAME_PART.test(name)) {
    return `key "${key}": the name must be letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
  }
  return undefined;
}

/** Label values: empty, or at most 63 letters, digits, '-', '_', '.' starting and ending alphanumeric. */
export function labelValueProblem(value: string): string | undefined {
  if (value.length === 0) return undefined;
  if (value.length > LABEL_VALUE_MAX) return `"${value}" is ${value.length} characters; a label value has at most ${LABEL_VALUE_MAX}`;
  if (!NAME_PART.test(value)) {
    return `"${value}" is not a valid label value: use letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
  }
  return undefined;
}

/** Container image tags (the OCI distribution rule); status.latestVersion becomes one when the image has none. */
export function imageTagProblem(tag: string): string | undefined {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) {
    return `"${tag}" is not a valid image tag: at most 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'`;
  }
  return undefined;
}
