/**
 * HTTP to registries: scheme and origin per host, auth, retries with backoff and `Retry-After`,
 * redirects, per-host concurrency and timeouts. The undici dispatcher is a parameter so a test
 * can put a fault-injecting proxy or an odd server in front of a real registry.
 */
import type { Readable } from "node:stream";
import { Agent, type Dispatcher } from "undici";
import { BasewarmError, type ErrorCode } from "../errors.js";
import { silentLogger, type Logger } from "../log/index.js";
import { Authenticator } from "./auth.js";
import type { CredentialSource } from "./credentials.js";
import { describeOciErrors, parseOciErrors } from "./oci-errors.js";
import { backoffDelay, DEFAULT_RETRY_POLICY, isTransientNetworkError, parseRetryAfter, sleep, type RetryPolicy } from "./retry.js";
import { PrioritySemaphore, type Priority } from "./semaphore.js";

export interface Timeouts {
  connectMs: number;
  /** Time to the response headers. */
  headersMs: number;
  /** Longest pause between two chunks of a body: a stalled body fails after this. */
  bodyStallMs: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { connectMs: 10_000, headersMs: 60_000, bodyStallMs: 60_000 };

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
  timeouts?: Partial<Timeouts>;
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
  /** Counters for reports and benchmarks. */
  readonly stats = { requests: 0, retries: 0 };

