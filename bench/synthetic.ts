/**
 * The benchmark's image sets: by default 24 tagged images over 3 shared "OS" bases (per architecture),
 * each with 1–3 layers of its own; a third are multi-arch (amd64 + arm64), half use Docker v2
 * media types and half OCI. Layers are gzip streams (stored blocks) of a tar holding seeded
 * random bytes, so no tool is tempted to recompress them and every run has the same digests.
 */
import { gzipSync } from "node:zlib";
import pLimit from "p-limit";
import { flatten, makeImage, makeIndex, MT, pushImage, sha256, tar, type Format, type Platform, type TestBlob, type TestImage } from "../testkit/index.js";
import { rng, seededBuffer } from "./prng.js";

export interface BenchImage {
  repository: string;
  tag: string;
  image: TestImage;
}

export interface SyntheticSet {
  images: BenchImage[];
  /** Unique blobs over the whole set (configs and layers). */
  uniqueBlobs: number;
  uniqueBytes: number;
  manifests: number;
}

interface RawLayer {
  data: Buffer;
  digest: string;
  diffId: string;
}

const MB = 1024 * 1024;
const PLATFORMS: Platform[] = [
  { os: "linux", architecture: "amd64" },
  { os: "linux", architecture: "arm64", variant: "v8" },
];
/** Layer sizes of each base, in MB. */
const BASES: Record<string, number[]> = { debian: [9, 3], alpine: [3], ubuntu: [8, 2] };

function rawLayer(seed: string, size: number): RawLayer {
  const inner = tar([{ name: `opt/${seed}.bin`, data: seededBuffer(seed, size) }]);
  // Level 0: a valid gzip stream without spending seconds compressing incompressible bytes.
  const data = gzipSync(inner, { level: 0 });
  return { data, digest: sha256(data), diffId: sha256(inner) };
}

function asBlob(layer: RawLayer, format: Format): TestBlob {
  return { data: layer.data, digest: layer.digest, size: layer.data.length, mediaType: format === "oci" ? MT.ociLayerGzip : MT.dockerLayer };
}

function archName(p: Platform): string {
  return [p.architecture, p.variant].filter(Boolean).join("-");
}

/**
 * `layerScale` multiplies every layer size: 1 gives the bench's main set (3 MB layers on average),
 * 1/64 the small images of the scaling run, where per-image overhead rather than bytes dominates.
 */
export function makeSyntheticSet(options: { count?: number; seed?: number; layerScale?: number } = {}): SyntheticSet {
  const count = options.count ?? 24;
  const scale = options.layerScale ?? 1;
  const random = rng(options.seed ?? 20240611);
  const bases = new Map<string, RawLayer[]>();
  const baseFor = (os: string, platform: Platform): RawLayer[] => {
    const key = `${os}-${archName(platform)}`;
    let layers = bases.get(key);
    if (!layers) {
      layers = (BASES[os] ?? []).map((mb, i) => rawLayer(`base-${key}-${i}`, Math.round(mb * MB * scale)));
      bases.set(key, layers);
    }
    return layers;
  };
  const ownLayers = (seed: string): RawLayer[] => {
    const n = 1 + Math.floor(random() * 3);
    return Array.from({ length: n }, (_, i) => rawLayer(`${seed}-own-${i}`, Math.round((0.2 + random() * 2.4) * MB * scale)));
  };

  // Exactly a third multi-arch, spread over the set by a seeded shuffle.
  const order = Array.from({ length: count }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  const multi = new Set(order.slice(0, Math.floor(count / 3)));
  const osNames = Object.keys(BASES);

  const images: BenchImage[] = [];
  for (let i = 0; i < count; i++) {
    const os = osNames[i % osNames.length] as string;
    const format: Format = i % 2 === 0 ? "oci" : "docker";
    const name = `${os}-app${String(i).padStart(2, "0")}`;
    const build = (platform: Platform): TestImage => {
      const layers = [...baseFor(os, platform), ...ownLayers(`${name}-${archName(platform)}`)];
      return makeImage({ seed: `${name}-${archName(platform)}`, layers: layers.map((l) => asBlob(l, format)), diffIds: layers.map((l) => l.diffId), format, platform });
    };
    const image = multi.has(i) ? makeIndex(PLATFORMS.map(build), format) : build(PLATFORMS[0] as Platform);
    // Unique last path components: skopeo sync (unscoped) names its targets after them.
    images.push({ repository: `bench/${name}`, tag: `v${1 + (i % 3)}`, image });
  }

  const blobs = new Map<string, number>();
  let manifests = 0;
  for (const { image } of images) {
    const flat = flatten(image);
    for (const b of flat.blobs) blobs.set(b.digest, b.size);
    manifests += flat.manifests.length;
  }
  let uniqueBytes = 0;
  for (const size of blobs.values()) uniqueBytes += size;
  return { images, uniqueBlobs: blobs.size, uniqueBytes, manifests };
}

export async function pushSyntheticSet(registryUrl: string, set: SyntheticSet, concurrency = 4): Promise<void> {
  const limit = pLimit(concurrency);
  await Promise.all(set.images.map((i) => limit(() => pushImage(registryUrl, i.repository, i.image, i.tag))));
}
