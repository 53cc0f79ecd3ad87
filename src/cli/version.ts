/**
 * basewarm's version, from its package.json: the nearest one above this module named "basewarm"
 * (the module runs from src/ under tests, from dist/src/ when built, and from the image's /app).
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export function basewarmVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: unknown; version?: unknown };
      if (pkg.name === "basewarm" && typeof pkg.version === "string") return pkg.version;
    } catch {
      // No package.json here (or not ours): look one level up.
    }
    dir = dirname(dir);
  }
  return "unknown";
}
