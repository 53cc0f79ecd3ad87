/**
 * The comparison: one `skopeo sync` of exactly the bench's tags, listed in a YAML source file,
 * under /usr/bin/time for its peak RSS. skopeo names unscoped targets after the last path
 * component of each repository, so the set keeps those unique.
 */
import { execFile } from "node:child_process";
import { access, readFile, writeFile } from "node:fs/promises";
import { join, posix } from "node:path";
import { promisify } from "node:util";
import type { BenchImage } from "./synthetic.js";

const run = promisify(execFile);

export interface SkopeoRun {
  /** Peak RSS of the skopeo process in KiB, when /usr/bin/time is available. */
  maxRssKiB: number | undefined;
}

export function skopeoTargetRepository(prefix: string, sourceRepository: string): string {
  return `${prefix}/${posix.basename(sourceRepository)}`;
}

export async function writeSyncYaml(path: string, sourceHost: string, images: BenchImage[]): Promise<void> {
  const lines = [`${sourceHost}:`, "  tls-verify: false", "  images:"];
  for (const i of images) lines.push(`    ${i.repository}:`, `      - "${i.tag}"`);
  await writeFile(path, lines.join("\n") + "\n");
}

async function hasTime(): Promise<boolean> {
  return access("/usr/bin/time").then(() => true, () => false);
}

export async function skopeoSync(options: { yaml: string; targetHost: string; prefix: string; workDir: string }): Promise<SkopeoRun> {
  const args = [
    "sync", "--all", "--preserve-digests", "--src", "yaml", "--dest", "docker", "--dest-tls-verify=false",
    options.yaml, `${options.targetHost}/${options.prefix}`,
  ];
  const timeFile = join(options.workDir, "skopeo-time.txt");
  const timed = await hasTime();
  const [cmd, argv] = timed ? ["/usr/bin/time", ["-f", "%M", "-o", timeFile, "skopeo", ...args]] as const : ["skopeo", args] as const;
  try {
    await run(cmd, [...argv], { maxBuffer: 64 << 20 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`skopeo sync failed: ${(e.stderr ?? e.message).trim().split("\n").slice(-3).join(" | ")}`);
  }
  if (!timed) return { maxRssKiB: undefined };
  const kib = Number.parseInt((await readFile(timeFile, "utf8")).trim().split("\n").pop() ?? "", 10);
  return { maxRssKiB: Number.isNaN(kib) ? undefined : kib };
}
