/**
 * Builders behind one interface. Each turns a BuildRequest into the exact command line its tool
 * needs to build and export the cache to the mirror; credentials travel in an auth file
 * (buildah --authfile, DOCKER_CONFIG for BuildKit clients), never on the command line.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { BasewarmError } from "../errors.js";
import { makeTempDir } from "../files/index.js";
import type { Reference } from "../reference/index.js";
import { parseBuildkitProgress } from "./buildkit-progress.js";
import { errorLine, runProcess, spawnError, type ProcessResult } from "./process.js";

export type BuilderDriver = "buildah" | "buildctl" | "buildx" | "none";

export interface BuilderConfig {
  driver: BuilderDriver;
  addr?: string;
  executable?: string;
  insecureRegistries?: string[];
  authFile?: string;
  storageRoot?: string;
  extraArgs?: string[];
  timeoutMs?: number;
  /** RUN steps' network mode; undefined leaves the builder's default. */
  network?: "host" | "none";
  /**
   * Where cache probes build (BuildKit clients): the buildkitd address (buildctl) or Docker host
   * (buildx) of a separate builder. Its build cache is pruned before each probe, so the probe
   * starts empty like a fresh CI runner. Without it the probe prunes and uses the admin builder.
   */
  probeAddr?: string;
  /** Environment for the builder process (PATH, HOME...): given by the composition root, never read here. */
  env: Record<string, string | undefined>;
}

export interface BuildRequest {
  entry: string;
  dockerfile: string;
  context: string;
  buildArgs: Record<string, string>;
  target?: string;
  platforms: string[];
  /** Cache repository in the mirror (no tag), e.g. `mirror.local:5000/cache/api`. */
  cache: Reference;
  signal?: AbortSignal;
}

export interface BuildResult {
  ok: boolean;
  durationMs: number;
  logTail: string;
  error?: string;
  command: string[];
}

export interface ProbeResult {
  steps: number;
  cachedSteps: number;
  hitRatio: number;
  /** Names of the steps the probe had to run (not taken from the cache). */
  missed: string[];
  logTail: string;
}

export interface Builder {
  readonly driver: BuilderDriver;
  version(): Promise<string>;
  build(request: BuildRequest): Promise<BuildResult>;
  probe?(request: BuildRequest): Promise<ProbeResult>;
}

/** BuildKit caches live under one tag of the cache repository; buildah uses one tag per step. */
export const BUILDKIT_CACHE_TAG = "buildcache";

/** The one BuildKit cache manifest of a cache repository. */
export function buildkitCacheReference(cache: Reference): Reference {
  return cache.withTag(BUILDKIT_CACHE_TAG);
}

function isInsecure(config: BuilderConfig, ref: Reference): boolean {
  return (config.insecureRegistries ?? []).includes(ref.registry);
}

function buildResult(result: ProcessResult, started: number, command: string[], what: string): BuildResult {
  const durationMs = Date.now() - started;
  if (result.code === 0) return { ok: true, durationMs, logTail: result.tail, command };
  const error = result.aborted ? `${what} stopped: the run was asked to stop`
    : result.timedOut ? `${what} timed out after ${(durationMs / 1000).toFixed(durationMs < 10_000 ? 1 : 0)} s (build.timeoutSeconds); raise it, or fix the step that hangs`
    : `${what} exited with ${result.code ?? result.signal}: ${errorLine(result.tail)}`;
  return { ok: false, durationMs, logTail: result.tail, error, command };
}

/** Run one build command of a BuildKit client, honouring the request's signal and the timeout. */
async function runBuild(command: string[], env: Record<string, string | undefined>, config: BuilderConfig, request: BuildRequest, what: string, hint: string): Promise<BuildResult> {
  const started = Date.now();
  let result: ProcessResult;
  try {
    result = await runProcess(command, {
      env,
      ...(request.signal ? { signal: request.signal } : {}),
      ...(config.timeoutMs ? { timeoutMs: config.timeoutMs } : {}),
    });
  } catch (err) {
    throw spawnError(command[0] ?? what, err, hint);
  }
  return buildResult(result, started, command, what);
}

