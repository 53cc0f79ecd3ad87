/**
 * Deterministic test images: real tar layers, OCI or Docker v2 manifests, multi-arch indexes,
 * BuildKit cache manifests and artifacts, generated in memory from a seed so every run produces
 * the same digests. Pushed with plain HTTP to unauthenticated registries, or written as an
 * OCI layout for skopeo to push anywhere.
 */
import { createCipheriv, createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

export const MT = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayer: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  buildkitCacheConfig: "application/vnd.buildkit.cacheconfig.v0",
  emptyJson: "application/vnd.oci.empty.v1+json",
} as const;

export type Format = "oci" | "docker";

export interface TestBlob {
  digest: string;
  size: number;
  mediaType: string;
  data: Buffer;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface TestImage {
  mediaType: string;
  bytes: Buffer;
  digest: string;
  /** Config and layers of this manifest (empty for an index). */
  blobs: TestBlob[];
  /** Child manifests of an index. */
  children: TestImage[];
  platform?: Platform;
}

export function sha256(data: Buffer | string): string {
  return "sha256:" + createHash("sha256").update(data).digest("hex");
}

/** AES-256-CTR keystream keyed by the seed: deterministic, incompressible and fast (GB/s). */
function keystream(seed: string) {
  const key = createHash("sha256").update(`key/${seed}`).digest();
  const iv = createHash("sha256").update(`iv/${seed}`).digest().subarray(0, 16);
  return createCipheriv("aes-256-ctr", key, iv);
}

/** Seeded bytes: identical on every run for the same seed. */
export function seededBytes(seed: string, size: number): Buffer {
  return keystream(seed).update(Buffer.alloc(size));
}

/** The same bytes as seededBytes(seed, size), as a stream of chunks (for blobs too big for memory). */
export function* seededChunks(seed: string, size: number, chunkSize = 1 << 20): Generator<Buffer> {
  const cipher = keystream(seed);
  const zeros = Buffer.alloc(chunkSize);
  for (let offset = 0; offset < size; offset += chunkSize) {
    yield cipher.update(zeros.subarray(0, Math.min(chunkSize, size - offset)));
  }
}

function tarHeader(name: string, size: number, type: "0" | "2" | "5", linkname = "", mode = 0o644): Buffer {
  const header = Buffer.alloc(512, 0);
  const write = (value: string, offset: number, length: number) => header.write(value, offset, length, "utf8");
  const octal = (value: number, length: number) => value.toString(8).padStart(length - 1, "0") + "\0";
  write(name, 0, 100);
  write(octal(mode, 8), 100, 8);
  write(octal(0, 8), 108, 8);
  write(octal(0, 8), 116, 8);
  write(octal(size, 12), 124, 12);
  write(octal(0, 12), 136, 12); // mtime 0: deterministic
  header.fill(" ", 148, 156);
  write(type, 156, 1);
  write(linkname, 157, 100);
  write("ustar\u000000", 257, 8);
  let sum = 0;
  for (const byte of header) sum += byte;
  write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8);
  return header;
}

export interface TarEntry {
  name: string;
  data?: Buffer;
  symlink?: string;
  dir?: boolean;
  mode?: number;
}

