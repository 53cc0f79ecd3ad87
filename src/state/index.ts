export { DEFAULT_LOCK_STALE_MS, type StateStore } from "./store.js";
export { LOG_TAIL_MAX } from "./checks.js";
export { openStateStore, type OpenStateOptions } from "./open.js";
export { SqliteStateStore } from "./sqlite.js";
export { parseStateSetting, type StateLocation, type PostgresLocation } from "./setting.js";
export { shardName, shardsConflict } from "./locks.js";
export type {
  BuildOutcome,
  BuildRecord,
  HistoryRow,
  ImageRecord,
  ImageRow,
  ImageStatus,
  LockHandle,
  LockOptions,
  BlobLocation,
  MirroredImage,
  Resolution,
  RunOutcome,
  RunRow,
  RunTrigger,
  Shard,
  StateOptions,
} from "./types.js";