// ---------------------------------------------------------------- buildah

/**
 * buildah: runs here (vfs storage, chroot isolation). Each build starts on fresh, empty storage,
 * like an ephemeral builder, so whatever it reuses comes from the registry cache.
 */
class BuildahBuilder implements Builder {
  readonly driver = "buildah" as const;
  private readonly config: BuilderConfig;
  private readonly program: string;

  constructor(config: BuilderConfig) {
    this.config = config;
    this.program = config.executable ?? "buildah";
  }

  private env(registriesConf?: string): Record<string, string | undefined> {
    return {
      ...this.config.env, STORAGE_DRIVER: "vfs", BUILDAH_ISOLATION: "chroot",
      ...(registriesConf === undefined ? {} : { CONTAINERS_REGISTRIES_CONF: registriesConf }),
    };
  }

  /**
   * Plain HTTP only for the registries configured insecure: buildah's `--tls-verify=false` would
   * drop TLS for every registry of the build, so each insecure host gets its own entry in a
   * private registries.conf instead.
   */
  private registriesConf(dir: string): string | undefined {
    const hosts = this.config.insecureRegistries ?? [];
    if (hosts.length === 0) return undefined;
    const path = join(dir, "registries.conf");
    const entries = hosts.map((host) => `[[registry]]\nlocation = ${JSON.stringify(host)}\ninsecure = true\n`);
    writeFileSync(path, entries.join("\n"));
    return path;
  }

  async version(): Promise<string> {
    let result: ProcessResult;
    try {
      result = await runProcess([this.program, "--version"], { env: this.env(), timeoutMs: 30_000 });
    } catch (err) {
      throw spawnError(this.program, err, "install buildah (Debian package buildah) or set build.executable");
    }
    const match = /version\s+(\S+)/.exec(result.tail);
    if (result.code !== 0 || !match?.[1]) throw new BasewarmError("BUILD_FAILED", `${this.program} --version failed: ${errorLine(result.tail)}`);
    return `buildah ${match[1]}`;
  }

  command(request: BuildRequest, root: string, runroot: string): string[] {
    return [
      this.program, "--root", root, "--runroot", runroot, "--storage-driver", "vfs",
      "build", "--layers", "--isolation", "chroot",
      "--cache-to", request.cache.toString(), "--cache-from", request.cache.toString(),
      "-f", request.dockerfile,
      ...Object.entries(request.buildArgs).flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]),
      ...(request.target ? ["--target", request.target] : []),
      ...(request.platforms.length ? ["--platform", request.platforms.join(",")] : []),
      ...(this.config.network ? ["--network", this.config.network] : []),
      ...(this.config.authFile ? ["--authfile", this.config.authFile] : []),
      ...(this.config.extraArgs ?? []),
      request.context,
    ];
  }

  private async runOnFreshStorage(request: BuildRequest, keepAll: boolean): Promise<{ result: ProcessResult; command: string[] }> {
    const storage = makeTempDir("basewarm-buildah-", this.config.storageRoot ?? tmpdir());
    const dir = storage.path;
    const command = this.command(request, join(dir, "root"), join(dir, "runroot"));
    // buildah's own temp files go inside the build's folder: a build killed on SIGTERM cannot
    // clean up after itself, and the folder is removed whatever happened.
    const temp = join(dir, "tmp");
    try {
      mkdirSync(temp);
      const result = await runProcess(command, {
        env: { ...this.env(this.registriesConf(dir)), TMPDIR: temp }, keepAll, tailLines: 60,
        ...(request.signal ? { signal: request.signal } : {}),
        ...(this.config.timeoutMs ? { timeoutMs: this.config.timeoutMs } : {}),
      });
      return { result, command };
    } catch (err) {
      throw spawnError(this.program, err, "install buildah (Debian package buildah) or set build.executable");
    } finally {
      // vfs storage is a full copy per layer: never leave it behind.
      await runProcess([this.program, "--root", join(dir, "root"), "--runroot", join(dir, "runroot"), "--storage-driver", "vfs", "rm", "--all"], { env: this.env(), timeoutMs: 60_000 }).catch(() => undefined);
      storage.remove();
    }
  }

  async build(request: BuildRequest): Promise<BuildResult> {
    const started = Date.now();
    const { result, command } = await this.runOnFreshStorage(request, false);
    return buildResult(result, started, command, "buildah build");
  }

  /** Rebuild on empty storage: every step buildah takes from the registry cache says so. */
  async probe(request: BuildRequest): Promise<ProbeResult> {
    const { result } = await this.runOnFreshStorage(request, true);
    if (result.code !== 0) throw new BasewarmError("BUILD_FAILED", `cache probe build failed: ${errorLine(result.tail)}`);
    return countCachedSteps(result.lines, result.tail);
  }
}

