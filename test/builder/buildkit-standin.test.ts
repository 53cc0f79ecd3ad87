import { mkdirSync, mkdtempSync, readFileSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { createBuilder, type BuildRequest } from "../../src/builder/index.js";
import { Reference } from "../../src/reference/index.js";
import { isBasewarmError } from "../../src/errors.js";
import { buildkitInstall } from "../../testkit/buildkit.js";

// BuildKit cannot run here: these tests check the exact command contract against a stand-in
// executable (test/builder/fixtures/buildkit-standin.mjs), named as such.
const STANDIN = resolve("test/builder/fixtures/buildkit-standin.mjs");

function setup(extraEnv: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "basewarm-standin-"));
  const record = join(dir, "calls.jsonl");
  const env = { ...process.env, STANDIN_RECORD: record, ...extraEnv };
  const calls = () => readFileSync(record, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { args: string[]; dockerConfig: string | null });
  return { dir, env, calls };
}

const request: BuildRequest = {
  entry: "api",
  dockerfile: "/work/ctx/docker/Dockerfile.api",
  context: "/work/ctx",
  buildArgs: { NODE_VERSION: "20", EMPTY: "" },
  target: "release",
  platforms: ["linux/amd64", "linux/arm64"],
  cache: new Reference({ registry: "mirror.local:5000", repository: "cache/api" }),
};

describe("buildctl driver (stand-in)", () => {
  it("builds with the exact BuildKit command line and registry cache flags", async () => {
    const { env, calls } = setup();
    const builder = createBuilder({ driver: "buildctl", executable: STANDIN, addr: "tcp://buildkitd:1234", authFile: "/run/basewarm-auth/config.json", env });
    expect(await builder.version()).toBe("buildctl v0.13.2 / buildkitd v0.13.1");
    const result = await builder.build(request);
    expect(result.ok).toBe(true);
    const build = calls().at(-1)!;
    expect(build.args).toEqual([
      "--addr", "tcp://buildkitd:1234", "build",
      "--frontend", "dockerfile.v0",
      "--local", "context=/work/ctx",
      "--local", "dockerfile=/work/ctx/docker",
      "--opt", "filename=Dockerfile.api",
      "--opt", "build-arg:NODE_VERSION=20",
      "--opt", "build-arg:EMPTY=",
      "--opt", "target=release",
      "--opt", "platform=linux/amd64,linux/arm64",
      "--export-cache", "type=registry,ref=mirror.local:5000/cache/api:buildcache,mode=max,image-manifest=true,oci-mediatypes=true",
      "--import-cache", "type=registry,ref=mirror.local:5000/cache/api:buildcache",
    ]);
    expect(build.dockerConfig).toBe("/run/basewarm-auth");
    expect(result.command.join(" ")).not.toMatch(/password|secret/i);
  });

  it("marks an insecure mirror on both cache flags", async () => {
    const { env, calls } = setup();
    await createBuilder({ driver: "buildctl", executable: STANDIN, insecureRegistries: ["mirror.local:5000"], env }).build(request);
    const args = calls().at(-1)!.args;
    expect(args).toContain("type=registry,ref=mirror.local:5000/cache/api:buildcache,mode=max,image-manifest=true,oci-mediatypes=true,registry.insecure=true");
    expect(args).toContain("type=registry,ref=mirror.local:5000/cache/api:buildcache,registry.insecure=true");
  });

  it.each([
    ["one minor behind (ok)", "v0.12.5", "v0.13.0", null],
    ["two minors behind", "v0.11.6", "v0.13.1", /buildctl v0\.11\.6 is too old for the BuildKit daemon v0\.13\.1 .*install buildctl 0\.13 or newer/],
    ["a newer client (ok)", "v0.14.0", "v0.13.1", null],
  ])("checks client and daemon versions: %s", async (_name, client, daemon, error) => {
    const { env } = setup({ STANDIN_CLIENT_VERSION: client, STANDIN_DAEMON_VERSION: daemon });
    const result = createBuilder({ driver: "buildctl", executable: STANDIN, env }).version();
    if (error) {
      const err = await result.catch((e: unknown) => e);
      expect(isBasewarmError(err, "BUILDER_INCOMPATIBLE")).toBe(true);
      expect((err as Error).message).toMatch(error);
    } else {
      expect(await result).toContain(client);
    }
  });

  it("says clearly when the daemon is unreachable or the client is missing", async () => {
    const { env } = setup({ STANDIN_DAEMON_DOWN: "1" });
    const down = await createBuilder({ driver: "buildctl", executable: STANDIN, addr: "tcp://127.0.0.9:1234", env }).version().catch((e: unknown) => e);
    expect((down as Error).message).toMatch(/cannot reach the BuildKit daemon at tcp:\/\/127\.0\.0\.9:1234: .*connection refused"?; check build\.addr/);
    const missing = await createBuilder({ driver: "buildctl", executable: "/nonexistent/buildctl", env: process.env }).version().catch((e: unknown) => e);
    expect((missing as Error).message).toBe("/nonexistent/buildctl does not exist; fix build.executable");
    const notOnPath = await createBuilder({ driver: "buildctl", executable: "buildctl-not-installed", env: process.env }).version().catch((e: unknown) => e);
    expect((notOnPath as Error).message).toBe("buildctl-not-installed not found on PATH; install BuildKit's client (buildctl) or set build.executable");
  });

  it("stops a build that runs past build.timeoutSeconds and says which setting to raise", async () => {
    const { env } = setup({ STANDIN_BUILD_SLEEP_MS: "30000" });
    const result = await createBuilder({ driver: "buildctl", executable: STANDIN, env, timeoutMs: 400 }).build(request);
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/^buildctl build timed out after 0\.\d s \(build\.timeoutSeconds\); raise it, or fix the step that hangs$/);
  });

  it("reports a failed build with the error line and the log tail", async () => {
    const { env } = setup({ STANDIN_BUILD_FAIL: "1" });
    const result = await createBuilder({ driver: "buildctl", executable: STANDIN, env }).build(request);
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/buildctl build exited with 1: error: failed to solve: .*exit code: 3/);
    expect(result.logTail).toContain("load build definition");
  });
});

