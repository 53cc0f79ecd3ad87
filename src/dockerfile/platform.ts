/**
 * The Dockerfile reader's names for the one platform module (src/oci): BuildKit reads `--platform`
 * and fills the automatic platform ARGs with containerd's Parse and Normalize, as src/oci does.
 */
export { DEFAULT_PLATFORM, formatPlatform, tryParsePlatform as parsePlatform, type Platform } from "../oci/index.js";
