/**
 * The catalog: which Dockerfiles basewarm keeps warm and which extra images it mirrors, turned
 * into the deduplicated set of source references with every place that uses them.
 */
import { existsSync, statSync } from "node:fs";
import { basename, dirname, relative, sep } from "node:path";
import type { CatalogEntryConfig, ImageEntryConfig } from "../config/index.js";
import { BasewarmError, errorMessage, type ErrorCode } from "../errors.js";
import { resolvePath } from "../files/index.js";
import { extractImages, type ImageUse } from "../dockerfile/index.js";
import { formatPlatform, tryParsePlatform } from "../oci/index.js";
import { cacheReference, type MirrorTarget } from "../naming/index.js";
import { parseReference, type Reference } from "../reference/index.js";
import { globFiles, hasGlob } from "./glob.js";

/** What the catalog is made from: the config's typed entries, where they are, and how to read a file. */
export interface CatalogSource {
  /** The config file, for messages: `<file>:<line>: catalog[2]`. */
  origin: string;
  /** The config line of a catalog entry, when known. */
  entryLine?: (index: number) => number | undefined;
  /** Directory that relative paths in the entries are resolved against. */
  dir: string;
  entries: CatalogEntryConfig[];
  images: ImageEntryConfig[];
  target: MirrorTarget;
  /** `mirror.platforms`: what to copy of each image unless an image entry says otherwise. */
  platforms: string[];
  /** Reads a Dockerfile (size-capped, regular files only); throws BasewarmError. */
  readFile: (path: string) => Uint8Array;
}


export interface CatalogEntry {
  name: string;
  /** Absolute path of the Dockerfile. */
  dockerfile: string;
  context: string;
  buildArgs: Record<string, string>;
  target?: string;
  platforms: string[];
  /** Cache repository in the mirror (no tag), e.g. `mirror:5000/cache/api`. */
  cache: Reference;
  build: boolean;
  /** Where in the config this entry came from, for messages: `catalog[2]`. */
  origin: string;
}

export type ImageUseSite =
  | { kind: "dockerfile"; entry: string; file: string; line: number; use: ImageUse["kind"]; stage?: string; platform?: string }
  | { kind: "config"; origin: string }
  /** Pulled by an ONBUILD trigger of a mirrored image: origin is "ONBUILD of IMAGE". */
  | { kind: "onbuild"; origin: string; trigger: number };

export interface ImageNeed {
  reference: Reference;
  /** Platforms to copy (empty: all). */
  platforms: string[];
  sites: ImageUseSite[];
}

export interface CatalogProblem {
  origin: string;
  entry?: string;
  code: ErrorCode;
  message: string;
}

export interface Catalog {
  entries: CatalogEntry[];
  /** Keyed by normalized reference string. */
  images: Map<string, ImageNeed>;
  /** Per-entry problems (bad Dockerfile, no match); the rest of the catalog stays usable. */
  problems: CatalogProblem[];
  /** Images each entry needs, by entry name (normalized reference strings). */
  entryImages: Map<string, ImageUse[]>;
}

function entryName(configDir: string, dockerfile: string): string {
  const rel = relative(configDir, dockerfile).split(sep).join("/");
  const dir = dirname(rel);
  const file = basename(rel).replace(/^Dockerfile\.?/i, "").replace(/\.?Dockerfile$/i, "");
  const raw = [dir === "." ? "" : dir, file].filter(Boolean).join("-") || "root";
  return raw.toLowerCase().replace(/[^a-z0-9_.-]+/g, "-").replace(/^[^a-z0-9]+/, "").replace(/-+$/, "") || "root";
}

/**
 * A glob's literal folders and the pattern below them: for `/etc/dockerfiles/{api,web}/Dockerfile`
 * the walk starts at /etc/dockerfiles, for `../shared/{a,b}/Dockerfile` at ../shared. Walking only
 * the literal base lets a pattern name folders outside the config's, and keeps the walk small.
 */
