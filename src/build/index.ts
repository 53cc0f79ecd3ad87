export { createBuilder, cacheTag, cacheFlags, countCachedSteps, type Builder, type BuilderConfig, type BuilderDriver, type BuildRequest, type BuildResult, type ProbeResult } from "./builders.js";
