export { StateStore, DEFAULT_LOCK_STALE_MS, LOG_TAIL_MAX } from "./store.js";
export type {
  BuildOutcome,
  BuildRecord,
  HistoryRow,
  ImageRecord,
  ImageRow,
  ImageStatus,
  LockHandle,
  LockOptions,
  Resolution,
  RunOutcome,
  RunRow,
  RunTrigger,
  StateOptions,
} from "./types.js";
