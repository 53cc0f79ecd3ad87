/**
 * The transport against hostile or broken peers on loopback: endless bodies, trickled bodies,
 * silent servers, servers that echo credentials. Each server here is a real HTTP server; where a
 * registry's behaviour matters, a real registry sits behind it.
 */
import { createServer as createTcpServer, type Socket } from "node:net";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { clientFor } from "../../src/cli/runtime.js";
import { parseConfig } from "../../src/config/index.js";
import { isBasewarmError, type ErrorCode } from "../../src/errors.js";
import { createLogger } from "../../src/log/index.js";
import { parseReference, digestOf } from "../../src/reference/index.js";
import { RegistryClient } from "../../src/registry/index.js";
import { useRegistry } from "../helpers/registries.js";

interface Peer {
  host: string;
  /** Bytes the server managed to write, over all requests. */
  written: () => number;
  stop: () => Promise<void>;
}

const peers: Peer[] = [];
afterEach(async () => {
  await Promise.all(peers.splice(0).map((p) => p.stop()));
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse, count: (n: number) => void) => void): Promise<Peer> {
  let written = 0;
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => handler(req, res, (n) => (written += n)));
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const peer = {
    host: `127.0.0.1:${(server.address() as { port: number }).port}`,
    written: () => written,
    stop: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
  peers.push(peer);
  return peer;
}

/** Write 64 KiB chunks for as long as the client reads them. */
function endless(res: ServerResponse, count: (n: number) => void): void {
  const chunk = Buffer.alloc(64 * 1024, 0x41);
  const pump = () => {
    while (!res.destroyed && res.write(chunk)) count(chunk.length);
    if (!res.destroyed) res.once("drain", () => { count(chunk.length); pump(); });
  };
  res.on("error", () => {});
  pump();
}

/** Sample RSS while `work` runs; resolves to its outcome and the largest growth seen. */
async function measured<T>(work: () => Promise<T>): Promise<{ outcome: T | unknown; growthMb: number; ms: number }> {
  globalThis.gc?.();
  const before = process.memoryUsage.rss();
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  const started = Date.now();
  const outcome = await work().catch((e: unknown) => e);
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage.rss());
  return { outcome, growthMb: (peak - before) / 1024 / 1024, ms: Date.now() - started };
}

function expectOneLineError(err: unknown, code: ErrorCode, pattern: RegExp): string {
  expect(isBasewarmError(err, code), String(err)).toBe(true);
  const message = (err as Error).message;
  expect(message).not.toContain("\n");
  expect(message.length).toBeLessThan(400);
  expect(message).toMatch(pattern);
  return message;
}

const fast = { baseDelayMs: 5, maxDelayMs: 10 };

describe("bodies without end are capped", () => {
  it("a 500 whose body never ends: memory stays bounded, the socket is dropped, one clear line", async () => {
    const peer = await serve((_req, res, count) => {
      res.writeHead(500, { "content-type": "application/json" });
      res.write('{"errors":[{"code":"UNKNOWN","message":"');
      endless(res, count);
    });
    const client = new RegistryClient({ retry: { ...fast, maxAttempts: 2 } });
    const { outcome, growthMb, ms } = await measured(() => client.manifestGet(parseReference(`${peer.host}/endless/error:1`)));
    expectOneLineError(outcome, "REGISTRY_ERROR", /^GET 127\.0\.0\.1:\d+\/endless\/error:1: HTTP 500 \(gave up after 2 attempts\)$/);
    expect(growthMb).toBeLessThan(100);
    // The rest of the body was refused, not drained: a few MiB at most went out (socket buffers).
    expect(peer.written()).toBeLessThan(32 * 1024 * 1024);
    expect(ms).toBeLessThan(5_000);
    await client.close();
  });

  it("a token endpoint whose body never ends: AUTH_FAILED in one line, memory bounded", async () => {
    const peer = await serve((req, res, count) => {
      if (req.url?.startsWith("/token")) {
        res.writeHead(200, { "content-type": "application/json" });
        res.write('{"token":"');
        endless(res, count);
        return;
      }
      res.writeHead(401, { "www-authenticate": `Bearer realm="http://${req.headers.host}/token",service="hostile"` });
      res.end();
    });
    const client = new RegistryClient({ retry: { ...fast, maxAttempts: 2 } });
    const { outcome, growthMb } = await measured(() => client.manifestHead(parseReference(`${peer.host}/endless/token:1`)));
    expectOneLineError(outcome, "AUTH_FAILED", /token service http:\/\/127\.0\.0\.1:\d+ for 127\.0\.0\.1:\d+ sent a response over the size limit/);
    expect(growthMb).toBeLessThan(100);
    expect(peer.written()).toBeLessThan(32 * 1024 * 1024);
    await client.close();
  });

  it("a token response of the wrong shape is refused by its schema, naming the field", async () => {
    const peer = await serve((req, res) => {
      if (req.url?.startsWith("/token")) {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ token: 42, expires_in: "soon" }));
        return;
      }
      res.writeHead(401, { "www-authenticate": `Bearer realm="http://${req.headers.host}/token"` });
      res.end();
    });
    const client = new RegistryClient({ retry: { ...fast, maxAttempts: 1 } });
    const err = await client.manifestHead(parseReference(`${peer.host}/shape/token:1`)).catch((e: unknown) => e);
    expectOneLineError(err, "AUTH_FAILED", /returned an unusable answer \((token|expires_in): /);
    await client.close();
  });
});

