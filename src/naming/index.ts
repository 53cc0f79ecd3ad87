export { mirrorReference, mirrorRepository, cacheReference, hostPathComponent, type MirrorTarget } from "./mirror-names.js";
