/**
 * Versions and image references, as SUC resolves them: MungeVersion in pkg/upgrade/plan and
 * WithLatestTag in pkg/upgrade/container, which parses with github.com/distribution/reference
 * v0.5.0 (ParseNormalizedNamed, IsNameOnly, FamiliarString). The grammar below is that
 * package's, so an image SUC would tag gets the same tag here and one it would leave alone
 * (already tagged, pinned by digest, or unparsable) is left alone too.
 */

/** spec.version or a channel's answer as a tag: '+' (semver build metadata) is not valid in a tag. */
export const mungeVersion = (version: string): string => version.replaceAll("+", "-");

const ALNUM = "[a-z0-9]+";
const SEPARATOR = "(?:[._]|__|[-]+)";
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
const REMOTE_NAME = `${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const HOST = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[(?:[a-fA-F0-9:]+)\\])`;
const DOMAIN_AND_PORT = `${HOST}(?::[0-9]+)?`;
const NAME = `(?:${DOMAIN_AND_PORT}/)?${REMOTE_NAME}`;
const TAG = "[\\w][\\w.-]{0,127}";
const DIGEST = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9A-Fa-f]{32,}";

const REFERENCE = new RegExp(`^(${NAME})(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const NAME_SPLIT = new RegExp(`^(?:(${DOMAIN_AND_PORT})/)?(${REMOTE_NAME})$`);
const ANCHORED_TAG = new RegExp(`^${TAG}$`);
const IDENTIFIER = /^[a-f0-9]{64}$/;
const NAME_TOTAL_LENGTH_MAX = 255;

/** go-digest accepts only the algorithms it knows, each with its exact hex length. */
const DIGEST_HEX_LENGTH: Readonly<Record<string, number>> = { sha256: 64, sha384: 96, sha512: 128 };

export interface ImageReference {
  readonly domain: string;
  readonly path: string;
  readonly tag: string | undefined;
  readonly digest: string | undefined;
}

function splitDockerDomain(name: string): { domain: string; remainder: string } {
  const i = name.indexOf("/");
  let domain: string;
  let remainder: string;
  const first = i < 0 ? "" : name.slice(0, i);
  if (i < 0 || (!/[.:]/.test(first) && first !== "localhost" && first.toLowerCase() === first)) {
    domain = "docker.io";
    remainder = name;
  } else {
    domain = first;
    remainder = name.slice(i + 1);
  }
  if (domain === "index.docker.io") domain = "docker.io";
  if (domain === "docker.io" && !remainder.includes("/")) remainder = `library/${remainder}`;
  return { domain, remainder };
}

/** ParseNormalizedNamed: the reference with docker.io and library/ made explicit, or undefined when invalid. */
export function parseImageReference(image: string): ImageReference | undefined {
  if (IDENTIFIER.test(image)) return undefined;
  const { domain, remainder } = splitDockerDomain(image);
  const colon = remainder.indexOf(":");
  const remote = colon < 0 ? remainder : remainder.slice(0, colon);
  if (remote.toLowerCase() !== remote) return undefined;
  const m = REFERENCE.exec(`${domain}/${remainder}`);
  if (m === null) return undefined;
  const name = m[1] ?? "";
  if (name.length > NAME_TOTAL_LENGTH_MAX) return undefined;
  const digest = m[3];
  if (digest !== undefined) {
    const [algorithm = "", hex = ""] = digest.split(":", 2);
    if (DIGEST_HEX_LENGTH[algorithm] !== hex.length || !/^[a-f0-9]+$/.test(hex)) return undefined;
  }
  const parts = NAME_SPLIT.exec(name);
  return { domain: parts?.[1] ?? "", path: parts?.[2] ?? name, tag: m[2], digest };
}

/** FamiliarString: docker.io and a lone library/ dropped, as `docker pull` prints it. */
export function familiarString(ref: ImageReference): string {
  let path = ref.path;
  let domain = ref.domain;
  if (domain === "docker.io") {
    domain = "";
    const rest = path.startsWith("library/") ? path.slice("library/".length) : undefined;
    if (rest !== undefined && !rest.includes("/")) path = rest;
  }
  const name = domain === "" ? path : `${domain}/${path}`;
  return `${name}${ref.tag !== undefined ? `:${ref.tag}` : ""}${ref.digest !== undefined ? `@${ref.digest}` : ""}`;
}

/**
 * The image a container runs: `image` unchanged when it carries a tag or a digest (or does not
 * parse), otherwise tagged with `latestVersion` — in SUC's familiar form, so
 * `docker.io/library/alpine` becomes `alpine:<version>`.
 */
export function imageWithLatestTag(image: string, latestVersion: string): string {
  const ref = parseImageReference(image);
  if (ref === undefined || ref.tag !== undefined || ref.digest !== undefined) return image;
  if (!ANCHORED_TAG.test(latestVersion)) return image;
  return familiarString({ ...ref, tag: latestVersion });
}

/** A label value, as the API server checks it: SUC writes the version into the upgrade pod's labels. */
const LABEL_VALUE = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;
const LABEL_VALUE_MAX = 63;

/**
 * Why a version (spec.version or a channel's answer, already munged) cannot be used, or undefined:
 * it becomes the image tag and a label value, so it must be both (a channel answering
 * `v1.2.3 evil\nline` was once taken as the version, the pods got an untagged image and a hashed
 * label, and the Plan completed: issue 9).
 */
export function versionProblem(version: string): string | undefined {
  if (version === "") return "it is empty";
  if (!ANCHORED_TAG.test(version)) return "it is not a valid image tag ([A-Za-z0-9_][A-Za-z0-9_.-], at most 128 characters)";
  if (version.length > LABEL_VALUE_MAX || !LABEL_VALUE.test(version)) {
    return "it is not a valid label value (at most 63 characters of [-_.A-Za-z0-9], beginning and ending with a letter or digit)";
  }
  return undefined;
}

/**
 * Text from outside (a channel's answer, its Location) as it may appear in a condition, an Event
 * or a log line: in double quotes, everything but printable ASCII escaped, so no newline, control
 * character or bidi override reaches a terminal; cut at `max` characters, saying how long it was.
 */
export function quoteUntrusted(text: string, max = 80): string {
  const chars = [...text];
  const shown = chars.slice(0, max).map(escapeChar).join("");
  return chars.length > max ? `"${shown}"... (${chars.length} characters)` : `"${shown}"`;
}

const ESCAPES: Readonly<Record<string, string>> = { "\n": "\\n", "\r": "\\r", "\t": "\\t", '"': '\\"', "\\": "\\\\" };

function escapeChar(c: string): string {
  const known = ESCAPES[c];
  if (known !== undefined) return known;
  const code = c.codePointAt(0) ?? 0;
  if (code >= 0x20 && code < 0x7f) return c;
  if (code <= 0xff) return `\\x${code.toString(16).padStart(2, "0")}`;
  return code <= 0xffff ? `\\u${code.toString(16).padStart(4, "0")}` : `\\u{${code.toString(16)}}`;
}
