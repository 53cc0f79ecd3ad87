export { Copier, type CopierOptions, type CopyRequest, type CopyResult, type CopyStatus, type ProgressEvent } from "./copier.js";
export { parsePlatform, formatPlatform, platformMatches } from "./platform.js";
export { parseManifest, isBuildkitCache, type ParsedManifest, type Platform, type BlobDescriptor, type ChildDescriptor } from "./manifest.js";
export { DigestVerifier } from "./verify-stream.js";
