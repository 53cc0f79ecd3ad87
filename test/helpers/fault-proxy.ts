/**
 * A fault-injecting HTTP proxy in front of a real registry. Rules pick requests by method and
 * path and inject a fault a bounded number of times (transient) or always (permanent); the
 * proxy also counts requests in flight so tests can check concurrency limits, and records the
 * headers that matter of each request (Range, Authorization).
 *
 * A request counts as in flight from its arrival until the proxy has written its last byte (or
 * the connection closed). Counting until the response's 'close' event instead over-counts: the
 * client has the whole body, releases its slot and sends the next request before the server's
 * write callbacks have run, so a client that keeps its limit looked like it broke it.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { afterEach } from "vitest";

export type Fault =
  | { kind: "reset-mid-body"; afterBytes?: number }
  | { kind: "stall-body"; afterBytes?: number; ms: number }
  | { kind: "truncate"; keepBytes?: number }
  | { kind: "flip-byte"; offset?: number }
  | { kind: "status"; status: 429 | 500 | 502 | 503; retryAfter?: string }
  | { kind: "expired-token" }
  | { kind: "wrong-digest-header" }
  | { kind: "replace-body"; body: Buffer; contentType?: string }
  /** Docker Hub's pull budget headers; `remaining` is asked per response. */
  | { kind: "rate-limit"; limit: number; remaining: () => number };

export interface FaultRule {
  method?: string;
  /** Regular expression on the request path (and query). */
  path: RegExp;
  fault: Fault;
  /** How many matching requests get the fault; Infinity for a permanent fault. */
  times: number;
}

export interface FaultProxy {
  host: string;
  url: string;
  /** Faults injected so far, by kind. */
  injected: Record<string, number>;
  /** Requests seen, and the highest number in flight at once. */
  stats: { requests: number; inFlight: number; maxInFlight: number; blobGetsInFlight: number; maxBlobGetsInFlight: number };
  /** Every request seen, in arrival order. */
  seen: SeenRequest[];
  setRules(rules: FaultRule[]): void;
  stop(): Promise<void>;
}

export interface SeenRequest {
  method: string;
  url: string;
  range: string | undefined;
  authorization: string | undefined;
}

