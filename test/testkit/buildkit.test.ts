import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseBuildkitProgress } from "../../src/builder/buildkit-progress.js";
import { BUILDKIT_DIR, buildkitContainers, BuildkitNotProvisionedError, makeBusyboxImage, MT, processRunning, pushImage, startBuildkit, startRegistry, type RunningBuildkit, type RunningRegistry } from "../../testkit/index.js";

const repoRoot = resolve(import.meta.dirname, "../..");

const alive = processRunning;

/** Command lines of live processes that mention `text` (not this test process). */
function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ");
      if (cmdline.includes(text)) found.push(cmdline);
    } catch {
      // gone
    }
  }
  return found;
}

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}

describe("real BuildKit from testkit (Debian 13 dockerd with embedded BuildKit, buildx 0.13, provisioned by scripts/setup.sh)", () => {
  let registry: RunningRegistry;
  let admin: RunningBuildkit;
  let tenant: RunningBuildkit;
  const busybox = makeBusyboxImage({ seed: "buildkit-test" });
  let context: string;

  beforeAll(async () => {
    registry = await startRegistry();
    await pushImage(registry.url, "base/busybox", busybox, "1");
    [admin, tenant] = await Promise.all([startBuildkit(), startBuildkit()]);
    console.log(`buildkit: daemons ready in ${admin.startMs} ms and ${tenant.startMs} ms (started side by side)`);
    context = mkdtempSync(join(tmpdir(), "basewarm-bkctx-"));
    // Every kind of step the cache must carry: ARG before FROM, RUN, COPY, and COPY --from a stage.
    writeFileSync(
      join(context, "Dockerfile"),
      [
        `ARG BASE=${registry.host}/base/busybox:1`,
        "FROM ${BASE} AS build",
        "RUN echo built > /built.txt",
        "COPY app.txt /app.txt",
        "RUN cat /built.txt /app.txt > /out.txt",
        "FROM ${BASE}",
        "COPY --from=build /out.txt /out.txt",
        "COPY app.txt /again.txt",
        "",
      ].join("\n"),
    );
    writeFileSync(join(context, "app.txt"), "app\n");
  });

  afterAll(async () => {
    await Promise.all([admin?.stop(), tenant?.stop(), registry?.stop()]);
    if (context) rmSync(context, { recursive: true, force: true });
  });

  it("runs the provisioned docker CLI and buildx, never the ones on PATH, and records the versions they report", async () => {
    expect(admin.docker.startsWith(BUILDKIT_DIR)).toBe(true);
    const buildx = await admin.run(["buildx", "version"]);
    expect(buildx.code, buildx.stderr).toBe(0);
    const buildxVersion = /(\d+\.\d+\.\d+)/.exec(buildx.stdout)?.[1];
    // The plugin that answers is the provisioned package's version, not some other buildx.
    expect(admin.install.packages["docker-buildx"]?.startsWith(buildxVersion ?? "none")).toBe(true);
    const server = await admin.run(["version", "--format", "{{.Server.Version}}"]);
    expect(server.code, server.stderr).toBe(0);
    expect(admin.install.packages["docker.io"]?.startsWith(server.stdout.trim().replace(/\+.*/, ""))).toBe(true);
    const inspect = await admin.run(["buildx", "inspect"]);
    expect(inspect.code, inspect.stderr).toBe(0);
    const buildkitVersion = /BuildKit version:\s*(\S+)/.exec(inspect.stdout)?.[1];
    expect(buildkitVersion).toBeDefined();
    // dockerd's embedded BuildKit does not know its own version (issue 10 item 7): record what it says.
    console.log(`buildkit: buildx ${buildxVersion}, dockerd ${server.stdout.trim()}, embedded BuildKit reports ${buildkitVersion}, packages ${JSON.stringify(admin.install.packages)}`);
  });

  it("a fresh, empty daemon building with --cache-from gets every RUN/COPY step cached from the cache another daemon exported, without pulling the base layers", async () => {
    const cacheRef = `${registry.host}/cache/x:buildcache`;
    const build = (d: RunningBuildkit, extra: string[]) =>
      d.run(["buildx", "build", "--progress=rawjson", "--network=host", ...extra, "--cache-from", `type=registry,ref=${cacheRef}`, "--output", "type=cacheonly", context]);

    const adminRun = await build(admin, ["--cache-to", `type=registry,ref=${cacheRef},mode=max,image-manifest=true,oci-mediatypes=true`]);
    expect(adminRun.code, adminRun.stderr.slice(-3000) + (await admin.logs())).toBe(0);
    const adminSteps = parseBuildkitProgress(adminRun.stderr, "rawjson");
    expect(adminSteps.totalSteps).toBe(5);
    expect(adminSteps.cachedSteps).toBe(0);

    // The exported cache is an OCI manifest whose config is BuildKit's cache config, and its blobs are in the registry itself.
    const res = await fetch(`${registry.url}/v2/cache/x/manifests/buildcache`, { headers: { accept: `${MT.ociManifest}, ${MT.ociIndex}` } });
    expect(res.status).toBe(200);
    const manifest = (await res.json()) as { mediaType: string; config: { mediaType: string }; layers: { digest: string }[] };
    expect(manifest.mediaType).toBe(MT.ociManifest);
    expect(manifest.config.mediaType).toBe(MT.buildkitCacheConfig);
    expect(manifest.layers.length).toBeGreaterThan(0);
    for (const layer of manifest.layers) {
      const head = await fetch(`${registry.url}/v2/cache/x/blobs/${layer.digest}`, { method: "HEAD" });
      expect(head.status, layer.digest).toBe(200);
    }

    await registry.resetRequests();
    const tenantRun = await build(tenant, []);
    expect(tenantRun.code, tenantRun.stderr.slice(-3000) + (await tenant.logs())).toBe(0);
    const tenantSteps = parseBuildkitProgress(tenantRun.stderr, "rawjson");
    expect(tenantSteps.missed).toEqual([]);
    expect(tenantSteps.totalSteps).toBe(5);
    expect(tenantSteps.cachedSteps).toBe(5);
    expect(tenantSteps.steps.map((s) => s.instruction).sort()).toEqual(["COPY", "COPY", "COPY", "RUN", "RUN"]);

    const requests = await registry.requests();
    const fromBase = requests.filter((r) => r.uri.startsWith("/v2/base/busybox/"));
    // The tenant resolves the base (manifest, config) but never downloads its layer: the cache carries the results.
    const baseLayer = busybox.blobs[1]?.digest ?? "missing";
    expect(fromBase.some((r) => r.uri.endsWith(baseLayer))).toBe(false);
    expect(fromBase.length).toBeGreaterThan(0);
    console.log(
      `buildkit: admin build ${adminRun.ms} ms (${adminSteps.totalSteps} steps built, cache exported), tenant build ${tenantRun.ms} ms (${tenantSteps.cachedSteps}/${tenantSteps.totalSteps} cached); ` +
        `tenant requests: ${requests.map((r) => `${r.method} ${r.uri.replace(/sha256:[0-9a-f]{64}/, (d) => d.slice(0, 19))} ${r.status} ${r.written}B`).join(", ")}`,
    );
  });

  it("fails with a clear error naming scripts/setup.sh when BuildKit is not provisioned", async () => {
    const missing = join(tmpdir(), "basewarm-no-buildkit-here");
    const err = await startBuildkit({ installDir: missing }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BuildkitNotProvisionedError);
    expect((err as BuildkitNotProvisionedError).code).toBe("BUILDKIT_NOT_PROVISIONED");
    expect((err as Error).message).toContain("run scripts/setup.sh");
    expect((err as BuildkitNotProvisionedError).missing.startsWith(missing)).toBe(true);
  });

  it("a second provisioning run fetches nothing", () => {
    if (process.getuid?.() !== 0) return; // the script needs root; CI runs it as root
    const started = Date.now();
    const run = spawnSync(join(repoRoot, "scripts/provision-buildkit.sh"), { encoding: "utf8", env: { ...process.env, BASEWARM_BUILDKIT_DIR: BUILDKIT_DIR } });
    const ms = Date.now() - started;
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toContain("already provisioned");
    expect(run.stderr).not.toContain("fetching");
    console.log(`buildkit: cached provisioning run ${ms} ms`);
  });

  it("stop() in the middle of a RUN step ends both daemons and the step's process, and removes their state", async () => {
    const d = await startBuildkit();
    const ctx = mkdtempSync(join(tmpdir(), "basewarm-bkctx-"));
    writeFileSync(join(ctx, "Dockerfile"), `FROM ${registry.host}/base/busybox:1\nRUN sleep 60\n`);
    const pending = d.run(["buildx", "build", "--progress=plain", "--network=host", "--output", "type=cacheonly", ctx]);
    // dockerd's BuildKit runs the step with `runc run`; the step's process would outlive dockerd.
    expect(await until(() => buildkitContainers(d.dir).length > 0, 30_000)).toBe(true);
    const step = buildkitContainers(d.dir)[0]?.pid ?? -1;
    expect(await until(() => alive(step) && readFileSync(`/proc/${step}/cmdline`, "utf8").startsWith("sleep"), 10_000)).toBe(true);
    await d.stop();
    expect(alive(d.pids.dockerd)).toBe(false);
    expect(alive(d.pids.containerd)).toBe(false);
    expect(alive(step)).toBe(false);
    expect(buildkitContainers(d.dir)).toEqual([]);
    expect(processesMentioning(`${d.dir}/`)).toEqual([]);
    expect(existsSync(d.dir)).toBe(false);
    expect((await pending).code).not.toBe(0);
    rmSync(ctx, { recursive: true, force: true });
  });

  it("daemons and a running RUN step do not outlive a test process that is killed outright", async () => {
    // The compiled testkit (global setup builds dist/) in a child process we SIGKILL: no exit hook runs.
    const ctx = mkdtempSync(join(tmpdir(), "basewarm-bkctx-"));
    writeFileSync(join(ctx, "Dockerfile"), `FROM ${registry.host}/base/busybox:1\nRUN sleep 60\n`);
    const script = [
      `const m = await import(${JSON.stringify(join(repoRoot, "dist/testkit/buildkit.js"))});`,
      "const b = await m.startBuildkit();",
      "console.log(JSON.stringify({ dir: b.dir, pids: b.pids }));",
      `await b.run(["buildx", "build", "--progress=plain", "--network=host", "--output", "type=cacheonly", ${JSON.stringify(ctx)}]);`,
      "setInterval(() => {}, 1000);",
    ].join("\n");
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    const line = await new Promise<string>((resolveLine, reject) => {
      let out = "";
      child.stdout.on("data", (b: Buffer) => {
        out += b.toString();
        if (out.includes("\n")) resolveLine(out.split("\n")[0] ?? "");
      });
      child.on("exit", (code) => reject(new Error(`child exited ${code} before starting BuildKit`)));
    });
    const { dir, pids } = JSON.parse(line) as { dir: string; pids: { containerd: number; dockerd: number } };
    expect(await until(() => buildkitContainers(dir).length > 0, 30_000)).toBe(true);
    const step = buildkitContainers(dir)[0]?.pid ?? -1;
    expect(alive(pids.dockerd) && alive(step)).toBe(true);
    child.kill("SIGKILL");
    const gone = () => !alive(pids.dockerd) && !alive(pids.containerd) && !alive(step) && !existsSync(dir) && buildkitContainers(dir).length === 0;
    expect(await until(gone, 15_000)).toBe(true);
    expect(processesMentioning(`${dir}/`)).toEqual([]);
    rmSync(ctx, { recursive: true, force: true });
  });
});
