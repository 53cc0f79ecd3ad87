/** The benchmark's results, the targets they are held to, and their plain-text rendering. */
import type { BigBlobResult } from "./big.js";

export const MB = 1_000_000;

export interface Sample {
  seconds: number;
  /** Bytes the source registry served (blobs and manifests). */
  bytesPulled: number;
  sourceRequests: number;
  targetRequests: number;
  /** Requests by kind (`HEAD manifest`, `POST mount`…) at each registry. */
  profile: { source: Record<string, number>; target: Record<string, number> };
  maxRssKiB?: number;
}

export interface BenchResults {
  engine: string;
  cpus: number;
  node: string;
  /** Concurrency left undefined is the engine's default. */
  options: { reps: number; blobConcurrency: number | undefined; perRegistry: number | undefined; imageConcurrency: number | undefined; bigMiB: number };
  set: { images: number; multiArch: number; docker: number; manifests: number; uniqueBlobs: number; uniqueBytes: number };
  cold: { basewarm: Sample[]; skopeo: Sample[]; floor: Sample[] };
  noop: { basewarm: Sample[]; skopeo: Sample[] };
  /** Targets whose tags or child manifests differ from the source (empty: all identical). */
  problems: string[];
  big: BigBlobResult | undefined;
  seconds: number;
}

export interface Summary {
  seconds: number;
  mb: number;
  requests: number;
  rssMb: number | undefined;
}

