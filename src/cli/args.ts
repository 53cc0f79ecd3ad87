/** Argument parsing shared by commands: pure, and cheap to import (no core modules). */
import { BasewarmError } from "../errors.js";

export interface Shard {
  index: number;
  count: number;
}

export function parseShard(value: string | undefined): Shard | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+)\/(\d+)$/.exec(value);
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || count < 1 || index >= count) throw new BasewarmError("USAGE", `--shard ${JSON.stringify(value)}: want INDEX/COUNT with 0 ≤ INDEX < COUNT, e.g. 0/4`);
  return { index, count };
}

export function parseBuildArgs(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf("=");
    if (eq <= 0) throw new BasewarmError("USAGE", `--build-arg ${JSON.stringify(value)}: want NAME=VALUE`);
    out[value.slice(0, eq)] = value.slice(eq + 1);
  }
  return out;
}

/** Commander collector for repeatable options. */
export const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** `30m`, `6h`, `2d`, `90s`: a duration in milliseconds. */
export function parseDuration(option: string, value: string): number {
  const match = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(value.trim());
  if (!match) throw new BasewarmError("USAGE", `${option} ${JSON.stringify(value)}: want a duration like 90s, 30m, 6h or 2d`);
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as "s" | "m" | "h" | "d"];
  return Number(match[1]) * unit;
}