function globBase(pattern: string): { base: string; rest: string } {
  const parts = pattern.split("/");
  const firstGlob = parts.findIndex((part) => hasGlob(part));
  const base = parts.slice(0, firstGlob).join("/");
  return { base: base === "" && pattern.startsWith("/") ? "/" : base === "" ? "." : base, rest: parts.slice(firstGlob).join("/") };
}

/** Expand the config's catalog into concrete entries (globs resolved); problems are collected. */
export function expandCatalog(source: CatalogSource): { entries: CatalogEntry[]; problems: CatalogProblem[] } {
  const { dir } = source;
  const entries: CatalogEntry[] = [];
  const problems: CatalogProblem[] = [];
  const names = new Set<string>();
  source.entries.forEach((item, index) => {
    const line = source.entryLine?.(index);
    const origin = `${source.origin}${line === undefined ? "" : `:${line}`}: catalog[${index}]`;
    let files: string[];
    if (hasGlob(item.dockerfile)) {
      const { base, rest } = globBase(item.dockerfile);
      const baseDir = resolvePath(dir, base);
      // A literal folder that is not there matches nothing: "no file matches" below says so.
      const found = existsSync(baseDir) ? globFiles(baseDir, rest) : { files: [], skipped: [] };
      files = found.files;
      for (const skipped of found.skipped) problems.push({ origin, code: "FILE_UNREADABLE", message: `${origin}.dockerfile: ${skipped}` });
    } else {
      files = [resolvePath(dir, item.dockerfile)];
    }
    if (files.length === 0) {
      problems.push({ origin, code: "FILE_NOT_FOUND", message: `${origin}.dockerfile: no file matches ${JSON.stringify(item.dockerfile)} (relative to ${dir})` });
      return;
    }
    for (const file of files) {
      if (!existsSync(file) || !statSync(file).isFile()) {
        problems.push({ origin, code: "FILE_NOT_FOUND", message: `${origin}.dockerfile: ${file} does not exist; fix the path (relative to ${dir})` });
        continue;
      }
      const name = item.name !== undefined && files.length === 1 ? item.name : item.name !== undefined ? `${item.name}-${entryName(dir, file)}` : entryName(dir, file);
      if (names.has(name)) {
        problems.push({ origin, entry: name, code: "CONFIG_INVALID", message: `${origin}: entry name ${JSON.stringify(name)} is used twice; give the entries distinct names` });
        continue;
      }
      names.add(name);
      const context = item.context !== undefined ? resolvePath(dir, item.context) : dirname(file);
      if (!existsSync(context) || !statSync(context).isDirectory()) {
        problems.push({ origin, entry: name, code: "FILE_NOT_FOUND", message: `${origin}.context: ${context} is not a directory` });
        continue;
      }
      let cache: Reference;
      try {
        cache = cacheReference(item.cache ?? name, source.target);
      } catch (err) {
        problems.push({ origin, entry: name, code: "CONFIG_INVALID", message: `${origin}.cache: ${errorMessage(err)}` });
        continue;
      }
      entries.push({
        name,
        dockerfile: file,
        context,
        buildArgs: item.buildArgs,
        ...(item.target === undefined ? {} : { target: item.target }),
        platforms: item.platforms,
        cache,
        build: item.build,
        origin,
      });
    }
  });
  return { entries, problems };
}

/** One image use of an entry, with every platform it is pulled for over the entry's platforms. */
export interface EntryUse extends ImageUse {
  /** The `FROM --platform` values it is pulled for, normalized (`linux` → `linux/amd64`); empty without the flag. */
  pulledFor: string[];
}

