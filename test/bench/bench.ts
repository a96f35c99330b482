// What a benchmark is to test/bench/run.ts: a name, and a run that returns a table.

export interface BenchTable {
  readonly title: string;
  readonly columns: readonly string[];
  readonly rows: ReadonlyArray<ReadonlyArray<string | number>>;
  /** Lines printed under the table: targets, verdicts, caveats. */
  readonly notes?: readonly string[];
  /** What run.ts writes as JSON for the next run to compare with (the rows, when absent). */
  readonly json?: unknown;
}

export interface Bench {
  readonly name: string;
  readonly description: string;
  run(): Promise<BenchTable> | BenchTable;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

export function formatTable(t: BenchTable): string {
  const cells = [t.columns.map(String), ...t.rows.map((r) => r.map(String))];
  const widths = t.columns.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: readonly string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ");
  const out = [t.title, line(cells[0] ?? []), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)];
  for (const n of t.notes ?? []) out.push(n);
  return out.join("\n");
}
