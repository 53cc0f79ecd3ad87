import { readFileSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import { describe, expect, it } from "vitest";
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node } from "yaml";
import { configSchema, parseConfig } from "../../src/config/index.js";

const EXAMPLE = "config/basewarm.example.yaml";
/** Sections whose values are the user's own (hosts, images): nothing there has a default to show. */
const USERS_OWN = new Set(["registries", "images"]);

interface Leaf { path: (string | number)[]; value: unknown; line: string }

/** Every scalar or list value of the example with the text of its line (for its comment). */
function leavesOf(text: string): Leaf[] {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter });
  const lines = text.split("\n");
  const out: Leaf[] = [];
  const walk = (node: Node | null | undefined, path: (string | number)[]) => {
    if (isMap(node) && !node.flow) {
      for (const pair of node.items) if (isPair(pair) && isScalar(pair.key)) walk(pair.value as Node, [...path, String(pair.key.value)]);
    } else if (isSeq(node) && !node.flow) {
      node.items.forEach((item, i) => walk(item as Node, [...path, i]));
    } else if (node?.range) {
      out.push({ path, value: (node as { toJSON(): unknown }).toJSON(), line: lines[counter.linePos(node.range[0]).line - 1] ?? "" });
    }
  };
  walk(doc.contents as Node, []);
  return out;
}

function at(value: unknown, path: (string | number)[]): unknown {
  return path.reduce<unknown>((v, key) => (v === null || typeof v !== "object" ? undefined : (v as Record<string | number, unknown>)[key]), value);
}

/** The keys of a zod object, through the default/prefault/optional wrappers around it. */
function keysOf(schema: unknown): string[] {
  let s = schema as { shape?: Record<string, unknown>; _zod?: { def: { innerType?: unknown; element?: unknown } } } | undefined;
  for (let i = 0; i < 5 && s && !s.shape; i++) s = (s._zod?.def.innerType ?? s._zod?.def.element) as typeof s;
  return Object.keys(s?.shape ?? {});
}

describe("the example config", () => {
  const text = readFileSync(EXAMPLE, "utf8");
  // What the program takes when a key is left out, read from the schema itself.
  const defaults = parseConfig("target: { registry: x.example }\nschedule: { cron: \"0 * * * *\" }\ncatalog: [{ dockerfile: D }]\n", "/x.yaml").config;

  it("shows each default as the program has it, or says in the line's comment that the value is an example", () => {
    const wrong = leavesOf(text)
      .filter((leaf) => !USERS_OWN.has(String(leaf.path[0])))
      .filter((leaf) => !/#.*\b(default:|required)/.test(leaf.line))
      .filter((leaf) => !isDeepStrictEqual(leaf.value, at(defaults, leaf.path)))
      .map((leaf) => `${leaf.path.join(".")}: example ${JSON.stringify(leaf.value)}, default ${JSON.stringify(at(defaults, leaf.path))}`);
    expect(wrong).toEqual([]);
  });

  it("names every key the config takes, set or commented out", () => {
    const shape = configSchema.shape;
    const missing: string[] = [];
    const named = (key: string) => new RegExp(`^\\s*(- )?#? ?${key}:`, "m").test(text) || new RegExp(`[{,] ?${key}:`).test(text);
    for (const top of Object.keys(shape)) {
      if (!named(top)) missing.push(top);
      if (USERS_OWN.has(top)) continue;
      for (const key of keysOf(shape[top as keyof typeof shape])) if (!named(key)) missing.push(`${top}.${key}`);
    }
    expect(missing).toEqual([]);
  });
});
