import { setFlagsFromString } from "node:v8";

/**
 * undici parses HTTP with llhttp compiled to WebAssembly. On Node 20, V8 then recompiles that module
 * with its optimizing compiler on a background thread, which a short command waits for at exit and
 * which holds ~30 MB. Keeping WebAssembly at V8's baseline compiler (Liftoff), measured here on
 * Node 20: a 24-image no-op 298 -> 250 ms, a 512 MiB copy's peak RSS 117 -> 85 MB at the same copy
 * speed (llhttp only finds the boundaries of bodies); on Node 24 neither changed. Set once, before
 * undici's first connection compiles llhttp: earlier, Node's own WebAssembly (its CommonJS lexer,
 * used while modules load) would run slower at start-up.
 */
let done = false;

export function keepWebAssemblyAtBaseline(): void {
  if (done) return;
  done = true;
  try {
    setFlagsFromString("--liftoff-only");
  } catch {
    // A Node that refuses the flag parses HTTP as it would anyway.
  }
}