describe("token requests share the registry retry policy", () => {
  it("honours Retry-After from a token service", async () => {
    const times: number[] = [];
    const peer = await serve((req, res) => {
      if (req.url?.startsWith("/token")) {
        times.push(Date.now());
        if (times.length === 1) {
          res.writeHead(503, { "retry-after": "1" });
          res.end();
          return;
        }
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ token: "tok-after-wait-123456", expires_in: 300 }));
        return;
      }
      if (req.headers.authorization === "Bearer tok-after-wait-123456") {
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify({ errors: [{ code: "MANIFEST_UNKNOWN", message: "manifest unknown" }] }));
        return;
      }
      res.writeHead(401, { "www-authenticate": `Bearer realm="http://${req.headers.host}/token"` });
      res.end();
    });
    const client = new RegistryClient({ retry: fast });
    expect(await client.manifestHead(parseReference(`${peer.host}/retry/token:1`))).toBeUndefined();
    expect(times).toHaveLength(2);
    // The backoff alone would have waited at most 10 ms.
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(950);
    await client.close();
  });
});

/** A server that answers with headers at once, then one byte every `everyMs`. */
async function trickler(everyMs: number): Promise<Peer> {
  return serve((req, res, count) => {
    res.writeHead(200, { "content-type": "application/vnd.oci.image.manifest.v1+json", "content-length": "100000" });
    if (req.method === "HEAD") return res.end();
    const timer = setInterval(() => {
      if (res.destroyed) return clearInterval(timer);
      res.write("x");
      count(1);
    }, everyMs);
    res.on("close", () => clearInterval(timer));
  });
}

describe("bodies trickled below the minimum rate fail", () => {
  // One byte every 200 ms never trips a 1 s stall timer: only the rate check can end these.
  const timeouts = { bodyStallSeconds: 1, minBytesPerSecond: 100 };

  it("a manifest trickled byte by byte fails with TIMEOUT after about one window", async () => {
    const peer = await trickler(200);
    const client = new RegistryClient({ retry: { ...fast, maxAttempts: 1 }, timeouts });
    const started = Date.now();
    const err = await client.manifestGet(parseReference(`${peer.host}/slow/manifest:1`)).catch((e: unknown) => e);
    expectOneLineError(err, "TIMEOUT", /body too slow, \d bytes in 1 s, below timeouts\.minBytesPerSecond \(100\)/);
    expect(Date.now() - started).toBeLessThan(4_000);
    await client.close();
  });

  it("a trickled blob fails after its resumes, each cut by the rate check", async () => {
    const peer = await trickler(200);
    const client = new RegistryClient({ retry: { ...fast, maxAttempts: 1 }, timeouts });
    const started = Date.now();
    const stream = client.blobRead({ registry: peer.host, repository: "slow/blob" }, `sha256:${"b".repeat(64)}`, { size: 100_000, maxResumes: 1 });
    const err = await (async () => { for await (const _ of stream) { /* drain */ } })().catch((e: unknown) => e);
    expectOneLineError(err, "TIMEOUT", /body too slow/);
    expect(Date.now() - started).toBeLessThan(6_000);
    await client.close();
  });

  it("a fast body is not cut by the rate check, even when its reader is slower than the minimum", async () => {
    const body = Buffer.alloc(3 * 1024 * 1024, 7);
    const peer = await serve((_req, res) => {
      res.writeHead(200, { "content-length": String(body.length) });
      res.end(body);
    });
    const client = new RegistryClient({ timeouts: { bodyStallSeconds: 0.3, minBytesPerSecond: 1_000_000_000 } });
    const stream = client.blobRead({ registry: peer.host, repository: "fast/blob" }, digestOf(body), { size: body.length });
    let got = 0;
    // The reader pauses longer than a window: backpressure is not the server's fault.
    for await (const chunk of stream) {
      got += (chunk as Buffer).length;
      await new Promise((r) => setTimeout(r, 40));
    }
    expect(got).toBe(body.length);
    await client.close();
  });
});

