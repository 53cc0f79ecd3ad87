/**
 * Work to do however the process ends, even by `process.exit` on a second SIGTERM: remove a temp
 * folder, kill a builder's process group. One `exit` listener serves them all, so any number of
 * hooks never trips Node's listener warning. Hooks must be synchronous (nothing else runs at exit).
 * They run newest first, as cleanups unwind: a builder started in a temp folder is killed before
 * the folder is removed. The other way round, a second SIGTERM during a buildah build left the
 * storage behind: buildah was still writing into it while it was removed (ENOTEMPTY).
 */
const hooks = new Set<() => void>();

function runHooks(): void {
  for (const hook of [...hooks].reverse()) {
    try {
      hook();
    } catch {
      // Exiting anyway: one failed cleanup must not stop the others.
    }
  }
  hooks.clear();
}

/** Run `hook` at exit; the returned function unregisters it (call it once the work is cleaned up). */
export function atExit(hook: () => void): () => void {
  if (hooks.size === 0) process.once("exit", runHooks);
  hooks.add(hook);
  return () => {
    hooks.delete(hook);
    if (hooks.size === 0) process.off("exit", runHooks);
  };
}
