/**
 * Minimal glob for catalog paths: `*`, `?`, `**` and `{a,b}` over one directory tree.
 * Hand-written because Node 20 (still supported) has no fs.glob and the catalog needs only this.
 */
import { readdirSync, realpathSync, statSync } from "node:fs";
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

export interface GlobResult {
  /** Matching files, sorted. */
  files: string[];
  /** Folders that could not be read and symlink loops, as one-line reasons: never skipped silently. */
  skipped: string[];
}

/**
 * Files under `dir` matching `pattern` (relative, `/`-separated); skips node_modules and dot-dirs.
 * Symlinked files and folders are followed (as a build context would see them), each real folder
 * once, so a link back up the tree cannot loop.
 */
export function globFiles(dir: string, pattern: string): GlobResult {
  const re = toRegExp(pattern);
  const files: string[] = [];
  const skipped: string[] = [];
  const visited = new Set<string>();
  const walk = (current: string, depth: number) => {
    if (depth > 32) {
      skipped.push(`${current}: more than 32 folders deep; not searched`);
      return;
    }
    let real: string;
    let entries;
    try {
      real = realpathSync(current);
      entries = readdirSync(current, { withFileTypes: true });
    } catch (err) {
      skipped.push(`cannot read folder ${current} (${(err as { code?: string }).code ?? (err as Error).message}); check its permissions`);
      return;
    }
    if (visited.has(real)) {
      skipped.push(`${current} is a symlink loop (it leads back to ${real}); not searched twice`);
      return;
    }
    visited.add(real);
    for (const entry of entries) {
      const full = join(current, entry.name);
      let isDirectory = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        try {
          const target = statSync(full);
          isDirectory = target.isDirectory();
          isFile = target.isFile();
        } catch (err) {
          skipped.push(`${full} is a broken symlink (${(err as { code?: string }).code ?? "unreadable"})`);
          continue;
        }
      }
      if (isDirectory) {
        if (entry.name === "node_modules" || entry.name.startsWith(".")) continue;
        walk(full, depth + 1);
      } else if (isFile) {
        const rel = relative(dir, full).split(sep).join("/");
        if (re.test(rel)) files.push(full);
      }
    }
  };
  walk(dir, 0);
  return { files: files.sort(), skipped };
}
