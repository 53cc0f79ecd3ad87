/**
 * Input checks shared by every backend, so a bad call is refused alike (and before anything is
 * written) whichever database holds the state.
 */
import { validShard } from "./locks.js";
import { invalid } from "./state-error.js";
import { BUILD_OUTCOMES, IMAGE_STATUSES, RUN_OUTCOMES, RUN_TRIGGERS, type BlobLocation, type BuildRecord, type ImageRecord, type RunOutcome, type RunTrigger, type Shard } from "./types.js";

/** Build logs can be huge; the tail is what explains a failure, and the state must stay small. */
export const LOG_TAIL_MAX = 8000;

export function oneOf(label: string, name: string, value: string, allowed: readonly string[]): void {
  if (!allowed.includes(value)) throw invalid(label, `${name} ${JSON.stringify(value)} is not one of ${allowed.join(", ")}`);
}

export function count(label: string, name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw invalid(label, `${name} ${value} is not a non-negative integer`);
}

export function text(label: string, name: string, value: string): void {
  if (typeof value !== "string" || value.length === 0) throw invalid(label, `${name} must be a non-empty string`);
}

export function validDate(label: string, what: string, date: Date): void {
  if (Number.isNaN(date.getTime())) throw invalid(label, `${what} needs a valid date`);
}

export function clockNow(label: string, clock: () => Date): string {
  const date = clock();
  if (Number.isNaN(date.getTime())) throw invalid(label, "the clock returned an invalid date");
  return date.toISOString();
}

export function checkTrigger(label: string, trigger: RunTrigger): void {
  oneOf(label, "trigger", trigger, RUN_TRIGGERS);
}

export function checkFinish(label: string, runId: number, outcome: RunOutcome, summary: unknown): string {
  oneOf(label, "run outcome", outcome, RUN_OUTCOMES);
  if (outcome === "running") throw invalid(label, `run ${runId} cannot finish as "running"; pass ok, partial, failed or abandoned`);
  try {
    return JSON.stringify(summary ?? null) ?? "null";
  } catch (err) {
    throw invalid(label, `cannot finish run ${runId}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export function checkImage(label: string, image: ImageRecord): void {
  oneOf(label, "image status", image.status, IMAGE_STATUSES);
  count(label, "image bytes", image.bytes);
}

export function checkBuild(label: string, build: BuildRecord): void {
  oneOf(label, "build outcome", build.outcome, BUILD_OUTCOMES);
  if (!Number.isFinite(build.durationMs) || build.durationMs < 0) throw invalid(label, `build duration ${build.durationMs} ms is not a non-negative number`);
  if (build.cacheHitRatio !== null && !(build.cacheHitRatio >= 0 && build.cacheHitRatio <= 1)) {
    throw invalid(label, `cache hit ratio ${build.cacheHitRatio} is outside 0..1`);
  }
}

export function checkLockOptions(label: string, staleAfterMs: number, shard: Shard | undefined): void {
  if (!Number.isFinite(staleAfterMs) || staleAfterMs <= 0) throw invalid(label, `lock staleness ${staleAfterMs} ms must be a positive number`);
  if (shard !== undefined && !validShard(shard)) throw invalid(label, `shard ${shard.index}/${shard.count} is not INDEX/COUNT with 0 <= INDEX < COUNT`);
}

export function checkBlobLocations(label: string, registry: string, locations: readonly BlobLocation[]): void {
  text(label, "registry", registry);
  for (const l of locations) {
    text(label, "blob digest", l.digest);
    text(label, "blob repository", l.repository);
  }
}
