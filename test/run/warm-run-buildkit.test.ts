import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseBuildkitProgress } from "../../src/builder/buildkit-progress.js";
import { setUpBuilder, type BuilderSetup } from "../../src/builder/index.js";
import { parseConfig, type LoadedConfig } from "../../src/config/index.js";
import { silentLogger } from "../../src/log/index.js";
import { parseReference } from "../../src/reference/index.js";
import { MEDIA_TYPES } from "../../src/oci/index.js";
import { RegistryClient } from "../../src/registry/index.js";
import { catalogSource, readDockerfile } from "../../src/run/catalog.js";
import { rewriteForMirror } from "../../src/run/rewrite.js";
import { warmRun, type RunReport } from "../../src/run/warm-run.js";
import { SqliteStateStore as StateStore } from "../../src/state/index.js";
import { basewarm } from "../helpers/cli.js";
import { makeBusyboxImage, pushImage, startBuildkit, startRegistry, type RunningBuildkit, type RunningRegistry } from "../../testkit/index.js";

/**
 * The global cache as our users meet it: basewarm warms it with a real BuildKit (Debian 13's dockerd
 * with embedded BuildKit, driven by buildx), and a tenant on a brand-new daemon builds the rewritten
 * Dockerfile with --cache-from and gets every RUN/COPY step from the cache, pulling nothing upstream.
 */
