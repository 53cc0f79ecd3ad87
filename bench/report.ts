/** The benchmark's results, the targets they are held to, and their plain-text rendering. */
import type { BigBlobResult } from "./big.js";

export const MB = 1_000_000;

export interface Sample {
  seconds: number;
  /** User + system CPU of the process (a child's from /usr/bin/time; in-process: the bench's). */
  cpuSeconds?: number;
  /** Bytes the source registry served (blobs and manifests). */
  bytesPulled: number;
  sourceRequests: number;
  targetRequests: number;
  /** Requests by kind (`HEAD manifest`, `POST mount`…) at each registry. */
  profile: { source: Record<string, number>; target: Record<string, number> };
  maxRssKiB?: number;
}

/** `basewarm` is the command as users run it; `engine` the copy engine inside the bench's process. */
export type ColdTool = "basewarm" | "engine" | "skopeo" | "floor";
export type NoopTool = "basewarm" | "engine" | "skopeo";

export interface ScalingPoint {
  images: number;
  cold: Sample[];
  noop: Sample[];
  /** skopeo sync of the same images, cold and no-op (absent in runs saved before it was measured). */
  skopeoCold?: Sample[];
  skopeoNoop?: Sample[];
}

export interface ScalingResult {
  layerScale: number;
  /** Unique bytes of the largest set. */
  uniqueBytes: number;
  points: ScalingPoint[];
}

/** Start-up as users see it (measured by startup.ts; here so the report needs nothing from it). */
export interface StartupSample {
  seconds: number;
  cpuSeconds: number | undefined;
  maxRssKiB: number | undefined;
}

export interface StartupResult {
  /** `--version`, or `--help` when the CLI has no `--version` yet. */
  args: string[];
  samples: StartupSample[];
  /** `node -e 0`: what Node itself costs on this machine in the same run. */
  node: StartupSample[];
}

export interface BenchResults {
  /** When the run started (ISO 8601). */
  date?: string;
  engine: string;
  cpus: number;
  node: string;
  cli: string;
  /** Concurrency left undefined is the engine's default. */
  options: { reps: number; blobConcurrency: number | undefined; perRegistry: number | undefined; imageConcurrency: number | undefined; bigMiB: number };
  set: { images: number; multiArch: number; docker: number; manifests: number; uniqueBlobs: number; uniqueBytes: number };
  cold: Record<ColdTool, Sample[]>;
  noop: Record<NoopTool, Sample[]>;
  startup: StartupResult | undefined;
  scaling: ScalingResult | undefined;
  /** Targets whose tags or child manifests differ from the source (empty: all identical). */
  problems: string[];
  big: BigBlobResult | undefined;
  seconds: number;
}

export interface Summary {
  seconds: number;
  cpuSeconds: number;
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
    cpuSeconds: median(samples.flatMap((s) => (s.cpuSeconds === undefined ? [] : [s.cpuSeconds]))),
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
    engineCold: summarize(r.cold.engine),
    skopeoCold: summarize(r.cold.skopeo),
    floor: summarize(r.cold.floor),
    basewarmNoop: summarize(r.noop.basewarm),
    engineNoop: summarize(r.noop.engine),
    skopeoNoop: summarize(r.noop.skopeo),
  };
}

/** Whole-command seconds per image at each size of the scaling run, cold and no-op. */
export function perImage(s: ScalingResult): { images: number; cold: number; noop: number; coldRequests: number; noopRequests: number }[] {
  return s.points.map((p) => {
    const cold = summarize(p.cold);
    const noop = summarize(p.noop);
    return { images: p.images, cold: cold.seconds / p.images, noop: noop.seconds / p.images, coldRequests: cold.requests / p.images, noopRequests: noop.requests / p.images };
  });
}

/** Largest over smallest per-image time: 1 is perfectly flat. */
function spread(values: number[]): number {
  return Math.max(...values) / Math.min(...values);
}

export function startupLabel(s: StartupResult): string {
  return s.args.includes("--version") ? "basewarm --version" : "basewarm --help (no --version yet)";
}

