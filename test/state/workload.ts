/**
 * A deterministic stream of single-transaction writes, used by the crash test: the child runs it until
 * it is killed, and the test replays the same prefix into a fresh file to know exactly what the
 * crashed file must contain. Step i runs at tick i, so timestamps match between the two.
 */
import type { StateStore } from "../../src/state/index.js";

export interface WorkloadContext {
  tick: number;
  runId: number | null;
}

const BASE = Date.parse("2026-03-01T00:00:00.000Z");
export const WORKLOAD_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json";

export function workloadContext(): WorkloadContext {
  return { tick: 0, runId: null };
}

export function workloadClock(ctx: WorkloadContext): () => Date {
  return () => new Date(BASE + ctx.tick * 1000);
}

export function workloadRef(n: number): string {
  return `docker.io/library/img${n}:1`;
}

/** The digest ref n resolves to in block b: it changes every 6 blocks, i.e. every 2nd resolution of that ref. */
export function workloadDigest(n: number, block: number): string {
  return `sha256:${(n * 1000 + Math.floor(block / 6)).toString(16).padStart(64, "0")}`;
}

export async function workloadStep(store: StateStore, i: number, ctx: WorkloadContext): Promise<void> {
  ctx.tick = i;
  const block = Math.floor(i / 8);
  const n = block % 3;
  const runId = ctx.runId;
  switch (i % 8) {
    case 0:
      ctx.runId = await store.startRun(block % 2 === 0 ? "schedule" : "manual");
      return;
    case 1:
      await store.recordResolution(runId, workloadRef(n), workloadDigest(n, block), WORKLOAD_MEDIA_TYPE);
      return;
    case 2:
      await store.recordImage(runId, { source: workloadRef(n), target: `mirror.test/img${n}:1`, digest: workloadDigest(n, block), bytes: i * 10, status: block % 4 === 0 ? "unchanged" : "copied" });
      return;
    case 3:
      // A resolution outside any run (an on-demand lookup), of a reference of its own.
      await store.recordResolution(null, `docker.io/library/side${n}:1`, `sha256:${i.toString(16).padStart(64, "b")}`, WORKLOAD_MEDIA_TYPE);
      return;
    case 4:
      await store.recordResolution(null, "docker.io/library/pinned:1", workloadDigest(9, 0), WORKLOAD_MEDIA_TYPE);
      return;
    case 5:
      await store.recordBuild(runId!, {
        entry: `entry${n}`, inputsHash: `h${block}`, builder: "buildah", builderVersion: "1.39", cacheRef: `mirror/cache/entry${n}`,
        durationMs: i, outcome: block % 4 === 3 ? "failed" : "ok", reason: `block ${block}`, logTail: `log of step ${i}`, cacheHitRatio: block % 2 === 0 ? null : 0.5,
      });
      return;
    case 6:
      await store.recordImage(runId, { source: `docker.io/library/gone${block}:1`, target: `mirror.test/gone${block}:1`, digest: null, bytes: 0, status: block % 2 === 0 ? "failed" : "deferred", error: `NOT_FOUND in block ${block}` });
      return;
    default:
      await store.finishRun(runId!, block % 4 === 3 ? "partial" : "ok", { block, steps: i });
      ctx.runId = null;
  }
}
