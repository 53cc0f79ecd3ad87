/**
 * The configuration file, validated once at the door with zod; the rest of the program gets
 * typed values. Unknown keys are errors (a typo must not silently disable a setting).
 */
import { createRequire } from "node:module";
import { z } from "zod";
import { PLATFORM_SYNTAX, tryParsePlatform } from "../oci/index.js";
import { isValidRegistryHost, referenceProblem, repositoryPathProblem } from "../reference/index.js";
import { parseStateSetting } from "../state/setting.js";

const platform = z.string().superRefine((value, ctx) => {
  const parsed = tryParsePlatform(value, { requireArchitecture: true });
  if (typeof parsed === "string") ctx.addIssue({ code: "custom", message: `want ${PLATFORM_SYNTAX}, not ${JSON.stringify(value)}: ${parsed}` });
});
const registryHost = z.string({ error: (issue) => (issue.input === undefined ? "missing: name the registry, e.g. registry.example.com or 127.0.0.1:5000" : undefined) }).refine((h) => isValidRegistryHost(h), "want a registry host like registry.example.com or 127.0.0.1:5000");
/** A refinement whose message names the value and the reason it was refused. */
function checkedBy(problem: (value: string) => string | undefined, advice: string) {
  return (value: string, ctx: z.RefinementCtx) => {
    const reason = problem(value);
    if (reason !== undefined) ctx.addIssue({ code: "custom", message: `${JSON.stringify(value)}: ${reason}; ${advice}` });
  };
}
const repositoryPath = z.string().superRefine(checkedBy((p) => (p === "" ? undefined : repositoryPathProblem(p)), "want a lowercase repository path like mirror or team/mirror"));
const imageRef = z.string().superRefine(checkedBy(referenceProblem, "want an image reference like alpine:3.20 or ghcr.io/org/app@sha256:…"));

/**
 * Timeouts for registry and token requests: the defaults live here once; a registry's own block
 * (`registries.<host>.timeouts`) overrides single keys. Seconds may be fractional; undici checks
 * the headers and stall timers about once a second, so they end up to a second late.
 */
/**
 * node-cron is loaded only when a config has a schedule to check: every command reads the config,
 * and most never schedule anything (measured: it is among the costliest imports at start-up).
 */
function cronIsValid(expression: string): boolean {
  const cron = createRequire(import.meta.url)("node-cron") as { validate(expression: string): boolean };
  return cron.validate(expression);
}

/**
 * Defaults that library code (the copier, the transport) also falls back to when used without a
 * config: written here once, imported there.
 */
export const DEFAULT_CONCURRENCY = { blobs: 8, perRegistry: 10, images: 16 } as const;

export const DEFAULT_TIMEOUTS = {
  /** TCP (and TLS) connection set up. */
  connectSeconds: 10,
  /** From the request sent to the response headers: a server that accepts and stays silent fails after this. */
  headersSeconds: 30,
  /** Longest pause between two chunks of a body, and the window over which minBytesPerSecond is measured. */
  bodyStallSeconds: 30,
  /** A body slower than this on average over a window fails (a trickled body never stalls); 0 turns it off. */
  minBytesPerSecond: 1024,
} as const;
const seconds = z.number().positive().max(24 * 3600);
const timeoutFields = {
  connectSeconds: seconds,
  headersSeconds: seconds,
  bodyStallSeconds: seconds,
  minBytesPerSecond: z.number().int().min(0),
};
const timeoutsSchema = z.strictObject({
  connectSeconds: timeoutFields.connectSeconds.default(DEFAULT_TIMEOUTS.connectSeconds),
  headersSeconds: timeoutFields.headersSeconds.default(DEFAULT_TIMEOUTS.headersSeconds),
  bodyStallSeconds: timeoutFields.bodyStallSeconds.default(DEFAULT_TIMEOUTS.bodyStallSeconds),
  minBytesPerSecond: timeoutFields.minBytesPerSecond.default(DEFAULT_TIMEOUTS.minBytesPerSecond),
}).default(DEFAULT_TIMEOUTS);
export type TimeoutsConfig = z.infer<typeof timeoutsSchema>;

const registryEntry = z.strictObject({
  insecure: z.boolean().optional(),
  username: z.string().min(1).optional(),
  password: z.string().min(1, "empty; write the password, or use passwordEnv or passwordFile").optional(),
  /** Name of an environment variable holding the password (keeps secrets out of the file). */
  passwordEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).optional(),
  passwordFile: z.string().min(1).optional(),
  credentialHelper: z.string().regex(/^[A-Za-z0-9_.-]+$/, "want the helper's name, e.g. ecr-login for docker-credential-ecr-login").optional(),
  /** Overrides of the global `timeouts` for this registry. */
  timeouts: z.strictObject(timeoutFields).partial().optional(),
}).refine((r) => !(r.password !== undefined && (r.passwordEnv !== undefined || r.passwordFile !== undefined)), "give only one of password, passwordEnv, passwordFile");

