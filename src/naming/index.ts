export { mirrorReference, mirrorTarget, mirrorRepository, cacheReference, hostPathComponent, type MirrorTarget } from "./mirror-names.js";
