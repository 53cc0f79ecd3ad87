/**
 * `--build-context NAME=docker-image://<mirror ref>` arguments for one Dockerfile's images.
 *
 * Names: buildx and the Dockerfile frontend both normalize a context name with
 * `reference.ParseNormalizedNamed` → `FamiliarString` → trim `:latest` (buildx ParseContextNames,
 * frontend/dockerui NamedContext), and look up the image as written in `FROM` / `--from` the same
 * way. So `FROM alpine:3.20`, `FROM docker.io/library/alpine:3.20` and a context named
 * `alpine:3.20` all meet at `alpine:3.20`; `FROM alpine` meets `alpine`. We print that familiar key.
 *
 * The `# syntax=` frontend is not a named context: BuildKit's Dockerfile frontend takes the
 * `BUILDKIT_SYNTAX` build arg over the directive, so that image is redirected with `--build-arg`.
 */
import type { ImageUse } from "../dockerfile/index.js";
import type { Reference } from "../reference/index.js";
import type { HeldImage } from "./holdings.js";

/** The key BuildKit files a named context under. */
export function contextName(ref: Reference): string {
  const familiar = ref.familiar();
  return familiar.endsWith(":latest") ? familiar.slice(0, -":latest".length) : familiar;
}

/**
 * Flag and value pairs, one pair per line when printed; uses whose image is not held get none
 * (the holdings say why).
 */
export function buildContextArgs(uses: Pick<ImageUse, "kind" | "normalized" | "reference">[], held: HeldImage[]): [string, string][] {
  const bySource = new Map(held.map((image) => [image.source.toString(), image]));
  const args: [string, string][] = [];
  const seen = new Set<string>();
  for (const use of uses) {
    const image = bySource.get(use.normalized);
    if (!image) continue;
    const pair: [string, string] = use.kind === "syntax"
      ? ["--build-arg", `BUILDKIT_SYNTAX=${image.mirror.toString()}`]
      : ["--build-context", `${contextName(use.reference)}=docker-image://${image.mirror.toString()}`];
    const key = pair.join(" ");
    if (seen.has(key)) continue;
    seen.add(key);
    args.push(pair);
  }
  return args;
}
