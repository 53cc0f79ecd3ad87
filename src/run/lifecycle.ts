/**
 * The life of a run around its work: the cross-process lock with its heartbeat, and cleanup steps
 * that all run whatever happened before them (a full disk must not leave a lock row, an open
 * client or a credentials file behind because an earlier step threw).
 */
import { BasewarmError, errorMessage } from "../errors.js";
import type { Logger } from "../log/index.js";
import { shardName, type Shard, type StateStore } from "../state/index.js";

/** How often a holder proves it is alive; the lock is presumed dead after 10 minutes without. */
const HEARTBEAT_MS = 30_000;

export type CleanupStep = readonly [what: string, step: () => void | Promise<void>];

/**
 * Run every step in order even when one throws; failures are logged with what they were.
 * Returns the first failure (undefined when all succeeded) so the caller decides whether it matters.
 */
export async function cleanUp(steps: readonly CleanupStep[], logger: Logger): Promise<unknown> {
  let first: unknown;
  for (const [what, step] of steps) {
    try {
      await step();
    } catch (err) {
      logger.error({ error: errorMessage(err) }, `cleanup failed: ${what}`);
      first ??= err;
    }
  }
  return first;
}

export interface LockedOptions {
  /** For messages: where the state lives. */
  stateLabel: string;
  logger: Logger;
  /** The caller's stop signal (SIGTERM); the work also stops when the lock is lost. */
  signal?: AbortSignal;
  heartbeatMs?: number;
  /** Lock only this shard: other shards of the same partition may run meanwhile. */
  shard?: Shard;
}

/**
 * Take the run lock, keep it alive while `work` runs, and release it afterwards. The work gets a
 * signal that aborts on the caller's stop or when another process took the lock over (this one
 * looked dead or stale): it must then stop starting new work.
 */
export async function withRunLock<T>(state: StateStore, options: LockedOptions, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const { logger } = options;
  const lock = await state.acquireLock(options.shard ? { shard: options.shard } : {});
  if (!lock) {
    const what = options.shard ? `shard ${shardName(options.shard)} (or an overlapping full run or shard)` : "the lock";
    throw new BasewarmError("LOCKED", `another run or mirror holds ${what} in ${options.stateLabel}; wait for it to finish (a lock left by a dead process is taken over automatically)`);
  }
  const lost = new AbortController();
  const heartbeat = setInterval(() => {
    lock.heartbeat().then((held) => {
      if (!held) {
        logger.error({ state: options.stateLabel }, "the run lock was taken over by another process; stopping this run");
        lost.abort();
      }
    }, (err: unknown) => {
      logger.error({ error: errorMessage(err) }, "cannot refresh the run lock; stopping this run");
      lost.abort();
    });
  }, options.heartbeatMs ?? HEARTBEAT_MS);
  heartbeat.unref();
  const signal = options.signal ? AbortSignal.any([options.signal, lost.signal]) : lost.signal;
  try {
    return await work(signal);
  } finally {
    clearInterval(heartbeat);
    const failed = await cleanUp([["release the run lock", () => lock.release()]], logger);
    if (failed !== undefined) logger.error({ state: options.stateLabel }, "the run lock could not be released; the next run takes it over once this process has exited");
  }
}
