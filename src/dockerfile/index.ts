/**
 * Dockerfile → the images a BuildKit build pulls, and rewriting those references to a mirror.
 * The lexer and parser are hand-written (see parser.ts and shell.ts for why).
 */
import { analyzeDockerfile, decodeDockerfile, type ExtractOptions, type ImageUse } from "./extract.js";

export type { ImageKind, ImageUse, ExtractOptions } from "./extract.js";
export { DockerfileError, type DockerfileProblem, type DockerfileErrorFields } from "./errors.js";
export { onbuildImages, type OnbuildImage, type OnbuildOptions, type OnbuildProblem, type OnbuildResult } from "./onbuild.js";
export { rewriteDockerfile, type RewriteResult } from "./rewrite.js";
export { processWord, ShellError, MAX_SHELL_NESTING, type ShellOptions, type ShellProblem, type ShellResult } from "./shell.js";

/**
 * Every external image a BuildKit build of this Dockerfile would pull, in file order: the `# syntax=`
 * frontend, then per stage its FROM image, `COPY --from=<image>` and `RUN --mount=...,from=<image>`.
 * Without `target` every stage is included (a mirror serves all targets); with it, only the stages the
 * target depends on. Throws DockerfileError (code DOCKERFILE_INVALID) for Dockerfiles BuildKit would reject.
 */
export function extractImages(content: string | Uint8Array, options: ExtractOptions = {}): ImageUse[] {
  const text = decodeDockerfile(content, options.file ?? "Dockerfile");
  return analyzeDockerfile(text, options).uses.map((u) => u.use);
}
