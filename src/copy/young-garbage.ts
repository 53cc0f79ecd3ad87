import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/**
 * Why a copy asks V8 for garbage collections. Every socket read hands Node a fresh 64 KiB buffer
 * that is dead as soon as it has been hashed and written on, but its memory comes back only when V8
 * collects the young generation — and a copy makes so little JavaScript garbage that it seldom
 * does. Measured on a 1 GiB copy: 32–38 MiB of dead buffers at the peak on Node 20 and 65–67 MiB on
 * Node 24. So, for every SCAVENGE_EVERY bytes moved (all transfers of the process together), we
 * ask for a young-generation collection: with almost nothing alive it takes well under a
 * millisecond, and the dead buffers at the peak fell to 13–14 MiB on both. Starting Node with
 * `--max-semi-space-size=1` would do less (it also slows start-up); no library does this.
 */
const SCAVENGE_EVERY = 4 * 1024 * 1024;

type Collect = (options: { type: "minor" }) => void;

let movedSinceCollection = 0;
/** Undefined until first needed; null when this Node refused to expose its collector. */
let collect: Collect | null | undefined;

function collector(): Collect | null {
  if (collect !== undefined) return collect;
  try {
    // The flag only affects contexts created after it is set: this one, not the program's own. It
    // is unset at once: V8 flags are part of what a code cache must match (src/cli/program-loader.ts),
    // so a cache saved after a copy would otherwise be refused by every later run.
    setFlagsFromString("--expose-gc");
    const gc: unknown = runInNewContext("gc");
    setFlagsFromString("--no-expose-gc");
    collect = typeof gc === "function" ? (gc as Collect) : null;
  } catch {
    collect = null; // the copy still works, holding more memory
  }
  return collect;
}

/** Count bytes that went through a transfer; collects the young generation every SCAVENGE_EVERY. */
export function bytesMoved(bytes: number): void {
  movedSinceCollection += bytes;
  if (movedSinceCollection < SCAVENGE_EVERY) return;
  movedSinceCollection = 0;
  collector()?.({ type: "minor" });
}
