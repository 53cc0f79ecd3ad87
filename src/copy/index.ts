export { Copier, type CopierOptions, type CopyRequest, type CopyResult, type CopyStatus, type ProgressEvent } from "./copier.js";
export { DigestVerifier } from "./verify-stream.js";
