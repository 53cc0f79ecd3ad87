/**
 * HTTP to registries: scheme and origin per host, auth, retries with backoff and `Retry-After`,
 * redirects, per-host concurrency and timeouts. The undici dispatcher is a parameter so a test
 * can put a fault-injecting proxy or an odd server in front of a real registry.
 */
import { setMaxListeners } from "node:events";
import type { Readable } from "node:stream";
import type { Dispatcher } from "undici";
// Not the index: see undici-dispatchers.d.ts.
import request from "undici/lib/api/api-request.js";
import Agent from "undici/lib/dispatcher/agent.js";
import Pool from "undici/lib/dispatcher/pool.js";
import { DEFAULT_CONCURRENCY, DEFAULT_TIMEOUTS, type TimeoutsConfig } from "../config/schema.js";
import { BasewarmError, type ErrorCode } from "../errors.js";
import { silentLogger, type Logger } from "../log/index.js";
import { SecretRedactor } from "../log/redact.js";
import { Authenticator, type TokenFetch } from "./auth.js";
import { ERROR_BODY_LIMIT, TOKEN_BODY_LIMIT, guardRate, readCapped } from "./body.js";
import type { CredentialSource } from "./credentials.js";
import { describeOciErrors, parseOciErrors } from "./oci-errors.js";
import { DEFAULT_RETRY_POLICY, RetryLater, isTransientNetworkError, parseRetryAfter, withRetry, type RetryPolicy } from "./retry.js";
import { PrioritySemaphore, type Priority } from "./semaphore.js";
import { keepWebAssemblyAtBaseline } from "./wasm-tiering.js";

/** The config's `timeouts` block (defaults in the config schema). */
export type Timeouts = TimeoutsConfig;
export { DEFAULT_TIMEOUTS };
/** Some keys of `Timeouts`, as a registry's own block in the config gives them. */
export type TimeoutOverrides = { [K in keyof Timeouts]?: Timeouts[K] | undefined };