export async function startFaultProxy(upstream: { host: string }, initial: FaultRule[] = []): Promise<FaultProxy> {
  let rules = initial.map((r) => ({ ...r }));
  const injected: Record<string, number> = {};
  const stats = { requests: 0, inFlight: 0, maxInFlight: 0, blobGetsInFlight: 0, maxBlobGetsInFlight: 0 };
  const seen: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  const [upHost, upPort] = upstream.host.split(":") as [string, string];

  const pick = (req: IncomingMessage): Fault | undefined => {
    for (const rule of rules) {
      if (rule.times <= 0) continue;
      if (rule.method && rule.method !== req.method) continue;
      if (!rule.path.test(req.url ?? "")) continue;
      rule.times--;
      injected[rule.fault.kind] = (injected[rule.fault.kind] ?? 0) + 1;
      return rule.fault;
    }
    return undefined;
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    stats.requests++;
    seen.push({ method: req.method ?? "", url: req.url ?? "", range: req.headers.range, authorization: req.headers.authorization });
    stats.inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    const blobGet = req.method === "GET" && /\/blobs\/sha256:/.test(req.url ?? "");
    if (blobGet) stats.maxBlobGetsInFlight = Math.max(stats.maxBlobGetsInFlight, ++stats.blobGetsInFlight);
    let done = false;
    const finish = () => {
      if (!done) {
        done = true;
        stats.inFlight--;
        if (blobGet) stats.blobGetsInFlight--;
      }
    };
    res.on("close", finish);
    // Done from our side once the last byte is handed over, whatever the client does next.
    const end = res.end.bind(res);
    res.end = ((...args: Parameters<typeof res.end>) => {
      finish();
      return end(...args);
    }) as typeof res.end;
    const cut = (how: "destroy" | "end") => {
      finish();
      if (how === "destroy") res.socket?.destroy();
      else res.socket?.end();
    };
    const fault = pick(req);
    if (fault?.kind === "status") {
      req.resume();
      res.writeHead(fault.status, { "content-type": "application/json", ...(fault.retryAfter ? { "retry-after": fault.retryAfter } : {}) });
      res.end(JSON.stringify({ errors: [{ code: fault.status === 429 ? "TOOMANYREQUESTS" : "UNAVAILABLE", message: "injected fault" }] }));
      return;
    }
    if (fault?.kind === "expired-token" && req.headers.authorization) {
      req.resume();
      // What a registry says to a token that expired: 401 with an invalid_token challenge.
      const upstreamChallenge = "Bearer error=\"invalid_token\"";
      res.writeHead(401, { "content-type": "application/json", "www-authenticate": upstreamChallenge });
      res.end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "token expired" }] }));
      return;
    }
    const proxied = httpRequest({ host: upHost, port: Number(upPort), method: req.method, path: req.url, headers: req.headers }, (up) => {
      const headers = { ...up.headers };
      if (fault?.kind === "rate-limit") {
        headers["ratelimit-limit"] = `${fault.limit};w=21600`;
        headers["ratelimit-remaining"] = `${fault.remaining()};w=21600`;
      }
      if (fault?.kind === "wrong-digest-header" && headers["docker-content-digest"]) {
        headers["docker-content-digest"] = "sha256:" + "0".repeat(64);
      }
      if (fault?.kind === "replace-body") {
        up.resume();
        headers["content-length"] = String(fault.body.length);
        if (fault.contentType) headers["content-type"] = fault.contentType;
        res.writeHead(up.statusCode ?? 502, headers);
        res.end(req.method === "HEAD" ? undefined : fault.body);
        return;
      }
      res.writeHead(up.statusCode ?? 502, headers);
      if (!fault || fault.kind === "wrong-digest-header" || fault.kind === "expired-token" || fault.kind === "rate-limit") {
        up.pipe(res);
        return;
      }
      let sent = 0;
      let flipped = false;
      let stopped = false;
      up.on("data", (chunk: Buffer) => {
        if (stopped) return;
        let out = chunk;
        if (fault.kind === "flip-byte" && !flipped) {
          const at = (fault.offset ?? 100) - sent;
          if (at >= 0 && at < chunk.length) {
            out = Buffer.from(chunk);
            out[at] = (out[at] ?? 0) ^ 0xff;
            flipped = true;
          }
        }
        const limit = fault.kind === "reset-mid-body" ? (fault.afterBytes ?? 1000) : fault.kind === "truncate" ? (fault.keepBytes ?? 1000) : fault.kind === "stall-body" ? (fault.afterBytes ?? 1000) : Infinity;
        if (sent + out.length > limit) {
          const head = out.subarray(0, Math.max(0, limit - sent));
          if (head.length) res.write(head);
          sent += head.length;
          stopped = true;
          up.destroy();
          if (fault.kind === "reset-mid-body") cut("destroy");
          else if (fault.kind === "truncate") cut("end");
          else if (fault.kind === "stall-body") setTimeout(() => cut("destroy"), fault.ms).unref();
          return;
        }
        sent += out.length;
        res.write(out);
      });
      up.on("end", () => {
        if (!stopped) res.end();
      });
    });
    proxied.on("error", () => cut("destroy"));
    req.pipe(proxied);
  };

  const server: Server = createServer(handle);
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    injected,
    stats,
    seen,
    setRules(next) {
      rules = next.map((r) => ({ ...r }));
    },
    stop: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}

/**
 * Start fault proxies inside tests of this file; each is stopped after the test that started it.
 * Call at the top of a describe block; the returned function starts one proxy.
 */
export function useFaultProxies(): (upstream: { host: string }, rules?: FaultRule[]) => Promise<FaultProxy> {
  const started: FaultProxy[] = [];
  afterEach(async () => {
    for (const proxy of started.splice(0)) await proxy.stop();
  });
  return async (upstream, rules = []) => {
    const proxy = await startFaultProxy(upstream, rules);
    started.push(proxy);
    return proxy;
  };
}
