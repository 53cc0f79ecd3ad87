/**
 * `basewarm buildkit-config`: from the catalog and what the mirror holds, the three ways to send a
 * builder's pulls to the mirror without editing a Dockerfile — `buildkitd.toml` mirrors, a source
 * policy, named build contexts. Only held images are redirected; the rest are listed with a reason.
 * The images the held bases' ONBUILD triggers pull count as needs too.
 */
import { platformsToMirror, type Catalog } from "../catalog/index.js";
import type { Config } from "../config/index.js";
import { extractImages, type ExtractOptions } from "../dockerfile/index.js";
import type { RegistryClient } from "../registry/index.js";
import { buildContextArgs } from "./build-contexts.js";
import { mirrorHoldings, type LeftOutReason, type RedirectNeed } from "./holdings.js";
import { mirrorsToml, plainHttpHost } from "./mirrors-toml.js";
import { onbuildNeeds } from "./onbuild-needs.js";
import { sourcePolicy } from "./source-policy.js";

export const BUILDKIT_CONFIG_FORMATS = ["mirrors", "source-policy", "build-contexts"] as const;
export type BuildkitConfigFormat = (typeof BUILDKIT_CONFIG_FORMATS)[number];

export interface BuildkitConfigInput {
  format: BuildkitConfigFormat;
  config: Config;
  catalog: Catalog;
  client: RegistryClient;
  /** Limit to one Dockerfile's images (required for build-contexts). */
  dockerfile?: { content: Uint8Array; options: ExtractOptions };
}

export interface BuildkitConfigResult {
  format: BuildkitConfigFormat;
  /** What to hand the builder: TOML, JSON or one argument pair per line. */
  text: string;
  redirected: { ref: string; upstreamDigest: string; mirror: string }[];
  leftOut: { ref: string; reason: LeftOutReason; message: string; code?: string }[];
  /** Catalog problems (unreadable Dockerfiles…): their images are unknown, so also not redirected. */
  problems: string[];
}

export async function buildkitConfig(input: BuildkitConfigInput): Promise<BuildkitConfigResult> {
  const { config, catalog, format } = input;
  const uses = input.dockerfile ? extractImages(input.dockerfile.content, input.dockerfile.options) : undefined;
  const needs: RedirectNeed[] = uses
    ? [...new Map(uses.map((use) => [use.normalized, { reference: use.reference, platforms: catalog.images.get(use.normalized)?.platforms ?? platformsToMirror(use.reference, config.mirror.platforms) }])).values()]
    : [...catalog.images.values()].map((need) => ({ reference: need.reference, platforms: need.platforms }));
  const holdings = await mirrorHoldings(needs, config.target, input.client);
  // One level, as the warm run mirrors them: what the held bases' ONBUILD triggers pull.
  const onbuild = await onbuildNeeds(holdings.held, needs, input.client);
  if (onbuild.needs.length > 0) {
    const more = await mirrorHoldings(onbuild.needs, config.target, input.client);
    holdings.held.push(...more.held);
    holdings.leftOut.push(...more.leftOut);
    needs.push(...onbuild.needs);
  }

  let text: string;
  if (format === "mirrors") {
    text = mirrorsToml({ target: config.target, registries: needs.map((n) => n.reference.registry), plainHttp: plainHttpHost(config), leftOut: holdings.leftOut });
  } else if (format === "source-policy") {
    text = JSON.stringify(sourcePolicy(holdings.held), null, 2) + "\n";
  } else {
    text = buildContextArgs(uses ?? [], holdings.held).map((pair) => pair.join(" ") + "\n").join("");
  }
  return {
    format,
    text,
    redirected: holdings.held.map((h) => ({ ref: h.source.toString(), upstreamDigest: h.upstreamDigest, mirror: h.mirror.toString() })),
    leftOut: holdings.leftOut.map((l) => ({ ref: l.source.toString(), reason: l.reason, message: l.message, ...(l.code === undefined ? {} : { code: l.code }) })),
    problems: [...(uses ? [] : catalog.problems.map((p) => p.message)), ...onbuild.problems],
  };
}