export function targets(r: BenchResults): Target[] {
  const m = summaries(r);
  const speedup = m.skopeoCold.seconds / m.basewarmCold.seconds;
  const noopSpeedup = m.skopeoNoop.seconds / m.basewarmNoop.seconds;
  const perTag = m.basewarmNoop.requests / r.set.images;
  const out: Target[] = [
    { name: "cold ≥ 2× faster than skopeo sync", value: `${fixed(speedup)}× (${fixed(m.basewarmCold.seconds)} s vs ${fixed(m.skopeoCold.seconds)} s)`, pass: speedup >= 2 },
    { name: "cold ≤ 1.15× the floor", value: `${fixed(m.basewarmCold.seconds / m.floor.seconds)}× the floor's time`, pass: m.basewarmCold.seconds <= 1.15 * m.floor.seconds },
    { name: "no-op ≥ 2× faster than skopeo sync", value: `${fixed(noopSpeedup)}× (${fixed(m.basewarmNoop.seconds)} s vs ${fixed(m.skopeoNoop.seconds)} s)`, pass: noopSpeedup >= 2 },
    { name: "no-op ≤ 2 requests per tag", value: `${fixed(perTag)} per tag (source + target)`, pass: perTag <= 2 },
  ];
  if (r.startup) {
    const seconds = median(r.startup.samples.map((s) => s.seconds));
    out.push({ name: `${startupLabel(r.startup)} ≤ 0.15 s`, value: `${fixed(seconds)} s (node -e 0: ${fixed(median(r.startup.node.map((s) => s.seconds)))} s)`, pass: seconds <= 0.15 });
  }
  if (r.scaling && r.scaling.points.length > 1) {
    const rows = perImage(r.scaling);
    const sizes = `${rows[0]?.images}→${rows[rows.length - 1]?.images} images`;
    const cold = spread(rows.map((p) => p.cold));
    const noop = spread(rows.map((p) => p.noop));
    out.push(
      { name: "cold time per image flat within 25 %", value: `max/min ${fixed(cold)} over ${sizes}`, pass: cold <= 1.25 },
      { name: "no-op time per image flat within 25 %", value: `max/min ${fixed(noop)} over ${sizes}`, pass: noop <= 1.25 },
    );
  }
  if (r.big) {
    const rss = (r.big.maxRssKiB * 1024) / MB;
    out.push({ name: "big blob peak RSS < 150 MB", value: `${fixed(rss, 0)} MB${r.big.verified ? "" : ` (copy ${r.big.status}, target NOT verified)`}`, pass: rss < 150 && r.big.verified });
  }
  return out;
}