describe("abort", () => {
  it("the client's stop signal ends a trickled body and a retry wait within moments", async () => {
    const peer = await trickler(200);
    const stop = new AbortController();
    const client = new RegistryClient({ signal: stop.signal, retry: { ...fast, maxAttempts: 1 } });
    const started = Date.now();
    setTimeout(() => stop.abort(), 300);
    const err = await client.manifestGet(parseReference(`${peer.host}/abort/manifest:1`)).catch((e: unknown) => e);
    expect(isBasewarmError(err), String(err)).toBe(true);
    expect(Date.now() - started).toBeLessThan(1_500);

    // Waiting out a long Retry-After is cut short too.
    const busy = await serve((_req, res) => {
      res.writeHead(503, { "retry-after": "30" });
      res.end();
    });
    const stop2 = new AbortController();
    const waiting = new RegistryClient({ signal: stop2.signal });
    const started2 = Date.now();
    setTimeout(() => stop2.abort(), 300);
    const err2 = await waiting.manifestHead(parseReference(`${busy.host}/abort/wait:1`)).catch((e: unknown) => e);
    expectOneLineError(err2, "ABORTED", /^HEAD 127\.0\.0\.1:\d+\/abort\/wait:1: aborted$/);
    expect(Date.now() - started2).toBeLessThan(1_500);
    await client.close();
    await waiting.close();
  });

  it("a per-call signal aborts one blob read and not the client", async () => {
    const peer = await trickler(100);
    const client = new RegistryClient({ retry: { ...fast, maxAttempts: 1 } });
    const call = new AbortController();
    const stream = client.blobRead({ registry: peer.host, repository: "abort/blob" }, `sha256:${"c".repeat(64)}`, { size: 100_000, signal: call.signal });
    setTimeout(() => call.abort(), 300);
    const started = Date.now();
    const err = await (async () => { for await (const _ of stream) { /* drain */ } })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(Date.now() - started).toBeLessThan(1_500);
    const alive = await serve((_req, res) => {
      res.writeHead(404);
      res.end();
    });
    expect(await client.manifestHead(parseReference(`${alive.host}/still/works:1`))).toBeUndefined();
    await client.close();
  });
});

