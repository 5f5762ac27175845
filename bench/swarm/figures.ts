// Figures of the swarm benchmark: collected as phases finish, printed as a table, written as bench-results JSON.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/** One reported number, in the shape tooling/bench-summary.mjs reads. */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  note: string;
}

/** Rounds to `digits` decimals; NaN stays NaN (it is written as null in JSON and shown as "n/a"). */
export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** The p-th percentile (nearest rank) of an ascending array; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** `<prefix>p50` and `<prefix>p99` of an ascending array of milliseconds, rounded to `digits`. */
export function latencyFigures(
  prefix: string,
  sorted: readonly number[],
  opts: { digits: number; note: string },
): Figure[] {
  return [50, 99].map((p) => ({
    name: `${prefix}p${p}`,
    value: round(percentile(sorted, p), opts.digits),
    unit: "ms",
    note: opts.note,
  }));
}

export function ascending(values: Iterable<number>): number[] {
  return [...values].sort((a, b) => a - b);
}

/** The figures gathered so far: a failed phase still leaves the earlier ones in the JSON. */
export class FigureBook {
  readonly figures: Figure[] = [];

  /** Adds figures and prints them at once (stdout), so a long run shows results as it goes. */
  add(...more: Figure[]): void {
    this.figures.push(...more);
    printTable(more);
  }

  write(path: string, extra: Record<string, unknown>): void {
    mkdirSync(dirname(path), { recursive: true });
    const result = { suite: "swarm", figures: this.figures, ...extra };
    writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
  }
}

function shown(f: Figure): string {
  return Number.isNaN(f.value) ? "n/a" : `${f.value.toLocaleString("en-US")} ${f.unit}`;
}

/** Name, value and note in aligned columns. */
export function printTable(figures: readonly Figure[]): void {
  if (figures.length === 0) return;
  const rows = figures.map((f) => [f.name, shown(f), f.note] as const);
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  for (const r of rows) console.log(`${r[0].padEnd(w0)}  ${r[1].padStart(w1)}  ${r[2]}`);
}