export function tar(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    if (entry.dir) {
      parts.push(tarHeader(entry.name.endsWith("/") ? entry.name : entry.name + "/", 0, "5", "", 0o755));
    } else if (entry.symlink !== undefined) {
      parts.push(tarHeader(entry.name, 0, "2", entry.symlink, 0o777));
    } else {
      const data = entry.data ?? Buffer.alloc(0);
      parts.push(tarHeader(entry.name, data.length, "0", "", entry.mode ?? 0o644), data);
      const pad = (512 - (data.length % 512)) % 512;
      if (pad) parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

function blob(mediaType: string, data: Buffer): TestBlob {
  return { mediaType, data, size: data.length, digest: sha256(data) };
}

/** An uncompressed tar layer with one file of seeded content (incompressible, exact size control). */
export function makeLayer(seed: string, size: number, format: Format = "oci"): TestBlob {
  const data = tar([{ name: `data/${seed.replace(/[^a-zA-Z0-9._-]/g, "_")}.bin`, data: seededBytes(seed, size) }]);
  // Docker v2 has no uncompressed layer type in common use; a gzip layer of random data is the same size.
  return format === "oci" ? blob(MT.ociLayer, data) : blob(MT.dockerLayer, gzipSync(data, { level: 1 }));
}

function descriptor(b: { mediaType: string; digest: string; size: number }): Record<string, unknown> {
  return { mediaType: b.mediaType, digest: b.digest, size: b.size };
}

export function makeImage(opts: {
  seed: string;
  layers: TestBlob[];
  format?: Format;
  platform?: Platform;
  diffIds?: string[];
  annotations?: Record<string, string>;
  /** ONBUILD triggers in the image config (Docker's `config.OnBuild`). */
  onBuild?: string[];
}): TestImage {
  const format = opts.format ?? "oci";
  const platform = opts.platform ?? { os: "linux", architecture: "amd64" };
  const config = {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Labels: { "basewarm.test.seed": opts.seed }, ...(opts.onBuild ? { OnBuild: opts.onBuild } : {}) },
    rootfs: { type: "layers", diff_ids: opts.diffIds ?? opts.layers.map((l) => l.digest) },
    history: opts.layers.map((_, i) => ({ created_by: `layer ${i} of ${opts.seed}` })),
  };
  const configBlob = blob(format === "oci" ? MT.ociConfig : MT.dockerConfig, Buffer.from(JSON.stringify(config)));
  const mediaType = format === "oci" ? MT.ociManifest : MT.dockerManifest;
  const manifest = {
    schemaVersion: 2,
    mediaType,
    config: descriptor(configBlob),
    layers: opts.layers.map(descriptor),
    ...(opts.annotations ? { annotations: opts.annotations } : {}),
  };
  const bytes = Buffer.from(JSON.stringify(manifest, null, 2));
  return { mediaType, bytes, digest: sha256(bytes), blobs: [configBlob, ...opts.layers], children: [], platform };
}

export function makeIndex(children: TestImage[], format: Format = "oci"): TestImage {
  const mediaType = format === "oci" ? MT.ociIndex : MT.dockerList;
  const index = {
    schemaVersion: 2,
    mediaType,
    manifests: children.map((c) => ({ ...descriptor({ mediaType: c.mediaType, digest: c.digest, size: c.bytes.length }), ...(c.platform ? { platform: c.platform } : {}) })),
  };
  const bytes = Buffer.from(JSON.stringify(index, null, 2));
  return { mediaType, bytes, digest: sha256(bytes), blobs: [], children };
}

/** A multi-arch image: one child per platform, sharing `shared` layers, plus a per-arch layer. */
export function makeMultiArch(opts: { seed: string; shared: TestBlob[]; archLayerSize: number; format?: Format; platforms?: Platform[] }): TestImage {
  const format = opts.format ?? "oci";
  const platforms = opts.platforms ?? [
    { os: "linux", architecture: "amd64" },
    { os: "linux", architecture: "arm64", variant: "v8" },
  ];
  const children = platforms.map((platform) => {
    const arch = [platform.architecture, platform.variant].filter(Boolean).join("-");
    return makeImage({ seed: `${opts.seed}-${arch}`, layers: [...opts.shared, makeLayer(`${opts.seed}-${arch}`, opts.archLayerSize, format)], format, platform });
  });
  return makeIndex(children, format);
}

/** A BuildKit registry cache manifest: OCI manifest whose config is the cache config (not runnable). */
export function makeCacheImage(seed: string, layers: TestBlob[]): TestImage {
  const cacheConfig = {
    layers: layers.map((l, i) => ({ blob: l.digest, parent: i - 1 })),
    records: layers.map((_, i) => ({ digest: sha256(`${seed}-record-${i}`), results: [{ layer: i }] })),
  };
  const configBlob = blob(MT.buildkitCacheConfig, Buffer.from(JSON.stringify(cacheConfig)));
  const manifest = { schemaVersion: 2, mediaType: MT.ociManifest, config: descriptor(configBlob), layers: layers.map(descriptor) };
  const bytes = Buffer.from(JSON.stringify(manifest));
  return { mediaType: MT.ociManifest, bytes, digest: sha256(bytes), blobs: [configBlob, ...layers], children: [] };
}

/** An OCI 1.1 artifact (e.g. an SBOM) with an `artifactType`, optionally a referrer of `subject`. */
export function makeArtifact(seed: string, artifactType: string, subject?: TestImage): TestImage {
  const empty = blob(MT.emptyJson, Buffer.from("{}"));
  const payload = blob("application/spdx+json", Buffer.from(JSON.stringify({ spdxVersion: "SPDX-2.3", name: seed })));
  const manifest = {
    schemaVersion: 2,
    mediaType: MT.ociManifest,
    artifactType,
    config: descriptor(empty),
    layers: [descriptor(payload)],
    ...(subject ? { subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.bytes.length } } : {}),
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  return { mediaType: MT.ociManifest, bytes, digest: sha256(bytes), blobs: [empty, payload], children: [] };
}

/**
 * A runnable base image for buildah tests: Debian's static busybox (package busybox-static)
 * with `sh` and a few applets linked, so `RUN` steps work under chroot isolation.
 */
export function makeBusyboxImage(opts: { seed?: string; format?: Format; platform?: Platform } = {}): TestImage {
  const busyboxPath = "/bin/busybox";
  statSync(busyboxPath); // throws a clear ENOENT when busybox-static is missing
  const busybox = readFileSync(busyboxPath);
  const applets = ["sh", "echo", "cat", "ls", "mkdir", "touch", "true", "false", "sleep", "env", "wc", "sha256sum", "cp", "rm", "date"];
  const entries: TarEntry[] = [
    { name: "bin", dir: true },
    { name: "bin/busybox", data: busybox, mode: 0o755 },
    ...applets.map((a) => ({ name: `bin/${a}`, symlink: "busybox" })),
    { name: "tmp", dir: true, mode: 0o1777 },
    { name: "etc", dir: true },
    { name: "etc/passwd", data: Buffer.from("root:x:0:0:root:/root:/bin/sh\n") },
    { name: "etc/group", data: Buffer.from("root:x:0:\n") },
    { name: "etc/basewarm-seed", data: Buffer.from(`${opts.seed ?? "busybox"}\n`) },
  ];
  const raw = tar(entries);
  const format = opts.format ?? "oci";
  const layer = blob(format === "oci" ? MT.ociLayerGzip : MT.dockerLayer, gzipSync(raw, { level: 6 }));
  return makeImage({ seed: opts.seed ?? "busybox", layers: [layer], diffIds: [sha256(raw)], format, ...(opts.platform ? { platform: opts.platform } : {}) });
}

/** Every blob and manifest of an image tree, children first. */
export function flatten(image: TestImage): { blobs: TestBlob[]; manifests: TestImage[] } {
  const blobs = new Map<string, TestBlob>();
  const manifests: TestImage[] = [];
  const visit = (m: TestImage) => {
    for (const child of m.children) visit(child);
    for (const b of m.blobs) blobs.set(b.digest, b);
    manifests.push(m);
  };
  visit(image);
  return { blobs: [...blobs.values()], manifests };
}

/**
 * Push an image to an unauthenticated registry with plain HTTP (monolithic uploads).
 * For registries with auth, use basewarm's own client or skopeo from an OCI layout.
 */
export async function pushImage(registryUrl: string, repository: string, image: TestImage, tag?: string, headers: Record<string, string> = {}): Promise<void> {
  const { blobs, manifests } = flatten(image);
  for (const b of blobs) {
    const head = await fetch(`${registryUrl}/v2/${repository}/blobs/${b.digest}`, { method: "HEAD", headers });
    if (head.ok) continue;
    const start = await fetch(`${registryUrl}/v2/${repository}/blobs/uploads/`, { method: "POST", headers });
    await start.arrayBuffer();
    if (start.status !== 202) throw new Error(`upload start for ${repository}: HTTP ${start.status}`);
    const location = new URL(start.headers.get("location") ?? "", registryUrl);
    location.searchParams.set("digest", b.digest);
    const put = await fetch(location, { method: "PUT", body: b.data, headers: { ...headers, "content-type": "application/octet-stream" } });
    const text = await put.text();
    if (put.status !== 201) throw new Error(`blob upload for ${repository}: HTTP ${put.status} ${text}`);
  }
  for (const m of manifests) {
    const ref = m === image && tag ? tag : m.digest;
    const put = await fetch(`${registryUrl}/v2/${repository}/manifests/${ref}`, { method: "PUT", body: m.bytes, headers: { ...headers, "content-type": m.mediaType } });
    const text = await put.text();
    if (put.status !== 201) throw new Error(`manifest put ${repository}:${ref}: HTTP ${put.status} ${text}`);
  }
  if (tag) {
    // Tag children-first pushes finished with the top manifest by digest too, like a real client.
    const put = await fetch(`${registryUrl}/v2/${repository}/manifests/${image.digest}`, { method: "PUT", body: image.bytes, headers: { ...headers, "content-type": image.mediaType } });
    await put.arrayBuffer();
  }
}

/** Write images into an OCI image layout (for skopeo `oci:DIR:TAG`). */
export async function writeOciLayout(dir: string, entries: { image: TestImage; tag: string }[]): Promise<void> {
  await mkdir(join(dir, "blobs", "sha256"), { recursive: true });
  await writeFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  const write = async (digest: string, data: Buffer) => writeFile(join(dir, "blobs", "sha256", digest.slice("sha256:".length)), data);
  for (const { image } of entries) {
    const { blobs, manifests } = flatten(image);
    for (const b of blobs) await write(b.digest, b.data);
    for (const m of manifests) await write(m.digest, m.bytes);
  }
  const index = {
    schemaVersion: 2,
    mediaType: MT.ociIndex,
    manifests: entries.map(({ image, tag }) => ({
      mediaType: image.mediaType,
      digest: image.digest,
      size: image.bytes.length,
      annotations: { "org.opencontainers.image.ref.name": tag },
    })),
  };
  await writeFile(join(dir, "index.json"), JSON.stringify(index));
}