/** Accepts connections and never says a word. */
async function silent(): Promise<Peer> {
  const sockets = new Set<Socket>();
  const server = createTcpServer((s) => {
    sockets.add(s);
    s.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const peer = {
    host: `127.0.0.1:${(server.address() as { port: number }).port}`,
    written: () => 0,
    stop: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
  peers.push(peer);
  return peer;
}

describe("a silent server fails within the configured time", () => {
  it("global timeouts: two attempts of 0.5 s", async () => {
    const peer = await silent();
    const client = new RegistryClient({ retry: { ...fast, maxAttempts: 2 }, timeouts: { headersSeconds: 0.5 } });
    const started = Date.now();
    const err = await client.manifestHead(parseReference(`${peer.host}/silent/one:1`)).catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expectOneLineError(err, "TIMEOUT", /^HEAD 127\.0\.0\.1:\d+\/silent\/one:1: no response within 0\.5 s \(timeouts\.headersSeconds\) \(gave up after 2 attempts\)$/);
    expect(elapsed).toBeGreaterThanOrEqual(950);
    // undici checks these timers about once a second: each attempt ends within timeout + 1 s.
    expect(elapsed).toBeLessThan(2 * (500 + 1_000) + 500);
    await client.close();
  });

  it("a registry's own timeouts from the config file, through the CLI's client factory", async () => {
    const peer = await silent();
    const other = await silent();
    const loaded = parseConfig([
      `target: { registry: "${other.host}" }`,
      "timeouts: { headersSeconds: 2.5 }",
      "registries:",
      `  "${peer.host}": { timeouts: { headersSeconds: 0.4 } }`,
    ].join("\n"), "/tmp/basewarm-timeouts/basewarm.yaml");
    expect(loaded.config.timeouts).toEqual({ connectSeconds: 10, headersSeconds: 2.5, bodyStallSeconds: 30, minBytesPerSecond: 1024 });
    const client = clientFor(loaded, {}, createLogger({ level: "silent" }));
    const started = Date.now();
    const err = await client.manifestHead(parseReference(`${peer.host}/silent/two:1`)).catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expectOneLineError(err, "TIMEOUT", /no response within 0\.4 s \(timeouts\.headersSeconds\) \(gave up after 4 attempts\)$/);
    // 4 attempts of 0.4 s (+ up to 1 s of undici's timer resolution) and the default backoff (at most 0.2 + 0.4 + 0.8 s);
    // the global 2.5 s would take over 10 s.
    expect(elapsed).toBeGreaterThanOrEqual(1_500);
    expect(elapsed).toBeLessThan(4 * 1_400 + 1_400 + 500);
    // The other host keeps the global value.
    const started2 = Date.now();
    const err2 = await new RegistryClient({ retry: { maxAttempts: 1 }, timeouts: loaded.config.timeouts }).manifestHead(parseReference(`${other.host}/silent/three:1`)).catch((e: unknown) => e);
    expectOneLineError(err2, "TIMEOUT", /no response within 2\.5 s/);
    expect(Date.now() - started2).toBeGreaterThanOrEqual(2_400);
    await client.close();
  });

  it.each([
    ["a negative value", "timeouts: { headersSeconds: -1 }", /timeouts\.headersSeconds/],
    ["an unknown key", "timeouts: { headerSeconds: 1 }", /timeouts\.headerSeconds: unknown key/],
    ["a fractional rate", "registries:\n  \"127.0.0.1:5000\": { timeouts: { minBytesPerSecond: 1.5 } }", /minBytesPerSecond/],
  ])("refuses %s in a timeouts block, naming the key", (_name, yaml, pattern) => {
    const err = (() => {
      try {
        parseConfig(`target: { registry: "127.0.0.1:5000" }\n${yaml}\n`, "/tmp/basewarm-timeouts/basewarm.yaml");
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(isBasewarmError(err, "CONFIG_INVALID"), String(err)).toBe(true);
    expect((err as Error).message).toMatch(pattern);
  });
});

describe("credentials echoed by a registry or proxy are redacted", () => {
  const password = "echo-Pa55word-91zQ";
  const user = { username: "echoer", password, grants: [{ repository: "*", actions: ["pull" as const, "push" as const] }] };
  const basic = useRegistry({ auth: "basic", users: [user] });
  const token = useRegistry({ auth: "token", users: [user] });

  /** A proxy in front of `upstream` that, once a request carries credentials, answers 500 quoting its Authorization header. */
  async function echoProxy(upstream: { host: string }): Promise<{ peer: Peer; sent: string[] }> {
    const sent: string[] = [];
    const [upHost, upPort] = upstream.host.split(":") as [string, string];
    const peer = await serve((req, res) => {
      const authorization = req.headers.authorization;
      if (authorization && req.url?.includes("/echo/")) {
        sent.push(authorization);
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ errors: [
          { code: "UNKNOWN", message: `upstream rejected Authorization: ${authorization} (raw ${authorization.split(" ")[1]})`, detail: { authorization } },
          { code: "UNKNOWN\nFORGED", message: `second line\n${authorization}` },
        ] }));
        return;
      }
      import("node:http").then(({ request }) => {
        const up = request({ host: upHost, port: Number(upPort), method: req.method, path: req.url, headers: req.headers }, (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        });
        up.on("error", () => res.destroy());
        req.pipe(up);
      }, () => res.destroy());
    });
    return { peer, sent };
  }

  it.each(["basic", "token"] as const)("%s auth: the thrown error and the logs carry no credential", async (flavour) => {
    const upstream = flavour === "basic" ? basic() : token();
    const { peer, sent } = await echoProxy(upstream);
    const logs: string[] = [];
    const logger = createLogger({ level: "trace", destination: new Writable({ write(chunk, _e, cb) { logs.push(String(chunk)); cb(); } }) });
    const client = new RegistryClient({
      credentials: { get: async () => ({ kind: "basic", username: user.username, password }) },
      retry: { ...fast, maxAttempts: 2 },
      logger,
    });
    const err = await client.manifestGet(parseReference(`${peer.host}/echo/app:1`)).catch((e: unknown) => e);
    const message = expectOneLineError(err, "REGISTRY_ERROR", /upstream rejected Authorization: (Basic|Bearer) \[REDACTED\] \(raw \[REDACTED\]\); UNKNOWN FORGED: second line (Basic|Bearer) \[REDACTED\] \(HTTP 500\)/);
    expect(sent.length).toBe(2);
    const secrets = new Set([password, Buffer.from(`${user.username}:${password}`).toString("base64")]);
    for (const header of sent) {
      secrets.add(header);
      secrets.add(header.split(" ")[1]!);
    }
    if (flavour === "token") expect(sent[0]).toMatch(/^Bearer ey/);
    const logged = logs.join("");
    expect(logged).toContain("retrying registry request");
    for (const secret of secrets) {
      expect(message).not.toContain(secret);
      expect(logged).not.toContain(secret);
    }
    // The rest of the registry's words survive.
    expect(message).toContain("UNKNOWN");
    expect(message).toContain("(HTTP 500)");
    await client.close();
  });
});
