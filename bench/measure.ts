/** One timed body and what the source and target registries served meanwhile. */
import type { RunningRegistry } from "../testkit/index.js";
import { bytesServed, entriesSince, logMark, profile } from "./registry-log.js";
import type { Sample } from "./report.js";

/** What a timed body knows about itself beyond its wall time (a child process's RSS and CPU). */
export type BodyReport =
  | { inProcess: true }
  | { inProcess: false; maxRssKiB: number | undefined; cpuSeconds: number | undefined };

/**
 * Wall time is taken here around the body; for a child process that is spawn to exit. A body
 * that runs in this process gets its CPU time from process.cpuUsage (the bench's own share
 * included, which is small: it is waiting).
 */
export async function measure(source: RunningRegistry, target: RunningRegistry, body: () => Promise<BodyReport>): Promise<Sample> {
  const sourceMark = await logMark(source);
  const targetMark = await logMark(target);
  const cpu = process.cpuUsage();
  const started = performance.now();
  const report = await body();
  const seconds = (performance.now() - started) / 1000;
  const ownCpu = process.cpuUsage(cpu);
  const fromSource = await entriesSince(source, sourceMark);
  const atTarget = await entriesSince(target, targetMark);
  const cpuSeconds = report.inProcess ? (ownCpu.user + ownCpu.system) / 1e6 : report.cpuSeconds;
  const maxRssKiB = report.inProcess ? undefined : report.maxRssKiB;
  return {
    seconds,
    bytesPulled: bytesServed(fromSource.filter((e) => e.method === "GET")),
    sourceRequests: fromSource.length,
    targetRequests: atTarget.length,
    profile: { source: profile(fromSource), target: profile(atTarget) },
    ...(maxRssKiB === undefined ? {} : { maxRssKiB }),
    ...(cpuSeconds === undefined ? {} : { cpuSeconds }),
  };
}
