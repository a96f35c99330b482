// `plan-runner validate <file|dir>...`: the pre-commit / CI check of Plan files, with the rules the
// controller applies, reported as `file:line:col: severity: field.path: message` (the format
// editors and CI annotators already understand).
import type { Dirent } from "node:fs";
import { readFile, readdir, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { parse } from "yaml";
import { MAX_FILE_BYTES, readPlanFile } from "../../plan/load.ts";
import { type LocatedProblem, type ValidatedPlan, crossPlanProblems, formatProblem, validateLoaded } from "../../plan/validate.ts";
import { type CliIO, type Command, EXIT_INVALID, EXIT_OK, EXIT_USAGE } from "../io.ts";

const FORMATS = ["text", "json", "github"] as const;
type Format = (typeof FORMATS)[number];

const USAGE = `usage: plan-runner validate [--quiet] [--format text|json|github] <file|dir>...

Checks Plan files (multi-document YAML, read with kubectl's YAML 1.1 rules) against the Plan schema
and the rules the controller enforces. Directories are searched recursively for *.yaml and *.yml
(hidden directories and node_modules skipped). kustomization.yaml files, and the patches they list,
are skipped wherever they are named (a pre-commit hook passes every staged file); documents of
other kinds are skipped with a warning.
Files over ${MAX_FILE_BYTES / (1024 * 1024)} MiB are refused.

  -q, --quiet      print errors only
  -f, --format F   text (default): one "file:line:col: severity: field.path: message" per line;
                   json: one JSON object on stdout, {"problems": [...], "summary": {...}}, for CI tools;
                   github: GitHub Actions workflow commands (::error file=...), shown on the pull request
  -h, --help       this text

Exit status: 0 no error (warnings allowed), 1 some error, 2 usage error.`;

const isYaml = (name: string): boolean => /\.ya?ml$/i.test(name);
// A directory of Plans kept for kustomize has its kustomization.yaml beside them (plans/ does):
// kustomize's own file, never a Plan, so a directory walk leaves it out instead of warning.
const isKustomization = (name: string): boolean => /^kustomization(\.ya?ml)?$/i.test(name);

/**
 * The files a directory's kustomization.yaml names as patches: partial Plans that kustomize merges
 * into a resource, never applied alone, so validating them as whole Plans would only fail.
 */
async function kustomizePatches(dir: string): Promise<{ file: string; patches: ReadonlySet<string> } | undefined> {
  for (const name of ["kustomization.yaml", "kustomization.yml", "Kustomization"]) {
    let doc: unknown;
    try {
      doc = parse(await readFile(join(dir, name), "utf8"));
    } catch {
      continue; // absent or not YAML: kustomize itself will say so
    }
    if (typeof doc !== "object" || doc === null) return undefined;
    const k = doc as Record<string, unknown>;
    const paths: string[] = [];
    for (const entry of [k["patchesStrategicMerge"], k["patches"], k["patchesJson6902"]]) {
      if (!Array.isArray(entry)) continue;
      for (const item of entry as unknown[]) {
        if (typeof item === "string" && !item.includes("\n")) paths.push(item);
        else if (typeof item === "object" && item !== null && typeof (item as Record<string, unknown>)["path"] === "string") {
          paths.push((item as Record<string, string>)["path"] ?? "");
        }
      }
    }
    return { file: name, patches: new Set(paths.map((p) => resolve(dir, p))) };
  }
  return undefined;
}

/** Files under `dir`, sorted, named relative to how the user named the directory. */
async function yamlFilesUnder(dir: string, shown: string): Promise<{ path: string; shown: string }[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: { path: string; shown: string }[] = [];
  for (const e of entries) {
    const path = join(dir, e.name);
    const name = join(shown, e.name);
    if (e.isDirectory()) {
      if (!e.name.startsWith(".") && e.name !== "node_modules") out.push(...(await yamlFilesUnder(path, name)));
    } else if (isYaml(e.name) && !isKustomization(e.name) && (e.isFile() || e.isSymbolicLink())) {
      out.push({ path, shown: name });
    }
  }
  return out;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;

/** The YAML files the targets name (directories searched); undefined, with the reason said, when one is missing or empty. */
async function filesOf(targets: readonly string[], io: CliIO): Promise<Array<{ path: string; shown: string }> | undefined> {
  const files: { path: string; shown: string }[] = [];
  for (const target of targets) {
    const path = resolve(io.cwd, target);
    let isDir: boolean;
    try {
      isDir = (await stat(path)).isDirectory();
    } catch {
      io.err(`plan-runner validate: ${target}: no such file or directory`);
      return undefined;
    }
    if (!isDir) {
      files.push({ path, shown: target });
      continue;
    }
    const found = await yamlFilesUnder(path, target);
    if (found.length === 0) {
      io.err(`plan-runner validate: ${target}: no *.yaml or *.yml file in this directory`);
      return undefined;
    }
    files.push(...found);
  }
  return files;
}

/** GitHub's workflow command escapes: data loses %, CR and LF; properties also : and ,. */
const ghData = (s: string): string => s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
const ghProperty = (s: string): string => ghData(s).replace(/:/g, "%3A").replace(/,/g, "%2C");

function githubLine(p: LocatedProblem): string {
  const title = p.path === "" ? "plan-runner validate" : p.path;
  return `::${p.severity} file=${ghProperty(p.fileName)},line=${p.line},col=${p.col},title=${ghProperty(title)}::${ghData(p.message)}`;
}

interface Summary {
  readonly plans: number;
  readonly files: number;
  readonly errors: number;
  readonly warnings: number;
}

function jsonReport(problems: readonly LocatedProblem[], summary: Summary): string {
  const rows = problems.map((p) => ({ file: p.fileName, line: p.line, column: p.col, severity: p.severity, path: p.path, message: p.message }));
  return JSON.stringify({ problems: rows, summary });
}

type Parsed = { readonly quiet: boolean; readonly format: Format; readonly targets: readonly string[] } | { readonly exit: number };

function parseArgs(argv: readonly string[], io: CliIO): Parsed {
  let quiet = false;
  let format: Format = "text";
  const targets: string[] = [];
  let options = true;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const inline = /^--format=(.*)$/.exec(arg);
    if (options && (arg === "-f" || arg === "--format" || inline !== null)) {
      const value = inline?.[1] ?? argv[++i];
      if (value === undefined || !(FORMATS as readonly string[]).includes(value)) {
        io.err(`plan-runner validate: --format needs one of ${FORMATS.join(", ")}${value === undefined ? "" : `, got "${value}"`}\n\n${USAGE}`);
        return { exit: EXIT_USAGE };
      }
      format = value as Format;
    } else if (options && arg === "--") options = false;
    else if (options && (arg === "-h" || arg === "--help")) {
      io.out(USAGE);
      return { exit: EXIT_OK };
    } else if (options && (arg === "-q" || arg === "--quiet")) quiet = true;
    else if (options && arg.startsWith("-")) {
      io.err(`plan-runner validate: unknown option ${arg}\n\n${USAGE}`);
      return { exit: EXIT_USAGE };
    } else targets.push(arg);
  }
  if (targets.length === 0) {
    io.err(`plan-runner validate: no file or directory given\n\n${USAGE}`);
    return { exit: EXIT_USAGE };
  }
  return { quiet, format, targets };
}

/** Every problem of the files, in the order given and by line; kustomize's files left out. */
async function checkFiles(files: readonly { path: string; shown: string }[]): Promise<{ problems: LocatedProblem[]; plans: number; checked: number }> {
  const problems: LocatedProblem[] = [];
  const plans: ValidatedPlan[] = [];
  const seen = new Set<string>();
  const kustomizations = new Map<string, Awaited<ReturnType<typeof kustomizePatches>>>();
  for (const f of files) {
    if (seen.has(f.path)) continue;
    // Named on the command line too (a pre-commit hook passes every staged YAML file): kustomize's, not a Plan.
    if (isKustomization(basename(f.path))) continue;
    const dir = dirname(f.path);
    if (!kustomizations.has(dir)) kustomizations.set(dir, await kustomizePatches(dir));
    const k = kustomizations.get(dir);
    if (k?.patches.has(f.path) === true) {
      const message = `a kustomize patch (listed in ${join(dirname(f.shown), k.file)}), not a whole Plan; skipped`;
      problems.push({ fileName: f.shown, line: 1, col: 1, severity: "warning", path: "", message });
      continue;
    }
    seen.add(f.path);
    const checked = validateLoaded(await readPlanFile(f.path, f.shown));
    problems.push(...checked.problems);
    plans.push(...checked.plans);
  }
  problems.push(...crossPlanProblems(plans));
  const order = new Map<string, number>();
  files.forEach((f, i) => order.set(f.shown, order.get(f.shown) ?? i));
  problems.sort((a, b) => (order.get(a.fileName) ?? 0) - (order.get(b.fileName) ?? 0) || a.line - b.line || a.col - b.col);
  return { problems, plans: plans.length, checked: seen.size };
}

export const run: Command = async (argv, io) => {
  const args = parseArgs(argv, io);
  if ("exit" in args) return args.exit;
  const { quiet, format } = args;
  const files = await filesOf(args.targets, io);
  if (files === undefined) return EXIT_USAGE;

  const { problems, plans, checked } = await checkFiles(files);
  const errors = problems.filter((p) => p.severity === "error").length;
  const warnings = problems.length - errors;
  const shown = problems.filter((p) => !quiet || p.severity === "error");
  if (format === "json") io.out(jsonReport(shown, { plans, files: checked, errors, warnings }));
  else for (const p of shown) io.out(format === "github" ? githubLine(p) : formatProblem(p));

  const summary = `${plural(plans, "Plan")} in ${plural(checked, "file")}: ${plural(errors, "error")}, ${plural(warnings, "warning")}`;
  // The summary goes to stderr so stdout stays one problem per line (or one JSON document) for tools.
  if (errors > 0 || !quiet) io.err(summary);
  return errors > 0 ? EXIT_INVALID : EXIT_OK;
};
