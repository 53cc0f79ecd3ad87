/** Whether a tool's target holds exactly what the source holds. */
import { Reference } from "../src/reference/index.js";
import { RegistryClient } from "../src/registry/index.js";
import { flatten, type RunningRegistry } from "../testkit/index.js";
import type { BenchImage } from "./synthetic.js";

/** Every tag at the target resolves to the source digest and every child manifest is there. */
export async function verifyTarget(name: string, target: RunningRegistry, images: BenchImage[], targetRepository: (sourceRepository: string) => string): Promise<string[]> {
  const client = new RegistryClient();
  const problems: string[] = [];
  try {
    for (const { repository, tag, image } of images) {
      const repo = targetRepository(repository);
      const ref = new Reference({ registry: target.host, repository: repo, tag });
      try {
        const got = await client.manifestGet(ref);
        if (got.digest !== image.digest) problems.push(`${name}: ${repo}:${tag} is ${got.digest}, the source has ${image.digest}`);
        for (const child of flatten(image).manifests) {
          if (child !== image && !(await client.manifestHead(ref.pinned(child.digest)))) problems.push(`${name}: ${repo}@${child.digest} missing`);
        }
      } catch (err) {
        problems.push(`${name}: ${repo}:${tag}: ${(err as Error).message}`);
      }
    }
  } finally {
    await client.close();
  }
  return problems;
}
