/**
 * The transfer floor: the least work a registry-to-registry copy can do. Each unique blob is
 * streamed once (8 in parallel) into one target repository, mounted into every other repository
 * that needs it, then manifests are PUT children first. No existence checks, no retries: a
 * yardstick for basewarm's cold copy, not a tool.
 */
import { Readable } from "node:stream";
import pLimit from "p-limit";
import { flatten, type TestImage } from "../testkit/images.js";
import type { RunningRegistry } from "../testkit/registry-server.js";

async function check(res: Response, what: string, ok: number[]): Promise<Response> {
  if (!ok.includes(res.status)) throw new Error(`floor: ${what}: HTTP ${res.status} ${await res.text()}`);
  return res;
}

export async function floorCopy(source: RunningRegistry, target: RunningRegistry, images: Map<string, TestImage>): Promise<void> {
  const limit = pLimit(8);
  const owners = new Map<string, { repo: string; size: number; users: string[] }>();
  for (const [repo, image] of images) {
    for (const blob of flatten(image).blobs) {
      const entry = owners.get(blob.digest);
      if (entry) entry.users.push(repo);
      else owners.set(blob.digest, { repo, size: blob.size, users: [] });
    }
  }
  await Promise.all([...owners].map(([digest, { repo, size }]) => limit(async () => {
    const get = await check(await fetch(`${source.url}/v2/${repo}/blobs/${digest}`), `GET ${digest}`, [200]);
    const start = await check(await fetch(`${target.url}/v2/floor/${repo}/blobs/uploads/`, { method: "POST" }), "POST upload", [202]);
    await start.arrayBuffer();
    const location = new URL(start.headers.get("location") ?? "", target.url);
    location.searchParams.set("digest", digest);
    const put = await check(await fetch(location, {
      method: "PUT",
      body: Readable.toWeb(Readable.fromWeb(get.body as never)) as never,
      headers: { "content-length": String(size), "content-type": "application/octet-stream" },
      duplex: "half",
    } as RequestInit), `PUT ${digest}`, [201]);
    await put.arrayBuffer();
  })));
  await Promise.all([...owners].flatMap(([digest, { repo, users }]) => users.map((user) => limit(async () => {
    const res = await check(await fetch(`${target.url}/v2/floor/${user}/blobs/uploads/?mount=${digest}&from=floor/${repo}`, { method: "POST" }), `mount ${digest}`, [201]);
    await res.arrayBuffer();
  }))));
  await Promise.all([...images].map(([repo, image]) => limit(async () => {
    const { manifests } = flatten(image);
    for (const m of manifests) {
      const ref = m === image ? "v1" : m.digest;
      const res = await check(await fetch(`${target.url}/v2/floor/${repo}/manifests/${ref}`, { method: "PUT", body: m.bytes, headers: { "content-type": m.mediaType } }), `PUT manifest ${repo}`, [201]);
      await res.arrayBuffer();
    }
  })));
}