/**
 * buildah prints `STEP n/m: INSTRUCTION` per step (`[s/t] STEP n/m: …` in a multi-stage file) and
 * `--> Cache pulled from remote ...` when a step's layer came from the --cache-from repository.
 * FROM steps never produce a layer, so they are not counted. Output without any step line cannot
 * be measured: that is an error, never a 100 % probe.
 */
export function countCachedSteps(lines: string[], logTail = ""): ProbeResult {
  let cachedSteps = 0;
  let inStep = false;
  let sawStep = false;
  const names: string[] = [];
  const cached = new Set<number>();
  for (const line of lines) {
    const step = /^(?:\[\d+\/\d+\] )?STEP \d+\/\d+: (\S+)/.exec(line);
    if (step) {
      sawStep = true;
      inStep = (step[1] ?? "").toUpperCase() !== "FROM";
      if (inStep) names.push(line.trim());
      continue;
    }
    if (inStep && /Cache pulled from remote/i.test(line)) {
      cachedSteps++;
      cached.add(names.length - 1);
      inStep = false;
    }
  }
  if (!sawStep) throw new BasewarmError("BUILD_FAILED", `cache probe: buildah printed no STEP lines, so its cache hits cannot be counted: ${errorLine(logTail)}`);
  const steps = names.length;
  return { steps, cachedSteps, hitRatio: steps === 0 ? 1 : cachedSteps / steps, missed: names.filter((_, i) => !cached.has(i)), logTail };
}

// ---------------------------------------------------------------- BuildKit clients

function parseVersion(text: string): { major: number; minor: number; patch: number; raw: string } | undefined {
  const match = /v?(\d+)\.(\d+)\.(\d+)/.exec(text);
  if (!match) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3]), raw: match[0] };
}

/** The registry cache flags BuildKit needs so a fresh builder can use the cache (see DESIGN.md). */
export function cacheFlags(cache: Reference, insecure: boolean): { exportCache: string; importCache: string } {
  const tls = insecure ? ",registry.insecure=true" : "";
  const ref = buildkitCacheReference(cache).toString();
  return {
    exportCache: `type=registry,ref=${ref},mode=max,image-manifest=true,oci-mediatypes=true${tls}`,
    importCache: `type=registry,ref=${ref}${tls}`,
  };
}

/** BuildKit clients read registry credentials from DOCKER_CONFIG: point it at the auth file's dir. */
function buildkitClientEnv(config: BuilderConfig): Record<string, string | undefined> {
  const env = { ...config.env };
  if (config.authFile) env["DOCKER_CONFIG"] = dirname(config.authFile);
  return env;
}

/**
 * Probe a BuildKit client's cache: prune the probe builder so it holds nothing, build once more
 * importing only the registry cache, and count from BuildKit's own progress stream which steps
 * came from that cache (every RUN/COPY/ADD... step; FROM and BuildKit's internal vertices aside).
 */
