export { buildkitConfig, BUILDKIT_CONFIG_FORMATS, type BuildkitConfigFormat, type BuildkitConfigInput, type BuildkitConfigResult } from "./buildkit-config.js";
export { mirrorHoldings, type Holdings, type HeldImage, type LeftOutImage, type LeftOutReason, type RedirectNeed } from "./holdings.js";
export { mirrorsToml, registryMirror, plainHttpHost, type MirrorsTomlInput } from "./mirrors-toml.js";
export { sourcePolicy, sourceIdentifiers, type SourcePolicy, type SourcePolicyRule } from "./source-policy.js";
export { buildContextArgs, contextName } from "./build-contexts.js";