/** The images one entry's Dockerfile pulls, over all of the entry's platforms. */
export function entryImageUses(entry: CatalogEntry, content: string | Uint8Array): EntryUse[] {
  const bytes = content;
  const platforms = entry.platforms.length > 0 ? entry.platforms : [undefined];
  const byKey = new Map<string, EntryUse>();
  for (const platform of platforms) {
    const uses = extractImages(bytes, {
      file: entry.dockerfile,
      buildArgs: entry.buildArgs,
      ...(entry.target === undefined ? {} : { target: entry.target }),
      ...(platform === undefined ? {} : { platform }),
    });
    for (const use of uses) {
      // One use per line and image, but `FROM --platform=$TARGETPLATFORM` is pulled for each platform.
      const key = `${use.normalized}|${use.line}|${use.kind}`;
      const known = byKey.get(key) ?? { ...use, pulledFor: [] };
      byKey.set(key, known);
      const pulled = use.platform === undefined ? undefined : tryParsePlatform(use.platform);
      if (pulled !== undefined && typeof pulled !== "string") {
        const text = formatPlatform(pulled);
        if (!known.pulledFor.includes(text)) known.pulledFor.push(text);
      }
    }
  }
  return [...byKey.values()];
}

/**
 * The platforms to copy of an image: a digest reference names exact content, which a filtered
 * copy (a new index, a new digest) could not satisfy, so it is mirrored whole.
 */
export function platformsToMirror(reference: Reference, platforms: readonly string[]): string[] {
  return reference.digest === undefined ? [...platforms] : [];
}

/**
 * Under a `mirror.platforms` filter, an image a Dockerfile pulls must still hold the platform it
 * is pulled for: its `FROM --platform`, else the entry's platforms. Otherwise an entry building for
 * linux/arm64 under a linux/amd64 filter would get a mirror copy without arm64, and fail.
 */
function platformsForUse(filter: readonly string[], entry: CatalogEntry, use: EntryUse): string[] {
  if (filter.length === 0) return [];
  return [...new Set([...filter, ...(use.pulledFor.length > 0 ? use.pulledFor : entry.platforms)])];
}

export function loadCatalog(source: CatalogSource): Catalog {
  const { entries, problems } = expandCatalog(source);
  const images = new Map<string, ImageNeed>();
  const entryImages = new Map<string, ImageUse[]>();
  const need = (reference: Reference, wanted: string[], site: ImageUseSite) => {
    const platforms = platformsToMirror(reference, wanted);
    const key = reference.toString();
    let item = images.get(key);
    if (!item) {
      item = { reference, platforms: [...new Set(platforms)], sites: [] };
      images.set(key, item);
    } else if (item.platforms.length > 0) {
      // Any user wanting all platforms wins; otherwise the union.
      item.platforms = platforms.length === 0 ? [] : [...new Set([...item.platforms, ...platforms])];
    }
    item.sites.push(site);
  };
  const globalPlatforms = source.platforms;
  const usable: CatalogEntry[] = [];
  for (const entry of entries) {
    try {
      const uses = entryImageUses(entry, source.readFile(entry.dockerfile));
      entryImages.set(entry.name, uses);
      for (const use of uses) {
        need(use.reference, platformsForUse(globalPlatforms, entry, use), {
          kind: "dockerfile", entry: entry.name, file: entry.dockerfile, line: use.line, use: use.kind,
          ...(use.stage === undefined ? {} : { stage: use.stage }),
          ...(use.platform === undefined ? {} : { platform: use.platform }),
        });
      }
      usable.push(entry);
    } catch (err) {
      problems.push({ origin: entry.origin, entry: entry.name, code: err instanceof BasewarmError ? err.code : "DOCKERFILE_INVALID", message: errorMessage(err) });
    }
  }
  source.images.forEach((item, index) => {
    const ref = typeof item === "string" ? item : item.ref;
    const platforms = typeof item === "string" ? globalPlatforms : (item.platforms ?? globalPlatforms);
    need(parseReference(ref), platforms, { kind: "config", origin: `images[${index}]` });
  });
  return { entries: usable, images, problems, entryImages };
}
