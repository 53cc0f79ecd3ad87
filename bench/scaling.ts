/**
 * The scaling run: `basewarm mirror` as a command over 24 … 384 small images (the first N of one
 * set), cold into a fresh registry and then no-op on it, sizes in a rotating order; `skopeo sync`
 * the same way, so the comparison is seen at fleet sizes too, where start-up no longer dominates.
 * Small layers make per-image overhead, not bytes, the cost, which is what "flat time per image" is about.
 */
import { join } from "node:path";
import type { RunningRegistry } from "../testkit/index.js";
import { basewarmMirror, writeMirrorConfig, type Concurrency } from "./command.js";
import { skopeoSync, writeSyncYaml } from "./skopeo.js";
import { measure } from "./measure.js";
import type { ScalingPoint, ScalingResult } from "./report.js";
import { makeSyntheticSet, pushSyntheticSet } from "./synthetic.js";

/** 1/64 of the main set's layer sizes: 3–150 KB layers. */
export const SMALL_LAYER_SCALE = 1 / 64;

export interface ScalingOptions {
  sizes: number[];
  reps: number;
  cli: string;
  workDir: string;
  concurrency: Concurrency;
  start: () => Promise<RunningRegistry>;
  stop: (r: RunningRegistry | undefined) => Promise<void>;
  log: (message: string) => void;
}

export async function runScaling(o: ScalingOptions): Promise<ScalingResult> {
  const sizes = [...o.sizes].sort((a, b) => a - b);
  const set = makeSyntheticSet({ count: sizes[sizes.length - 1] ?? 0, layerScale: SMALL_LAYER_SCALE, seed: 384 });
  const source = await o.start();
  try {
    await pushSyntheticSet(source.url, set);
    o.log(`scaling: ${set.images.length} small images pushed (${set.uniqueBlobs} unique blobs)`);
    const points: ScalingPoint[] = sizes.map((images) => ({ images, cold: [], noop: [], skopeoCold: [], skopeoNoop: [] }));
    const kept = new Map<number, { target: RunningRegistry; config: string }>();
    const keptSkopeo = new Map<number, { target: RunningRegistry; yaml: string }>();
    const sync = (n: number, target: RunningRegistry, yaml: string, what: string) =>
      measure(source, target, async () => {
        const r = await skopeoSync({ yaml, targetHost: target.host, prefix: "mirror", workDir: o.workDir });
        return { inProcess: false, maxRssKiB: r.maxRssKiB, cpuSeconds: r.cpuSeconds };
      }).then((sample) => {
        o.log(`scaling skopeo ${what} ${String(n).padStart(4)} images ${sample.seconds.toFixed(2)} s, ${sample.sourceRequests + sample.targetRequests} requests`);
        return sample;
      });
    let runs = 0;
    const mirror = (n: number, target: RunningRegistry, config: string, wanted: string) =>
      measure(source, target, async () => {
        const r = await basewarmMirror({ cli: o.cli, config, workDir: o.workDir, wanted });
        return { inProcess: false, maxRssKiB: r.maxRssKiB, cpuSeconds: r.cpuSeconds };
      }).then((sample) => {
        o.log(`scaling ${wanted === "copied" ? "cold " : "no-op"} ${String(n).padStart(4)} images ${sample.seconds.toFixed(2)} s, ${sample.sourceRequests + sample.targetRequests} requests`);
        return sample;
      });
    for (let rep = 0; rep < o.reps; rep++) {
      for (let i = 0; i < points.length; i++) {
        const point = points[(i + rep) % points.length] as ScalingPoint;
        const target = await o.start();
        const config = join(o.workDir, `scaling-${point.images}-${runs++}.json`);
        await writeMirrorConfig(config, { source, target, images: set.images.slice(0, point.images), state: join(o.workDir, `scaling-${runs}.db`), concurrency: o.concurrency });
        point.cold.push(await mirror(point.images, target, config, "copied"));
        await o.stop(kept.get(point.images)?.target);
        kept.set(point.images, { target, config });
        const skopeoTarget = await o.start();
        const yaml = join(o.workDir, `scaling-${point.images}-${runs}.yaml`);
        await writeSyncYaml(yaml, source.host, set.images.slice(0, point.images));
        point.skopeoCold?.push(await sync(point.images, skopeoTarget, yaml, "cold "));
        await o.stop(keptSkopeo.get(point.images)?.target);
        keptSkopeo.set(point.images, { target: skopeoTarget, yaml });
      }
    }
    // No-op: the same command and state file again on the last cold target of each size.
    for (let rep = 0; rep < o.reps; rep++) {
      for (let i = 0; i < points.length; i++) {
        const point = points[(i + rep) % points.length] as ScalingPoint;
        const last = kept.get(point.images);
        if (last) point.noop.push(await mirror(point.images, last.target, last.config, "unchanged"));
        const lastSkopeo = keptSkopeo.get(point.images);
        if (lastSkopeo) point.skopeoNoop?.push(await sync(point.images, lastSkopeo.target, lastSkopeo.yaml, "no-op"));
      }
    }
    for (const { target } of [...kept.values(), ...keptSkopeo.values()]) await o.stop(target);
    return { layerScale: SMALL_LAYER_SCALE, uniqueBytes: set.uniqueBytes, points };
  } finally {
    await o.stop(source);
  }
}
