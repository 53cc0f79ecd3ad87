/**
 * The comparison: one `skopeo sync` of exactly the bench's tags, listed in a YAML source file,
 * timed as a process like basewarm's command. skopeo names unscoped targets after the last path
 * component of each repository, so the set keeps those unique.
 */
import { writeFile } from "node:fs/promises";
import { posix } from "node:path";
import type { BenchImage } from "./synthetic.js";
import { timedRun, type TimedRun } from "./timed.js";

export function skopeoTargetRepository(prefix: string, sourceRepository: string): string {
  return `${prefix}/${posix.basename(sourceRepository)}`;
}

export async function writeSyncYaml(path: string, sourceHost: string, images: BenchImage[]): Promise<void> {
  const lines = [`${sourceHost}:`, "  tls-verify: false", "  images:"];
  for (const i of images) lines.push(`    ${i.repository}:`, `      - "${i.tag}"`);
  await writeFile(path, lines.join("\n") + "\n");
}

export function skopeoSync(options: { yaml: string; targetHost: string; prefix: string; workDir: string }): Promise<TimedRun> {
  const args = [
    "sync", "--all", "--preserve-digests", "--src", "yaml", "--dest", "docker", "--dest-tls-verify=false",
    options.yaml, `${options.targetHost}/${options.prefix}`,
  ];
  return timedRun("skopeo", args, { workDir: options.workDir, label: "skopeo sync" });
}
