/**
 * Minimal glob for catalog paths: `*`, `?`, `**` and `{a,b}` over one directory tree.
 * Hand-written because Node 20 (still supported) has no fs.glob and the catalog needs only this.
 */
import { readdirSync } from "node:fs";
import { join, relative, sep } from "node:path";

export function hasGlob(pattern: string): boolean {
  return /[*?{[]/.test(pattern);
}

function toRegExp(pattern: string): RegExp {
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*") {
      if (pattern[i + 1] === "*") {
        // `**/` matches zero or more directories.
        out += pattern[i + 2] === "/" ? "(?:.*/)?" : ".*";
        i += pattern[i + 2] === "/" ? 2 : 1;
      } else {
        out += "[^/]*";
      }
    } else if (c === "?") {
      out += "[^/]";
    } else if (c === "{") {
      const end = pattern.indexOf("}", i);
      if (end === -1) {
        out += "\\{";
      } else {
        out += "(?:" + pattern.slice(i + 1, end).split(",").map((p) => p.replace(/[.+^$()|[\]\\]/g, "\\$&")).join("|") + ")";
        i = end;
      }
    } else {
      out += c.replace(/[.+^$()|[\]\\]/g, "\\$&");
    }
  }
  return new RegExp(`^${out}$`);
}

/** Files under `dir` matching `pattern` (relative, `/`-separated), sorted; skips node_modules and dot-dirs. */
export function globFiles(dir: string, pattern: string): string[] {
  const re = toRegExp(pattern);
  const out: string[] = [];
  const walk = (current: string, depth: number) => {
    if (depth > 32) return;
    let entries;
    try {
      entries = readdirSync(current, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = join(current, entry.name);
      if (entry.isDirectory()) {
        if (entry.name === "node_modules" || entry.name.startsWith(".")) continue;
        walk(full, depth + 1);
      } else if (entry.isFile()) {
        const rel = relative(dir, full).split(sep).join("/");
        if (re.test(rel)) out.push(full);
      }
    }
  };
  walk(dir, 0);
  return out.sort();
}
