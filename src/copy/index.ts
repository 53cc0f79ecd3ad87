export { Copier, type CopierOptions, type CopyRequest, type CopyResult, type CopyStatus, type ProgressEvent } from "./copier.js";
export { copyBetween, type BetweenOptions, type BetweenRequest } from "./copy-between.js";
export { layoutSource, layoutTarget, registrySource, registryTarget, type ImageSource, type ImageTarget, type ManifestBytes } from "./ends.js";
export { DigestVerifier } from "./verify-stream.js";
export { mirrorCopyOf, staleCopyMessage, type MirrorCopy } from "./mirror-copy.js";