  constructor(options: TransportOptions = {}) {
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    this.perHost = options.perHostConcurrency ?? 10;
    this.ownsDispatcher = options.dispatcher === undefined;
    this.dispatcher = options.dispatcher ?? new Agent({
      connections: this.perHost + 2,
      connect: { timeout: this.timeouts.connectMs },
      headersTimeout: this.timeouts.headersMs,
      bodyTimeout: this.timeouts.bodyStallMs,
      keepAliveTimeout: 30_000,
    });
    this.insecure = new Set(options.insecureHosts ?? []);
    this.retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.logger = options.logger ?? silentLogger;
    this.userAgent = options.userAgent ?? "basewarm/0.1";
    this.random = options.random ?? Math.random;
    this.auth = new Authenticator({
      credentials: options.credentials,
      logger: this.logger,
      fetchToken: (url, init) => this.fetchToken(url, init),
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

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  private async fetchToken(url: URL, init: { method: "GET" | "POST"; headers: Record<string, string>; body?: string }): Promise<{ status: number; body: string }> {
    // Token services get the same retry treatment as registries: they rate-limit and fail too.
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.dispatcher.request({
          origin: url.origin,
          path: url.pathname + url.search,
          method: init.method,
          headers: { ...init.headers, "user-agent": this.userAgent },
          ...(init.body === undefined ? {} : { body: init.body }),
        });
        const body = await res.body.text();
        if (this.retry.retryStatuses.includes(res.statusCode) && attempt + 1 < this.retry.maxAttempts) {
          await sleep(backoffDelay(this.retry, attempt, this.random));
          continue;
        }
        return { status: res.statusCode, body };
      } catch (err) {
        if (isTransientNetworkError(err) && attempt + 1 < this.retry.maxAttempts) {
          await sleep(backoffDelay(this.retry, attempt, this.random));
          continue;
        }
        throw new BasewarmError("NETWORK_ERROR", `token service ${url.origin}: ${(err as Error).message}`, { cause: err, retryable: true });
      }
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
    const priority = req.priority ?? "small";
    const accept = req.accept ?? ((s: number) => s >= 200 && s < 300);
    const replayable = !req.once;
    let authRetried = !replayable;
    let lastError: unknown;
    for (let attempt = 0; attempt < this.retry.maxAttempts; attempt++) {
      if (attempt > 0) this.stats.retries++;
      const limiter = this.limiter(req.host);
      await limiter.acquire(priority);
      let released = false;
      const release = () => {
        if (!released) {
          released = true;
          limiter.release(priority);
        }
      };
      let delayMs: number | undefined;
      try {
        const response = await this.send(req);
        this.recordRateLimit(req.host, response.headers);
        if (accept(response.status)) {
          const body = response.body;
          body.once("end", release);
          body.once("close", release);
          body.once("error", release);
          return response;
        }
        const text = await response.body.text().catch(() => "");
        release();
        if (response.status === 401 && !authRetried) {
          // First 401: learn the scheme (or the scope the registry wants) and try once more with auth.
          const header = response.headers["www-authenticate"];
          const challengeScopes = Authenticator.challengeScopes(header);
          this.auth.invalidate(req.host, req.scopes);
          if (this.auth.learn(req.host, header)) {
            authRetried = true;
            if (challengeScopes.length) req = { ...req, scopes: [...new Set([...req.scopes, ...challengeScopes])] };
            attempt--;
            continue;
          }
        }
        const code = statusCode(response.status, text);
        const message = `${req.method} ${req.subject}: ${describeOciErrors(response.status, text)}${response.status === 401 || response.status === 403 ? " (check the credentials and their permissions for " + req.host + ")" : ""}`;
        const retryable = this.retry.retryStatuses.includes(response.status);
        lastError = new BasewarmError(code, message, { retryable });
        if (!retryable || !replayable) throw lastError;
        const retryAfter = parseRetryAfter(response.headers["retry-after"]);
        if (retryAfter !== undefined && retryAfter > this.retry.maxRetryAfterMs) {
          throw new BasewarmError(code, `${message}; the registry asks to wait ${Math.round(retryAfter / 1000)} s, more than the ${Math.round(this.retry.maxRetryAfterMs / 1000)} s basewarm waits`, { retryable: true });
        }
        delayMs = Math.max(retryAfter ?? 0, backoffDelay(this.retry, attempt, this.random));
      } catch (err) {
        release();
        if (err instanceof BasewarmError) throw err;
        if (req.signal?.aborted) throw new BasewarmError("ABORTED", `${req.method} ${req.subject}: aborted`, { cause: err });
        const timeout = /TIMEOUT/.test(String((err as { code?: unknown }).code));
        lastError = new BasewarmError(timeout ? "TIMEOUT" : "NETWORK_ERROR", `${req.method} ${req.subject}: ${(err as Error).message || String(err)} (${String((err as { code?: unknown }).code ?? "network error")})`, { cause: err, retryable: true });
        if (!isTransientNetworkError(err) || !replayable) throw lastError;
        delayMs = backoffDelay(this.retry, attempt, this.random);
      }
      if (attempt + 1 < this.retry.maxAttempts) {
        this.logger.debug({ host: req.host, subject: req.subject, attempt: attempt + 1, delayMs }, "retrying registry request");
        await sleep(delayMs ?? 0, req.signal);
      }
    }
    throw lastError instanceof BasewarmError
      ? new BasewarmError(lastError.code, `${lastError.message} (gave up after ${this.retry.maxAttempts} attempts)`, { cause: lastError, retryable: true })
      : new BasewarmError("NETWORK_ERROR", `${req.method} ${req.subject}: failed after ${this.retry.maxAttempts} attempts`);
  }

  /** One HTTP exchange plus redirects; no retries. */
  private async send(req: RegistryRequest): Promise<RegistryResponse> {
    const base = this.origin(req.host);
    let url = req.path.startsWith("http://") || req.path.startsWith("https://") ? new URL(req.path) : new URL(req.path, base);
    const authorization = await this.auth.authorization(req.host, req.scopes);
    const registryOrigin = new URL(base).origin;
    for (let hop = 0; hop < 6; hop++) {
      const headers: Record<string, string> = { "user-agent": this.userAgent, ...req.headers };
      // Credentials go only to the registry itself, never to a storage backend it redirects to.
      if (authorization && url.origin === registryOrigin) headers["authorization"] = authorization;
      const body = typeof req.body === "function" ? req.body() : req.body;
      this.stats.requests++;
      const res = await this.dispatcher.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: req.method,
        headers,
        // undici closes the connection after every HEAD (for servers that send a body anyway);
        // registries answer HEAD properly, and the no-op path is nothing but HEADs.
        ...(req.method === "HEAD" ? { reset: false } : {}),
        ...(body === undefined ? {} : { body }),
        ...(req.signal ? { signal: req.signal } : {}),
      });
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
