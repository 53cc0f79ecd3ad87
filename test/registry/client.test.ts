import { getEventListeners } from "node:events";
import { Readable } from "node:stream";
import { Writable } from "node:stream";
import { createServer } from "node:http";
import { describe, expect, it } from "vitest";
import { isBasewarmError } from "../../src/errors.js";
import { createLogger } from "../../src/log/index.js";
import { parseReference, digestOf } from "../../src/reference/index.js";
import { RegistryClient, TAG_LIST_PAGE_LIMIT, type RepositoryRef } from "../../src/registry/index.js";
import type { CredentialSource } from "../../src/registry/credentials.js";
import { flatten, makeImage, makeLayer, makeMultiArch, pushImage, seededBytes, type TestImage } from "../../testkit/images.js";
import type { RunningRegistry } from "../../testkit/registry-server.js";
import { useRegistry } from "../helpers/registries.js";

function credentialsFor(registry: RunningRegistry, password?: string): CredentialSource | undefined {
  const user = registry.users[0];
  if (!user) return undefined;
  return { get: async (host) => (host === registry.host ? { kind: "basic", username: user.username, password: password ?? user.password } : undefined) };
}

function clientFor(registry: RunningRegistry, options: { password?: string; chunkedThreshold?: number; chunkSize?: number; logs?: string[] } = {}): RegistryClient {
  const credentials = credentialsFor(registry, options.password);
  const logs = options.logs;
  return new RegistryClient({
    ...(credentials ? { credentials } : {}),
    ...(options.chunkedThreshold ? { chunkedThreshold: options.chunkedThreshold } : {}),
    ...(options.chunkSize ? { chunkSize: options.chunkSize } : {}),
    retry: { baseDelayMs: 10, maxDelayMs: 50 },
    ...(logs ? { logger: createLogger({ level: "debug", destination: new Writable({ write(chunk, _enc, cb) { logs.push(String(chunk)); cb(); } }) }) } : {}),
  });
}

/** Push a whole test image through basewarm's client (blobs, children, then the top by tag). */
async function pushWithClient(client: RegistryClient, repo: RepositoryRef, image: TestImage, tag: string): Promise<void> {
  const { blobs, manifests } = flatten(image);
  for (const blob of blobs) {
    if ((await client.blobHead(repo, blob.digest)) === undefined) await client.blobUpload(repo, blob.digest, blob.size, blob.data);
  }
  for (const manifest of manifests) {
    await client.manifestPut(repo, manifest === image ? tag : manifest.digest, manifest);
  }
}

