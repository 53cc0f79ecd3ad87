/** Human-readable reports. Type-only imports keep this cheap to load. */
import type { MirrorReport } from "../run/mirror.js";
import type { Plan } from "../run/plan.js";
import type { RunReport } from "../run/warm-run.js";
import { count, formatBytes } from "./progress.js";

export function formatMirrorReport(report: MirrorReport): string {
  const lines: string[] = [];
  for (const image of report.images) {
    const digest = image.digest ? image.digest.slice(0, 19) : "-";
    const extra = image.status === "failed" || image.status === "deferred" ? `  ${image.error ?? ""}`
      : `${image.platformsFiltered ? "  (platforms filtered: new index digest)" : ""}${image.changedUpstream ? `  (upstream changed from ${image.previousDigest?.slice(0, 19)})` : ""}`;
    lines.push(`${image.status.padEnd(9)} ${image.source} → ${image.target}  ${digest}  ${formatBytes(image.bytes)}${extra}`);
  }
  const s = report.summary;
  lines.push(`${count(s.images, "image")}: ${s.copied} copied, ${s.unchanged} unchanged, ${s.failed} failed, ${s.deferred} deferred; ${formatBytes(s.bytes)} moved (${count(s.blobsCopied, "blob")} copied, ${s.blobsMounted} mounted, ${s.blobsSkipped} already there) in ${s.seconds.toFixed(1)} s`);
  return lines.join("\n") + "\n";
}

export function formatRunReport(report: RunReport): string {
  const lines = [`run ${report.runId}: ${report.outcome} in ${report.seconds.toFixed(1)} s`, "mirror:"];
  lines.push(...formatMirrorReport(report.mirror).trimEnd().split("\n").map((l) => `  ${l}`));
  if (report.builds.length > 0) {
    lines.push("builds:");
    for (const b of report.builds) {
      const steps = b.probe ? ` (${b.probe.cached}/${b.probe.steps} steps)` : "";
      const ratio = b.hitRatio === undefined ? "" : `  probe cache hits ${(b.hitRatio * 100).toFixed(0)}%${steps}`;
      lines.push(`  ${b.outcome.padEnd(8)} ${b.entry}  → ${b.cacheRef}  ${b.reason}${ratio}${b.durationMs ? `  (${(b.durationMs / 1000).toFixed(1)} s)` : ""}`);
    }
  }
  if (report.problems.length > 0) {
    lines.push("problems:");
    for (const p of report.problems) lines.push(`  ${p.message}`);
  }
  return lines.join("\n") + "\n";
}

export function formatPlan(plan: Plan): string {
  const lines: string[] = [];
  for (const row of plan.images) {
    // Filtered only when the mirror's digest says so: a single-platform image is copied whole.
    const filtered = row.mirrored && row.platforms.length > 0 && typeof row.mirrorDigest === "string" && row.mirrorDigest !== row.upstreamDigest ? " (platforms filtered)" : "";
    const state = row.error ? `error: ${row.error}`
      : row.mirrored === undefined ? ""
      : row.mirrored ? `mirrored${filtered}`
      : row.outOfDate !== undefined ? `OUT OF DATE (${row.outOfDate})` : "NOT mirrored";
    const digest = typeof row.upstreamDigest === "string" ? row.upstreamDigest.slice(0, 19) : "";
    const sites = row.usedBy.map((s) => (s.kind === "dockerfile" ? `${s.file}:${s.line}` : s.origin)).join(", ");
    // Offline, the digest and state are unknown: no trailing blanks for them.
    lines.push([row.ref, digest, state].filter(Boolean).join("  "), `    → ${row.mirror}`, `    used by ${sites}`);
  }
  return lines.length ? lines.join("\n") + "\n" : "";
}
