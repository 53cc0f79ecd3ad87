/**
 * The run's door to the catalog: the loaded config becomes the catalog's typed source, and
 * Dockerfiles are read through one size-capped reader.
 */
import { realpathSync } from "node:fs";
import { resolve } from "node:path";
import { expandCatalog, loadCatalog, type Catalog, type CatalogSource } from "../catalog/index.js";
import type { LoadedConfig } from "../config/index.js";
import type { ExtractOptions } from "../dockerfile/index.js";
import { readRegularFile } from "../files/index.js";

/** Real Dockerfiles are a few KiB; this bounds memory and time for anything handed to us by mistake. */
export const MAX_DOCKERFILE_BYTES = 4 * 1024 * 1024;

export function readDockerfile(path: string): Buffer {
  return readRegularFile(path, { what: "Dockerfile", maxBytes: MAX_DOCKERFILE_BYTES, hint: "check the path" });
}

export function catalogSource(loaded: LoadedConfig): CatalogSource {
  const { config } = loaded;
  return {
    origin: loaded.path,
    ...(loaded.lineOf === undefined ? {} : { entryLine: (index: number) => loaded.lineOf?.(["catalog", index]) }),
    dir: loaded.dir,
    entries: config.catalog,
    images: config.images,
    target: config.target,
    platforms: config.mirror.platforms,
    readFile: readDockerfile,
  };
}

export function catalogOf(loaded: LoadedConfig): Catalog {
  return loadCatalog(catalogSource(loaded));
}

/** The flags a command takes for one Dockerfile (`rewrite`, `buildkit-config DOCKERFILE`). */
export interface DockerfileFlags {
  buildArgs: Record<string, string>;
  target?: string;
  platform?: string;
}

/**
 * How the run reads a Dockerfile given on the command line: when exactly one catalog entry builds
 * it, that entry's build args, target and first platform (as its admin build reads it), each
 * overridden by the flags given; and the platforms it is built for.
 * So a preview resolves `FROM node:${NODE_VERSION}` as the run does, without repeating the args.
 */
export function dockerfileOptions(loaded: LoadedConfig, path: string, flags: DockerfileFlags): { options: ExtractOptions; platforms: string[] } {
  const real = (file: string) => {
    try {
      return realpathSync(file);
    } catch {
      return resolve(file);
    }
  };
  const wanted = real(path);
  const matches = expandCatalog(catalogSource(loaded)).entries.filter((entry) => real(entry.dockerfile) === wanted);
  const entry = matches.length === 1 ? matches[0] : undefined;
  const target = flags.target ?? entry?.target;
  // The admin build reads the Dockerfile for its entry's first platform, and builds for all of them.
  const platform = flags.platform ?? entry?.platforms[0];
  return {
    options: {
      file: path,
      buildArgs: { ...entry?.buildArgs, ...flags.buildArgs },
      ...(target === undefined ? {} : { target }),
      ...(platform === undefined ? {} : { platform }),
    },
    platforms: flags.platform !== undefined ? [flags.platform] : (entry?.platforms ?? []),
  };
}