async function streamToBuffer(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe.each(["none", "basic", "token"] as const)("registry client against a real registry (auth: %s)", (auth) => {
  const registry = useRegistry({ auth });

  it("pushes an image and reads back the exact manifest bytes, media type and digest", async () => {
    const r = registry();
    const client = clientFor(r);
    const image = makeImage({ seed: `roundtrip-${auth}`, layers: [makeLayer(`rt-${auth}`, 10_000)] });
    const repo = { registry: r.host, repository: "client/roundtrip" };
    await pushWithClient(client, repo, image, "v1");
    const ref = parseReference(`${r.host}/client/roundtrip:v1`);
    const head = await client.manifestHead(ref);
    expect(head).toEqual({ mediaType: image.mediaType, digest: image.digest, size: image.bytes.length });
    const got = await client.manifestGet(ref);
    expect(got.bytes.equals(image.bytes)).toBe(true);
    expect(got.digest).toBe(image.digest);
    const byDigest = await client.manifestGet(ref.pinned(image.digest));
    expect(byDigest.bytes.equals(image.bytes)).toBe(true);
    await client.close();
  });

  it("keeps multi-arch indexes whole (Docker v2 list and OCI index)", async () => {
    const r = registry();
    const client = clientFor(r);
    for (const format of ["oci", "docker"] as const) {
      const image = makeMultiArch({ seed: `multi-${format}-${auth}`, shared: [makeLayer(`shared-${format}`, 3000, format)], archLayerSize: 1000, format });
      const repo = { registry: r.host, repository: `client/multi-${format}` };
      await pushWithClient(client, repo, image, "latest");
      const got = await client.manifestGet(parseReference(`${r.host}/client/multi-${format}`));
      expect(got.mediaType).toBe(image.mediaType);
      expect(got.digest).toBe(image.digest);
    }
    await client.close();
  });

  it("answers undefined for missing manifests and blobs, and NOT_FOUND with the OCI code on GET", async () => {
    const r = registry();
    const client = clientFor(r);
    const ref = parseReference(`${r.host}/client/missing:nope`);
    expect(await client.manifestHead(ref)).toBeUndefined();
    expect(await client.blobHead({ registry: r.host, repository: "client/missing" }, digestOf("nothing"))).toBeUndefined();
    const err = await client.manifestGet(ref).catch((e: unknown) => e);
    expect(isBasewarmError(err, "NOT_FOUND")).toBe(true);
    expect(String((err as Error).message)).toMatch(/MANIFEST_UNKNOWN|NAME_UNKNOWN/);
    await client.close();
  });

  it("streams blobs both ways, monolithic and chunked, and the registry keeps the digest", async () => {
    const r = registry();
    const client = clientFor(r, { chunkedThreshold: 100_000, chunkSize: 64 * 1024 });
    const repo = { registry: r.host, repository: "client/blobs" };
    for (const size of [5_000, 300_000]) {
      const data = seededBytes(`blob-${size}-${auth}`, size);
      const digest = digestOf(data);
      await client.blobUpload(repo, digest, size, Readable.from([data.subarray(0, 1000), data.subarray(1000)]));
      expect(await client.blobHead(repo, digest)).toBe(size);
      const back = await streamToBuffer(client.blobRead(repo, digest, { size }));
      expect(digestOf(back)).toBe(digest);
    }
    await client.close();
  });

  it("refuses an upload whose bytes do not match the digest, and nothing lands", async () => {
    const r = registry();
    const client = clientFor(r);
    const repo = { registry: r.host, repository: "client/corrupt" };
    const data = seededBytes(`corrupt-${auth}`, 4096);
    const digest = digestOf(data);
    const flipped = Buffer.from(data);
    flipped[100] = (flipped[100] ?? 0) ^ 0xff;
    const err = await client.blobUpload(repo, digest, data.length, flipped).catch((e: unknown) => e);
    expect(isBasewarmError(err)).toBe(true);
    expect(String((err as Error).message)).toMatch(/DIGEST_INVALID|digest/i);
    expect(await client.blobHead(repo, digest)).toBeUndefined();
    await client.close();
  });

  it("mounts a blob across repositories, and falls back to an upload session when the source lacks it", async () => {
    const r = registry();
    const client = clientFor(r);
    const data = seededBytes(`mount-${auth}`, 2048);
    const digest = digestOf(data);
    await client.blobUpload({ registry: r.host, repository: "client/mount-src" }, digest, data.length, data);
    const target = { registry: r.host, repository: "client/mount-dst" };
    expect(await client.blobMount(target, digest, "client/mount-src")).toEqual({ mounted: true });
    expect(await client.blobHead(target, digest)).toBe(2048);

    const other = seededBytes(`mount-miss-${auth}`, 1000);
    const otherDigest = digestOf(other);
    const result = await client.blobMount(target, otherDigest, "client/does-not-exist");
    expect(result.mounted).toBe(false);
    if (!result.mounted) await client.blobUpload(target, otherDigest, other.length, other, { location: result.location });
    expect(await client.blobHead(target, otherDigest)).toBe(1000);
    await client.close();
  });

  it("lets many requests share one stop signal without a Node warning, and each releases its listener", async () => {
    const repo = { registry: registry().host, repository: "listeners/many" };
    const blob = seededBytes("listeners", 2000);
    const stop = new AbortController();
    const credentials = credentialsFor(registry());
    // 16 requests in flight: more than Node's default of 10 listeners (a run reaches that with two registries).
    const client = new RegistryClient({ signal: stop.signal, perHostConcurrency: 16, ...(credentials ? { credentials } : {}) });
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on("warning", onWarning);
    try {
      await client.blobUpload(repo, digestOf(blob), blob.length, blob);
      const heads = await Promise.all(Array.from({ length: 24 }, () => client.blobHead(repo, digestOf(blob))));
      expect(heads.every((h) => h !== undefined)).toBe(true);
      const bodies = await Promise.all(Array.from({ length: 12 }, () => streamToBuffer(client.blobRead(repo, digestOf(blob), { size: blob.length }))));
      expect(bodies.every((b) => b.equals(blob))).toBe(true);
      await new Promise((resolve) => setImmediate(resolve));
      // One listener on the caller's signal while the client lives (the client's own follows it), none after.
      expect(getEventListeners(stop.signal, "abort")).toHaveLength(1);
      expect(warnings).not.toContain("MaxListenersExceededWarning");
    } finally {
      process.off("warning", onWarning);
      await client.close();
    }
    expect(getEventListeners(stop.signal, "abort")).toHaveLength(0);
  });

  it("lists tags", async () => {
    const r = registry();
    const client = clientFor(r);
    const image = makeImage({ seed: `tags-${auth}`, layers: [makeLayer(`tags-${auth}`, 100)] });
    const repo = { registry: r.host, repository: "client/tags" };
    for (const tag of ["a", "b", "c"]) await pushWithClient(client, repo, image, tag);
    expect((await client.tagsList(repo)).sort()).toEqual(["a", "b", "c"]);
    await client.close();
  });

  if (auth !== "none") {
    it("fails with one clear line on a wrong password, without retrying and without the secret", async () => {
      const r = registry();
      const client = clientFor(r, { password: "wrong-password-zz" });
      const before = auth === "token" ? r.issuer!.log.length : 0;
      const err = await client.manifestHead(parseReference(`${r.host}/client/roundtrip:v1`)).catch((e: unknown) => e);
      expect(isBasewarmError(err)).toBe(true);
      const message = (err as Error).message;
      expect(message).toMatch(/credentials|refused/);
      expect(message).not.toContain("\n");
      expect(message).not.toContain("wrong-password-zz");
      if (auth === "token") expect(r.issuer!.log.length - before).toBe(1);
      await client.close();
    });
  }

  if (auth === "token") {
    it("asks for exactly the scopes each operation needs, including the mount source", async () => {
      const r = registry();
      const client = clientFor(r);
      const data = seededBytes("scopes", 512);
      const digest = digestOf(data);
      await client.blobUpload({ registry: r.host, repository: "scope/src" }, digest, data.length, data);
      const start = r.issuer!.log.length;
      await client.blobMount({ registry: r.host, repository: "scope/dst" }, digest, "scope/src");
      await client.manifestHead(parseReference(`${r.host}/scope/src@sha256:${"a".repeat(64)}`));
      const scopes = r.issuer!.log.slice(start).map((entry) => [...entry.scopes].sort());
      expect(scopes).toContainEqual(["repository:scope/dst:pull,push", "repository:scope/src:pull"]);
      // A digest reference yields the repository, never `scope/src@sha256`.
      expect(scopes).toContainEqual(["repository:scope/src:pull"]);
      expect(scopes.flat().some((s) => s.includes("@"))).toBe(false);
      await client.close();
    });

    it("renews a token that the registry no longer accepts (expired mid-run)", async () => {
      const r = registry();
      const client = clientFor(r);
      const ref = parseReference(`${r.host}/client/expiry:v1`);
      // Tokens now really last 1 s but claim 300 s, so the cached token goes stale under us.
      r.issuer!.setTtl(1, 300);
      expect(await client.manifestHead(ref)).toBeUndefined();
      await new Promise((resolve) => setTimeout(resolve, 2100));
      r.issuer!.setTtl(300);
      const before = r.issuer!.log.length;
      expect(await client.manifestHead(ref)).toBeUndefined();
      expect(r.issuer!.log.length - before).toBe(1);
      await client.close();
    });
  }
});

describe("registry client against odd servers", () => {
  it("refuses manifests over the 4 MiB cap and manifests whose bytes do not match the digest header", async () => {
    const big = Buffer.alloc(5 * 1024 * 1024, 0x20);
    const small = Buffer.from('{"schemaVersion":2}');
    const server = createServer((req, res) => {
      if (req.url?.includes("/big/")) {
        res.writeHead(200, { "content-type": "application/vnd.oci.image.manifest.v1+json" });
        res.end(big);
      } else {
        res.writeHead(200, { "content-type": "application/vnd.oci.image.manifest.v1+json", "docker-content-digest": digestOf("something else") });
        res.end(small);
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    const client = new RegistryClient({ retry: { maxAttempts: 1 } });
    const tooBig = await client.manifestGet(parseReference(`127.0.0.1:${port}/big/image:1`)).catch((e: unknown) => e);
    expect(isBasewarmError(tooBig, "MANIFEST_TOO_LARGE")).toBe(true);
    const lying = await client.manifestGet(parseReference(`127.0.0.1:${port}/lying/image:1`)).catch((e: unknown) => e);
    expect(isBasewarmError(lying, "DIGEST_MISMATCH")).toBe(true);
    await client.close();
    server.close();
  });

  it("retries 503 and honours Retry-After, with a bounded number of attempts", async () => {
    let calls = 0;
    const times: number[] = [];
    const server = createServer((_req, res) => {
      calls++;
      times.push(Date.now());
      if (calls <= 2) {
        res.writeHead(calls === 1 ? 503 : 429, { "retry-after": "1", "content-type": "application/json" });
        res.end(JSON.stringify({ errors: [{ code: "TOOMANYREQUESTS", message: "slow down" }] }));
        return;
      }
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ errors: [{ code: "MANIFEST_UNKNOWN", message: "manifest unknown" }] }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    const client = new RegistryClient({ retry: { baseDelayMs: 10, maxDelayMs: 20 } });
    expect(await client.manifestHead(parseReference(`127.0.0.1:${port}/x/y:1`))).toBeUndefined();
    expect(calls).toBe(3);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(950);

    calls = -100; // always failing from now on
    const failing = new RegistryClient({ retry: { baseDelayMs: 1, maxDelayMs: 2, maxAttempts: 3, maxRetryAfterMs: 5000 } });
    const before = calls;
    const err = await failing.manifestHead(parseReference(`127.0.0.1:${port}/x/y:1`)).catch((e: unknown) => e);
    expect(isBasewarmError(err, "REGISTRY_ERROR") || isBasewarmError(err, "RATE_LIMITED")).toBe(true);
    expect(calls - before).toBe(3);
    await client.close();
    await failing.close();
    server.close();
  });

  /** A registry stand-in whose answers a test picks per path; the port is loopback and free. */
  async function oddServer(handler: (path: string, res: import("node:http").ServerResponse) => void) {
    const server = createServer((req, res) => handler(req.url ?? "/", res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const host = `127.0.0.1:${(server.address() as { port: number }).port}`;
    return { host, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }

  it("reads tag lists with a size cap and a schema: endless, broken or mistyped lists are REGISTRY_ERRORs, null is no tags", async () => {
    let endlessBytes = 0;
    const server = await oddServer((path, res) => {
      res.setHeader("content-type", "application/json");
      if (path.startsWith("/v2/endless/")) {
        // No Content-Length and no end: only the cap stops the reader.
        res.writeHead(200);
        res.write('{"tags":["');
        const chunk = Buffer.alloc(64 * 1024, 0x61);
        const pump = () => {
          while (!res.destroyed && endlessBytes < 64 * 1024 * 1024 && res.write(chunk)) endlessBytes += chunk.length;
          if (!res.destroyed && endlessBytes < 64 * 1024 * 1024) res.once("drain", pump);
        };
        pump();
        return;
      }
      if (path.startsWith("/v2/declared/")) {
        res.writeHead(200, { "content-length": String(TAG_LIST_PAGE_LIMIT + 1) });
        res.end();
        return;
      }
      const bodies: Record<string, string> = { broken: '{"tags": [', mistyped: '{"tags": [1, 2]}', notags: '{"name": "x", "tags": null}', good: '{"name": "good/x", "tags": ["v1", "v2"]}' };
      res.end(bodies[path.split("/")[2] ?? ""] ?? "{}");
    });
    const client = new RegistryClient({ retry: { maxAttempts: 1 } });
    const repo = (name: string): RepositoryRef => ({ registry: server.host, repository: `${name}/x` });
    expect(await client.tagsList(repo("good"))).toEqual(["v1", "v2"]);
    expect(await client.tagsList(repo("notags"))).toEqual([]);
    for (const [name, pattern] of [["endless", /over the 1048576-byte limit/], ["declared", /is 1048577 bytes, over the 1048576-byte limit/], ["broken", /not valid JSON/], ["mistyped", /unexpected response \(tags\.0: /]] as const) {
      const err = await client.tagsList(repo(name)).catch((e: unknown) => e);
      expect(isBasewarmError(err, "REGISTRY_ERROR"), `${name}: ${String(err)}`).toBe(true);
      expect((err as Error).message).toMatch(pattern);
      expect((err as Error).message).toContain(`tag list of ${server.host}/${name}/x`);
    }
    // The reader stopped soon after the cap instead of taking the whole endless body.
    expect(endlessBytes).toBeLessThan(16 * 1024 * 1024);
    await client.close();
    await server.close();
  });

  it("reads referrers as an OCI index: entries keep artifactType, a malformed answer is MANIFEST_INVALID (never a SyntaxError)", async () => {
    const subject = `sha256:${"b".repeat(64)}`;
    const entry = { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: `sha256:${"c".repeat(64)}`, size: 321, artifactType: "application/spdx+json", annotations: { a: "b" } };
    const server = await oddServer((path, res) => {
      res.setHeader("content-type", "application/vnd.oci.image.index.v1+json");
      const kind = path.split("/")[2];
      if (kind === "good") res.end(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [entry] }));
      else if (kind === "broken") res.end("{\"schemaVersion\": 2, \"manifests\": [");
      else res.end(JSON.stringify({ schemaVersion: 2, manifests: [{ digest: "sha256:nope", size: 1 }] }));
    });
    const client = new RegistryClient({ retry: { maxAttempts: 1 } });
    expect(await client.referrers({ registry: server.host, repository: "good/x" }, subject)).toEqual([entry]);
    for (const [name, pattern] of [["broken", /not valid JSON/], ["baddigest", /manifests\[0\] has an invalid digest "sha256:nope"/]] as const) {
      const err = await client.referrers({ registry: server.host, repository: `${name}/x` }, subject).catch((e: unknown) => e);
      expect(isBasewarmError(err, "MANIFEST_INVALID"), `${name}: ${String(err)}`).toBe(true);
      expect((err as Error).message).toMatch(pattern);
    }
    await client.close();
    await server.close();
  });

  it("tells the copier the pull budget a registry announced, without exposing its transport", async () => {
    const server = await oddServer((_path, res) => {
      res.writeHead(404, { "ratelimit-limit": "100;w=21600", "ratelimit-remaining": "7;w=21600", "content-type": "application/json" });
      res.end(JSON.stringify({ errors: [{ code: "MANIFEST_UNKNOWN", message: "manifest unknown" }] }));
    });
    const client = new RegistryClient({ retry: { maxAttempts: 1 } });
    expect(client.rateLimit(server.host)).toBeUndefined();
    await client.manifestHead(parseReference(`${server.host}/x/y:1`));
    expect(client.rateLimit(server.host)).toMatchObject({ limit: 100, remaining: 7 });
    expect(client.rateLimit("127.0.0.1:1")).toBeUndefined();
    expect(Object.keys(client)).not.toContain("transport");
    await client.close();
    await server.close();
  });
});
