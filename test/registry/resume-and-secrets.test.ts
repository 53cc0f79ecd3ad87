/**
 * Range resume of a cut blob body, the per-host limit under load, and the logs of real
 * token-auth requests: each through a real registry (with a fault proxy where a fault is needed).
 */
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/log/index.js";
import { parseReference, digestOf } from "../../src/reference/index.js";
import { RegistryClient } from "../../src/registry/index.js";
import { makeImage, makeLayer, pushImage, seededBytes } from "../../testkit/images.js";
import { startFaultProxy, type FaultProxy } from "../helpers/fault-proxy.js";
import { useRegistry } from "../helpers/registries.js";

describe("a blob body cut mid-way", () => {
  const registry = useRegistry();
  let proxy: FaultProxy;
  const image = makeImage({ seed: "resume", layers: [makeLayer("resume", 200_000)] });
  const layer = image.blobs[1]!;

  beforeAll(async () => {
    await pushImage(registry().url, "resume/app", image, "1");
    proxy = await startFaultProxy(registry());
  });
  afterAll(async () => {
    await proxy.stop();
  });

  it.each([
    ["closed early", { kind: "truncate", keepBytes: 50_000 } as const],
    ["reset", { kind: "reset-mid-body", afterBytes: 70_000 } as const],
  ])("is resumed with a Range request from the bytes already received (connection %s)", async (_name, fault) => {
    proxy.setRules([{ method: "GET", path: new RegExp(`/blobs/${layer.digest}`), fault, times: 1 }]);
    const before = proxy.seen.length;
    const client = new RegistryClient();
    const chunks: Buffer[] = [];
    for await (const chunk of client.blobRead({ registry: proxy.host, repository: "resume/app" }, layer.digest, { size: layer.size })) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    expect(body.length).toBe(layer.size);
    expect(digestOf(body)).toBe(layer.digest);
    const gets = proxy.seen.slice(before).filter((r) => r.method === "GET" && r.url.includes(layer.digest));
    expect(gets).toHaveLength(2);
    expect(gets[0]!.range).toBeUndefined();
    const offset = Number(/^bytes=(\d+)-$/.exec(gets[1]!.range ?? "")?.[1]);
    // What arrived before the cut is not asked for again (a reset may lose the last bytes in flight).
    expect(offset).toBeGreaterThan(0);
    expect(offset).toBeLessThanOrEqual("keepBytes" in fault ? fault.keepBytes : fault.afterBytes);
    if (fault.kind === "truncate") expect(offset).toBe(fault.keepBytes);
    await client.close();
  });
});

describe("the per-host limit under load", () => {
  const registry = useRegistry();

  it("holds exactly: never more requests in flight than slots, and blob transfers keep one free", async () => {
    const data = seededBytes("limits", 400_000);
    const digest = digestOf(data);
    const writer = new RegistryClient();
    await writer.blobUpload({ registry: registry().host, repository: "limits/app" }, digest, data.length, data);
    await writer.close();
    const proxy = await startFaultProxy(registry());
    const client = new RegistryClient({ perHostConcurrency: 4 });
    const repo = { registry: proxy.host, repository: "limits/app" };
    const read = async () => {
      let n = 0;
      // A slow reader keeps each body (and its slot) open a while.
      for await (const chunk of client.blobRead(repo, digest, { size: data.length })) {
        n += (chunk as Buffer).length;
        await new Promise((r) => setTimeout(r, 1));
      }
      return n;
    };
    for (let round = 0; round < 3; round++) {
      const sizes = await Promise.all([
        ...Array.from({ length: 12 }, read),
        ...Array.from({ length: 12 }, () => client.blobHead(repo, digest).then((h) => h ?? -1)),
      ]);
      expect(new Set(sizes)).toEqual(new Set([data.length]));
    }
    expect(proxy.stats.maxInFlight).toBe(4);
    expect(proxy.stats.maxBlobGetsInFlight).toBe(3);
    await client.close();
    await proxy.stop();
  });
});

describe("the logs of real requests to a token-auth registry", () => {
  const password = "log-Pa55word-4471z";
  const user = { username: "logger", password, grants: [{ repository: "*", actions: ["pull" as const, "push" as const] }] };
  const registry = useRegistry({ auth: "token", users: [user] });

  it("carry no password, no Basic pair and no bearer token, at trace level, on success and failure", async () => {
    const proxy = await startFaultProxy(registry(), [
      { method: "GET", path: /\/manifests\//, fault: { kind: "expired-token" }, times: 1 },
      { method: "HEAD", path: /\/logs\/missing\/manifests\//, fault: { kind: "status", status: 503 }, times: 1 },
    ]);
    const logs: string[] = [];
    const logger = createLogger({ level: "trace", destination: new Writable({ write(chunk, _e, cb) { logs.push(String(chunk)); cb(); } }) });
    const client = new RegistryClient({
      credentials: { get: async () => ({ kind: "basic", username: user.username, password }) },
      retry: { baseDelayMs: 5, maxDelayMs: 10 },
      logger,
    });
    const image = makeImage({ seed: "logs", layers: [makeLayer("logs", 3000)] });
    const repo = { registry: proxy.host, repository: "logs/app" };
    for (const blob of image.blobs) await client.blobUpload(repo, blob.digest, blob.size, blob.data);
    await client.manifestPut(repo, "1", image);
    expect((await client.manifestGet(parseReference(`${proxy.host}/logs/app:1`))).digest).toBe(image.digest);
    expect(await client.manifestHead(parseReference(`${proxy.host}/logs/missing:1`))).toBeUndefined();
    const denied = await new RegistryClient({ credentials: { get: async () => ({ kind: "basic", username: user.username, password: `${password}-wrong` }) }, logger })
      .manifestHead(parseReference(`${proxy.host}/logs/app:1`)).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(Error);
    logger.flush?.();

    const text = logs.join("");
    // The logs say something: tokens issued, the retry after the 503.
    expect(text).toContain("registry token issued");
    expect(text).toContain("retrying registry request");
    const sent = proxy.seen.map((r) => r.authorization).filter((a): a is string => a !== undefined);
    expect(sent.some((a) => a.startsWith("Bearer "))).toBe(true);
    const secrets = new Set([password, Buffer.from(`${user.username}:${password}`).toString("base64")]);
    for (const header of sent) secrets.add(header.slice(header.indexOf(" ") + 1));
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect((denied as Error).message).not.toContain(password);
    await client.close();
    await proxy.stop();
  });
});
