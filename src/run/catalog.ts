/**
 * The run's door to the catalog: the loaded config becomes the catalog's typed source, and
 * Dockerfiles are read through one size-capped reader.
 */
import { loadCatalog, type Catalog, type CatalogSource } from "../catalog/index.js";
import type { LoadedConfig } from "../config/index.js";
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
