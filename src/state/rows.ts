/** Database rows to records, for every backend (same column names; PostgreSQL's BIGINTs arrive as strings). */
import { shardFromColumns } from "./locks.js";
import type { BuildRecord, ImageRow, RunOutcome, RunRow, RunTrigger } from "./types.js";

export type Row = Record<string, unknown>;

export function nullableString(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

export function runFromRow(r: Row): RunRow {
  return {
    id: Number(r["id"]),
    startedAt: String(r["started_at"]),
    endedAt: nullableString(r["ended_at"]),
    trigger: r["trigger"] as RunTrigger,
    outcome: r["outcome"] as RunOutcome,
    summary: r["summary"] === null || r["summary"] === undefined ? null : (JSON.parse(String(r["summary"])) as unknown),
    shard: shardFromColumns(r["shard_index"], r["shard_count"]),
  };
}

export function buildFromRow(row: Row): BuildRecord {
  return {
    entry: String(row["entry"]),
    inputsHash: String(row["inputs_hash"]),
    builder: String(row["builder"]),
    builderVersion: String(row["builder_version"]),
    cacheRef: String(row["cache_ref"]),
    durationMs: Number(row["duration_ms"]),
    outcome: row["outcome"] as BuildRecord["outcome"],
    reason: String(row["reason"]),
    logTail: String(row["log_tail"]),
    cacheHitRatio: row["cache_hit_ratio"] === null ? null : Number(row["cache_hit_ratio"]),
    startedAt: String(row["started_at"]),
    runId: Number(row["run_id"]),
  };
}

export function imageFromRow(row: Row): ImageRow {
  return {
    runId: row["run_id"] === null ? null : Number(row["run_id"]),
    source: String(row["source"]),
    target: String(row["target"]),
    digest: nullableString(row["digest"]),
    bytes: Number(row["bytes"]),
    status: row["status"] as ImageRow["status"],
    error: nullableString(row["error"]),
    at: String(row["at"]),
  };
}
