// `npm run bench [-- NAME...]`: runs the benchmarks (all, or those named) and prints a table each.
// Not a test: nothing here passes or fails CI; the figures go into reviews and release notes.
import { type Bench, formatTable } from "./bench.ts";
import { decideBench } from "./decide.ts";
import { decideFullBench } from "./decide-full.ts";
import { rolloutBench } from "./rollout.ts";

/** Add new benchmarks here. */
const BENCHES: readonly Bench[] = [decideBench, decideFullBench, rolloutBench];

async function main(argv: readonly string[]): Promise<number> {
  const wanted = argv.filter((a) => !a.startsWith("-"));
  const unknown = wanted.filter((w) => !BENCHES.some((b) => b.name === w));
  if (unknown.length > 0) {
    process.stderr.write(`unknown bench ${unknown.join(", ")}; known: ${BENCHES.map((b) => b.name).join(", ")}\n`);
    return 2;
  }
  const chosen = wanted.length === 0 ? BENCHES : BENCHES.filter((b) => wanted.includes(b.name));
  process.stdout.write(`node ${process.version}, ${process.platform}/${process.arch}\n\n`);
  for (const b of chosen) process.stdout.write(`${formatTable(await b.run())}\n\n`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
