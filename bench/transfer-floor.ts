/**
 * The transfer floor: the least a registry-to-registry copier must do to put a list of tags into
 * an empty registry. It reads each manifest from the source once (it has to learn what to copy),
 * streams each unique blob from the source and uploads it once (monolithic PUT, 8 streams at a
 * time), mounts it into every other repository that needs it, and PUTs the manifests children
 * first. No existence checks, no digest checks, no retries: a yardstick, not a tool.
 */
import type { Readable } from "node:stream";
import pLimit from "p-limit";
import { Agent, request } from "undici";

export interface FloorOptions {
  sourceUrl: string;
  targetUrl: string;
  /** Target repository for a source repository. */
  targetRepository: (sourceRepository: string) => string;
  /** Blob uploads at once (and, separately, small requests at once). */
  streams?: number;
}

export interface FloorResult {
  bytes: number;
  requests: number;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

interface FetchedManifest {
  ref: string;
  mediaType: string;
  bytes: Buffer;
}

const ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

type Body = { text(): Promise<string> };

async function expectStatus(status: number, want: number, what: string, body: Body): Promise<void> {
  const text = await body.text();
  if (status !== want) throw new Error(`floor: ${what}: HTTP ${status} ${text.slice(0, 200)}`);
}

export async function transferFloor(images: { repository: string; tag: string }[], options: FloorOptions): Promise<FloorResult> {
  const streams = options.streams ?? 8;
  const dispatcher = new Agent({ connections: streams * 2, keepAliveTimeout: 30_000 });
  const uploadLimit = pLimit(streams);
  const smallLimit = pLimit(streams);
  let requests = 0;
  let bytes = 0;
  type Init = { method: "GET" | "POST" | "PUT"; body?: Buffer | Readable; headers?: Record<string, string> };
  const send = (url: string, init: Init) => {
    requests++;
    return request(url, { ...init, dispatcher });
  };
  const small = <T>(fn: () => Promise<T>) => smallLimit(fn);

  const getManifest = (repository: string, ref: string) => small(async (): Promise<FetchedManifest> => {
    const res = await send(`${options.sourceUrl}/v2/${repository}/manifests/${ref}`, { method: "GET", headers: { accept: ACCEPT } });
    if (res.statusCode !== 200) await expectStatus(res.statusCode, 200, `GET ${repository}:${ref}`, res.body);
    return { ref, mediaType: String(res.headers["content-type"]).split(";")[0] ?? "", bytes: Buffer.from(await res.body.arrayBuffer()) };
  });

  // Blob digest → the target repository that received its one upload.
  const uploads = new Map<string, Promise<string>>();
  const upload = (sourceRepo: string, targetRepo: string, blob: Descriptor): Promise<string> => uploadLimit(async () => {
    const start = await send(`${options.targetUrl}/v2/${targetRepo}/blobs/uploads/`, { method: "POST" });
    await expectStatus(start.statusCode, 202, `upload start ${targetRepo}`, start.body);
    const location = new URL(String(start.headers["location"]), options.targetUrl);
    location.searchParams.set("digest", blob.digest);
    const get = await send(`${options.sourceUrl}/v2/${sourceRepo}/blobs/${blob.digest}`, { method: "GET" });
    if (get.statusCode !== 200) await expectStatus(get.statusCode, 200, `GET ${sourceRepo}@${blob.digest}`, get.body);
    const put = await send(location.toString(), { method: "PUT", body: get.body, headers: { "content-type": "application/octet-stream", "content-length": String(blob.size) } });
    await expectStatus(put.statusCode, 201, `upload ${targetRepo}@${blob.digest}`, put.body);
    bytes += blob.size;
    return targetRepo;
  });

  const copyImage = async ({ repository, tag }: { repository: string; tag: string }) => {
    const targetRepo = options.targetRepository(repository);
    const top = await getManifest(repository, tag);
    const topDoc = JSON.parse(top.bytes.toString("utf8")) as { manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] };
    const children = await Promise.all((topDoc.manifests ?? []).map((d) => getManifest(repository, d.digest)));
    const blobs = new Map<string, Descriptor>();
    for (const m of [top, ...children]) {
      const doc = m === top ? topDoc : (JSON.parse(m.bytes.toString("utf8")) as typeof topDoc);
      for (const b of [...(doc.config ? [doc.config] : []), ...(doc.layers ?? [])]) blobs.set(b.digest, b);
    }
    await Promise.all([...blobs.values()].map(async (blob) => {
      let owner = uploads.get(blob.digest);
      if (!owner) {
        owner = upload(repository, targetRepo, blob);
        uploads.set(blob.digest, owner);
      }
      const from = await owner;
      if (from === targetRepo) return;
      await small(async () => {
        const mount = await send(`${options.targetUrl}/v2/${targetRepo}/blobs/uploads/?mount=${blob.digest}&from=${from}`, { method: "POST" });
        await expectStatus(mount.statusCode, 201, `mount ${targetRepo}@${blob.digest}`, mount.body);
      });
    }));
    for (const m of [...children, top]) {
      await small(async () => {
        const put = await send(`${options.targetUrl}/v2/${targetRepo}/manifests/${m.ref}`, { method: "PUT", body: m.bytes, headers: { "content-type": m.mediaType } });
        await expectStatus(put.statusCode, 201, `manifest ${targetRepo}:${m.ref}`, put.body);
      });
    }
  };

  try {
    await Promise.all(images.map(copyImage));
  } finally {
    await dispatcher.close();
  }
  return { bytes, requests };
}
