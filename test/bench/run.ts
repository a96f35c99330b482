// `npm run bench [-- NAME...]`: runs the benchmarks (all, or those named) and prints a table each.
// Not a test: nothing here passes or fails CI; the figures go into reviews and release notes.
// Each bench's figures are also written as JSON to $BENCH_OUT (default .bench/NAME.json, git-ignored);
// the file found there before is kept as NAME.previous.json, to compare a run with the last one.
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Bench, formatTable } from "./bench.ts";
import { decideBench } from "./decide.ts";
import { decideFullBench } from "./decide-full.ts";
import { rolloutBench } from "./rollout.ts";

/** Add new benchmarks here. */
const BENCHES: readonly Bench[] = [decideBench, decideFullBench, rolloutBench];

function save(dir: string, name: string, value: unknown): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  if (existsSync(file)) renameSync(file, join(dir, `${name}.previous.json`));
  writeFileSync(file, `${JSON.stringify({ at: new Date().toISOString(), node: process.version, figures: value }, null, 2)}\n`);
  return file;
}

async function main(argv: readonly string[]): Promise<number> {
  const wanted = argv.filter((a) => !a.startsWith("-"));
  const unknown = wanted.filter((w) => !BENCHES.some((b) => b.name === w));
  if (unknown.length > 0) {
    process.stderr.write(`unknown bench ${unknown.join(", ")}; known: ${BENCHES.map((b) => b.name).join(", ")}\n`);
    return 2;
  }
  const chosen = wanted.length === 0 ? BENCHES : BENCHES.filter((b) => wanted.includes(b.name));
  const out = process.env["BENCH_OUT"] ?? ".bench";
  process.stdout.write(`node ${process.version}, ${process.platform}/${process.arch}\n\n`);
  for (const b of chosen) {
    const table = await b.run();
    const file = save(out, b.name, table.json ?? { columns: table.columns, rows: table.rows });
    process.stdout.write(`${formatTable(table)}\n(written to ${file})\n\n`);
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
