// Reads Plan files the way kubectl reads manifests, and remembers where every node came from so
// a problem found later (by field path) can be reported at its line and column.
//
// kubectl decodes YAML with go-yaml v2 (YAML 1.1): `defaultMode: 0400` is octal 256 and yes/no/on/off
// are booleans. Two YAML 1.1 features go-yaml v2 never implemented are switched off here so the
// values match: base-60 numbers (`startTime: 1:30` stays the string "1:30", not 90) and timestamps
// (a date stays a string).
import { readFile, stat } from "node:fs/promises";
import { explainYamlError } from "./yaml-errors.ts";
import { type Document, isAlias, isMap, isPair, isScalar, isSeq, LineCounter, type Node, type Pair, parseAllDocuments, type Tags, visit } from "yaml";

/**
 * A Plan is an object the API server stores in etcd, which refuses requests over about 1.5 MiB; a
 * Plan file bigger than 1 MiB is a mistake (a log, a binary), and reading it all would only slow
 * the pre-commit hook down.
 */
export const MAX_FILE_BYTES = 1024 * 1024;

/** 1-based, as editors and compilers print them. */
export interface SourcePosition {
  readonly line: number;
  readonly col: number;
}

export interface LoadedDocument {
  /** 0-based index among the file's documents (empty documents included, as `---` counts them). */
  readonly index: number;
  /** The document as plain data (what kubectl would send), or undefined for an empty document. */
  readonly value: unknown;
  readonly start: SourcePosition;
  /**
   * Where the node at a field path ("spec.drain.timeout", "spec.secrets[0]",
   * `spec.postCompleteLabels["example.com/x"]`) is; the nearest existing parent when the path does
   * not exist. With `key`, the position of that key inside the mapping at `path`.
   */
  position(path: string, key?: string): SourcePosition;
}

export interface LoadProblem {
  readonly position: SourcePosition;
  /** The field around a YAML syntax error, read from the indentation ("spec.upgrade"); absent when unknown. */
  readonly path?: string;
  readonly severity: "error" | "warning";
  readonly message: string;
}

export interface LoadResult {
  readonly fileName: string;
  /** Documents that parsed; a document with a YAML error is left out and reported in problems. */
  readonly documents: readonly LoadedDocument[];
  readonly problems: readonly LoadProblem[];
}

const START: SourcePosition = { line: 1, col: 1 };

const goYamlV2Tags = (tags: Tags): Tags =>
  tags.filter((t) =>
    typeof t === "string" ? !["intTime", "floatTime", "timestamp"].includes(t) : !(t.format === "TIME" || t.tag === "tag:yaml.org,2002:timestamp"),
  );

/** Parses every document of a YAML stream. Never throws: whatever is wrong becomes a problem. */
export function loadPlanDocuments(text: string, fileName: string): LoadResult {
  if (text.length > MAX_FILE_BYTES) {
    return { fileName, documents: [], problems: [tooBig(text.length)] };
  }
  const lineCounter = new LineCounter();
  const at = (offset: number): SourcePosition => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, col };
  };
  const problems: LoadProblem[] = [];
  const documents: LoadedDocument[] = [];
  let docs: Document.Parsed[];
  try {
    const parsed = parseAllDocuments(text, { version: "1.1", lineCounter, prettyErrors: false, uniqueKeys: false, customTags: goYamlV2Tags });
    docs = Array.isArray(parsed) ? parsed : [];
  } catch (e: unknown) {
    return { fileName, documents: [], problems: [{ position: START, severity: "error", message: `cannot parse YAML: ${messageOf(e)}` }] };
  }
  docs.forEach((doc, index) => {
    for (const w of doc.warnings) problems.push({ position: at(w.pos[0]), severity: "warning", message: w.message });
    const syntax = doc.errors[0];
    if (syntax !== undefined) {
      // The parser's later errors are mostly echoes of its first: one explained error per document.
      const { line, col } = at(syntax.pos[0]);
      const e = explainYamlError(text, syntax.code, messageOf(syntax), line, col);
      problems.push({ position: { line: e.line, col: e.col }, ...(e.path === "" ? {} : { path: e.path }), severity: "error", message: e.message });
      return;
    }
    const errors: { offset: number; message: string }[] = [];
    try {
      errors.push(...duplicateKeys(doc));
    } catch (e: unknown) {
      errors.push({ offset: doc.range[0], message: messageOf(e) });
    }
    if (errors.length > 0) {
      for (const e of errors) problems.push({ position: at(e.offset), severity: "error", message: `YAML: ${e.message}` });
      return;
    }
    const start = at(doc.contents?.range[0] ?? doc.range[0]);
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e: unknown) {
      // toJS throws on alias bombs ("billion laughs") and merges of non-maps.
      problems.push({ position: start, severity: "error", message: `YAML: ${messageOf(e)}` });
      return;
    }
    const root = doc.contents;
    documents.push({
      index,
      value: value ?? undefined,
      start,
      position: (path, key) => at(offsetOf(root, path, key)),
    });
  });
  if (documents.every((d) => d.value === undefined) && problems.every((p) => p.severity !== "error")) {
    problems.push({ position: START, severity: "error", message: "no YAML document in the file (kubectl would refuse it: no objects passed)" });
  }
  return { fileName, documents, problems };
}

/**
 * Reads a file and parses it. Files over MAX_FILE_BYTES, binary files and unreadable files become a
 * single problem, never an exception.
 */
