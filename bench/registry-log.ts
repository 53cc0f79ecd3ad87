/**
 * What a test registry served, from testkit's reading of its JSON log: request kinds and the
 * bytes written in responses.
 */
import type { RegistryRequest, RunningRegistry } from "../testkit/index.js";

export type LogEntry = RegistryRequest;

export function readLog(registry: RunningRegistry): Promise<LogEntry[]> {
  return registry.requestLog();
}

/** A mark in a registry's log; entriesSince(mark) gives what came after. */
export async function logMark(registry: RunningRegistry): Promise<number> {
  return (await readLog(registry)).length;
}

export async function entriesSince(registry: RunningRegistry, mark: number): Promise<LogEntry[]> {
  return (await readLog(registry)).slice(mark);
}

/** `HEAD manifest`, `PUT upload`, `POST mount`…: what a request was, for profiles. */
export function requestKind(entry: LogEntry): string {
  const path = entry.uri.split("?")[0] ?? "";
  if (path === "/v2/" || path === "/v2") return `${entry.method} /v2/`;
  if (/\/blobs\/uploads\//.test(path)) return entry.method === "POST" && entry.uri.includes("mount=") ? "POST mount" : `${entry.method} upload`;
  if (/\/blobs\//.test(path)) return `${entry.method} blob`;
  if (/\/manifests\//.test(path)) return `${entry.method} manifest`;
  if (/\/tags\/list/.test(path)) return `${entry.method} tags`;
  return `${entry.method} other`;
}

export function profile(entries: LogEntry[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of entries) {
    const kind = requestKind(e);
    out[kind] = (out[kind] ?? 0) + 1;
  }
  return out;
}

export function bytesServed(entries: LogEntry[]): number {
  return entries.reduce((sum, e) => sum + (Number.isFinite(e.written) ? e.written : 0), 0);
}
