import { createServer } from "node:http";
import { describe, expect, it } from "vitest";
import { isBasewarmError } from "../../src/errors.js";
import { parseReference, digestOf } from "../../src/reference/index.js";
import { PrioritySemaphore, RegistryClient } from "../../src/registry/index.js";
import { makeImage, makeLayer, pushImage } from "../../testkit/images.js";
import { useRegistry } from "../helpers/registries.js";

describe("anonymous token flow (like Docker Hub)", () => {
  const registry = useRegistry({ auth: "token", anonymous: [{ repository: "public/*", actions: ["pull"] }] });

  it("pulls with an anonymous token for exactly the repository's pull scope, and is denied push", async () => {
    const r = registry();
    const user = r.users[0]!;
    const image = makeImage({ seed: "anon", layers: [makeLayer("anon", 500)] });
    const writer = new RegistryClient({ credentials: { get: async () => ({ kind: "basic", username: user.username, password: user.password }) } });
    const repo = { registry: r.host, repository: "public/app" };
    for (const blob of image.blobs) await writer.blobUpload(repo, blob.digest, blob.size, blob.data);
    await writer.manifestPut(repo, "1", image);
    await writer.close();

    const anonymous = new RegistryClient();
    const before = r.issuer!.log.length;
    expect((await anonymous.manifestHead(parseReference(`${r.host}/public/app:1`)))?.digest).toBe(image.digest);
    const asked = r.issuer!.log.slice(before);
    expect(asked.map((e) => [e.account, e.scopes])).toEqual([[null, ["repository:public/app:pull"]]]);
    const denied = await anonymous.manifestPut(repo, "2", image).catch((e: unknown) => e);
    expect(isBasewarmError(denied, "AUTH_DENIED")).toBe(true);
    expect((denied as Error).message).toMatch(/check the credentials/);
    await anonymous.close();
  });
});

describe("redirects", () => {
  const registry = useRegistry();

  it("follows a blob redirect to another origin without sending credentials there", async () => {
    const r = registry();
    const image = makeImage({ seed: "redir", layers: [makeLayer("redir", 4000)] });
    await pushImage(r.url, "redir/app", image, "1");
    const layer = image.blobs[1]!;
    const seen: (string | undefined)[] = [];
    // A "front" that redirects blob GETs to the real registry (another origin, like S3 behind a registry).
    const front = createServer((req, res) => {
      if (req.url === "/v2/") {
        // The front wants Bearer auth, and says so on /v2/ as a real registry does.
        res.writeHead(401, { "www-authenticate": 'Bearer realm="http://127.0.0.1:1/token"' });
        res.end();
        return;
      }
      seen.push(req.headers.authorization);
      res.writeHead(307, { location: `${r.url}${req.url ?? "/"}` });
      res.end();
    });
    await new Promise<void>((resolve) => front.listen(0, "127.0.0.1", resolve));
    const port = (front.address() as { port: number }).port;
    const client = new RegistryClient({ credentials: { get: async () => ({ kind: "registryToken", token: "front-only-token" }) } });
    await client.ping(`127.0.0.1:${port}`);
    const chunks: Buffer[] = [];
    for await (const chunk of client.blobRead({ registry: `127.0.0.1:${port}`, repository: "redir/app" }, layer.digest, { size: layer.size })) chunks.push(chunk as Buffer);
    expect(digestOf(Buffer.concat(chunks))).toBe(layer.digest);
    expect(seen).toEqual(["Bearer front-only-token"]);
    const logged = await r.requests();
    expect(logged.some((q) => q.uri.includes(layer.digest))).toBe(true);
    await client.close();
    front.close();
  });
});

describe("per-host priority semaphore", () => {
  it("never exceeds its capacity, lets small requests overtake queued bulk ones, and keeps a slot for them", async () => {
    const sem = new PrioritySemaphore(3);
    let active = 0;
    let max = 0;
    const order: string[] = [];
    const task = (name: string, ms: number) => async () => {
      active++;
      max = Math.max(max, active);
      order.push(`start ${name}`);
      await new Promise((r) => setTimeout(r, ms));
      active--;
    };
    const work = [
      ...Array.from({ length: 5 }, (_, i) => sem.run("bulk", task(`bulk${i}`, 30))),
      sem.run("small", task("small0", 5)),
      sem.run("small", task("small1", 5)),
    ];
    await Promise.all(work);
    expect(max).toBeLessThanOrEqual(3);
    // Two bulk transfers at most (one slot stays free), and the small requests start before bulk2.
    expect(order.slice(0, 3)).toEqual(["start bulk0", "start bulk1", "start small0"]);
    expect(order.indexOf("start small1")).toBeLessThan(order.indexOf("start bulk2"));
  });
});

describe("unreachable registries", () => {
  it("fails fast with a clear reason when nothing listens", async () => {
    const client = new RegistryClient({ retry: { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 10 } });
    const err = await client.manifestHead(parseReference("127.0.0.1:1/nothing/here:1")).catch((e: unknown) => e);
    expect(isBasewarmError(err, "NETWORK_ERROR")).toBe(true);
    expect((err as Error).message).toMatch(/HEAD 127\.0\.0\.1:1\/nothing\/here:1: .*ECONNREFUSED.*gave up after 2 attempts/);
    await client.close();
  });
});
