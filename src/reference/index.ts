export {
  Reference,
  parseReference,
  tryParseReference,
  referenceProblem,
  repositoryPathProblem,
  InvalidReferenceError,
  isValidRepositoryPath,
  isValidRegistryHost,
  isValidTag,
  DEFAULT_REGISTRY,
  type ReferenceParts,
} from "./reference.js";
export { digestProblem, isDigest, assertDigest, digestAlgorithm, type DigestAlgorithm } from "./digest.js";
