// A YAML syntax error as the person who broke the file needs it: the line they broke, the field
// around it, and what to do, instead of the parser's vocabulary ("compact mappings", "implicit
// keys"). The document did not parse, so the fields around are read from the text's indentation.

/** 1-based line and column of the explained error, the field path around it, and a sentence. */
export interface ExplainedYamlError {
  readonly line: number;
  readonly col: number;
  readonly path: string;
  readonly message: string;
}

interface TextLine {
  readonly no: number;
  readonly text: string;
  readonly indent: number;
  /** The key the line starts (after any "- "), if it has one. */
  readonly key?: string;
  /** Column (0-based) where the key or the item starts. */
  readonly start: number;
  readonly item: boolean;
}

function readLine(text: string, no: number): TextLine | undefined {
  if (/^\s*(#.*)?$/.test(text)) return undefined;
  // A document boundary: nothing above it is a parent of what follows.
  if (/^(---|\.\.\.)(\s|$)/.test(text)) return { no, text, indent: -1, start: -1, item: false };
  const indent = /^[ \t]*/.exec(text)?.[0].length ?? 0;
  const rest = text.slice(indent);
  const dash = /^-(\s+|$)/.exec(rest);
  const start = indent + (dash?.[0].length ?? 0);
  const key = /^(?:"([^"]*)"|'([^']*)'|([^\s#"'{[][^:#]*?))\s*:(\s|$)/.exec(text.slice(start));
  const name = key === null ? undefined : (key[1] ?? key[2] ?? key[3]);
  return { no, text, indent, start, item: dash !== null, ...(name === undefined ? {} : { key: name }) };
}

/** The content lines (no blank or comment lines), numbered from 1. */
function contentLines(text: string): TextLine[] {
  return text.split(/\r?\n/).flatMap((t, i) => readLine(t, i + 1) ?? []);
}

const childOf = (path: string, key: string): string =>
  /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? (path === "" ? key : `${path}.${key}`) : `${path}[${JSON.stringify(key)}]`;

/**
 * The field path of the mapping or list holding line `no`, read from indentation: each line above
 * that is indented less and starts a key is a parent; list items count their position.
 */
export function pathAround(text: string, no: number): string {
  return pathIn(contentLines(text), no);
}

function pathIn(lines: readonly TextLine[], no: number): string {
  const at = lines.findIndex((l) => l.no >= no);
  const self = lines[at];
  if (self === undefined) return "";
  // An item's own line belongs to its list; any other line to the mapping its key starts in.
  let column = self.no === no && !self.item ? self.start : self.indent;
  // A list's key may sit in the same column as its dashes ("secrets:" above "- name: a").
  let inList = self.no === no && self.item;
  const chain: string[] = [];
  for (let i = at - 1; i >= 0; i--) {
    const l = lines[i];
    if (l === undefined) continue;
    if (l.start < 0) break;
    if (l.item && l.indent < column && l.start <= column) {
      if (l.start < column && l.key !== undefined) chain.push(l.key);
      chain.push(`[${itemIndex(lines, i)}]`);
      column = l.indent;
      inList = true;
      continue;
    }
    if (l.key !== undefined && (l.start < column || (inList && l.start === column && !l.item))) {
      chain.push(l.key);
      column = l.start;
      inList = false;
    }
  }
  let path = "";
  for (const step of chain.reverse()) path = step.startsWith("[") ? `${path}${step}` : childOf(path, step);
  return path;
}

/** Which item of its list the item line at `i` is: the items at its indentation above it, up to the list's start. */
function itemIndex(lines: readonly TextLine[], i: number): number {
  const item = lines[i];
  let index = 0;
  for (let j = i - 1; j >= 0 && item !== undefined; j--) {
    const o = lines[j];
    if (o === undefined || o.indent > item.indent) continue;
    if (o.indent < item.indent || !o.item) break;
    index++;
  }
  return index;
}

const spaces = (n: number): string => `${n} space${n === 1 ? "" : "s"}`;
const quoted = (l: TextLine): string => (l.key === undefined ? "this item" : `"${l.key}"`);

/** The line at `no`, or the nearest content line after it (errors are often found on the next line). */
function lineAt(lines: readonly TextLine[], no: number): TextLine | undefined {
  return lines.find((l) => l.no >= no);
}

function previous(lines: readonly TextLine[], line: TextLine): TextLine[] {
  return lines.filter((l) => l.no < line.no).reverse();
}

/** The line where an unclosed quote or bracket was opened: the last line above `no` where it does not balance. */
function unclosed(lines: readonly TextLine[], no: number, open: string, close: string): TextLine | undefined {
  for (const l of lines.filter((x) => x.no <= no).reverse()) {
    const body = l.text.replace(/\s#.*$/, "");
    const opens = body.split(open).length - 1;
    const closes = open === close ? 0 : body.split(close).length - 1;
    if (open === close ? opens % 2 === 1 : opens > closes) return l;
  }
  return undefined;
}

/** A quote or bracket that the parser found never closed: the line where it was opened, and a sentence. */
function unclosedAt(lines: readonly TextLine[], line: number, code: string, message: string): { line: TextLine; message: string } | undefined {
  const quote = code === "MISSING_CHAR" ? /closing (["'])quote/.exec(message)?.[1] : undefined;
  if (quote !== undefined) {
    const l = unclosed(lines, line, quote, quote);
    return l === undefined ? undefined : { line: l, message: `the quote (${quote}) opened on line ${l.no} is never closed` };
  }
  if (!/Flow (sequence|map)/.test(message)) return undefined;
  const [open, close] = /sequence/.test(message) ? ["[", "]"] : ["{", "}"];
  const l = unclosed(lines, line, open, close);
  return l === undefined ? undefined : { line: l, message: `the ${open} opened on line ${l.no} is never closed with ${close}` };
}

/**
 * Explains one parser error. `code` and `message` are the yaml package's; `line`/`col` where it
 * noticed the error (1-based). Unknown errors keep the parser's message, with the line and field.
 */
export function explainYamlError(text: string, code: string, message: string, line: number, col: number): ExplainedYamlError {
  const lines = contentLines(text);
  const here = lineAt(lines, line);
  const around = (l: TextLine | undefined): string => (l === undefined ? "" : pathIn(lines, l.no));
  const at = (l: TextLine, msg: string): ExplainedYamlError => ({ line: l.no, col: l.start + 1, path: around(l), message: `YAML: ${msg}` });
  /** An error inside the value of the key on line `l`: the path is that key's. */
  const inValue = (l: TextLine, msg: string): ExplainedYamlError => ({ ...at(l, msg), path: l.key === undefined ? around(l) : childOf(around(l), l.key) });

  if (code === "TAB_AS_INDENT" && here !== undefined) {
    return { ...at(here, `line ${here.no} is indented with a tab; YAML indentation is spaces only`), col: 1 };
  }
  if (code === "BAD_INDENT" && here !== undefined && /sequence items must start at the same column/.test(message)) {
    const sibling = previous(lines, here).find((l) => l.item && l.indent !== here.indent);
    const other = sibling === undefined ? "" : `, but the item on line ${sibling.no} above it is indented ${spaces(sibling.indent)}`;
    return {
      ...at(here, `the list item on line ${here.no} is indented ${spaces(here.indent)}${other}; the items of one list must start in the same column`),
      col: here.indent + 1,
    };
  }
  if (code === "BAD_INDENT" && here !== undefined && /must start at the same column/.test(message)) {
    const above = previous(lines, here);
    const deeper = above.find((l) => l.start > here.start);
    const shallower = above.find((l) => l.start < here.start);
    const others = [deeper, shallower]
      .filter((l): l is TextLine => l !== undefined)
      .map((l) => `${quoted(l)} on line ${l.no} (${spaces(l.start)})`)
      .join(" nor with ");
    return at(
      here,
      `${quoted(here)} on line ${here.no} is indented ${spaces(here.start)} and lines up neither with ${others}; the fields of one mapping must start in the same column`,
    );
  }
  if (code === "BLOCK_AS_IMPLICIT_KEY" && here?.item === true && /block sequence/.test(message)) {
    return at(here, `line ${here.no} is a list item among the fields of a mapping; indent it under the field it belongs to, or give it a key`);
  }
  if (code === "BLOCK_AS_IMPLICIT_KEY" && here !== undefined && /compact mappings/.test(message)) {
    const next = lines.find((l) => l.no > here.no);
    const value = here.key === undefined ? "" : here.text.slice(here.text.indexOf(":", here.start) + 1).trim();
    if (next !== undefined && next.start > here.start && value !== "" && !/:\s/.test(value)) {
      return {
        ...at(next, ""),
        path: around(here),
        message: `YAML: ${quoted(next)} on line ${next.no} is indented deeper (${spaces(next.start)}) than ${quoted(here)} on line ${here.no} (${spaces(here.start)}), which already has the value ${JSON.stringify(value)}; line it up with ${quoted(here)}`,
      };
    }
    return at(here, `the value of ${quoted(here)} on line ${here.no} contains ": "; put the value in quotes`);
  }
  if (code === "MULTILINE_IMPLICIT_KEY" && here !== undefined && here.key === undefined && !here.item) {
    return at(here, `line ${here.no} (${JSON.stringify(here.text.trim())}) is neither "key: value" nor a list item "- ..."; a ':' is missing?`);
  }
  const opened = unclosedAt(lines, line, code, message);
  if (opened !== undefined) return inValue(opened.line, opened.message);
  if (here === undefined) return { line, col, path: "", message: `YAML: ${message}` };
  return { line, col, path: around(here), message: `YAML: ${message}` };
}
