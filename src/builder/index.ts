export { createBuilder, buildkitCacheReference, BUILDKIT_CACHE_TAG, cacheFlags, countCachedSteps, type Builder, type BuilderConfig, type BuilderDriver, type BuildRequest, type BuildResult, type ProbeResult } from "./builders.js";
export { setUpBuilder, type BuildSettings, type BuilderContext, type BuilderSetup } from "./setup.js";
export { contextDigest, MAX_CONTEXT_FILES } from "./context-digest.js";
export { stageDockerfile, type StagedDockerfile } from "./staged-dockerfile.js";