describe("buildx driver (stand-in)", () => {
  it("builds with docker buildx and the same cache flags, exporting only the cache", async () => {
    const { env, calls } = setup();
    const builder = createBuilder({ driver: "buildx", executable: STANDIN, env });
    // dockerd's embedded BuildKit says v0.0.0+unknown: the daemon's own version stands in.
    expect(await builder.version()).toBe("buildx v0.13.2 / dockerd 26.1.5+dfsg1 (embedded BuildKit)");
    expect(await createBuilder({ driver: "buildx", executable: STANDIN, env: { ...env, STANDIN_BUILDKIT_VERSION: "v0.13.2" } }).version()).toBe("buildx v0.13.2 / buildkit v0.13.2");
    expect((await builder.build(request)).ok).toBe(true);
    expect(calls().at(-1)!.args).toEqual([
      "buildx", "build",
      "--file", "/work/ctx/docker/Dockerfile.api",
      "--build-arg", "NODE_VERSION=20",
      "--build-arg", "EMPTY=",
      "--target", "release",
      "--platform", "linux/amd64,linux/arm64",
      "--cache-to", "type=registry,ref=mirror.local:5000/cache/api:buildcache,mode=max,image-manifest=true,oci-mediatypes=true",
      "--cache-from", "type=registry,ref=mirror.local:5000/cache/api:buildcache",
      "--output", "type=cacheonly",
      "/work/ctx",
    ]);
  });
});

describe("builder preflight reaches every daemon a run will use", () => {
  it("buildx: an unreachable probe builder (build.probeAddr) fails the preflight in one line (stand-in)", async () => {
    const { env } = setup({ STANDIN_DOWN_HOST: "tcp://probe.invalid:2375" });
    const err = await createBuilder({ driver: "buildx", executable: STANDIN, probeAddr: "tcp://probe.invalid:2375", env }).version().catch((e: unknown) => e);
    expect((err as Error).message).toBe("cannot reach the Docker daemon at tcp://probe.invalid:2375: Cannot connect to the Docker daemon at tcp://probe.invalid:2375. Is the docker daemon running?; check build.probeAddr and that the Docker daemon is running");
  });

  it("buildctl: an unreachable probe daemon fails the preflight in one line (stand-in)", async () => {
    const { env } = setup({ STANDIN_DOWN_ADDR: "tcp://probe:1234" });
    const err = await createBuilder({ driver: "buildctl", executable: STANDIN, addr: "tcp://admin:1234", probeAddr: "tcp://probe:1234", env }).version().catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^cannot reach the probe's BuildKit daemon at tcp:\/\/probe:1234: .*connection refused"?; check build\.probeAddr and that it is running$/);
  });

  it("buildx: a Docker host nobody listens on fails before any registry work, with the real docker CLI (buildx inspect exits 0 there)", async () => {
    const install = buildkitInstall();
    const config = mkdtempSync(join(tmpdir(), "basewarm-dockercfg-"));
    mkdirSync(join(config, "cli-plugins"));
    symlinkSync(install.buildx, join(config, "cli-plugins", "docker-buildx"));
    const env = { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: tmpdir(), DOCKER_CONFIG: config };
    const err = await createBuilder({ driver: "buildx", executable: install.docker, addr: "tcp://127.0.0.1:1", env }).version().catch((e: unknown) => e);
    expect(isBasewarmError(err, "BUILD_FAILED")).toBe(true);
    expect((err as Error).message).toMatch(/^cannot reach the Docker daemon at tcp:\/\/127\.0\.0\.1:1: .*; check build\.addr and that the Docker daemon is running$/);
  });
});

describe("cache probes with BuildKit clients (stand-in replaying a real daemon's rawjson progress)", () => {
  it("buildctl: prunes the probe daemon, builds importing only the cache, and counts cached steps from the progress stream", async () => {
    const { env, calls } = setup({ STANDIN_PROGRESS_FILE: resolve("test/builder/fixtures/buildkit-probe.rawjson.txt") });
    const builder = createBuilder({ driver: "buildctl", executable: STANDIN, addr: "tcp://admin:1234", probeAddr: "tcp://probe:1234", env });
    const probe = await builder.probe!(request);
    const [prune, build] = calls().slice(-2).map((c) => c.args);
    expect(prune).toEqual(["--addr", "tcp://probe:1234", "prune", "--all"]);
    expect(build!.slice(0, 3)).toEqual(["--addr", "tcp://probe:1234", "build"]);
    expect(build).not.toContain("--export-cache");
    expect(build).toContain("--import-cache");
    expect(build!.slice(-2)).toEqual(["--progress", "rawjson"]);
    expect(probe.steps).toBeGreaterThan(0);
    expect(probe.cachedSteps).toBe(probe.steps);
    expect(probe.missed).toEqual([]);
  });
});
