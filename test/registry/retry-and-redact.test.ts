import { describe, expect, it } from "vitest";
import { BasewarmError, isBasewarmError } from "../../src/errors.js";
import { REDACTED, SecretRedactor, redactOpaque, redactPatterns } from "../../src/log/redact.js";
import { DEFAULT_RETRY_POLICY, RetryLater, backoffDelay, withRetry, type RetryPolicy } from "../../src/registry/retry.js";
import { describeOciErrors } from "../../src/registry/oci-errors.js";
import { seededRandom } from "../../testkit/random.js";

/** A seeded source: the same seed gives the same delays. */
const seeded = seededRandom;

describe("backoff jitter", () => {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 100, maxDelayMs: 1_000 };

  it("equal jitter (the default) stays in [ceiling/2, ceiling], spread over that range", () => {
    expect(DEFAULT_RETRY_POLICY.jitter).toBe("equal");
    const random = seeded(7);
    for (const [attempt, ceiling] of [[0, 100], [1, 200], [2, 400], [3, 800], [4, 1_000], [9, 1_000]] as const) {
      const delays = Array.from({ length: 200 }, () => backoffDelay(policy, attempt, random));
      expect(Math.min(...delays)).toBeGreaterThanOrEqual(ceiling / 2);
      expect(Math.max(...delays)).toBeLessThanOrEqual(ceiling);
      // Spread: both halves of the range are used.
      expect(delays.some((d) => d < (ceiling * 3) / 4)).toBe(true);
      expect(delays.some((d) => d > (ceiling * 3) / 4)).toBe(true);
    }
    expect(backoffDelay(policy, 2, () => 0)).toBe(200);
    expect(backoffDelay(policy, 2, () => 0.999999)).toBe(400);
  });

  it("full jitter, when asked for, spans [0, ceiling]", () => {
    const full: RetryPolicy = { ...policy, jitter: "full" };
    const random = seeded(11);
    const delays = Array.from({ length: 400 }, () => backoffDelay(full, 3, random));
    expect(Math.min(...delays)).toBeLessThan(100);
    expect(Math.max(...delays)).toBeGreaterThan(700);
    expect(Math.max(...delays)).toBeLessThanOrEqual(800);
    expect(backoffDelay(full, 3, () => 0)).toBe(0);
  });

  it("is reproducible from a seed", () => {
    const a = seeded(42);
    const b = seeded(42);
    expect(Array.from({ length: 5 }, (_, i) => backoffDelay(policy, i, a))).toEqual(Array.from({ length: 5 }, (_, i) => backoffDelay(policy, i, b)));
  });
});

describe("withRetry", () => {
  const quick: RetryPolicy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 1, maxDelayMs: 2, maxAttempts: 3 };
  const transient = () => new RetryLater(new BasewarmError("REGISTRY_ERROR", "GET x: HTTP 503", { retryable: true }));

  it("retries until an attempt succeeds, and gives up after the policy's attempts", async () => {
    let calls = 0;
    expect(await withRetry(quick, async () => (++calls < 3 ? transient() : "done"))).toBe("done");
    expect(calls).toBe(3);
    calls = 0;
    const err = await withRetry(quick, async () => { calls++; return transient(); }).catch((e: unknown) => e);
    expect(isBasewarmError(err, "REGISTRY_ERROR")).toBe(true);
    expect((err as Error).message).toBe("GET x: HTTP 503 (gave up after 3 attempts)");
    expect(calls).toBe(3);
  });

  it("waits Retry-After when it is longer than the backoff, and refuses one above the ceiling", async () => {
    const delays: number[] = [];
    let calls = 0;
    await withRetry(quick, async () => (++calls === 1 ? new RetryLater(transient().error, 300) : "ok"), { onRetry: (_n, ms) => delays.push(ms) });
    expect(delays).toEqual([300]);
    const err = await withRetry({ ...quick, maxRetryAfterMs: 1_000 }, async () => new RetryLater(transient().error, 5_000)).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/asks to wait 5 s, more than the 1 s basewarm waits$/);
  });

  it("a thrown error ends the loop at once; an abort ends the wait", async () => {
    let calls = 0;
    const err = await withRetry(quick, async () => { calls++; throw new BasewarmError("AUTH_DENIED", "no"); }).catch((e: unknown) => e);
    expect(isBasewarmError(err, "AUTH_DENIED")).toBe(true);
    expect(calls).toBe(1);
    const stop = new AbortController();
    setTimeout(() => stop.abort(new Error("stop")), 50);
    const started = Date.now();
    await expect(withRetry({ ...quick, baseDelayMs: 60_000, maxDelayMs: 60_000 }, async () => transient(), { signal: stop.signal })).rejects.toThrow("stop");
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe("redaction", () => {
  it("removes known secrets in every form a peer could echo, longest first", () => {
    const r = new SecretRedactor();
    r.addBasic("robot", "s3cret-pass");
    r.add("tok");
    const basic = Buffer.from("robot:s3cret-pass").toString("base64");
    const text = `got ${basic} and s3cret-pass and ${encodeURIComponent("s3cret-pass")} and ${Buffer.from("s3cret-pass").toString("base64")}; tok stays`;
    expect(r.redact(text)).toBe(`got ${REDACTED} and ${REDACTED} and ${REDACTED} and ${REDACTED}; tok stays`);
  });

  it("removes credential shapes without knowing them, and leaves challenges and digests alone", () => {
    const digest = `sha256:${"ab12".repeat(16)}`;
    expect(redactPatterns(`Authorization: Basic dXNlcjpwYXNz== for ${digest}`)).toBe(`Authorization: Basic ${REDACTED} for ${digest}`);
    expect(redactPatterns('Bearer realm="https://auth.example/token",service="x"')).toBe('Bearer realm="https://auth.example/token",service="x"');
    expect(redactPatterns("jwt eyJhbGciOi.eyJzdWIiOiJ4In0.c2ln here")).toBe(`jwt ${REDACTED} here`);
    expect(redactPatterns('{"password":"hunter2","user":"bob"}')).toBe(`{"password":"${REDACTED}","user":"bob"}`);
    expect(redactOpaque("keychain locked, key AKIA1234567890ABCDEF, token abc")).toBe(`keychain locked, key ${REDACTED}, token ${REDACTED}`);
  });

  it("OCI error texts become one bounded line, cleaned before they are cut", () => {
    const body = JSON.stringify({ errors: [
      { code: "DENIED", message: `line one\nline two \u001b[2K ${"x".repeat(500)}` },
      { code: "A" }, { code: "B" }, { code: "C" },
    ] });
    const text = describeOciErrors(403, body);
    expect(text).not.toMatch(/[\n\u001b]/);
    expect(text).toMatch(/^DENIED: line one line two +\[2K x+…; A; B; and 1 more \(HTTP 403\)$/);
    const secret = "p".repeat(190) + "SECRET-TAIL-123";
    const cleaned = describeOciErrors(500, JSON.stringify({ errors: [{ code: "X", message: secret }] }), (t) => t.split(secret).join("[R]"));
    expect(cleaned).toBe("X: [R] (HTTP 500)");
  });
});
