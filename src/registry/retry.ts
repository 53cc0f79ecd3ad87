/**
 * Retry policy as plain data (as oras-go does): which statuses and errors are transient,
 * how long to back off, and how much `Retry-After` we are willing to honour. `withRetry` is the
 * one loop that applies it, to registry requests and token requests alike.
 */
import { BasewarmError } from "../errors.js";

export interface RetryPolicy {
  /** Total attempts including the first. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /**
   * How the backoff ceiling `min(max, base * 2^attempt)` is spread: `equal` waits uniformly in
   * [ceiling/2, ceiling], `full` in [0, ceiling].
   */
  jitter: "equal" | "full";
  /** A `Retry-After` longer than this fails the request instead of waiting. */
  maxRetryAfterMs: number;
  retryStatuses: readonly number[];
}

// Equal jitter, not full: with only a handful of attempts, full jitter may retry a failing
// registry after ~0 ms and burn an attempt; half the ceiling guarantees a real pause while the
// other half still spreads many clients apart.
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  jitter: "equal",
  maxRetryAfterMs: 60_000,
  retryStatuses: [408, 429, 500, 502, 503, 504],
};

/** Network error codes (Node and undici) that mean "try again", not "this is wrong". */
const TRANSIENT_ERROR_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_CLOSED",
  "UND_ERR_ABORTED",
  "UND_ERR_RES_CONTENT_LENGTH_MISMATCH",
  "UND_ERR_REQ_CONTENT_LENGTH_MISMATCH",
  "ERR_STREAM_PREMATURE_CLOSE",
]);

export function isTransientNetworkError(err: unknown): boolean {
  let current: unknown = err;
  for (let depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && TRANSIENT_ERROR_CODES.has(code)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** Exponential backoff with the policy's jitter (see `RetryPolicy.jitter`). */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  const floor = policy.jitter === "full" ? 0 : ceiling / 2;
  return Math.round(floor + random() * (ceiling - floor));
}

/** `Retry-After` is delta-seconds or an HTTP date (RFC 9110 §10.2.3); undefined when absent or unparsable. */
export function parseRetryAfter(value: string | undefined | null, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** What an attempt returns when it failed in a way worth trying again. */
export class RetryLater {
  readonly error: BasewarmError;
  readonly retryAfterMs: number | undefined;
  constructor(error: BasewarmError, retryAfterMs?: number) {
    this.error = error;
    this.retryAfterMs = retryAfterMs;
  }
}

export interface RetryOptions {
  random?: () => number;
  signal?: AbortSignal | undefined;
  /** Called before each pause (logs, counters). */
  onRetry?: (attempt: number, delayMs: number, error: BasewarmError) => void;
}

/**
 * Run `attempt` until it returns a value, throws, or the policy's attempts are spent. A
 * `RetryLater` waits `max(Retry-After, backoff)`; a `Retry-After` above the policy's ceiling
 * fails at once (the server asked for more patience than we have).
 */
export async function withRetry<T>(policy: RetryPolicy, attempt: (n: number) => Promise<T | RetryLater>, options: RetryOptions = {}): Promise<T> {
  const random = options.random ?? Math.random;
  let last: BasewarmError | undefined;
  for (let n = 0; n < policy.maxAttempts; n++) {
    const outcome = await attempt(n);
    if (!(outcome instanceof RetryLater)) return outcome;
    last = outcome.error;
    const retryAfter = outcome.retryAfterMs;
    if (retryAfter !== undefined && retryAfter > policy.maxRetryAfterMs) {
      throw new BasewarmError(last.code, `${last.message}; the server asks to wait ${Math.round(retryAfter / 1000)} s, more than the ${Math.round(policy.maxRetryAfterMs / 1000)} s basewarm waits`, { cause: last, retryable: true });
    }
    if (n + 1 >= policy.maxAttempts) break;
    const delayMs = Math.max(retryAfter ?? 0, backoffDelay(policy, n, random));
    options.onRetry?.(n + 1, delayMs, last);
    await sleep(delayMs, options.signal);
  }
  if (!last) throw new BasewarmError("NETWORK_ERROR", "no attempt was made (retry policy allows none)");
  throw new BasewarmError(last.code, `${last.message} (gave up after ${policy.maxAttempts} attempts)`, { cause: last, retryable: true });
}
