export { RegistryClient, referenceIn, repositoryOf, TAG_LIST_PAGE_LIMIT, type ClientOptions, type Manifest, type MountResult, type RepositoryRef } from "./client.js";
export { Transport, apiHost, isLoopbackHost, DEFAULT_TIMEOUTS, type Timeouts, type TransportOptions, type RateLimitInfo } from "./transport.js";
export { Authenticator, parseChallenge, type Challenge } from "./auth.js";
export { DEFAULT_RETRY_POLICY, parseRetryAfter, backoffDelay, type RetryPolicy } from "./retry.js";
export { PrioritySemaphore } from "./semaphore.js";
export { chainCredentials, configCredentials, dockerConfigCredentials, normalizeHost, spawnHelperRunner, type Credential, type CredentialSource, type HelperRunner, type SpawnHelperOptions, type ConfigCredentialEntry } from "./credentials.js";