async function probeBuildkit(prune: string[], build: string[], env: Record<string, string | undefined>, config: BuilderConfig, request: BuildRequest, program: string, hint: string): Promise<ProbeResult> {
  let pruned: ProcessResult;
  let result: ProcessResult;
  try {
    pruned = await runProcess(prune, { env, timeoutMs: 120_000, ...(request.signal ? { signal: request.signal } : {}) });
    if (pruned.code !== 0) throw new BasewarmError("BUILD_FAILED", `cannot empty the probe builder (${prune.slice(1).join(" ")}): ${errorLine(pruned.tail)}`);
    result = await runProcess(build, {
      env, keepAll: true, tailLines: 60,
      ...(request.signal ? { signal: request.signal } : {}),
      ...(config.timeoutMs ? { timeoutMs: config.timeoutMs } : {}),
    });
  } catch (err) {
    if (err instanceof BasewarmError) throw err;
    throw spawnError(program, err, hint);
  }
  if (result.code !== 0) throw new BasewarmError("BUILD_FAILED", `cache probe build failed: ${errorLine(result.tail)}`);
  const progress = parseBuildkitProgress(result.lines.join("\n"), "rawjson");
  return { steps: progress.totalSteps, cachedSteps: progress.cachedSteps, hitRatio: progress.hitRatio, missed: progress.missed, logTail: result.tail };
}

class BuildctlBuilder implements Builder {
  readonly driver = "buildctl" as const;
  private readonly config: BuilderConfig;
  private readonly program: string;

  constructor(config: BuilderConfig) {
    this.config = config;
    this.program = config.executable ?? "buildctl";
  }

  private env(): Record<string, string | undefined> {
    return buildkitClientEnv(this.config);
  }

  private addr(): string[] {
    return this.config.addr ? ["--addr", this.config.addr] : [];
  }

  private async run(args: string[]): Promise<ProcessResult> {
    try {
      return await runProcess([this.program, ...args], { env: this.env(), timeoutMs: 60_000 });
    } catch (err) {
      throw spawnError(this.program, err, "install BuildKit's client (buildctl) or set build.executable");
    }
  }

  /**
   * A client much older than the daemon fails mid-build (gRPC GOAWAY), so compare first:
   * the client may be at most one minor version behind the daemon.
   */
  async version(): Promise<string> {
    const client = await this.run(["--version"]);
    const clientVersion = parseVersion(client.tail);
    if (client.code !== 0 || !clientVersion) throw new BasewarmError("BUILDER_INCOMPATIBLE", `${this.program} --version failed: ${errorLine(client.tail)}`);
    const daemon = await this.run([...this.addr(), "debug", "info"]);
    if (daemon.code !== 0) {
      throw new BasewarmError("BUILD_FAILED", `cannot reach the BuildKit daemon${this.config.addr ? ` at ${this.config.addr}` : ""}: ${errorLine(daemon.tail)}; check build.addr and that buildkitd is running`);
    }
    if (this.config.probeAddr !== undefined) {
      const probe = await this.run(["--addr", this.config.probeAddr, "debug", "info"]);
      if (probe.code !== 0) throw new BasewarmError("BUILD_FAILED", `cannot reach the probe's BuildKit daemon at ${this.config.probeAddr}: ${errorLine(probe.tail)}; check build.probeAddr and that it is running`);
    }
    const daemonLine = daemon.tail.split("\n").find((l) => /buildkit/i.test(l)) ?? daemon.tail;
    const daemonVersion = parseVersion(daemonLine);
    if (!daemonVersion) throw new BasewarmError("BUILDER_INCOMPATIBLE", `cannot read the BuildKit daemon version from "${daemonLine.trim().slice(0, 120)}"`);
    const behind = daemonVersion.major > clientVersion.major || (daemonVersion.major === clientVersion.major && daemonVersion.minor - clientVersion.minor > 1);
    if (behind) {
      throw new BasewarmError("BUILDER_INCOMPATIBLE", `buildctl ${clientVersion.raw} is too old for the BuildKit daemon ${daemonVersion.raw} (it would fail mid-build with gRPC GOAWAY); install buildctl ${daemonVersion.major}.${daemonVersion.minor} or newer`);
    }
    return `buildctl ${clientVersion.raw} / buildkitd ${daemonVersion.raw}`;
  }