export async function readPlanFile(path: string, fileName = path): Promise<LoadResult> {
  const fail = (message: string): LoadResult => ({ fileName, documents: [], problems: [{ position: START, severity: "error", message }] });
  let bytes: Buffer;
  try {
    const info = await stat(path);
    if (!info.isFile()) return fail("not a regular file");
    if (info.size > MAX_FILE_BYTES) return { fileName, documents: [], problems: [tooBig(info.size)] };
    bytes = await readFile(path);
  } catch (e: unknown) {
    return fail(`cannot read: ${messageOf(e)}`);
  }
  const text = decodeText(bytes);
  if (typeof text !== "string") return fail(text.reason);
  return loadPlanDocuments(text, fileName);
}

/** The text of a UTF-8 file, or why it is not one. */
export function decodeText(bytes: Uint8Array): string | { reason: string } {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    return { reason: "UTF-16 text is not supported: save the file as UTF-8" };
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) return { reason: `binary content (a NUL byte at offset ${nul}): not a YAML file` };
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return text.startsWith("\ufeff") ? text.slice(1) : text;
  } catch {
    return { reason: "not valid UTF-8: not a YAML file" };
  }
}

function tooBig(size: number): LoadProblem {
  const mib = (size / (1024 * 1024)).toFixed(1);
  return {
    position: START,
    severity: "error",
    message: `file is ${mib} MiB; Plan files are limited to ${MAX_FILE_BYTES / (1024 * 1024)} MiB (the API server itself refuses objects over about 1.5 MiB)`,
  };
}

function messageOf(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  // The parser recurses per nesting level: thousands of levels exhaust the stack.
  return /maximum call stack/i.test(message) ? "nested too deeply (thousands of levels): not a Plan" : message;
}

/**
 * go-yaml refuses a mapping that repeats a key. The yaml package can check that too, but compares
 * each key with all earlier ones: a 1 MiB mapping then takes half a minute. A set per mapping is linear.
 */
function duplicateKeys(doc: Document.Parsed): { offset: number; message: string }[] {
  const out: { offset: number; message: string }[] = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        const key = scalarKey(pair);
        if (key === undefined || key === "<<") continue;
        if (seen.has(key)) out.push({ offset: (pair.key as Node).range?.[0] ?? 0, message: `key "${key}" appears twice in one mapping` });
        seen.add(key);
      }
    },
  });
  return out;
}

/** One step of a field path: an index, a quoted key, or plain text to match against the mapping's keys. */
type Step = { readonly index: number; readonly length: number } | { readonly key: string; readonly length: number } | { readonly rest: string };

/**
 * The offset in the text of the node at `path` (or of its nearest existing ancestor). Plain keys are
 * matched against the mapping's real keys, longest first, so `matchLabels.node-role.kubernetes.io/master`
 * finds the key "node-role.kubernetes.io/master" although it contains dots. Aliases are not followed:
 * the alias itself is the place to look at.
 */
function offsetOf(root: Node | null | undefined, path: string, key?: string): number {
  let node: Node | null | undefined = root;
  let pair: Pair | undefined;
  let rest = path;
  let complete = true;
  while (rest !== "") {
    const step = nextStep(rest);
    let found: { node: Node | null | undefined; pair?: Pair; length: number } | undefined;
    if ("index" in step && isSeq(node)) {
      const item = node.items[step.index];
      if (item !== undefined) found = { node: item as Node | null, length: step.length };
    } else if ("key" in step && isMap(node)) {
      const p = node.items.find((it) => scalarKey(it) === step.key);
      if (p !== undefined) found = { node: p.value as Node | null, pair: p, length: step.length };
    } else if ("rest" in step && isMap(node)) {
      let best: Pair | undefined;
      let bestKey = "";
      for (const it of node.items) {
        const k = scalarKey(it);
        if (k === undefined || k.length <= bestKey.length || !step.rest.startsWith(k)) continue;
        const after = step.rest.charAt(k.length);
        if (after === "" || after === "." || after === "[") {
          best = it;
          bestKey = k;
        }
      }
      if (best !== undefined) found = { node: best.value as Node | null, pair: best, length: bestKey.length };
    }
    if (found === undefined) {
      complete = false;
      break;
    }
    node = found.node;
    pair = found.pair; // a sequence item is located by itself, not by the key above it
    rest = rest.slice(found.length);
    if (rest.startsWith(".")) rest = rest.slice(1);
  }
  if (complete && key !== undefined && isMap(node)) {
    const keyNode = node.items.find((it) => scalarKey(it) === key)?.key as Node | undefined;
    const at = keyNode?.range?.[0];
    if (at !== undefined) return at;
  }
  const keyStart = (pair?.key as Node | undefined)?.range?.[0];
  if (complete && (isScalar(node) || isAlias(node))) {
    const isNull = isScalar(node) && node.value === null;
    const at = node.range?.[0];
    if (at !== undefined && (!isNull || keyStart === undefined)) return at;
  }
  return keyStart ?? node?.range?.[0] ?? root?.range?.[0] ?? 0;
}

function nextStep(rest: string): Step {
  const index = /^\[(\d+)\]/.exec(rest);
  if (index?.[1] !== undefined) return { index: Number(index[1]), length: index[0].length };
  const quoted = /^\[("(?:[^"\\]|\\.)*")\]/.exec(rest);
  if (quoted?.[1] !== undefined) {
    try {
      const k: unknown = JSON.parse(quoted[1]);
      if (typeof k === "string") return { key: k, length: quoted[0].length };
    } catch {
      // not a JSON string after all: match it as plain text
    }
  }
  return { rest };
}

function scalarKey(item: unknown): string | undefined {
  if (!isPair(item)) return undefined;
  const k = item.key;
  return isScalar(k) ? String(k.value) : undefined;
}
