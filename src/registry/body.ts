/**
 * Bounds on response bodies from registries and token services, which may be hostile or broken:
 * a cap on what is read into memory, and a minimum transfer rate (undici's body timeout restarts
 * on every chunk, so a body trickled one byte at a time would otherwise never end).
 */
import type { Readable } from "node:stream";

/** Error bodies and token responses are small; anything past this is not read. */
export const ERROR_BODY_LIMIT = 64 * 1024;
export const TOKEN_BODY_LIMIT = 1024 * 1024;

/**
 * Read at most `limit` bytes of `body` as UTF-8, then destroy it so the rest is never received.
 * `truncated` says the body went on past the cap.
 */
export async function readCapped(body: Readable, limit: number): Promise<{ text: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    const buffer = chunk as Buffer;
    const room = limit - total;
    if (buffer.length > room) {
      chunks.push(buffer.subarray(0, room));
      body.destroy();
      return { text: Buffer.concat(chunks).toString("utf8"), truncated: true };
    }
    chunks.push(buffer);
    total += buffer.length;
  }
  return { text: Buffer.concat(chunks).toString("utf8"), truncated: false };
}

export interface RateGuard {
  /** Over each window, at least `minBytesPerSecond * windowMs / 1000` bytes (and at least one). */
  windowMs: number;
  minBytesPerSecond: number;
  /** Called once when a window fell short; it should destroy the body. */
  onSlow: (received: number, windowMs: number) => void;
}

/**
 * Watch the bytes a body receives. undici delivers every chunk through `push` (also when the
 * body is consumed with `text()`/`json()`), so counting there sees the network's pace without
 * changing how the caller reads. A window in which the body's buffer holds unread data is not
 * held against the server: then the reader is the slow one (backpressure).
 */
export function guardRate(body: Readable, guard: RateGuard): void {
  if (guard.minBytesPerSecond <= 0 || guard.windowMs <= 0) return;
  const needed = Math.max(1, Math.floor((guard.minBytesPerSecond * guard.windowMs) / 1000));
  let inWindow = 0;
  const push = body.push.bind(body);
  body.push = (chunk: unknown, encoding?: BufferEncoding) => {
    if (chunk !== null && chunk !== undefined) inWindow += (chunk as { length: number }).length;
    return push(chunk, encoding);
  };
  const timer = setInterval(() => {
    const received = inWindow;
    inWindow = 0;
    if (received >= needed || body.readableLength > 0) return;
    stop();
    guard.onSlow(received, guard.windowMs);
  }, guard.windowMs);
  timer.unref();
  const stop = () => clearInterval(timer);
  body.once("end", stop);
  body.once("close", stop);
  body.once("error", stop);
}