const catalogEntry = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, "want a lowercase name (letters, digits, . _ -)").optional(),
  dockerfile: z.string().min(1),
  context: z.string().min(1).optional(),
  buildArgs: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "invalid build arg name"), z.string()).default({}),
  target: z.string().min(1).optional(),
  platforms: z.array(platform).default([]),
  cache: repositoryPath.optional(),
  build: z.boolean().default(true),
});

const imageEntry = z.union([
  imageRef,
  z.strictObject({ ref: imageRef, platforms: z.array(platform).optional() }),
]);

// Every default is written once, here: blocks use `prefault({})` so an absent block is parsed
// through the same field defaults as a present one (zod's `default` would copy a second literal).
export const configSchema = z.strictObject({
  target: z.strictObject({
    registry: registryHost,
    prefix: repositoryPath.default("mirror"),
    cachePrefix: repositoryPath.default("cache"),
  }, { error: (issue) => (issue.input === undefined ? "missing: name the registry to mirror into, e.g. target: { registry: registry.example.com }" : undefined) }),
  registries: z.record(z.string().refine((h) => isValidRegistryHost(h), "want a registry host as key, like docker.io or 127.0.0.1:5000 (no scheme, no path)"), registryEntry).default({}),
  timeouts: timeoutsSchema,
  /** Path of a Docker config.json for credentials (`auths`, `credsStore`, `credHelpers`). */
  dockerConfig: z.string().min(1).optional(),
  concurrency: z.strictObject({
    blobs: z.number().int().min(1).max(256).default(DEFAULT_CONCURRENCY.blobs),
    /** One slot always stays free for small requests, so this is blobs + 2 by default. */
    perRegistry: z.number().int().min(1).max(256).default(DEFAULT_CONCURRENCY.perRegistry),
    images: z.number().int().min(1).max(256).default(DEFAULT_CONCURRENCY.images),
  }).prefault({}),
  /**
   * Where runs are recorded: a SQLite file (relative to the config; one host only, never on a
   * network volume) or `postgres://user@host:port/database` for shards on several hosts, its
   * password in PGPASSWORD or PGPASSWORD_FILE, never in the URL.
   */
  state: z.string().min(1).default("basewarm.db").superRefine((value, ctx) => {
    try {
      parseStateSetting(value, "/");
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message.replace(/^state: /, "") });
    }
  }),
  catalog: z.array(catalogEntry).default([]),
  images: z.array(imageEntry).default([]),
  mirror: z.strictObject({
    platforms: z.array(platform).default([]),
    referrers: z.boolean().default(false),
    /** Stop pulling from a rate-limited registry (Docker Hub) when this many pulls are left. */
    rateLimitReserve: z.number().int().min(0).default(10),
  }).prefault({}),
  build: z.strictObject({
    driver: z.enum(["buildah", "buildctl", "buildx", "none"]).default("none"),
    addr: z.string().min(1).optional(),
    executable: z.string().min(1).optional(),
    // Capped well below Node's timer limit (about 24.8 days), past which a timer fires at once.
    timeoutSeconds: z.number().int().min(1).max(7 * 24 * 3600, "at most 604800 seconds (a week)").default(3600),
    /**
     * Network mode of RUN steps in admin and probe builds. BuildKit keys a RUN step's cache on it,
     * so tenant builds must use the same mode to hit the cache; `host` also works on builders
     * without a bridge network. `default` passes no flag (the builder's own default).
     */
    network: z.enum(["host", "none", "default"]).default("host"),
    /** After each admin build, build again on an empty builder and count the steps taken from the cache. */
    probe: z.boolean().default(true),
    /**
     * BuildKit clients: where probes build — a second buildkitd address (buildctl) or Docker host
     * (buildx). Its build cache is pruned before each probe. Default: the admin builder, pruned.
     */
    probeAddr: z.string().min(1).optional(),
    extraArgs: z.array(z.string()).default([]),
  }).prefault({}),
  schedule: z.strictObject({
    cron: z.string().refine((c) => cronIsValid(c), "not a valid cron expression (five or six fields, each value in range and on a date that exists, e.g. \"0 */6 * * *\")"),
    /** Random delay before each scheduled run, so many instances do not hit a registry at once. */
    jitterSeconds: z.number().int().min(0).max(24 * 3600, "at most 86400 seconds (a day)").default(0),
    // Checked here, not when serve starts: a bad zone is a config error with its line, exit 2.
    timezone: z.string().refine((zone) => timeZoneIsKnown(zone), "not a time zone this Node knows; want an IANA name like UTC or Europe/Berlin").optional(),
  }).optional(),
  /** The CLI logs warnings by default; `serve` always logs at least info (health lines). */
  log: z.strictObject({ level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("warn") }).prefault({}),
});

function timeZoneIsKnown(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export type Config = z.infer<typeof configSchema>;

/** Settings with defaults for commands that run without a config file (`basewarm copy`). */
export function defaultSettings(): Pick<Config, "concurrency" | "log"> {
  const shape = configSchema.shape;
  return { concurrency: shape.concurrency.parse(undefined), log: shape.log.parse(undefined) };
}
export type CatalogEntryConfig = z.infer<typeof catalogEntry>;
export type RegistryEntryConfig = z.infer<typeof registryEntry>;
export type ImageEntryConfig = z.infer<typeof imageEntry>;
