/** Plain-text table and target lines for the benchmark's stdout. */

export const MB = 1_000_000;

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

export interface Target {
  name: string;
  value: string;
  pass: boolean;
}

export function targetLines(targets: Target[]): string {
  const width = Math.max(...targets.map((t) => t.name.length));
  return targets.map((t) => `${t.pass ? "PASS" : "MISS"}  ${t.name.padEnd(width)}  ${t.value}`).join("\n");
}

export const fixed = (n: number | undefined, digits = 2): string => (n === undefined || Number.isNaN(n) ? "–" : n.toFixed(digits));
