import { BasewarmError } from "../errors.js";
import { digestProblem } from "./digest.js";

/**
 * Image references parsed and normalized the way distribution/reference does it
 * (ParseNormalizedNamed + TagNameOnly), which is what Docker and BuildKit use.
 * Written by hand because no maintained JS parser follows that grammar exactly
 * (docker.io/library defaulting, host detection, digest validation); the grammar is small.
 */

export const DEFAULT_REGISTRY = "docker.io";
const LEGACY_DEFAULT_REGISTRY = "index.docker.io";
const OFFICIAL_REPO_PREFIX = "library/";
const NAME_TOTAL_LENGTH_MAX = 255;

// Grammar pieces from distribution/reference/regexp.go.
const ALPHANUMERIC = "[a-z0-9]+";
const SEPARATOR = "(?:[._]|__|[-]+)";
const PATH_COMPONENT = `${ALPHANUMERIC}(?:${SEPARATOR}${ALPHANUMERIC})*`;
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const IPV6 = "\\[(?:[a-fA-F0-9:]+)\\]";
const HOST = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|${IPV6})`;
const DOMAIN = `${HOST}(?::[0-9]+)?`;
const TAG = "[\\w][\\w.-]{0,127}";

const DOMAIN_RE = new RegExp(`^${DOMAIN}$`);
const PATH_RE = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const TAG_RE = new RegExp(`^${TAG}$`);
const HEX64_RE = /^[a-f0-9]{64}$/;

export type ScopeActions = "pull" | "push" | "pull,push";

/**
 * The token scope of a repository (distribution token spec: `repository:<name>:<actions>`), for
 * callers that hold a repository without a tag or digest; `Reference.scope` is the same rule.
 */
export function repositoryScope(repository: string, actions: ScopeActions): string {
  const problem = repositoryPathProblem(repository);
  if (problem !== undefined) throw new BasewarmError("REF_INVALID", `invalid repository ${JSON.stringify(repository)} for a token scope: ${problem}`);
  return `repository:${repository}:${actions}`;
}

export interface ReferenceParts {
  /** Registry host as written in references, e.g. `docker.io`, `127.0.0.1:5000`. */
  readonly registry: string;
  /** Repository path inside the registry, e.g. `library/alpine`. */
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

export class Reference implements ReferenceParts {
  readonly registry: string;
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;

  /**
   * Tags and digests often come from registry responses (tag lists, index descriptors) and end up
   * in URL paths, so they are checked here, not only by parseReference.
   */
  constructor(parts: ReferenceParts) {
    const where = `${parts.registry}/${parts.repository}`;
    if (parts.tag !== undefined && !TAG_RE.test(parts.tag)) {
      throw new BasewarmError("REF_INVALID", `invalid tag ${JSON.stringify(parts.tag)} for ${where}: want a letter, digit or '_', then up to 127 of those, '.' or '-'`);
    }
    if (parts.digest !== undefined) {
      const problem = digestProblem(parts.digest);
      if (problem) throw new BasewarmError("REF_INVALID", `invalid digest ${JSON.stringify(parts.digest)} for ${where}: ${problem}`);
    }
    this.registry = parts.registry;
    this.repository = parts.repository;
    if (parts.tag !== undefined) this.tag = parts.tag;
    if (parts.digest !== undefined) this.digest = parts.digest;
  }

  /** `registry/repository`, without tag or digest. */
  get name(): string {
    return `${this.registry}/${this.repository}`;
  }

  /** What to ask the registry for: the digest when known (immutable), else the tag. */
  get identifier(): string {
    return this.digest ?? this.tag ?? "latest";
  }

  /** Token scope for this repository (distribution token spec: `repository:<name>:<actions>`). */
  scope(actions: ScopeActions): string {
    return repositoryScope(this.repository, actions);
  }

  withDigest(digest: string): Reference {
    return new Reference({ registry: this.registry, repository: this.repository, ...(this.tag === undefined ? {} : { tag: this.tag }), digest });
  }

  withTag(tag: string | undefined): Reference {
    const parts: ReferenceParts = { registry: this.registry, repository: this.repository };
    return new Reference(tag === undefined ? parts : { ...parts, tag });
  }

  /** Drop the tag, keeping only the digest (the pinned form). */
  pinned(digest: string): Reference {
    return new Reference({ registry: this.registry, repository: this.repository, digest });
  }

  /** Fully qualified form: `docker.io/library/alpine:3.20@sha256:...`. */
  toString(): string {
    let out = this.name;
    if (this.tag !== undefined) out += `:${this.tag}`;
    if (this.digest !== undefined) out += `@${this.digest}`;
    return out;
  }

  /** Docker's short form: `alpine:3.20` for official images, `user/app` on docker.io. */
  familiar(): string {
    let name = this.name;
    if (this.registry === DEFAULT_REGISTRY) {
      name = this.repository.startsWith(OFFICIAL_REPO_PREFIX) && this.repository.split("/").length === 2
        ? this.repository.slice(OFFICIAL_REPO_PREFIX.length)
        : this.repository;
    }
    if (this.tag !== undefined) name += `:${this.tag}`;
    if (this.digest !== undefined) name += `@${this.digest}`;
    return name;
  }
}

/** A reference that does not parse: `input` and `reason` are kept as fields, so callers never read the message. */
export class InvalidReferenceError extends BasewarmError {
  readonly input: string;
  readonly reason: string;

  constructor(input: string, reason: string) {
    super("REF_INVALID", `invalid reference ${JSON.stringify(input)}: ${reason}`);
    this.name = "InvalidReferenceError";
    this.input = input;
    this.reason = reason;
  }
}

function invalid(input: string, reason: string): InvalidReferenceError {
  return new InvalidReferenceError(input, reason);
}

/**
 * Split off the registry host like distribution's splitDockerDomain: the first path component
 * is a host when it contains `.` or `:`, is `localhost`, or has uppercase letters
 * (repository paths are lowercase-only, so such a component can only be a host).
 */
function splitRegistry(name: string): { registry: string; remainder: string } {
  const slash = name.indexOf("/");
  const first = slash === -1 ? "" : name.slice(0, slash);
  const isHost = slash !== -1 && (/[.:]/.test(first) || first === "localhost" || first.toLowerCase() !== first);
  let registry = isHost ? first : DEFAULT_REGISTRY;
  const remainder = isHost ? name.slice(slash + 1) : name;
  if (registry === LEGACY_DEFAULT_REGISTRY) registry = DEFAULT_REGISTRY;
  if (registry === DEFAULT_REGISTRY && remainder !== "" && !remainder.includes("/")) {
    return { registry, remainder: OFFICIAL_REPO_PREFIX + remainder };
  }
  return { registry, remainder };
}

/**
 * Parse and normalize a reference. A reference without tag and digest gets `latest`.
 * Throws BasewarmError(REF_INVALID) with the reason.
 */
export function parseReference(input: string, options: { defaultTag?: boolean } = {}): Reference {
  if (input.length === 0) throw invalid(input, "empty reference");
  // Said first: any other check would name a symptom of it (a space before an uppercase letter
  // reads as "must be lowercase").
  if (/\s/.test(input)) throw invalid(input, "contains whitespace");
  if (HEX64_RE.test(input)) throw invalid(input, "cannot specify 64-byte hexadecimal strings as a repository name");

  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    const problem = digestProblem(digest);
    if (problem) throw invalid(input, problem);
  }

  // The tag is after the last ':' that follows the last '/', so `host:5000/repo` keeps its port.
  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(":");
  if (lastColon > rest.lastIndexOf("/")) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG_RE.test(tag)) throw invalid(input, "invalid tag format (a letter, digit or '_', then up to 127 of those, '.' or '-')");
  }

  if (rest.length === 0) throw invalid(input, "repository name must have at least one component");
  const { registry, remainder } = splitRegistry(rest);
  if (!DOMAIN_RE.test(registry)) throw invalid(input, `invalid registry host ${JSON.stringify(registry)} (want a hostname, IPv4 or [IPv6] address, optionally with :port)`);
  // distribution/reference (v0.6.0+, PR #9) limits the repository path after normalization
  // (`library/` included), not the host: `example.com/` + 255 characters is valid.
  const pathProblem = repositoryPathProblem(remainder);
  if (pathProblem) throw invalid(input, pathProblem);

  if (tag === undefined && digest === undefined && options.defaultTag !== false) tag = "latest";
  return new Reference({
    registry,
    repository: remainder,
    ...(tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
  });
}

/** Like parseReference, but returns null instead of throwing (use referenceProblem for the reason). */
export function tryParseReference(input: string): Reference | null {
  return referenceProblem(input) === undefined ? parseReference(input) : null;
}

/** Why `input` is not a valid reference, or undefined when it is one. */
export function referenceProblem(input: string): string | undefined {
  try {
    parseReference(input);
    return undefined;
  } catch (err) {
    if (err instanceof InvalidReferenceError) return err.reason;
    throw err;
  }
}

/**
 * Why `path` cannot be a repository path (lowercase components, at most 255 characters, the limit
 * distribution/reference puts on the normalized path, host excluded), or undefined when it can.
 */
export function repositoryPathProblem(path: string): string | undefined {
  if (path.length === 0) return "repository name must have at least one component";
  if (path.toLowerCase() !== path) return "repository name must be lowercase";
  if (path.split("/").includes("")) return 'repository name has an empty path component (leading, trailing or doubled "/")';
  if (!PATH_RE.test(path)) return "invalid repository name format (path components are lowercase letters and digits, joined by one '.', one or two '_', or any number of '-')";
  if (path.length > NAME_TOTAL_LENGTH_MAX) return `repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`;
  return undefined;
}

/** Parse a repository name (no tag or digest), e.g. for config keys or target prefixes. */
export function isValidRepositoryPath(path: string): boolean {
  return repositoryPathProblem(path) === undefined;
}

export function isValidRegistryHost(host: string): boolean {
  return DOMAIN_RE.test(host);
}

export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}