export function renderReport(r: BenchResults): string {
  const m = summaries(r);
  const tags = r.set.images;
  const perTag = (n: number) => `${n} (${(n / tags).toFixed(2)})`;
  const faster = (reference: number, s: number) => `${fixed(reference / s)}×`;
  const row = (name: string, s: Summary, reference: number): string[] => [name, fixed(s.seconds), fixed(s.cpuSeconds), fixed(s.mb, 1), perTag(s.requests), fixed(s.rssMb, 0), faster(reference, s.seconds)];
  const rows: string[][] = [
    row("basewarm mirror cold", m.basewarmCold, m.skopeoCold.seconds),
    row("skopeo sync cold", m.skopeoCold, m.skopeoCold.seconds),
    row("floor (in-process)", m.floor, m.skopeoCold.seconds),
    row("engine cold (in-process)", m.engineCold, m.skopeoCold.seconds),
    row("basewarm mirror no-op", m.basewarmNoop, m.skopeoNoop.seconds),
    row("skopeo sync no-op", m.skopeoNoop, m.skopeoNoop.seconds),
    row("engine no-op (in-process)", m.engineNoop, m.skopeoNoop.seconds),
  ];
  if (r.startup) {
    const s = r.startup.samples;
    const rss = s.flatMap((x) => (x.maxRssKiB === undefined ? [] : [x.maxRssKiB]));
    rows.push([startupLabel(r.startup), fixed(median(s.map((x) => x.seconds))), fixed(median(s.flatMap((x) => (x.cpuSeconds === undefined ? [] : [x.cpuSeconds])))), "–", "–", rss.length ? fixed((Math.max(...rss) * 1024) / MB, 0) : "–", "–"]);
    const n = r.startup.node;
    rows.push(["node -e 0", fixed(median(n.map((x) => x.seconds))), fixed(median(n.flatMap((x) => (x.cpuSeconds === undefined ? [] : [x.cpuSeconds])))), "–", "–", "–", "–"]);
  }
  rows.push(r.big
    ? [`big blob (${r.options.bigMiB} MiB, engine in a child)`, fixed(r.big.seconds), "–", fixed(r.big.bytes / MB, 1), "–", fixed((r.big.maxRssKiB * 1024) / MB, 0), "–"]
    : ["big blob", "skipped", "", "", "", "", ""]);
  const lines: string[] = [
    "",
    `basewarm mirror benchmark — ${tags} images (${r.set.multiArch} multi-arch, ${r.set.docker} Docker v2), ${r.set.manifests} manifests, ${r.set.uniqueBlobs} unique blobs, ${fixed(r.set.uniqueBytes / MB, 1)} MB unique`,
    `engine: ${r.engine}; command: node ${r.cli}`,
    `${r.cpus} CPUs, node ${r.node}; median of ${r.options.reps}, rotating order, each cold copy into a fresh registry; basewarm concurrency: blobs ${r.options.blobConcurrency ?? "default"}, per registry ${r.options.perRegistry ?? "default"}, images ${r.options.imageConcurrency ?? "default"}`,
    "",
    table(["", "wall (s)", "CPU (s)", "pulled (MB)", "requests (/image)", "peak RSS (MB)", "vs skopeo"], rows),
    "wall: median, spawn to exit for commands; CPU: user + system of the process (in-process rows: the bench's own);",
    "requests: source + target registry requests; peak RSS: the process's, from /usr/bin/time (big blob: VmHWM).",
  ];
  if (r.scaling) {
    lines.push(
      "",
      `scaling — small images (layers ×${r.scaling.layerScale}, ${fixed(r.scaling.uniqueBytes / MB, 1)} MB unique at the largest), basewarm mirror as a command, median of ${r.scaling.points[0]?.cold.length ?? 0}:`,
      "",
      table(
        ["images", "cold (s)", "cold ms/image", "cold requests/image", "no-op (s)", "no-op ms/image", "no-op requests/image"],
        perImage(r.scaling).map((p, i) => {
          const point = r.scaling?.points[i] as ScalingPoint;
          return [String(p.images), fixed(summarize(point.cold).seconds), fixed(p.cold * 1000, 1), fixed(p.coldRequests), fixed(summarize(point.noop).seconds), fixed(p.noop * 1000, 1), fixed(p.noopRequests)];
        }),
      ),
    );
    const against = r.scaling.points.filter((p) => (p.skopeoCold?.length ?? 0) > 0 && (p.skopeoNoop?.length ?? 0) > 0);
    if (against.length > 0) {
      lines.push("", "the same sizes with skopeo sync --all as a command (speed: skopeo's time over basewarm's):", "", table(
        ["images", "skopeo cold (s)", "basewarm cold vs skopeo", "skopeo no-op (s)", "basewarm no-op vs skopeo"],
        against.map((p) => {
          const skopeoCold = summarize(p.skopeoCold ?? []).seconds;
          const skopeoNoop = summarize(p.skopeoNoop ?? []).seconds;
          return [String(p.images), fixed(skopeoCold), `${fixed(skopeoCold / summarize(p.cold).seconds)}×`, fixed(skopeoNoop), `${fixed(skopeoNoop / summarize(p.noop).seconds)}×`];
        }),
      ));
    }
    const rows = perImage(r.scaling);
    const first = rows[0];
    const last = rows[rows.length - 1];
    if (first && last && last.images > first.images) {
      // The slope between the ends: per-image cost with start-up taken out.
      const slope = (a: number, b: number) => ((b * last.images - a * first.images) / (last.images - first.images)) * 1000;
      lines.push(`marginal cost per image (${first.images}→${last.images}, start-up excluded): cold ${fixed(slope(first.cold, last.cold), 1)} ms, no-op ${fixed(slope(first.noop, last.noop), 1)} ms`);
    }
  }
  lines.push(
    "",
    r.problems.length === 0
      ? `✓ digests: every tag and child manifest identical to the source in every target`
      : [`✗ digests: ${r.problems.length} problem(s)`, ...r.problems.slice(0, 10).map((p) => `  ${p}`)].join("\n"),
  );
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

/** The README's Benchmark measurements: the same report, fenced, under a line saying where it ran. */
export function renderMarkdown(r: BenchResults): string {
  const date = (r.date ?? new Date().toISOString()).slice(0, 10);
  return [
    `Measured on this project's ${r.cpus}-core machine on ${date} (${r.engine}; node ${r.node}; shared with other work, so wall times are noisy and CPU times steadier):`,
    "",
    "```",
    renderReport(r).trim(),
    "```",
    "",
  ].join("\n");
}
