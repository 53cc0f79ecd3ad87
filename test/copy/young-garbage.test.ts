import { PerformanceObserver, constants } from "node:perf_hooks";
import { describe, expect, it } from "vitest";
import { bytesMoved } from "../../src/copy/young-garbage.js";

/** The kinds of the garbage collections V8 ran while `fn` ran, as perf_hooks reports them. */
async function collectionsDuring(fn: () => void): Promise<number[]> {
  const kinds: number[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) kinds.push((entry as unknown as { detail: { kind: number } }).detail.kind);
  });
  observer.observe({ entryTypes: ["gc"] });
  try {
    fn();
    // gc entries are delivered on a later turn of the event loop.
    await new Promise((res) => setTimeout(res, 50));
  } finally {
    observer.disconnect();
  }
  return kinds;
}

describe("young-generation collections during transfers", () => {
  it("asks V8 for a minor collection once every 4 MiB moved, counting all transfers together", async () => {
    const minor = constants.NODE_PERFORMANCE_GC_MINOR;
    // 3 MiB in small pieces then 1 MiB more: the threshold is crossed by the last piece only.
    const kinds = await collectionsDuring(() => {
      for (let i = 0; i < 48; i++) bytesMoved(64 * 1024);
      bytesMoved(1024 * 1024);
    });
    expect(kinds.filter((k) => k === minor).length).toBeGreaterThanOrEqual(1);

    // 40 MiB in 64 KiB pieces, as socket reads come: ten collections (V8 may add its own).
    const many = await collectionsDuring(() => {
      for (let i = 0; i < 640; i++) bytesMoved(64 * 1024);
    });
    expect(many.filter((k) => k === minor).length).toBeGreaterThanOrEqual(10);
  });
});
