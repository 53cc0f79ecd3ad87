export { StateStore, type StateOptions, type RunTrigger, type RunOutcome, type ImageStatus, type RunRow, type ImageRow, type BuildRecord, type LockHandle, type HistoryRow } from "./store.js";
