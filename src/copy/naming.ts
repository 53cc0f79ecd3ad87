/**
 * Where a source image lands in the mirror:
 *   <target registry>/<prefix>/<source host as a path component>/<source repository>[:tag][@digest]
 * e.g. docker.io/library/alpine:3.20 → mirror:5000/mirror/docker.io/library/alpine:3.20.
 *
 * The host becomes one path component. To keep the mapping injective (two sources never share a
 * target), every `-` in the host is doubled first and then the port colon becomes a single `-`:
 * `127.0.0.1:5000` → `127.0.0.1-5000`, `my-registry.io` → `my--registry.io`, and
 * `my-registry.io:443` → `my--registry.io-443`. Host labels cannot begin or end with `-` and ports
 * are digits, so a single `-` can only come from the colon. Hosts are lowercased (DNS is
 * case-insensitive). IPv6 literal hosts have no such encoding and are refused.
 */
import { BasewarmError } from "../errors.js";
import { isValidRepositoryPath, Reference } from "../reference/index.js";

export interface TargetConfig {
  registry: string;
  prefix?: string;
}

export function hostPathComponent(host: string): string {
  if (host.startsWith("[")) {
    throw new BasewarmError("REF_INVALID", `registry host ${host} is an IPv6 literal; mirror it through a hostname instead`);
  }
  return host.toLowerCase().replace(/-/g, "--").replace(":", "-");
}

export function targetRepository(source: Reference, target: TargetConfig): string {
  const prefix = (target.prefix ?? "").replace(/^\/+|\/+$/g, "");
  const path = [prefix, hostPathComponent(source.registry), source.repository].filter(Boolean).join("/");
  if (!isValidRepositoryPath(path)) {
    throw new BasewarmError("REF_INVALID", `mirror repository ${JSON.stringify(path)} for ${source.toString()} is not a valid repository name; check target.prefix`);
  }
  if (target.registry.length + 1 + path.length > 255) {
    throw new BasewarmError("REF_INVALID", `mirror name for ${source.toString()} is longer than 255 characters; use a shorter target.prefix`);
  }
  return path;
}

/** The mirror reference for a source reference: same tag and digest, new registry and path. */
export function targetReference(source: Reference, target: TargetConfig): Reference {
  return new Reference({
    registry: target.registry,
    repository: targetRepository(source, target),
    ...(source.tag === undefined ? {} : { tag: source.tag }),
    ...(source.digest === undefined ? {} : { digest: source.digest }),
  });
}
