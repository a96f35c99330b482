// `plan-runner validate <file|dir>...`: the pre-commit / CI check of Plan files, with the rules the
// controller applies, reported as `file:line:col: severity: field.path: message` (the format
// editors and CI annotators already understand).
import type { Dirent } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { MAX_FILE_BYTES, readPlanFile } from "../../plan/load.ts";
import { type LocatedProblem, type ValidatedPlan, crossPlanProblems, formatProblem, validateLoaded } from "../../plan/validate.ts";
import { type CliIO, type Command, EXIT_INVALID, EXIT_OK, EXIT_USAGE } from "../io.ts";

const USAGE = `usage: plan-runner validate [--quiet] <file|dir>...

Checks Plan files (multi-document YAML, read with kubectl's YAML 1.1 rules) against the Plan schema
and the rules the controller enforces. Directories are searched recursively for *.yaml and *.yml
(hidden directories, node_modules and kustomization.yaml files skipped). Documents of other kinds
are skipped with a warning.
Files over ${MAX_FILE_BYTES / (1024 * 1024)} MiB are refused.

  -q, --quiet   print errors only
  -h, --help    this text

Exit status: 0 no error (warnings allowed), 1 some error, 2 usage error.`;

const isYaml = (name: string): boolean => /\.ya?ml$/i.test(name);
// A directory of Plans kept for kustomize has its kustomization.yaml beside them (plans/ does):
// kustomize's own file, never a Plan, so a directory walk leaves it out instead of warning.
const isKustomization = (name: string): boolean => /^kustomization\.ya?ml$/i.test(name);

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

export const run: Command = async (argv, io) => {
  let quiet = false;
  const targets: string[] = [];
  let options = true;
  for (const arg of argv) {
    if (options && arg === "--") options = false;
    else if (options && (arg === "-h" || arg === "--help")) {
      io.out(USAGE);
      return EXIT_OK;
    } else if (options && (arg === "-q" || arg === "--quiet")) quiet = true;
    else if (options && arg.startsWith("-")) {
      io.err(`plan-runner validate: unknown option ${arg}\n\n${USAGE}`);
      return EXIT_USAGE;
    } else targets.push(arg);
  }
  if (targets.length === 0) {
    io.err(`plan-runner validate: no file or directory given\n\n${USAGE}`);
    return EXIT_USAGE;
  }

  const files = await filesOf(targets, io);
  if (files === undefined) return EXIT_USAGE;

  const problems: LocatedProblem[] = [];
  const plans: ValidatedPlan[] = [];
  const seen = new Set<string>();
  for (const f of files) {
    if (seen.has(f.path)) continue;
    seen.add(f.path);
    const checked = validateLoaded(await readPlanFile(f.path, f.shown));
    problems.push(...checked.problems);
    plans.push(...checked.plans);
  }
  problems.push(...crossPlanProblems(plans));

  const order = new Map([...seen].map((p, i) => [files.find((f) => f.path === p)?.shown ?? p, i]));
  problems.sort((a, b) => (order.get(a.fileName) ?? 0) - (order.get(b.fileName) ?? 0) || a.line - b.line || a.col - b.col);
  const errors = problems.filter((p) => p.severity === "error").length;
  const warnings = problems.length - errors;
  for (const p of problems) if (!quiet || p.severity === "error") io.out(formatProblem(p));

  const summary = `${plural(plans.length, "Plan")} in ${plural(seen.size, "file")}: ${plural(errors, "error")}, ${plural(warnings, "warning")}`;
  // The summary goes to stderr so stdout stays one problem per line for tools.
  if (errors > 0 || !quiet) io.err(summary);
  return errors > 0 ? EXIT_INVALID : EXIT_OK;
};
