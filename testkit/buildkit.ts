/**
 * A real BuildKit for tests, benchmarks and the demo: Debian 13's containerd and dockerd (BuildKit
 * v0.13 embedded), provisioned unpacked by scripts/provision-buildkit.sh, each daemon pair with
 * fresh state in its own temp dir, driven by the provisioned docker CLI and buildx plugin.
 *
 * The docker CLI on PATH (if any) may be another version without buildx, so callers always run
 * `docker` (the provisioned binary) with `env` (DOCKER_HOST and a DOCKER_CONFIG whose cli-plugins
 * holds the provisioned buildx).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { appendFileSync, createWriteStream, existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { mkdir, mkdtemp, readFile, symlink, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { join } from "node:path";

/** Where scripts/provision-buildkit.sh unpacks the packages (same default and override). */
export const BUILDKIT_DIR = process.env["BASEWARM_BUILDKIT_DIR"] ?? "/var/cache/basewarm/buildkit";

export interface BuildkitInstall {
  dir: string;
  docker: string;
  buildx: string;
  dockerd: string;
  containerd: string;
  /** Folders holding containerd's shims and dockerd's docker-proxy, found on PATH. */
  binDir: string;
  sbinDir: string;
  /** Unpacked Debian package versions, from the provisioning stamp (`docker.io` → `26.1.5+dfsg1-…`). */
  packages: Record<string, string>;
}

export class BuildkitNotProvisionedError extends Error {
  readonly code = "BUILDKIT_NOT_PROVISIONED";
  readonly missing: string;
  constructor(missing: string) {
    super(`BuildKit is not provisioned: ${missing} is missing; run scripts/setup.sh (as root) to fetch it`);
    this.missing = missing;
  }
}

/** The provisioned files, checked; throws BuildkitNotProvisionedError naming the first one missing. */
export function buildkitInstall(dir: string = BUILDKIT_DIR): BuildkitInstall {
  const root = join(dir, "root");
  const install = {
    dir,
    docker: join(root, "usr/bin/docker"),
    buildx: join(root, "usr/libexec/docker/cli-plugins/docker-buildx"),
    dockerd: join(root, "usr/sbin/dockerd"),
    containerd: join(root, "usr/bin/containerd"),
    binDir: join(root, "usr/bin"),
    sbinDir: join(root, "usr/sbin"),
  };
  const stamp = join(dir, "versions");
  for (const path of [stamp, install.docker, install.buildx, install.dockerd, install.containerd, join(install.binDir, "containerd-shim-runc-v2")]) {
    if (!existsSync(path)) throw new BuildkitNotProvisionedError(path);
  }
  const packages: Record<string, string> = {};
  for (const line of readFileSync(stamp, "utf8").split("\n").slice(1)) {
    const [name, version] = line.split(" ");
    if (name && version) packages[name] = version;
  }
  return { ...install, packages };
}

export interface RunningBuildkit {
  install: BuildkitInstall;
  /** The provisioned docker CLI: run it, never the one on PATH. */
  docker: string;
  /** The provisioned buildx plugin (linked into `configDir/cli-plugins`). */
  buildx: string;
  /** `unix:///tmp/bk-…/d.sock` */
  host: string;
  configDir: string;
  /** Environment for the docker CLI: this process's, with DOCKER_HOST and DOCKER_CONFIG set and stray docker settings removed. */
  env: NodeJS.ProcessEnv;
  /** The temp dir holding both daemons' state, sockets and logs. */
  dir: string;
  pids: { containerd: number; dockerd: number };
  /** How long the daemons took to be ready, in ms. */
  startMs: number;
  /** Run the provisioned docker CLI against this daemon. */
  run(args: string[], options?: RunOptions): Promise<RunResult>;
  /** The last lines of both daemons' logs (for failure messages). */
  logs(): Promise<string>;
  stop(): Promise<void>;
}

export interface RunOptions {
  cwd?: string;
  timeoutMs?: number;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface BuildkitOptions {
  /** Provisioning folder (default BUILDKIT_DIR). */
  installDir?: string;
  /** Ready timeout for each daemon, ms. */
  readyTimeoutMs?: number;
}

// The daemons run as children of the test process; if it dies without stop(), the exit hook kills them.
const live = new Map<number, ChildProcess>();
const liveDirs = new Set<string>();
let exitHooked = false;

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.once("exit", () => {
    for (const child of live.values()) if (child.exitCode === null) child.kill("SIGKILL");
    for (const dir of liveDirs) {
      killContainers(dir);
      killShims(dir);
      unmountUnder(dir);
      rmSync(dir, { recursive: true, force: true, maxRetries: 2 });
    }
  });
}

/**
 * containerd starts a shim per container (a RUN step) that outlives containerd by design; ours are
 * told our socket, which lives in `dir`, so they are found by it and nothing else is touched.
 */
