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
  repositoryScope,
  type ReferenceParts,
  type ScopeActions,
} from "./reference.js";
export { digestProblem, isDigest, assertDigest, digestAlgorithm, digestOf, type DigestAlgorithm } from "./digest.js";
