import type { ProgressEvent } from "../copy/index.js";

/** A one-line progress display on a terminal; silent when not a TTY or in --json mode. */
export function progressReporter(stream: NodeJS.WriteStream, total: number, enabled: boolean): { onProgress: (e: ProgressEvent) => void; done: () => void } {
  if (!enabled || !stream.isTTY) return { onProgress: () => undefined, done: () => undefined };
  const started = Date.now();
  let images = 0;
  let bytes = 0;
  let last = 0;
  const draw = (force = false) => {
    const now = Date.now();
    if (!force && now - last < 200) return;
    last = now;
    const seconds = Math.max(0.001, (now - started) / 1000);
    const mb = bytes / 1e6;
    stream.write(`\r\x1b[2Kimages ${images}/${total}  ${mb.toFixed(1)} MB  ${(mb / seconds).toFixed(1)} MB/s`);
  };
  return {
    onProgress(event) {
      if (event.kind === "bytes") bytes += event.bytes;
      else images++;
      draw(event.kind === "image");
    },
    done() {
      stream.write("\r\x1b[2K");
    },
  };
}

/** `1 image`, `2 images`. */
export const count = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? "" : "s"}`;

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}