function withOverrides(base: Timeouts, own: TimeoutOverrides | undefined): Timeouts {
  const out = { ...base };
  for (const key of Object.keys(out) as (keyof Timeouts)[]) {
    const value = own?.[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

export interface RateLimitInfo {
  limit: number;
  remaining: number;
  at: number;
}

export interface TransportOptions {
  dispatcher?: Dispatcher;
  credentials?: CredentialSource | undefined;
  /** Hosts reached over plain HTTP besides loopback ones. */
  insecureHosts?: readonly string[];
  retry?: Partial<RetryPolicy>;
  /** Most requests in flight to one registry host at once. */
  perHostConcurrency?: number;
  timeouts?: TimeoutOverrides;
  /** Per registry host, as the config names it (`docker.io`, `host:port`): overrides of `timeouts`. */
  hostTimeouts?: Record<string, TimeoutOverrides | undefined>;
  /** Aborts every request of this transport, in flight or waiting to retry (a run's stop signal). */
  signal?: AbortSignal;
  logger?: Logger;
  userAgent?: string;
  random?: () => number;
}

/** A body; a function is called once per attempt, so retries send a fresh stream. */
export type RequestBody = Buffer | string | (() => Readable | Buffer) | undefined;

export interface RegistryRequest {
  host: string;
  method: "GET" | "HEAD" | "PUT" | "POST" | "PATCH" | "DELETE";
  /** A path (`/v2/...`) on the registry, or an absolute URL (upload locations). */
  path: string;
  headers?: Record<string, string>;
  body?: RequestBody;
  /** Token scopes this request needs (`repository:name:pull`). */
  scopes: string[];
  priority?: Priority;
  /** Statuses returned to the caller instead of thrown. Default: 2xx. */
  accept?: (status: number) => boolean;
  signal?: AbortSignal;
  /** A streaming body that cannot be sent twice: no retries, no auth replay (the caller retries the whole transfer). */
  once?: boolean;
  /** Follow redirects (blob GETs: registries redirect to storage). */
  followRedirects?: boolean;
  /** What the request is about, for error messages: `docker.io/library/alpine:3.20`. */
  subject: string;
}

export interface RegistryResponse {
  status: number;
  headers: Record<string, string | undefined>;
  body: Dispatcher.ResponseData["body"];
  url: URL;
}

const LOOPBACK_HOST = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d+)?$/;

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOST.test(host);
}

/** Docker Hub's API lives on a different host than its references name. */
export function apiHost(registry: string): string {
  return registry === "docker.io" ? "registry-1.docker.io" : registry;
}

function flattenHeaders(headers: Dispatcher.ResponseData["headers"]): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(headers)) {
    out[key.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

function statusCode(status: number, body: string): ErrorCode {
  const codes = parseOciErrors(body).map((e) => e.code);
  if (status === 401 || status === 403 || codes.includes("DENIED") || codes.includes("UNAUTHORIZED")) return "AUTH_DENIED";
  if (status === 404) return "NOT_FOUND";
  if (status === 429 || codes.includes("TOOMANYREQUESTS")) return "RATE_LIMITED";
  return "REGISTRY_ERROR";
}

/** undici's timeout codes, said in the config's words. */
function timeoutReason(code: unknown, t: Timeouts): string | undefined {
  if (code === "UND_ERR_CONNECT_TIMEOUT") return `no connection within ${t.connectSeconds} s (timeouts.connectSeconds)`;
  if (code === "UND_ERR_HEADERS_TIMEOUT") return `no response within ${t.headersSeconds} s (timeouts.headersSeconds)`;
  if (code === "UND_ERR_BODY_TIMEOUT") return `body stalled for ${t.bodyStallSeconds} s (timeouts.bodyStallSeconds)`;
  return undefined;
}

/** The first line of a network error and its code, for a one-line message. */
function describeNetworkError(err: unknown, t: Timeouts): { timeout: boolean; text: string } {
  const code = (err as { code?: unknown }).code;
  const reason = timeoutReason(code, t);
  if (reason) return { timeout: true, text: reason };
  const message = ((err as Error).message || String(err)).split("\n")[0] ?? "";
  return { timeout: /TIMEOUT/.test(String(code)), text: `${message} (${String(code ?? "network error")})` };
}

/** One HTTP exchange as `send` and the token fetch make it. */
interface Exchange {
  url: URL;
  method: RegistryRequest["method"];
  headers: Record<string, string>;
  body?: Buffer | string | Readable | undefined;
  signal: AbortSignal | undefined;
  timeouts: Timeouts;
  subject: string;
}

/** `attempt` asks for the same request again right away, with the credentials a 401 taught us. */
const REPLAY_WITH_AUTH = Symbol("replay with auth");

export class Transport {
  readonly auth: Authenticator;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly insecure: Set<string>;
  private readonly retry: RetryPolicy;
  private readonly perHost: number;
  private readonly limits = new Map<string, PrioritySemaphore>();
  private readonly rateLimits = new Map<string, RateLimitInfo>();
  private readonly logger: Logger;
  private readonly userAgent: string;
  private readonly random: () => number;
  private readonly timeouts: Timeouts;
  /** Timeouts by API host (`registry-1.docker.io` for `docker.io`), for hosts with their own block. */
  private readonly hostTimeouts = new Map<string, Timeouts>();
  private readonly signal: AbortSignal | undefined;
  private unfollow: () => void = () => {};
  private readonly redactor = new SecretRedactor();
  /** Counters for reports and benchmarks (registry requests; token requests are not counted). */
  readonly stats = { requests: 0, retries: 0 };

  constructor(options: TransportOptions = {}) {
    this.timeouts = withOverrides(DEFAULT_TIMEOUTS, options.timeouts);
    for (const [host, own] of Object.entries(options.hostTimeouts ?? {})) {
      if (own) this.hostTimeouts.set(apiHost(host), withOverrides(this.timeouts, own));
    }
    // Each request in flight and each retry wait listens on the stop signal until it settles, so
    // a run with more than 10 at once made Node print a leak warning on every mirror. They listen
    // on the transport's own signal, which follows the caller's through one listener: its limit
    // is lifted there only (their number follows the concurrency settings, and each removes its
    // listener: a test pins that), and the caller's signal keeps Node's leak warning.
    if (options.signal) {
      const outer = options.signal;
      const own = new AbortController();
      setMaxListeners(0, own.signal);
      const follow = () => own.abort(outer.reason);
      if (outer.aborted) follow();
      else outer.addEventListener("abort", follow, { once: true });
      this.unfollow = () => outer.removeEventListener("abort", follow);
      this.signal = own.signal;
    }
    this.perHost = options.perHostConcurrency ?? DEFAULT_CONCURRENCY.perRegistry;
    this.ownsDispatcher = options.dispatcher === undefined;
    keepWebAssemblyAtBaseline(); // before the first connection compiles llhttp
    // HTTP/1.1 only (no `allowH2`): the bundle leaves node:http2 out (scripts/bundle.mjs).
    this.dispatcher = options.dispatcher ?? new Agent({
      connections: this.perHost + 2,
      keepAliveTimeout: 30_000,
      // The connect timeout is a pool option, so each origin gets a pool with its host's timeout.
      factory: (origin, opts) => new Pool(origin, { ...(opts as Pool.Options), connect: { timeout: this.timeoutsFor(new URL(String(origin)).host).connectSeconds * 1000 } }),
    });
    this.insecure = new Set(options.insecureHosts ?? []);
    this.retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.logger = options.logger ?? silentLogger;
    this.userAgent = options.userAgent ?? "basewarm/0.1";
    this.random = options.random ?? Math.random;
    this.auth = new Authenticator({
      credentials: options.credentials,
      logger: this.logger,
      redactor: this.redactor,
      fetchToken: (url, init, registry) => this.fetchToken(url, init, registry),
    });
  }

  origin(host: string): string {
    const target = apiHost(host);
    const scheme = isLoopbackHost(target) || this.insecure.has(host) || this.insecure.has(target) ? "http" : "https";
    return `${scheme}://${target}`;
  }

  limiter(host: string): PrioritySemaphore {
    let limiter = this.limits.get(host);
    if (!limiter) {
      limiter = new PrioritySemaphore(this.perHost);
      this.limits.set(host, limiter);
    }
    return limiter;
  }

  rateLimit(host: string): RateLimitInfo | undefined {
    return this.rateLimits.get(host);
  }

  /** Remove every secret this transport knows (and anything shaped like a credential) from text a peer sent. */
  redact(text: string): string {
    return this.redactor.redact(text);
  }

  async close(): Promise<void> {
    this.unfollow();
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  private timeoutsFor(host: string): Timeouts {
    return this.hostTimeouts.get(apiHost(host)) ?? this.timeouts;
  }

  /** The transport's stop signal and the call's own, as one. */
  private signalFor(own: AbortSignal | undefined): AbortSignal | undefined {
    if (!own) return this.signal;
    if (!this.signal) return own;
    return AbortSignal.any([this.signal, own]);
  }

  private aborted(what: string, cause: unknown): BasewarmError {
    return new BasewarmError("ABORTED", `${what}: aborted`, { cause });
  }

  /**
   * Send one request and guard its response body: undici's timeouts per request (so they hold
   * with any dispatcher), and a minimum transfer rate.
   */
  private async exchange(x: Exchange): Promise<Dispatcher.ResponseData> {
    // undici fails the request and destroys the body with the abort reason: make that reason our
    // own error, so whoever reads the body sees ABORTED, whatever reason the caller gave.
    let signal: AbortSignal | undefined;
    let unlink = () => {};
    if (x.signal) {
      const outer = x.signal;
      const inner = new AbortController();
      const onAbort = () => inner.abort(new BasewarmError("ABORTED", `${x.method} ${x.subject}: aborted`, { cause: outer.reason }));
      if (outer.aborted) onAbort();
      else outer.addEventListener("abort", onAbort, { once: true });
      unlink = () => outer.removeEventListener("abort", onAbort);
      signal = inner.signal;
    }
    let res: Dispatcher.ResponseData;
    try {
      res = await request.call(this.dispatcher, {
        origin: x.url.origin,
        path: x.url.pathname + x.url.search,
        method: x.method,
        headers: { "user-agent": this.userAgent, ...x.headers },
        headersTimeout: x.timeouts.headersSeconds * 1000,
        bodyTimeout: x.timeouts.bodyStallSeconds * 1000,
        // undici closes the connection after every HEAD (for servers that send a body anyway);
        // registries answer HEAD properly, and the no-op path is nothing but HEADs.
        ...(x.method === "HEAD" ? { reset: false } : {}),
        ...(x.body === undefined ? {} : { body: x.body }),
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      unlink();
      throw err;
    }
    res.body.once("close", unlink);
    const min = x.timeouts.minBytesPerSecond;
    guardRate(res.body, {
      windowMs: x.timeouts.bodyStallSeconds * 1000,
      minBytesPerSecond: min,
      onSlow: (received, windowMs) => res.body.destroy(new BasewarmError("TIMEOUT",
        `${x.method} ${x.subject}: body too slow, ${received} bytes in ${windowMs / 1000} s, below timeouts.minBytesPerSecond (${min})`, { retryable: true })),
    });
    return res;
  }

  private async fetchToken(url: URL, init: Parameters<TokenFetch>[1], registry: string): Promise<Awaited<ReturnType<TokenFetch>>> {
    // Token services get the same retry policy as registries: they rate-limit and fail too.
    const signal = this.signalFor(undefined);
    const timeouts = this.timeoutsFor(registry);
    const what = `token service ${url.origin} for ${registry}`;
    const attempt = async (): Promise<Awaited<ReturnType<TokenFetch>> | RetryLater> => {
      try {
        const res = await this.exchange({ url, method: init.method, headers: init.headers, body: init.body, signal, timeouts, subject: what });
        const { text, truncated } = await readCapped(res.body, TOKEN_BODY_LIMIT);
        if (this.retry.retryStatuses.includes(res.statusCode)) {
          const error = new BasewarmError("AUTH_FAILED", `${what} answered HTTP ${res.statusCode}`, { retryable: true });
          return new RetryLater(error, parseRetryAfter(flattenHeaders(res.headers)["retry-after"]));
        }
        return { status: res.statusCode, body: text, truncated };
      } catch (err) {
        if (signal?.aborted) throw this.aborted(what, err);
        if (err instanceof BasewarmError) {
          if (err.retryable) return new RetryLater(err);
          throw err;
        }
        const { timeout, text } = describeNetworkError(err, timeouts);
        const error = new BasewarmError(timeout ? "TIMEOUT" : "NETWORK_ERROR", this.redact(`${what}: ${text}`), { cause: err, retryable: true });
        if (!isTransientNetworkError(err)) throw error;
        return new RetryLater(error);
      }
    };
    try {
      return await withRetry(this.retry, attempt, { random: this.random, signal, onRetry: (n, delayMs) => this.logger.debug({ host: url.host, registry, attempt: n, delayMs }, "retrying token request") });
    } catch (err) {
      if (signal?.aborted && !(err instanceof BasewarmError && err.code === "ABORTED")) throw this.aborted(what, err);
      throw err;
    }
  }

  private recordRateLimit(host: string, headers: Record<string, string | undefined>): void {
    // Docker Hub: `ratelimit-limit: 100;w=21600`, `ratelimit-remaining: 76;w=21600`.
    const limit = headers["ratelimit-limit"];
    const remaining = headers["ratelimit-remaining"];
    if (limit === undefined || remaining === undefined) return;
    const l = Number.parseInt(limit, 10);
    const r = Number.parseInt(remaining, 10);
    if (Number.isNaN(l) || Number.isNaN(r)) return;
    const previous = this.rateLimits.get(host);
    this.rateLimits.set(host, { limit: l, remaining: r, at: Date.now() });
    if (!previous || previous.remaining !== r) this.logger.info({ host, limit: l, remaining: r }, "registry rate limit");
  }

  /**
   * Send one logical request: auth, retries of transient failures, redirects. The response body
   * is left for the caller to consume; the host's concurrency slot is held until it is consumed.
   */
  async request(req: RegistryRequest): Promise<RegistryResponse> {
    const signal = this.signalFor(req.signal);
    const what = `${req.method} ${req.subject}`;
    // A streaming body cannot be sent twice: no retries and no replay after a 401.
    const state = { req, authRetried: Boolean(req.once) };
    const attempt = async (n: number): Promise<RegistryResponse | RetryLater> => {
      if (n > 0) this.stats.retries++;
      for (;;) {
        const outcome = await this.attempt(state, signal);
        if (outcome !== REPLAY_WITH_AUTH) return outcome;
      }
    };
    try {
      return await withRetry(this.retry, attempt, {
        random: this.random,
        signal,
        onRetry: (n, delayMs) => this.logger.debug({ host: req.host, subject: req.subject, attempt: n, delayMs }, "retrying registry request"),
      });
    } catch (err) {
      if (signal?.aborted && !(err instanceof BasewarmError && err.code === "ABORTED")) throw this.aborted(what, err);
      throw err;
    }
  }

  /** One attempt: a slot, one exchange (plus redirects), and the verdict on its status. */
  private async attempt(state: { req: RegistryRequest; authRetried: boolean }, signal: AbortSignal | undefined): Promise<RegistryResponse | RetryLater | typeof REPLAY_WITH_AUTH> {
    const req = state.req;
    const what = `${req.method} ${req.subject}`;
    const priority = req.priority ?? "small";
    const accept = req.accept ?? ((s: number) => s >= 200 && s < 300);
    const limiter = this.limiter(req.host);
    await limiter.acquire(priority);
    let released = false;
    const release = () => {
      if (!released) {
        released = true;
        limiter.release(priority);
      }
    };
    let response: RegistryResponse;
    try {
      response = await this.send(req, signal);
    } catch (err) {
      release();
      if (signal?.aborted) throw this.aborted(what, err);
      if (err instanceof BasewarmError) throw err;
      const { timeout, text } = describeNetworkError(err, this.timeoutsFor(req.host));
      const error = new BasewarmError(timeout ? "TIMEOUT" : "NETWORK_ERROR", this.redact(`${what}: ${text}`), { cause: err, retryable: true });
      if (!isTransientNetworkError(err) || req.once) throw error;
      return new RetryLater(error);
    }
    this.recordRateLimit(req.host, response.headers);
    if (accept(response.status)) {
      // The slot is held until the caller has the whole body (or gives it up).
      const body = response.body;
      body.once("end", release);
      body.once("close", release);
      body.once("error", release);
      return response;
    }
    // Error bodies are read only up to a cap: a hostile server may send one without end.
    const { text } = await readCapped(response.body, ERROR_BODY_LIMIT).catch(() => ({ text: "", truncated: false }));
    release();
    if (response.status === 401 && !state.authRetried) {
      // First 401: learn the scheme (or the scope the registry wants) and try once more with auth.
      const header = response.headers["www-authenticate"];
      const challengeScopes = Authenticator.challengeScopes(header);
      this.auth.invalidate(req.host, req.scopes);
      if (this.auth.learn(req.host, header)) {
        state.authRetried = true;
        if (challengeScopes.length) state.req = { ...req, scopes: [...new Set([...req.scopes, ...challengeScopes])] };
        return REPLAY_WITH_AUTH;
      }
    }
    const code = statusCode(response.status, text);
    const hint = response.status === 401 || response.status === 403 ? ` (check the credentials and their permissions for ${req.host})` : "";
    // A registry (or a proxy) may echo the request's Authorization header in its error body.
    const message = this.redact(`${what}: ${describeOciErrors(response.status, text, (t) => this.redact(t))}${hint}`);
    const retryable = this.retry.retryStatuses.includes(response.status);
    const error = new BasewarmError(code, message, { retryable });
    if (!retryable || req.once) throw error;
    return new RetryLater(error, parseRetryAfter(response.headers["retry-after"]));
  }

  /** One HTTP exchange plus redirects; no retries. */
  private async send(req: RegistryRequest, signal: AbortSignal | undefined): Promise<RegistryResponse> {
    const base = this.origin(req.host);
    let url = req.path.startsWith("http://") || req.path.startsWith("https://") ? new URL(req.path) : new URL(req.path, base);
    const authorization = await this.auth.authorization(req.host, req.scopes);
    // The credential part of the header (a base64 pair, a token) in case it came from elsewhere.
    this.redactor.add(authorization?.replace(/^\S+\s+/, ""));
    const registryOrigin = new URL(base).origin;
    const timeouts = this.timeoutsFor(req.host);
    for (let hop = 0; hop < 6; hop++) {
      const headers: Record<string, string> = { ...req.headers };
      // Credentials go only to the registry itself, never to a storage backend it redirects to.
      if (authorization && url.origin === registryOrigin) headers["authorization"] = authorization;
      const body = typeof req.body === "function" ? req.body() : req.body;
      this.stats.requests++;
      const sent = performance.now();
      const res = await this.exchange({ url, method: req.method, headers, body, signal, timeouts, subject: req.subject });
      // What --debug shows of each request: no query (an upload session's state travels there), no
      // headers; the time is to the response headers (a body is read later, by the caller).
      this.logger.debug({ method: req.method, host: url.host, path: url.pathname, status: res.statusCode, headersMs: Math.round(performance.now() - sent) }, "registry request");
      const headersOut = flattenHeaders(res.headers);
      const location = headersOut["location"];
      if (req.followRedirects && [301, 302, 303, 307, 308].includes(res.statusCode) && location) {
        await res.body.dump();
        url = new URL(location, url);
        continue;
      }
      return { status: res.statusCode, headers: headersOut, body: res.body, url };
    }
    throw new BasewarmError("REGISTRY_ERROR", `${req.method} ${req.subject}: too many redirects`);
  }
}
