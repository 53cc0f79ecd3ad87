/**
 * `basewarm plan`: every image the catalog needs, where it is used, its upstream digest, and
 * whether the mirror holds it, current or out of date — HEAD requests upstream only (no pull-rate
 * cost); a filtered copy is read from the mirror, which says what it was made from.
 */
import type { Catalog, CatalogProblem, ImageNeed, ImageUseSite } from "../catalog/index.js";
import type { Config } from "../config/index.js";
import { mirrorCopyOf } from "../copy/index.js";
import { errorMessage } from "../errors.js";
import { mirrorTarget } from "../naming/index.js";
import { parsePlatform } from "../oci/index.js";
import { readOnbuild } from "../onbuild/index.js";
import type { RegistryClient } from "../registry/index.js";

export interface PlanImage {
  ref: string;
  mirror: string;
  platforms: string[];
  usedBy: ImageUseSite[];
  /** Absent when planned offline. */
  upstreamDigest?: string | null;
  mirrored?: boolean;
  /** The digest the mirror holds (differs from upstream when platforms are filtered). */
  mirrorDigest?: string | null;
  /** Set when the mirror holds a copy a mirror run would replace: why, in a few words. */
  outOfDate?: string;
  error?: string;
}

export interface Plan {
  images: PlanImage[];
  entries: { name: string; dockerfile: string; cache: string }[];
  problems: CatalogProblem[];
}

export async function planCatalog(config: Config, catalog: Catalog, client?: RegistryClient): Promise<Plan> {
  const images: PlanImage[] = [];
  const problems = [...catalog.problems];
  for (const [key, need] of catalog.images) images.push(await planRow(config, key, need, client));
  if (client) {
    // What the mirrored bases' ONBUILD triggers pull, one level deep, as the warm run mirrors it.
    const added = new Map<string, ImageNeed>();
    for (const row of images.filter((r) => r.mirrored === true && typeof r.mirrorDigest === "string")) {
      const need = catalog.images.get(row.ref);
      if (!need) continue;
      const found = await readOnbuild(client, row.ref, mirrorTarget(need.reference, config.target).pinned(row.mirrorDigest as string));
      problems.push(...found.problems);
      for (const image of found.images) {
        const key = image.use.reference.toString();
        const site = { kind: "onbuild" as const, origin: image.provenance, trigger: image.trigger };
        const existing = catalog.images.has(key) ? images.find((r) => r.ref === key) : undefined;
        if (existing) existing.usedBy = [...existing.usedBy, site];
        else added.set(key, { reference: image.use.reference, platforms: need.platforms, sites: [...(added.get(key)?.sites ?? []), site] });
      }
    }
    for (const [key, need] of added) images.push(await planRow(config, key, need, client));
  }
  return {
    images,
    entries: catalog.entries.map((e) => ({ name: e.name, dockerfile: e.dockerfile, cache: e.cache.toString() })),
    problems,
  };
}

async function planRow(config: Config, key: string, need: ImageNeed, client: RegistryClient | undefined): Promise<PlanImage> {
  const target = mirrorTarget(need.reference, config.target);
  const row: PlanImage = { ref: key, mirror: target.toString(), platforms: need.platforms, usedBy: need.sites };
  if (!client) return row;
  try {
    const upstream = need.reference.digest ? { digest: need.reference.digest } : await client.manifestHead(need.reference);
    row.upstreamDigest = upstream?.digest ?? null;
    const held = upstream ? await mirrorCopyOf(client, target, upstream.digest, need.platforms.map(parsePlatform)) : undefined;
    row.mirrored = held?.current === true;
    row.mirrorDigest = held?.digest ?? null;
    if (held && !held.current) row.outOfDate = held.staleBecause ?? "stale";
  } catch (err) {
    row.error = errorMessage(err);
  }
  return row;
}
