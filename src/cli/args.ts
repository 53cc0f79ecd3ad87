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

/**
 * `--build-arg NAME=VALUE`, or `--build-arg NAME` for the value of NAME in the environment, as
 * docker build takes it (an unset NAME passes nothing, so the ARG keeps its default).
 */
export function parseBuildArgs(values: string[], env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf("=");
    const name = eq === -1 ? value : value.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new BasewarmError("USAGE", `--build-arg ${JSON.stringify(value)}: want NAME=VALUE, or NAME to take its value from the environment`);
    const given = eq === -1 ? env[name] : value.slice(eq + 1);
    if (given !== undefined) out[name] = given;
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