describe("warm run with a real BuildKit (buildx driver): the tenant's first build hits the cache", () => {
  let upstream: RunningRegistry;
  let mirror: RunningRegistry;
  let admin: RunningBuildkit;
  let tenant: RunningBuildkit;
  let dir: string;
  let loaded: LoadedConfig;
  let state: StateStore;
  let client: RegistryClient;
  let setup: BuilderSetup;

  beforeAll(async () => {
    [upstream, mirror, admin, tenant] = await Promise.all([startRegistry(), startRegistry(), startBuildkit(), startBuildkit()]);
    await pushImage(upstream.url, "library/busybox", makeBusyboxImage({ seed: "bk-run-base-v1" }), "1");
    dir = mkdtempSync(join(tmpdir(), "basewarm-bkrun-"));
    // Multi-stage with COPY --from, ARG before FROM, RUN and COPY of context files.
    writeFileSync(join(dir, "Dockerfile"), [
      `ARG BASE=${upstream.host}/library/busybox:1`,
      "FROM ${BASE} AS build",
      "RUN echo built > /built.txt",
      "COPY app.txt /app.txt",
      "RUN cat /built.txt /app.txt > /out.txt",
      `FROM ${upstream.host}/library/busybox:1`,
      "COPY --from=build /out.txt /out.txt",
      "RUN cat /out.txt",
      "",
    ].join("\n"));
    writeFileSync(join(dir, "app.txt"), "v1\n");
    writeFileSync(join(dir, "ignored.log"), "noise 1\n");
    writeFileSync(join(dir, ".dockerignore"), "*.log\nstate.db*\n"); // the state file lives beside the Dockerfile here
    const text = [
      `target: { registry: "${mirror.host}" }`,
      "state: state.db",
      "catalog: [{ dockerfile: Dockerfile, name: app }]",
      `build: { driver: buildx, executable: "${admin.docker}", addr: "${admin.host}", network: host }`,
    ].join("\n");
    writeFileSync(join(dir, "basewarm.yaml"), text);
    loaded = parseConfig(text, join(dir, "basewarm.yaml"));
    state = StateStore.open({ path: join(dir, "state.db") });
    client = new RegistryClient();
    setup = setUpBuilder(loaded.config.build, { env: admin.env, insecureRegistries: [mirror.host], credentials: {} });
  });

  afterAll(async () => {
    setup?.cleanup();
    await client?.close();
    await state?.close();
    await Promise.all([admin?.stop(), tenant?.stop(), upstream?.stop(), mirror?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const run = (): Promise<RunReport> => warmRun({ config: loaded.config, catalog: catalogSource(loaded), client, state, builder: setup.builder, logger: silentLogger, trigger: "manual" });

  /** The tenant: a daemon that has built nothing, building the rewritten Dockerfile from the cache. */
  async function tenantBuild(): Promise<{ steps: number; cached: number; missed: string[]; upstreamRequests: number }> {
    await tenant.run(["buildx", "prune", "--all", "--force"]);
    const rewritten = await rewriteForMirror({ content: readDockerfile(join(dir, "Dockerfile")), options: { file: "Dockerfile" }, config: loaded.config, client });
    // Outside the context: the tenant's own file must not change what the admin build sees.
    const tenantFile = join(mkdtempSync(join(tmpdir(), "basewarm-tenant-")), "Dockerfile");
    writeFileSync(tenantFile, rewritten.text);
    const before = (await upstream.requests()).length;
    const cacheRef = `${mirror.host}/cache/app:buildcache`;
    const build = await tenant.run(["buildx", "build", "--network=host", "--progress=rawjson", "--file", tenantFile,
      "--cache-from", `type=registry,ref=${cacheRef},registry.insecure=true`, "--output", "type=cacheonly", dir], { timeoutMs: 180_000 });
    expect(build.code, build.stderr.slice(-2000)).toBe(0);
    const progress = parseBuildkitProgress(build.stderr, "rawjson");
    const upstreamRequests = (await upstream.requests()).length - before;
    return { steps: progress.totalSteps, cached: progress.cachedSteps, missed: progress.missed, upstreamRequests };
  }

  it("exports an OCI cache with image-manifest into the mirror, proves it with a probe, and a fresh tenant gets every step cached with 0 upstream requests", async () => {
    const first = await run();
    expect(first.outcome, JSON.stringify(first.builds)).toBe("ok");
    const build = first.builds[0]!;
    expect(build).toMatchObject({ entry: "app", outcome: "built", hitRatio: 1 });
    expect(build.probe).toMatchObject({ steps: 5, cached: 5, missed: [] });
    expect(build.cacheCheck).toMatchObject({ ok: true });
    expect(first.builds[0]!.cacheCheck!.blobs).toBeGreaterThan(0);

    const cache = await client.manifestGet(parseReference(`${mirror.host}/cache/app:buildcache`));
    expect(cache.mediaType).toBe(MEDIA_TYPES.ociManifest);
    expect((JSON.parse(cache.bytes.toString()) as { config: { mediaType: string } }).config.mediaType).toBe("application/vnd.buildkit.cacheconfig.v0");

    const tenantRun = await tenantBuild();
    expect(tenantRun).toEqual({ steps: 5, cached: 5, missed: [], upstreamRequests: 0 });

    // Nothing changed (an ignored file changes nothing): no rebuild.
    writeFileSync(join(dir, "ignored.log"), "noise 2\n");
    const second = await run();
    expect(second.builds[0]).toMatchObject({ outcome: "skipped", reason: expect.stringMatching(/inputs unchanged/) });
  });

  it("rebuilds when a file that COPY uses changes, and when the base's digest changes upstream; the tenant hits the new cache", async () => {
    writeFileSync(join(dir, "app.txt"), "v2\n");
    const changedFile = await run();
    expect(changedFile.builds[0]).toMatchObject({ outcome: "built", hitRatio: 1, reason: "inputs changed since the last good build" });

    await pushImage(upstream.url, "library/busybox", makeBusyboxImage({ seed: "bk-run-base-v2" }), "1");
    const changedBase = await run();
    expect(changedBase.mirror.images[0]).toMatchObject({ status: "copied", changedUpstream: true });
    expect(changedBase.builds[0]).toMatchObject({ outcome: "built", hitRatio: 1 });

    const tenantRun = await tenantBuild();
    expect(tenantRun).toEqual({ steps: 5, cached: 5, missed: [], upstreamRequests: 0 });
  });

  it("a tenant builds the ORIGINAL Dockerfile with the generated source policy: every step cached, 0 upstream requests", async () => {
    const policy = await basewarm(["buildkit-config", "--config", join(dir, "basewarm.yaml"), "--format", "source-policy"]);
    expect(policy.code, policy.stderr).toBe(0);
    const policyFile = join(mkdtempSync(join(tmpdir(), "basewarm-policy-")), "policy.json");
    writeFileSync(policyFile, policy.stdout);
    await tenant.run(["buildx", "prune", "--all", "--force"]);
    const before = (await upstream.requests()).length;
    // bk.run takes no extra environment: buildx reads the policy from this variable.
    const build = spawnSync(tenant.docker, ["buildx", "build", "--network=host", "--progress=rawjson", "--file", join(dir, "Dockerfile"),
      "--cache-from", `type=registry,ref=${mirror.host}/cache/app:buildcache,registry.insecure=true`, "--output", "type=cacheonly", dir],
    { env: { ...tenant.env, EXPERIMENTAL_BUILDKIT_SOURCE_POLICY: policyFile }, encoding: "utf8", timeout: 180_000 });
    expect(build.status, build.stderr.slice(-2000)).toBe(0);
    const progress = parseBuildkitProgress(build.stderr, "rawjson");
    expect({ steps: progress.totalSteps, cached: progress.cachedSteps, missed: progress.missed }).toEqual({ steps: 5, cached: 5, missed: [] });
    expect((await upstream.requests()).length - before).toBe(0);
  });

  it("with credentials configured, the builder still finds the user's buildx plugin (CLI run); a missing builder fails before any mirroring", async () => {
    const withCredentials = join(dir, "creds.yaml");
    writeFileSync(withCredentials, [
      `target: { registry: "${mirror.host}" }`,
      "state: state.db",
      "catalog: [{ dockerfile: Dockerfile, name: app }]",
      // The mirror takes no auth: credentials only make basewarm write a temporary Docker config.
      `registries: { "${mirror.host}": { username: bot, password: s3cret-Pw } }`,
      `build: { driver: buildx, executable: "${admin.docker}", addr: "${admin.host}" }`,
    ].join("\n"));
    const ok = await basewarm(["run", "--config", withCredentials, "--json"], { env: { DOCKER_CONFIG: admin.configDir }, timeoutMs: 300_000 });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).not.toContain("s3cret-Pw");

    const missing = join(dir, "missing.yaml");
    writeFileSync(missing, [
      `target: { registry: "${mirror.host}", prefix: other }`,
      "state: state-missing.db",
      "catalog: [{ dockerfile: Dockerfile, name: app }]",
      "build: { driver: buildx, executable: /nonexistent/docker }",
    ].join("\n"));
    const before = (await mirror.requests()).length;
    const failed = await basewarm(["run", "--config", missing]);
    expect(failed.code).toBe(1);
    expect(failed.stderr.trim().split("\n")).toHaveLength(1);
    expect(failed.stderr).toMatch(/^basewarm: .*\/nonexistent\/docker/);
    expect((await mirror.requests()).length - before).toBe(0);
  });
});
