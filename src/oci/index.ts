export { MEDIA_TYPES, MANIFEST_ACCEPT, isIndexMediaType, isImageManifestMediaType, isSchema1MediaType, bareMediaType } from "./media-types.js";
export { type Descriptor, type ChildDescriptor, type BlobDescriptor } from "./descriptor.js";
export { MANIFEST_SIZE_LIMIT, parseManifest, filterIndex, manifestAnnotations, sniffMediaType, isBuildkitCache, type ParsedManifest } from "./manifest.js";
export {
  DEFAULT_PLATFORM,
  PLATFORM_SYNTAX,
  parsePlatform,
  tryParsePlatform,
  platformProblemMessage,
  normalizePlatform,
  formatPlatform,
  platformMatches,
  type Platform,
} from "./platform.js";
