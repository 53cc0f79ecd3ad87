import { createServer, request as httpRequest } from "node:http";
import { describe, expect, it } from "vitest";
import { isBasewarmError } from "../../src/errors.js";
import { RegistryClient, type ClientOptions, type RepositoryRef } from "../../src/registry/index.js";
import { verifyBuildkitCache } from "../../src/run/verify-cache.js";
import { flatten, makeCacheImage, makeLayer, type TestImage } from "../../testkit/images.js";
import type { RunningRegistry } from "../../testkit/registry-server.js";
import { useRegistry } from "../helpers/registries.js";

const TAG = "buildcache";

function clientFor(r: RunningRegistry, options: { password?: string; host?: string } & ClientOptions = {}): RegistryClient {
  const user = r.users[0];
  const host = options.host ?? r.host;
  return new RegistryClient({
    retry: { baseDelayMs: 5, maxDelayMs: 10, maxAttempts: 1 },
    ...(options.timeouts ? { timeouts: options.timeouts } : {}),
    ...(user ? { credentials: { get: async (h) => (h === host ? { kind: "basic", username: user.username, password: options.password ?? user.password } : undefined) } } : {}),
  });
}

async function push(client: RegistryClient, repo: RepositoryRef, image: TestImage): Promise<void> {
  const { blobs, manifests } = flatten(image);
  for (const blob of blobs) await client.blobUpload(repo, blob.digest, blob.size, blob.data);
  for (const manifest of manifests) await client.manifestPut(repo, manifest === image ? TAG : manifest.digest, manifest);
}

/**
 * A front for a real registry that forwards everything except blob HEADs, which it answers
 * with `blobHead` (a 401 as a registry sends it) or never answers at all.
 */
async function startFront(upstream: RunningRegistry, blobHead: "unauthorized" | "silent") {
  const [upHost, upPort] = upstream.host.split(":") as [string, string];
  const held: import("node:http").ServerResponse[] = [];
  const server = createServer((req, res) => {
    if (req.method === "HEAD" && /\/blobs\/sha256:/.test(req.url ?? "")) {
      if (blobHead === "silent") {
        held.push(res);
        return;
      }
      res.writeHead(401, { "www-authenticate": 'Basic realm="front"', "content-type": "application/json" });
      res.end();
      return;
    }
    const proxied = httpRequest({ host: upHost, port: Number(upPort), method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    req.pipe(proxied);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const host = `127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    host,
    stop: () => {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe("cache verification tells a missing blob from one it could not check", () => {
  const registry = useRegistry({ auth: "basic" });

  it("passes a complete cache and names the blob a cache lacks, as not stored", async () => {
    const r = registry();
    const client = clientFor(r);
    const complete = { registry: r.host, repository: "cache/complete" };
    await push(client, complete, makeCacheImage("complete", [makeLayer("vc-a", 300), makeLayer("vc-b", 300)]));
    const good = await verifyBuildkitCache(client, complete, TAG);
    expect(good).toEqual({ ok: true, manifests: 1, blobs: 3, problems: [] });

    const partial = { registry: r.host, repository: "cache/partial" };
    const missing = makeLayer("vc-missing", 300);
    await push(client, partial, makeCacheImage("partial", [makeLayer("vc-c", 300), missing]));
    // The registry refuses a manifest whose blobs it lacks, so the blob goes after the manifest.
    const user = r.users[0]!;
    const deleted = await fetch(`${r.url}/v2/cache/partial/blobs/${missing.digest}`, { method: "DELETE", headers: { authorization: `Basic ${Buffer.from(`${user.username}:${user.password}`).toString("base64")}` } });
    expect(deleted.status).toBe(202);
    expect(await client.blobHead(partial, missing.digest)).toBeUndefined();
    const bad = await verifyBuildkitCache(client, partial, TAG);
    expect(bad.ok).toBe(false);
    expect(bad.problems).toEqual([expect.stringContaining(`lists blob ${missing.digest}, which is not stored in ${r.host}/cache/partial`)]);
    expect(bad.errors).toBeUndefined();
    await client.close();
  });

  it("fails with AUTH_DENIED, not 'not stored', when the credentials are wrong", async () => {
    const r = registry();
    const writer = clientFor(r);
    const repo = { registry: r.host, repository: "cache/wrongpass" };
    await push(writer, repo, makeCacheImage("wrongpass", [makeLayer("vc-w", 300)]));
    await writer.close();
    const client = clientFor(r, { password: "not-the-password" });
    const outcome = await verifyBuildkitCache(client, repo, TAG).catch((e: unknown) => e);
    expect(isBasewarmError(outcome, "AUTH_DENIED")).toBe(true);
    expect(String((outcome as Error).message)).not.toMatch(/not stored|not-the-password/);
    await client.close();
  });

  it("reports a 401 on the blob HEADs as that error, and the check fails with it", async () => {
    const r = registry();
    const writer = clientFor(r);
    const repo = { registry: r.host, repository: "cache/blob401" };
    const image = makeCacheImage("blob401", [makeLayer("vc-401", 300)]);
    await push(writer, repo, image);
    await writer.close();
    const front = await startFront(r, "unauthorized");
    const client = clientFor(r, { host: front.host });
    const check = await verifyBuildkitCache(client, { registry: front.host, repository: repo.repository }, TAG);
    expect(check.ok).toBe(false);
    expect(check.blobs).toBe(2);
    expect(check.errors?.map((e) => [e.digest, e.code])).toEqual(image.blobs.map((b) => [b.digest, "AUTH_DENIED"]));
    expect(check.problems).toHaveLength(2);
    for (const problem of check.problems) {
      expect(problem).toMatch(/could not be checked in .*: AUTH_DENIED: /);
      expect(problem).not.toMatch(/not stored/);
    }
    await client.close();
    await front.stop();
  });

  it("reports a blob HEAD that times out as TIMEOUT, not as not stored", async () => {
    const r = registry();
    const writer = clientFor(r);
    const repo = { registry: r.host, repository: "cache/timeout" };
    const image = makeCacheImage("timeout", [makeLayer("vc-t", 300)]);
    await push(writer, repo, image);
    await writer.close();
    const front = await startFront(r, "silent");
    const client = clientFor(r, { host: front.host, timeouts: { headersMs: 300 } });
    const started = Date.now();
    const check = await verifyBuildkitCache(client, { registry: front.host, repository: repo.repository }, TAG);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(check.ok).toBe(false);
    expect(check.errors?.map((e) => e.code)).toEqual(["TIMEOUT", "TIMEOUT"]);
    expect(check.problems.every((p) => /could not be checked in .*: TIMEOUT: /.test(p) && !/not stored/.test(p))).toBe(true);
    await client.close();
    await front.stop();
  });
});