function killShims(dir: string): void {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
    } catch {
      continue;
    }
    if (cmdline.includes("containerd-shim") && cmdline.includes(`${dir}/c.sock`)) {
      try {
        process.kill(Number(entry), "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
}

/** Where runc (run by root without --root, as dockerd's BuildKit executor does) keeps container state. */
const RUNC_ROOT = "/run/runc";

/**
 * dockerd's BuildKit runs each RUN step with `runc run` directly; when dockerd stops mid-step the
 * step's processes survive it. runc's state names each container's bundle, which lives in our
 * `dir`: `runc delete --force` kills exactly those and removes their state.
 */
export function buildkitContainers(dir: string): { id: string; pid: number }[] {
  let ids: string[];
  try {
    ids = readdirSync(RUNC_ROOT);
  } catch {
    return [];
  }
  const found: { id: string; pid: number }[] = [];
  for (const id of ids) {
    try {
      const state = JSON.parse(readFileSync(join(RUNC_ROOT, id, "state.json"), "utf8")) as { init_process_pid?: number; config?: { labels?: string[] } };
      if (state.config?.labels?.some((label) => label.startsWith(`bundle=${dir}/`))) found.push({ id, pid: state.init_process_pid ?? -1 });
    } catch {
      // not a container state, or deleted meanwhile
    }
  }
  return found;
}

/** Kill and delete our containers; returns their init PIDs. */
function killContainers(dir: string): number[] {
  const containers = buildkitContainers(dir);
  for (const { id } of containers) spawnSync("runc", ["--root", RUNC_ROOT, "delete", "--force", id], { stdio: "ignore", timeout: 10_000 });
  return containers.map((c) => c.pid);
}

/** Whether a process runs (a zombie waiting for its parent to reap it counts as ended). */
export function processRunning(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Snapshots a killed daemon left mounted would make the temp dir impossible to remove. */
function unmountUnder(dir: string): void {
  let mounts: string;
  try {
    mounts = readFileSync("/proc/self/mounts", "utf8");
  } catch {
    return;
  }
  const points = mounts
    .split("\n")
    .map((line) => line.split(" ")[1] ?? "")
    .filter((point) => point.startsWith(dir + "/"))
    .sort((a, b) => b.length - a.length); // deepest first
  for (const point of points) spawnSync("umount", ["-l", point], { stdio: "ignore" });
}

/**
 * A test process killed outright (SIGKILL, a worker torn down) runs no exit hook; this detached
 * shell outlives it, and when it is gone kills the PIDs listed in `dir/pids`, the RUN steps whose
 * bundles are in `dir`, the shims on our socket, unmounts and removes `dir`. It ends by itself once stop() removed `dir`.
 */
const WATCHDOG = `
parent=$1; dir=$2
while kill -0 "$parent" 2>/dev/null && [ -d "$dir" ]; do sleep 1; done
[ -d "$dir" ] || exit 0
[ -f "$dir/pids" ] && while read -r pid; do kill -KILL "$pid" 2>/dev/null; done < "$dir/pids"
for f in $(grep -lsF "bundle=$dir/" /run/runc/*/state.json); do
  id=\${f%/state.json}; runc --root /run/runc delete --force "\${id##*/}" >/dev/null 2>&1
done
for f in $(grep -lasF containerd-shim /proc/[0-9]*/cmdline); do
  p=\${f#/proc/}; p=\${p%/cmdline}
  [ "$p" = "$$" ] && continue
  grep -qasF "$dir/c.sock" "$f" && kill -KILL "$p" 2>/dev/null
done
awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r m; do umount -l "$m"; done
rm -rf "$dir"
`;

function startWatchdog(dir: string): ChildProcess {
  const child = spawn("sh", ["-c", WATCHDOG, "basewarm-buildkit-watchdog", String(process.pid), dir], { detached: true, stdio: "ignore" });
  child.unref();
  return child;
}

function tail(text: string, lines = 30): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

async function waitFor(what: string, ready: () => Promise<boolean>, child: ChildProcess, logPath: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const log = await readFile(logPath, "utf8").catch(() => "");
      throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${tail(log)}`);
    }
    if (await ready()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  const log = await readFile(logPath, "utf8").catch(() => "");
  throw new Error(`${what} was not ready in ${timeoutMs} ms:\n${tail(log)}`);
}

function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: "/_ping", method: "GET", timeout: 1000 }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode === 200));
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

function spawnDaemon(command: string, args: string[], logPath: string, env: NodeJS.ProcessEnv, pidsFile: string): ChildProcess {
  const log = createWriteStream(logPath);
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  child.once("exit", () => {
    if (child.pid !== undefined) live.delete(child.pid);
  });
  if (child.pid !== undefined) {
    live.set(child.pid, child);
    appendFileSync(pidsFile, `${child.pid}\n`);
  }
  return child;
}

/** The docker CLI's settings that would send it to another daemon, builder or config. */
const STRAY_DOCKER_ENV = ["DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "BUILDX_BUILDER", "BUILDKIT_PROGRESS", "DOCKER_BUILDKIT", "DOCKER_DEFAULT_PLATFORM"];

/**
 * Start containerd and dockerd with fresh state in a short temp dir under /tmp (Unix socket paths
 * are limited to ~107 bytes). Registries on 127.0.0.0/8 are insecure by default for dockerd, so
 * testkit registries need no daemon configuration.
 */
export async function startBuildkit(options: BuildkitOptions = {}): Promise<RunningBuildkit> {
  const install = buildkitInstall(options.installDir);
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  hookExit();
  const dir = await mkdtemp("/tmp/bk-");
  liveDirs.add(dir);
  const watchdog = startWatchdog(dir);
  const started = Date.now();
  // containerd needs its shims and runc (Debian 12's, /usr/sbin) on PATH, dockerd its docker-proxy.
  const daemonEnv = { ...process.env, PATH: `${install.binDir}:${install.sbinDir}:/usr/sbin:/sbin:${process.env["PATH"] ?? "/usr/bin:/bin"}` };
  let containerd: ChildProcess | undefined;
  let dockerd: ChildProcess | undefined;
  const cleanup = async () => {
    if (dockerd) await stopChild(dockerd, 10_000);
    if (containerd) await stopChild(containerd, 10_000);
    const steps = killContainers(dir);
    killShims(dir);
    // SIGKILL is delivered asynchronously: return only once the steps' processes are gone.
    for (let i = 0; i < 50 && steps.some(processRunning); i++) await new Promise((r) => setTimeout(r, 100));
    unmountUnder(dir);
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    liveDirs.delete(dir);
    if (watchdog.exitCode === null) watchdog.kill("SIGKILL");
  };
  try {
    const csock = join(dir, "c.sock");
    await writeFile(
      join(dir, "containerd.toml"),
      [
        "version = 2",
        `root = "${dir}/c-root"`,
        `state = "${dir}/c-state"`,
        // The CRI plugin (Kubernetes) is not needed and would look for CNI.
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
        "[grpc]",
        `  address = "${csock}"`,
        "[ttrpc]",
        `  address = "${csock}.ttrpc"`,
        "",
      ].join("\n"),
    );
    const clog = join(dir, "containerd.log");
    containerd = spawnDaemon(install.containerd, ["--config", join(dir, "containerd.toml")], clog, daemonEnv, join(dir, "pids"));
    await waitFor("containerd", async () => existsSync(csock), containerd, clog, readyTimeoutMs);

    const dsock = join(dir, "d.sock");
    // No bridge and no iptables: RUN steps use --network=host (or none); nothing touches the host's firewall.
    await writeFile(join(dir, "daemon.json"), JSON.stringify({ features: { "containerd-snapshotter": true }, iptables: false, "ip-masq": false, bridge: "none" }));
    const dlog = join(dir, "dockerd.log");
    dockerd = spawnDaemon(
      install.dockerd,
      ["--config-file", join(dir, "daemon.json"), "--data-root", join(dir, "d-root"), "--exec-root", join(dir, "d-exec"), "-H", `unix://${dsock}`, "--pidfile", join(dir, "d.pid"), "--containerd", csock],
      dlog,
      daemonEnv,
      join(dir, "pids"),
    );
    await waitFor("dockerd", () => ping(dsock), dockerd, dlog, readyTimeoutMs);
    const startMs = Date.now() - started;

    const configDir = join(dir, "cfg");
    await mkdir(join(configDir, "cli-plugins"), { recursive: true });
    await symlink(install.buildx, join(configDir, "cli-plugins", "docker-buildx"));
    await writeFile(join(configDir, "config.json"), "{}\n");
    const host = `unix://${dsock}`;
    const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: host, DOCKER_CONFIG: configDir };
    for (const name of STRAY_DOCKER_ENV) delete env[name];

    const pids = { containerd: containerd.pid ?? -1, dockerd: dockerd.pid ?? -1 };
    return {
      install,
      docker: install.docker,
      buildx: install.buildx,
      host,
      configDir,
      env,
      dir,
      pids,
      startMs,
      run: (args, runOptions = {}) => runDocker(install.docker, args, env, runOptions),
      async logs() {
        const read = (name: string) => readFile(join(dir, name), "utf8").catch(() => "");
        return `containerd:\n${tail(await read("containerd.log"))}\ndockerd:\n${tail(await read("dockerd.log"))}`;
      },
      stop: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

function runDocker(docker: string, args: string[], env: NodeJS.ProcessEnv, options: RunOptions): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(docker, args, { env, cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8"), ms: Date.now() - started });
    });
  });
}
