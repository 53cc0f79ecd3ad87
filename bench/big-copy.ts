/**
 * Child process of the benchmark: one basewarm copy of the big image, alone in a fresh process
 * so its peak RSS is the copy's, not the generator's or the bench's. Prints one JSON line.
 *   node dist/bench/big-copy.js SOURCE_REF TARGET_HOST [BLOB_CONCURRENCY|default] [PER_REGISTRY|default]
 */
import { readFileSync } from "node:fs";
import { Copier } from "../src/copy/index.js";
import { mirrorReference } from "../src/naming/index.js";
import { parseReference } from "../src/reference/index.js";
import { RegistryClient } from "../src/registry/index.js";

export interface BigCopyReport {
  status: string;
  error?: string;
  digest: string | null;
  bytes: number;
  seconds: number;
  /** Peak RSS of this process's own address space, KiB (VmHWM). */
  maxRssKiB: number;
  /** process.resourceUsage().maxRSS, KiB: on Linux it carries the parent's RSS over fork and exec. */
  rusageMaxRssKiB: number;
}

/**
 * VmHWM, not getrusage's ru_maxrss: Linux keeps ru_maxrss across fork and execve, so a child of
 * a big parent reports the parent's RSS (a 40 MB child of a 500 MB parent says 480 MB).
 */
function peakRssKiB(): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (match?.[1]) return Number(match[1]);
  } catch {
    // not Linux: fall back to getrusage
  }
  return process.resourceUsage().maxRSS;
}

async function main(argv: string[]): Promise<void> {
  const [sourceRef, targetHost, blobs, perRegistry] = argv;
  if (!sourceRef || !targetHost) throw new Error("usage: big-copy.js SOURCE_REF TARGET_HOST [BLOB_CONCURRENCY|default] [PER_REGISTRY|default]");
  // "default" (or nothing): the engine's own default.
  const given = (raw: string | undefined) => (raw === undefined || raw === "default" ? undefined : Number(raw));
  const perHost = given(perRegistry);
  const blobConcurrency = given(blobs);
  const client = new RegistryClient(perHost === undefined ? {} : { perHostConcurrency: perHost });
  const copier = new Copier({ client, ...(blobConcurrency === undefined ? {} : { blobConcurrency }) });
  const source = parseReference(sourceRef);
  const started = performance.now();
  const result = await copier.copyImage({ source, target: mirrorReference(source, { registry: targetHost, prefix: "mirror" }) });
  const seconds = (performance.now() - started) / 1000;
  await client.close();
  const report: BigCopyReport = {
    status: result.status,
    ...(result.error === undefined ? {} : { error: result.error }),
    digest: result.digest,
    bytes: result.bytes,
    seconds,
    maxRssKiB: peakRssKiB(),
    rusageMaxRssKiB: process.resourceUsage().maxRSS,
  };
  process.stdout.write(JSON.stringify(report) + "\n");
}

// Only when run as a script: main.ts imports the report type from here.
if (process.argv[1]?.endsWith("big-copy.js")) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`big-copy: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  });
}
