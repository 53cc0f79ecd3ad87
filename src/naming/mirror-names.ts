/**
 * Where things live in the mirror registry, as `Reference`s (never strings to split again):
 *
 * - a source image lands at
 *   `<target registry>/<prefix>/<source host as a path component>/<source repository>[:tag][@digest]`,
 *   e.g. docker.io/library/alpine:3.20 → mirror:5000/mirror/docker.io/library/alpine:3.20;
 * - a catalog entry's build cache lives at `<target registry>/<cachePrefix>/<cache name>`.
 *
 * The host becomes one path component. To keep the mapping injective (two sources never share a
 * target), every `-` in the host is doubled first and then the port colon becomes a single `-`:
 * `127.0.0.1:5000` → `127.0.0.1-5000`, `my-registry.io` → `my--registry.io`, and
 * `my-registry.io:443` → `my--registry.io-443`. Host labels cannot begin or end with `-` and ports
 * are digits, so a single `-` can only come from the colon. Hosts are lowercased (DNS is
 * case-insensitive). IPv6 literal hosts have no such encoding and are refused.
 *
 * Length: distribution/reference limits the repository path (host excluded) to 255 characters;
 * `repositoryPathProblem` is that one rule.
 */
import { BasewarmError } from "../errors.js";
import { Reference, repositoryPathProblem } from "../reference/index.js";

/** The mirror's side of the config (`target:`), as the schema has filled it in. */
export interface MirrorTarget {
  registry: string;
  prefix: string;
  cachePrefix: string;
}

export function hostPathComponent(host: string): string {
  if (host.startsWith("[")) {
    throw new BasewarmError("REF_INVALID", `registry host ${host} is an IPv6 literal; mirror it through a hostname instead`);
  }
  return host.toLowerCase().replace(/-/g, "--").replace(":", "-");
}

function joinPath(parts: string[]): string {
  return parts.map((p) => p.replace(/^\/+|\/+$/g, "")).filter(Boolean).join("/");
}

function checkedRepository(path: string, what: string, fix: string): string {
  const problem = repositoryPathProblem(path);
  if (problem !== undefined) throw new BasewarmError("REF_INVALID", `${what} ${JSON.stringify(path)} is not a valid repository name: ${problem}; ${fix}`);
  return path;
}

/** The mirror repository path for a source reference (no registry). */
export function mirrorRepository(source: Reference, target: Pick<MirrorTarget, "prefix">): string {
  return checkedRepository(joinPath([target.prefix, hostPathComponent(source.registry), source.repository]), `mirror repository for ${source.toString()}`, "use a shorter target.prefix");
}

/** The mirror reference for a source reference: same tag and digest, new registry and path. */
export function mirrorReference(source: Reference, target: Pick<MirrorTarget, "registry" | "prefix">): Reference {
  return new Reference({
    registry: target.registry,
    repository: mirrorRepository(source, target),
    ...(source.tag === undefined ? {} : { tag: source.tag }),
    ...(source.digest === undefined ? {} : { digest: source.digest }),
  });
}

/**
 * Where an image lands, as the state records it. A digest names the content: `name:tag@digest` is
 * mirrored by digest alone, never under the tag (BuildKit ignores that tag too), so a stale pin
 * beside `name:tag` cannot move the mirror's tag back and forth from run to run.
 */
export function mirrorTarget(source: Reference, target: Pick<MirrorTarget, "registry" | "prefix">): Reference {
  const mirrored = mirrorReference(source, target);
  return mirrored.digest === undefined ? mirrored : mirrored.pinned(mirrored.digest);
}

/** The repository (no tag) holding a catalog entry's build cache. */
export function cacheReference(cacheName: string, target: Pick<MirrorTarget, "registry" | "cachePrefix">): Reference {
  const repository = checkedRepository(joinPath([target.cachePrefix, cacheName]), "cache repository", "check target.cachePrefix and the entry's cache name");
  return new Reference({ registry: target.registry, repository });
}
