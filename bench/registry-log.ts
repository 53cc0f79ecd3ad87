/**
 * What a test registry served, from its JSON log: request kinds and bytes written in responses.
 * testkit's requests() gives method and URI; the bench also wants response sizes, so it reads
 * the same log (the newest `registry-N.log` in the registry's directory).
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { RunningRegistry } from "../testkit/index.js";

export interface LogEntry {
  method: string;
  uri: string;
  status: number;
  written: number;
  /** When the registry finished the response (ms since the epoch) and how long it took (ms). */
  end: number;
  durationMs: number;
}

/** Go duration strings as the registry logs them: `11.4ms`, `1.2s`, `850µs`, `1m2.5s`. */
export function parseGoDuration(text: string): number {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, "µs": 1e-3, "us": 1e-3, ns: 1e-6 };
  let total = 0;
  for (const [, value, unit] of text.matchAll(/([\d.]+)(h|ms|m|s|µs|us|ns)/g)) total += Number(value) * (units[unit as string] ?? 0);
  return total;
}

async function logPath(registry: RunningRegistry): Promise<string> {
  const logs = (await readdir(registry.dir)).filter((f) => /^registry-\d+\.log$/.test(f));
  logs.sort((a, b) => Number(/\d+/.exec(a)?.[0]) - Number(/\d+/.exec(b)?.[0]));
  const last = logs.pop();
  if (!last) throw new Error(`no registry log in ${registry.dir}`);
  return join(registry.dir, last);
}

export async function readLog(registry: RunningRegistry): Promise<LogEntry[]> {
  // The registry logs after responding; let the last lines land.
  await new Promise((r) => setTimeout(r, 100));
  const out: LogEntry[] = [];
  for (const line of (await readFile(await logPath(registry), "utf8")).split("\n")) {
    if (!line.startsWith("{")) continue;
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (typeof e["msg"] !== "string" || !e["msg"].startsWith("response completed")) continue;
    out.push({
      method: String(e["http.request.method"]),
      uri: String(e["http.request.uri"]),
      status: Number(e["http.response.status"]),
      written: Number(e["http.response.written"] ?? 0),
      end: Date.parse(String(e["time"])),
      durationMs: parseGoDuration(String(e["http.response.duration"] ?? "")),
    });
  }
  return out;
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
