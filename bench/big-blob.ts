/**
 * The memory benchmark's child process. `seed HOST` streams a 1 GiB image into a registry;
 * `copy SRC DST` copies it with basewarm and prints its time and peak RSS as JSON. The copy runs
 * alone in its own process so the RSS it reports is basewarm's, not the generator's.
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { Copier, targetReference } from "../src/copy/index.js";
import { parseReference } from "../src/reference/index.js";
import { RegistryClient } from "../src/registry/index.js";
import { makeImage, seededChunks, MT } from "../testkit/images.js";

const SIZE = 1024 * 1024 * 1024;
const SEED = "bench-1gib";
const [mode, first, second] = process.argv.slice(2);

async function seed(host: string): Promise<void> {
  const hash = createHash("sha256");
  for (const chunk of seededChunks(SEED, SIZE)) hash.update(chunk);
  const digest = `sha256:${hash.digest("hex")}`;
  const client = new RegistryClient({ chunkSize: 16 * 1024 * 1024 });
  const repo = { registry: host, repository: "bench/big" };
  await client.blobUpload(repo, digest, SIZE, Readable.from(seededChunks(SEED, SIZE)));
  const layer = { mediaType: MT.ociLayer, digest, size: SIZE, data: Buffer.alloc(0) };
  const image = makeImage({ seed: SEED, layers: [layer] });
  const config = image.blobs[0]!;
  await client.blobUpload(repo, config.digest, config.size, config.data);
  await client.manifestPut(repo, "v1", image);
  await client.close();
}

async function copy(source: string, target: string): Promise<void> {
  const client = new RegistryClient();
  const src = parseReference(`${source}/bench/big:v1`);
  const started = Date.now();
  const result = await new Copier({ client }).copyImage({ source: src, target: targetReference(src, { registry: target, prefix: "big" }) });
  await client.close();
  if (result.status !== "copied") throw new Error(`copy failed: ${result.error}`);
  const rssMb = (process.resourceUsage().maxRSS * 1024) / 1e6;
  process.stdout.write(JSON.stringify({ seconds: (Date.now() - started) / 1000, rssMb, bytes: result.bytes }) + "\n");
}

if (mode === "seed" && first) await seed(first);
else if (mode === "copy" && first && second) await copy(first, second);
else {
  process.stderr.write("usage: big-blob.js seed HOST | copy SRC DST\n");
  process.exit(2);
}
