/**
 * The memory test: an image with one layer of `size` seeded bytes, pushed with basewarm's client
 * as a stream (a first pass computes the digest, a second streams the bytes, never the whole blob
 * in memory), then copied by basewarm in a child process (big-copy.js) whose peak RSS is reported.
 * Both registries hold a full copy of the blob, so they are removed as soon as the copy is checked.
 */
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { mirrorReference } from "../src/naming/index.js";
import { parseReference, Reference } from "../src/reference/index.js";
import { RegistryClient } from "../src/registry/index.js";
import { MT, sha256, startRegistry, type RunningRegistry } from "../testkit/index.js";
import type { BigCopyReport } from "./big-copy.js";
import { seededDigest, seededStream } from "./prng.js";

export interface BigImage {
  repository: string;
  tag: string;
  digest: string;
  layerDigest: string;
  size: number;
}

export type BigBlobResult = BigCopyReport & { size: number; verified: boolean };

export async function pushBigImage(registryHost: string, size: number, seed = "big-blob"): Promise<BigImage> {
  const repository = "bench/big";
  const tag = "v1";
  const repo = { registry: registryHost, repository };
  const layerDigest = await seededDigest(seed, size);
  const client = new RegistryClient();
  try {
    await client.blobUpload(repo, layerDigest, size, seededStream(seed, size));
    const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [layerDigest] } }));
    const configDigest = sha256(config);
    await client.blobUpload(repo, configDigest, config.length, config);
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: MT.ociManifest,
      config: { mediaType: MT.ociConfig, digest: configDigest, size: config.length },
      layers: [{ mediaType: MT.ociLayer, digest: layerDigest, size }],
    }));
    await client.manifestPut(repo, tag, { bytes: manifest, mediaType: MT.ociManifest });
    return { repository, tag, digest: sha256(manifest), layerDigest, size };
  } finally {
    await client.close();
  }
}

function runChild(args: string[]): Promise<BigCopyReport> {
  const script = join(dirname(fileURLToPath(import.meta.url)), "big-copy.js");
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString("utf8")));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`big-copy child exited with ${code}`));
      try {
        resolve(JSON.parse(out.trim().split("\n").pop() ?? "") as BigCopyReport);
      } catch (err) {
        reject(new Error(`big-copy child printed no report: ${(err as Error).message}`));
      }
    });
  });
}

export async function runBigBlob(options: { mib: number; blobConcurrency: number | undefined; perRegistry: number | undefined; log: (message: string) => void }): Promise<BigBlobResult> {
  const size = options.mib * 1024 * 1024;
  const source = await startRegistry();
  let target: RunningRegistry | undefined;
  try {
    options.log(`big blob: generating and pushing a ${options.mib} MiB layer as a stream`);
    const big = await pushBigImage(source.host, size);
    target = await startRegistry();
    options.log("big blob: copying in a child process");
    const report = await runChild([`${source.host}/${big.repository}:${big.tag}`, target.host, String(options.blobConcurrency ?? "default"), String(options.perRegistry ?? "default")]);
    const targetRepo = mirrorReference(parseReference(`${source.host}/${big.repository}`), { registry: target.host, prefix: "mirror" }).repository;
    const client = new RegistryClient();
    try {
      const head = await client.manifestHead(new Reference({ registry: target.host, repository: targetRepo, tag: big.tag }));
      const layer = await client.blobHead({ registry: target.host, repository: targetRepo }, big.layerDigest);
      return { ...report, size, verified: report.status === "copied" && head?.digest === big.digest && layer === size };
    } finally {
      await client.close();
    }
  } finally {
    await target?.stop();
    await source.stop();
  }
}