export interface Target {
  name: string;
  value: string;
  pass: boolean;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function summarize(samples: Sample[]): Summary {
  const rss = samples.flatMap((s) => (s.maxRssKiB === undefined ? [] : [s.maxRssKiB]));
  return {
    seconds: median(samples.map((s) => s.seconds)),
    mb: median(samples.map((s) => s.bytesPulled)) / MB,
    requests: median(samples.map((s) => s.sourceRequests + s.targetRequests)),
    rssMb: rss.length > 0 ? (Math.max(...rss) * 1024) / MB : undefined,
  };
}

export const fixed = (n: number | undefined, digits = 2): string => (n === undefined || Number.isNaN(n) ? "–" : n.toFixed(digits));

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

export function summaries(r: BenchResults) {
  return {
    basewarmCold: summarize(r.cold.basewarm),
    skopeoCold: summarize(r.cold.skopeo),
    floor: summarize(r.cold.floor),
    basewarmNoop: summarize(r.noop.basewarm),
    skopeoNoop: summarize(r.noop.skopeo),
  };
}

export function targets(r: BenchResults): Target[] {
  const m = summaries(r);
  const speedup = m.skopeoCold.seconds / m.basewarmCold.seconds;
  const perTag = m.basewarmNoop.requests / r.set.images;
  const out: Target[] = [
    { name: "cold ≥ 2× faster than skopeo sync", value: `${fixed(speedup)}×`, pass: speedup >= 2 },
    { name: "cold within 10 % of the floor", value: `${fixed(m.basewarmCold.seconds / m.floor.seconds)}× the floor's time`, pass: m.basewarmCold.seconds <= 1.1 * m.floor.seconds },
    { name: "no-op ≤ 2 requests per tag", value: `${fixed(perTag)} per tag (source + target)`, pass: perTag <= 2 },
    { name: "no-op faster than skopeo sync", value: `${fixed(m.basewarmNoop.seconds)} s vs ${fixed(m.skopeoNoop.seconds)} s`, pass: m.basewarmNoop.seconds < m.skopeoNoop.seconds },
  ];
  if (r.big) {
    const rss = (r.big.maxRssKiB * 1024) / MB;
    out.push({ name: "big blob peak RSS < 150 MB", value: `${fixed(rss, 0)} MB${r.big.verified ? "" : ` (copy ${r.big.status}, target NOT verified)`}`, pass: rss < 150 && r.big.verified });
  }
  return out;
}

export function renderReport(r: BenchResults): string {
  const m = summaries(r);
  const tags = r.set.images;
  const perTag = (n: number) => `${n} (${(n / tags).toFixed(2)}/tag)`;
  const faster = (reference: number, s: number) => `${fixed(reference / s)}× faster`;
  const rows: string[][] = [
    ["basewarm cold", fixed(m.basewarmCold.seconds), fixed(m.basewarmCold.mb, 1), perTag(m.basewarmCold.requests), "–", faster(m.skopeoCold.seconds, m.basewarmCold.seconds)],
    ["skopeo sync cold", fixed(m.skopeoCold.seconds), fixed(m.skopeoCold.mb, 1), perTag(m.skopeoCold.requests), fixed(m.skopeoCold.rssMb, 0), "1.00×"],
    ["floor", fixed(m.floor.seconds), fixed(m.floor.mb, 1), perTag(m.floor.requests), "–", faster(m.skopeoCold.seconds, m.floor.seconds)],
    ["basewarm no-op", fixed(m.basewarmNoop.seconds), fixed(m.basewarmNoop.mb, 1), perTag(m.basewarmNoop.requests), "–", faster(m.skopeoNoop.seconds, m.basewarmNoop.seconds)],
    ["skopeo no-op", fixed(m.skopeoNoop.seconds), fixed(m.skopeoNoop.mb, 1), perTag(m.skopeoNoop.requests), fixed(m.skopeoNoop.rssMb, 0), "1.00×"],
    r.big
      ? [`big blob (${r.options.bigMiB} MiB)`, fixed(r.big.seconds), fixed(r.big.bytes / MB, 1), "–", fixed((r.big.maxRssKiB * 1024) / MB, 0), "–"]
      : ["big blob", "skipped", "", "", "", ""],
  ];
  const lines: string[] = [
    "",
    `basewarm mirror benchmark — ${tags} images (${r.set.multiArch} multi-arch, ${r.set.docker} Docker v2), ${r.set.manifests} manifests, ${r.set.uniqueBlobs} unique blobs, ${fixed(r.set.uniqueBytes / MB, 1)} MB unique`,
    `engine: ${r.engine}`,
    `${r.cpus} CPUs, node ${r.node}; median of ${r.options.reps}, each cold copy into a fresh registry; basewarm concurrency: blobs ${r.options.blobConcurrency ?? "default"}, per registry ${r.options.perRegistry ?? "default"}, images ${r.options.imageConcurrency ?? "default"}`,
    "",
    table(["", "wall (s)", "pulled (MB)", "requests", "peak RSS (MB)", "vs skopeo"], rows),
    "wall: median; pulled: bytes the source registry served; requests: source + target registry requests;",
    "peak RSS: skopeo's (/usr/bin/time) and the big-blob copy's own process (VmHWM); basewarm and the floor run in the bench process.",
    "",
    r.problems.length === 0
      ? `✓ digests: all ${tags} tags and their child manifests identical to the source in the basewarm, skopeo and floor targets`
      : [`✗ digests: ${r.problems.length} problem(s)`, ...r.problems.slice(0, 10).map((p) => `  ${p}`)].join("\n"),
  ];
  const list = targets(r);
  const width = Math.max(...list.map((t) => t.name.length));
  lines.push(...list.map((t) => `${t.pass ? "PASS" : "MISS"}  ${t.name.padEnd(width)}  ${t.value}`), "", "requests by kind (first run; source | target):");
  const kinds = (p: Record<string, number>) => Object.entries(p).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(", ");
  const first: [string, Sample | undefined][] = [
    ["basewarm cold", r.cold.basewarm[0]], ["skopeo cold", r.cold.skopeo[0]], ["floor", r.cold.floor[0]],
    ["basewarm no-op", r.noop.basewarm[0]], ["skopeo no-op", r.noop.skopeo[0]],
  ];
  for (const [name, s] of first) if (s) lines.push(`  ${name.padEnd(15)} ${kinds(s.profile.source)} | ${kinds(s.profile.target)}`);
  lines.push("", `bench took ${fixed(r.seconds, 0)} s`, "");
  return lines.join("\n");
}
