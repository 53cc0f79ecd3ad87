/**
 * Reads BuildKit's progress output (buildx or buildctl `--progress=rawjson` or `--progress=plain`)
 * and returns the build steps, which were cached, and the totals, so a probe build can say whether
 * every step of a Dockerfile came from the cache. Pure: text in, steps out.
 *
 * A step is a vertex BuildKit names after a Dockerfile instruction, `[stage i/n] INSTRUCTION ...`
 * (`[i/n]` for a single unnamed stage, `[platform stage i/n]` for multi-platform builds).
 * `FROM` is the base image, not a step; vertices without `i/n` are BuildKit's own work
 * (`[internal] load metadata`, `importing cache manifest`, `exporting cache to registry`, ...).
 */
import { z } from "zod";

export type ProgressFormat = "rawjson" | "plain";

export interface BuildStep {
  /** The vertex name, e.g. `[build 2/4] RUN echo built > /built.txt`. */
  name: string;
  /** `build`, `stage-1`, `linux/arm64 build`; empty for a single unnamed stage. */
  stage: string;
  /** Position within the stage (FROM is 1) and the stage's instruction count. */
  index: number;
  count: number;
  /** `RUN`, `COPY`, `ADD`, `WORKDIR`, ... */
  instruction: string;
  cached: boolean;
  /** Whether BuildKit reported it finished (cached steps finish too). */
  completed: boolean;
  error?: string;
}

export interface BuildkitProgress {
  /** In the order BuildKit first reported them (stages run in parallel, so not file order). */
  steps: BuildStep[];
  totalSteps: number;
  cachedSteps: number;
  /** cachedSteps / totalSteps, 1 when there are no steps (as for buildah's probe). */
  hitRatio: number;
  /** Names of the steps that were not cached, in `steps` order. */
  missed: string[];
  /** Steps that reported an error. */
  failed: BuildStep[];
}

const STEP_NAME = /^\[(?:(.*) )?(\d+)\/(\d+)\] ([A-Z]+)(?:\s|$)/;

interface VertexState {
  name: string;
  cached: boolean;
  completed: boolean;
  error?: string;
}

/** Parse the whole progress output of one build in the given format. */
export function parseBuildkitProgress(text: string, format: ProgressFormat): BuildkitProgress {
  const vertices = format === "rawjson" ? rawJsonVertices(text) : plainVertices(text);
  return summarize([...vertices.values()]);
}

function summarize(vertices: VertexState[]): BuildkitProgress {
  const steps: BuildStep[] = [];
  for (const v of vertices) {
    const match = STEP_NAME.exec(v.name);
    if (!match) continue;
    const instruction = match[4] ?? "";
    if (instruction === "FROM") continue;
    const step: BuildStep = {
      name: v.name,
      stage: match[1] ?? "",
      index: Number(match[2]),
      count: Number(match[3]),
      instruction,
      cached: v.cached,
      completed: v.completed,
    };
    if (v.error !== undefined) step.error = v.error;
    steps.push(step);
  }
  const cachedSteps = steps.filter((s) => s.cached).length;
  return {
    steps,
    totalSteps: steps.length,
    cachedSteps,
    hitRatio: steps.length === 0 ? 1 : cachedSteps / steps.length,
    missed: steps.filter((s) => !s.cached).map((s) => s.name),
    failed: steps.filter((s) => s.error !== undefined),
  };
}

// One SolveStatus of buildx/buildctl `--progress=rawjson`; only the vertex fields we read are checked.
const rawVertex = z.object({
  digest: z.string(),
  name: z.string().optional(),
  cached: z.boolean().optional(),
  completed: z.string().optional(),
  error: z.string().optional(),
});
const rawStatus = z.object({ vertexes: z.array(z.unknown()).optional() });

/**
 * rawjson is a stream of JSON objects (pretty-printed, one per status update) that may be followed
 * by plain text (buildx prints the failing Dockerfile lines and `ERROR: ...` after the stream).
 * A vertex appears in many updates; later updates add `cached`, `completed`, `error`.
 */
function rawJsonVertices(text: string): Map<string, VertexState> {
  const vertices = new Map<string, VertexState>();
  for (const object of jsonObjects(text)) {
    const status = rawStatus.safeParse(object);
    if (!status.success) continue;
    for (const item of status.data.vertexes ?? []) {
      const parsed = rawVertex.safeParse(item);
      if (!parsed.success) continue;
      const v = parsed.data;
      const state = vertices.get(v.digest) ?? { name: "", cached: false, completed: false };
      if (v.name) state.name = v.name;
      if (v.cached) state.cached = true;
      if (v.completed) state.completed = true;
      if (v.error) state.error = v.error;
      vertices.set(v.digest, state);
    }
  }
  return vertices;
}

/**
 * The top-level JSON objects in `text`, skipping any line that does not start one and any object
 * that does not parse; an object cut off at the end of the text is dropped.
 */
export function* jsonObjects(text: string): Generator<unknown> {
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === " " || ch === "\n" || ch === "\r" || ch === "\t") {
      i++;
      continue;
    }
    if (ch !== "{") {
      const eol = text.indexOf("\n", i);
      i = eol === -1 ? text.length : eol + 1;
      continue;
    }
    const end = objectEnd(text, i);
    if (end === -1) return;
    try {
      yield JSON.parse(text.slice(i, end)) as unknown;
      i = end;
    } catch {
      // Not JSON after all (e.g. a `{` in log text): resume on the next line.
      const eol = text.indexOf("\n", i);
      i = eol === -1 ? text.length : eol + 1;
    }
  }
}

/** Index just past the `}` closing the object that opens at `start`, or -1 if the text ends first. */
function objectEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === "\\") i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') {
      inString = true;
    } else if (ch === "{" || ch === "[") {
      depth++;
    } else if (ch === "}" || ch === "]") {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

// `#12 [build 2/4] RUN ...` then `#12 CACHED` / `#12 DONE 0.1s` / `#12 ERROR: ...` / `#12 0.254 log`.
const PLAIN_LINE = /^#(\d+) (.*)$/;

/**
 * plain output numbers each vertex (`#N`); the first line of a number names it, later lines give
 * its progress, logs and outcome. A number may come back after other vertices (progress groups).
 */
function plainVertices(text: string): Map<string, VertexState> {
  const vertices = new Map<string, VertexState>();
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\r$/, "");
    const match = PLAIN_LINE.exec(line);
    if (!match) continue;
    const id = match[1] ?? "";
    const rest = match[2] ?? "";
    const state = vertices.get(id);
    if (!state) {
      vertices.set(id, { name: rest, cached: false, completed: false });
      continue;
    }
    if (rest === "CACHED") {
      state.cached = true;
      state.completed = true;
    } else if (/^DONE( |$)/.test(rest)) {
      state.completed = true;
    } else if (rest.startsWith("ERROR: ")) {
      state.error = rest.slice("ERROR: ".length);
    } else if (rest === "CANCELED" || rest.startsWith("CANCELED ")) {
      state.error ??= "canceled";
    }
  }
  return vertices;
}