  command(request: BuildRequest): string[] {
    const flags = cacheFlags(request.cache, isInsecure(this.config, request.cache));
    return [
      this.program, ...this.addr(), "build",
      "--frontend", "dockerfile.v0",
      "--local", `context=${request.context}`,
      "--local", `dockerfile=${dirname(request.dockerfile)}`,
      "--opt", `filename=${basename(request.dockerfile)}`,
      ...Object.entries(request.buildArgs).flatMap(([k, v]) => ["--opt", `build-arg:${k}=${v}`]),
      ...(request.target ? ["--opt", `target=${request.target}`] : []),
      ...(request.platforms.length ? ["--opt", `platform=${request.platforms.join(",")}`] : []),
      ...(this.config.network ? ["--opt", `force-network-mode=${this.config.network}`] : []),
      // Host networking is an entitlement the daemon must also allow (buildkitd --allow-insecure-entitlement network.host).
      ...(this.config.network === "host" ? ["--allow", "network.host"] : []),
      "--export-cache", flags.exportCache,
      "--import-cache", flags.importCache,
      ...(this.config.extraArgs ?? []),
    ];
  }

  build(request: BuildRequest): Promise<BuildResult> {
    return runBuild(this.command(request), this.env(), this.config, request, "buildctl build", "install BuildKit's client (buildctl) or set build.executable");
  }

  probe(request: BuildRequest): Promise<ProbeResult> {
    const addr = this.config.probeAddr ? ["--addr", this.config.probeAddr] : this.addr();
    const command = this.command(request).filter((_, i, all) => all[i] !== "--export-cache" && all[i - 1] !== "--export-cache");
    const build = [this.program, ...addr, ...command.slice(1 + this.addr().length), "--progress", "rawjson"];
    return probeBuildkit([this.program, ...addr, "prune", "--all"], build, this.env(), this.config, request, this.program, "install BuildKit's client (buildctl) or set build.executable");
  }
}

class BuildxBuilder implements Builder {
  readonly driver = "buildx" as const;
  private readonly config: BuilderConfig;
  private readonly program: string;

  constructor(config: BuilderConfig) {
    this.config = config;
    this.program = config.executable ?? "docker";
  }

  /** `build.addr` is the Docker host of the admin builder; the probe may use another. */
  private env(host = this.config.addr): Record<string, string | undefined> {
    const env = buildkitClientEnv(this.config);
    if (host !== undefined) env["DOCKER_HOST"] = host;
    return env;
  }

  private async run(args: string[], env = this.env()): Promise<ProcessResult> {
    try {
      return await runProcess([this.program, ...args], { env, timeoutMs: 60_000 });
    } catch (err) {
      throw spawnError(this.program, err, "install Docker with the buildx plugin or set build.executable");
    }
  }

