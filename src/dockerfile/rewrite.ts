/**
 * Point a Dockerfile's image references somewhere else (the mirror) while keeping every other byte.
 *
 * What is rewritten: literal references in FROM, `COPY --from=`, `RUN --mount=...,from=` and `# syntax=`
 * when `map` maps them. Stage references and `scratch` are not images and are never touched; references
 * written with variables stay as they are (listed in `unrewritten`), with one exception chosen because it
 * is the common way to parameterize a base image: `FROM $VAR` / `FROM ${VAR}` whose whole argument is one
 * variable with the literal default of a global `ARG VAR=<ref>`. Then that default is rewritten in place
 * (inside its quotes, if any), which keeps `--build-arg VAR=...` working. It is done only when every FROM
 * using the ARG maps to the same replacement, all of them are selected, and the variable appears nowhere
 * else in the file (not re-declared in a stage, not used in another ARG or instruction), so the change
 * cannot leak into RUN commands or other references.
 *
 * A build whose args are fixed (the warm run's admin build) may ask for `fixedArgs`: then any other
 * `FROM` built from variables has its whole image word replaced by the literal mirror reference of
 * what it expands to with those args, when that is the same on every platform of the build. The
 * file no longer follows other args there, which that one build never passes; without it, such a
 * base would be pulled from upstream on every admin build.
 */
import { BasewarmError } from "../errors.js";
import { parseReference } from "../reference/index.js";
import { TextBuilder } from "./text.js";
import { analyzeDockerfile, decodeDockerfile, type ExtractOptions, type ImageUse, type LocatedUse, type Span } from "./extract.js";

export interface RewriteResult {
  text: string;
  rewritten: ImageUse[];
  unrewritten: ImageUse[];
}

/**
 * Platforms to see whether a reference depends on the platform ARGs: whatever the build's platform,
 * one of them differs from it in os, one in architecture, one in variant.
 */
const PROBE_PLATFORMS = ["windows/s390x", "freebsd/arm/v6"];

const REPLACEMENT_RE = /^[A-Za-z0-9._:@/[\]-]+$/;

function checkReplacement(replacement: string, use: ImageUse, file: string): void {
  let ok = REPLACEMENT_RE.test(replacement);
  if (ok) {
    try {
      parseReference(replacement);
    } catch {
      ok = false;
    }
  }
  if (!ok) {
    throw new BasewarmError(
      "REF_INVALID",
      `${file}:${use.line}: replacement ${JSON.stringify(replacement)} for ${use.ref} is not a valid image reference (the mirror mapping must return a plain reference such as host:port/repo@sha256:...)`,
    );
  }
}

/** Rewrite the references `map` maps; see the module comment for what is left alone. */
export function rewriteDockerfile(
  content: string | Uint8Array,
  map: (use: ImageUse) => string | undefined,
  options: ExtractOptions = {},
  how: { fixedArgs?: boolean; platforms?: readonly string[] } = {},
): RewriteResult {
  const file = options.file ?? "Dockerfile";
  const text = decodeDockerfile(content, file);
  const { uses } = analyzeDockerfile(text, options);
  const edits: { span: Span; replacement: string }[] = [];
  const done = new Set<LocatedUse>();

  const groups = new Map<string, LocatedUse[]>();
  for (const located of uses) {
    if (located.binding) {
      const key = `${located.binding.span.start}:${located.binding.span.end}`;
      const group = groups.get(key);
      if (group) group.push(located);
      else groups.set(key, [located]);
      continue;
    }
    if (!located.span) continue;
    const replacement = map(located.use);
    if (replacement === undefined) continue;
    checkReplacement(replacement, located.use, file);
    edits.push({ span: located.span, replacement });
    done.add(located);
  }

  for (const group of groups.values()) {
    const binding = group[0]?.binding;
    if (!binding?.safe) continue;
    // Every FROM bound to this ARG must be selected, or rewriting its default would change unselected stages.
    if (group.length !== binding.total) continue;
    const replacements = group.map((located) => map(located.use));
    const first = replacements[0];
    if (first === undefined || replacements.some((r) => r !== first)) continue;
    checkReplacement(first, (group[0] as LocatedUse).use, file);
    edits.push({ span: binding.span, replacement: first });
    for (const located of group) done.add(located);
  }

  if (how.fixedArgs) {
    // A word that expands differently on another platform (`FROM base-${TARGETARCH}`, directly or
    // through another ARG) serves every platform of a build: it stays a variable. The build's own
    // platforms (`how.platforms`) and the probes must all give the same reference.
    let elsewhere: Map<number, string>[] | undefined;
    const samePlatformFree = (start: number, normalized: string): boolean => {
      elsewhere ??= [...(how.platforms ?? []), ...PROBE_PLATFORMS].map((platform) => {
        try {
          return new Map(analyzeDockerfile(text, { ...options, platform }).uses
            .flatMap((u) => (u.variableSpan === undefined ? [] : [[u.variableSpan.start, u.use.normalized] as const])));
        } catch {
          return new Map<number, string>(); // it does not even read the same there: leave every variable as it is
        }
      });
      return elsewhere.every((refs) => refs.get(start) === normalized);
    };
    for (const located of uses) {
      if (done.has(located) || located.variableSpan === undefined) continue;
      if (!samePlatformFree(located.variableSpan.start, located.use.normalized)) continue;
      const replacement = map(located.use);
      if (replacement === undefined) continue;
      checkReplacement(replacement, located.use, file);
      edits.push({ span: located.variableSpan, replacement });
      done.add(located);
    }
  }

  edits.sort((a, b) => a.span.start - b.span.start);
  const out = new TextBuilder();
  let copied = 0;
  for (const edit of edits) {
    if (edit.span.start < copied) throw new Error("internal error: overlapping Dockerfile edits");
    out.add(text.slice(copied, edit.span.start));
    out.add(edit.replacement);
    copied = edit.span.end;
  }
  out.add(text.slice(copied));
  return {
    text: out.toString(),
    rewritten: uses.filter((u) => done.has(u)).map((u) => u.use),
    unrewritten: uses.filter((u) => !done.has(u)).map((u) => u.use),
  };
}