  /**
   * Preflight: the buildx plugin answers, and the builder's daemon is reachable. dockerd's embedded
   * BuildKit reports `v0.0.0+unknown`; the daemon's own version stands in for it then.
   */
  async version(): Promise<string> {
    const client = await this.run(["buildx", "version"]);
    const clientVersion = parseVersion(client.tail);
    if (client.code !== 0 || !clientVersion) {
      const missing = /is not a docker command|unknown command/i.test(client.tail);
      throw new BasewarmError("BUILDER_INCOMPATIBLE", missing
        ? `${this.program} has no buildx plugin (${errorLine(client.tail)}); install docker-buildx or put it in the Docker config's cli-plugins folder`
        : `docker buildx version failed: ${errorLine(client.tail)}`);
    }
    // `buildx inspect` exits 0 even when the daemon is unreachable (it prints the error): the
    // daemon's own version is the reachability check, for the admin builder and the probe's.
    const daemon = await this.daemonVersion(this.env(), "build.addr", this.config.addr);
    if (this.config.probeAddr !== undefined) await this.daemonVersion(this.env(this.config.probeAddr), "build.probeAddr", this.config.probeAddr);
    const inspect = await this.run(["buildx", "inspect"]);
    if (inspect.code !== 0 || /^error:/im.test(inspect.tail)) {
      throw new BasewarmError("BUILD_FAILED", `cannot reach the BuildKit builder${this.config.addr ? ` at ${this.config.addr}` : ""}: ${errorLine(inspect.tail)}; check build.addr and that the Docker daemon is running`);
    }
    const line = inspect.tail.split("\n").find((l) => /buildkit version/i.test(l)) ?? "";
    const buildkit = parseVersion(line);
    if (buildkit && buildkit.raw.replace(/^v/, "") !== "0.0.0") return `buildx ${clientVersion.raw} / buildkit ${buildkit.raw}`;
    return `buildx ${clientVersion.raw} / dockerd ${daemon} (embedded BuildKit)`;
  }

  private async daemonVersion(env: Record<string, string | undefined>, setting: string, host: string | undefined): Promise<string> {
    const server = await this.run(["version", "--format", "{{.Server.Version}}"], env);
    if (server.code !== 0) {
      throw new BasewarmError("BUILD_FAILED", `cannot reach the Docker daemon${host ? ` at ${host}` : ""}: ${errorLine(server.tail)}; check ${setting} and that the Docker daemon is running`);
    }
    return server.tail.trim().split("\n").at(-1) ?? "unknown";
  }

  probe(request: BuildRequest): Promise<ProbeResult> {
    const env = this.env(this.config.probeAddr ?? this.config.addr);
    const command = this.command(request).filter((_, i, all) => all[i] !== "--cache-to" && all[i - 1] !== "--cache-to");
    const build = [...command.slice(0, -1), "--progress=rawjson", command.at(-1) ?? request.context];
    return probeBuildkit([this.program, "buildx", "prune", "--all", "--force"], build, env, this.config, request, this.program, "install Docker with the buildx plugin or set build.executable");
  }

  command(request: BuildRequest): string[] {
    const flags = cacheFlags(request.cache, isInsecure(this.config, request.cache));
    return [
      this.program, "buildx", "build",
      "--file", request.dockerfile,
      ...Object.entries(request.buildArgs).flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]),
      ...(request.target ? ["--target", request.target] : []),
      ...(request.platforms.length ? ["--platform", request.platforms.join(",")] : []),
      "--cache-to", flags.exportCache,
      "--cache-from", flags.importCache,
      "--output", "type=cacheonly",
      ...(this.config.network ? [`--network=${this.config.network}`] : []),
      ...(this.config.extraArgs ?? []),
      request.context,
    ];
  }

  build(request: BuildRequest): Promise<BuildResult> {
    return runBuild(this.command(request), this.env(), this.config, request, "docker buildx build", "install Docker with the buildx plugin or set build.executable");
  }
}

class NoBuilder implements Builder {
  readonly driver = "none" as const;
  async version(): Promise<string> {
    return "none";
  }
  async build(): Promise<BuildResult> {
    return { ok: true, durationMs: 0, logTail: "", command: [] };
  }
}

export function createBuilder(config: BuilderConfig): Builder {
  switch (config.driver) {
    case "buildah":
      return new BuildahBuilder(config);
    case "buildctl":
      return new BuildctlBuilder(config);
    case "buildx":
      return new BuildxBuilder(config);
    case "none":
      return new NoBuilder();
  }
}
