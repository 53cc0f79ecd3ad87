/**
 * Real registry servers for tests, benchmarks and the demo: Debian's `docker-registry`
 * (the CNCF distribution registry) on 127.0.0.1 and a free port, with a generated config
 * in a temp dir, in one of three flavours: no auth, htpasswd Basic auth, Bearer token auth.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp, readFile, rm, writeFile, mkdir } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTokenIssuer, type Grant, type TestUser, type TokenIssuer } from "./token-issuer.js";

export type AuthFlavour = "none" | "basic" | "token";

// A user lives with the grants the token issuer gives them; re-exported for the registry's callers.
export type { TestUser } from "./token-issuer.js";

export interface RegistryOptions {
  auth?: AuthFlavour;
  users?: TestUser[];
  /** Token lifetime the issuer advertises, in seconds. */
  tokenTtlSeconds?: number;
  /** Keep data in this directory instead of a fresh temp dir. */
  dataDir?: string;
  /** Listen on this port instead of a free one (the demo keeps its ports stable). */
  port?: number;
  /** Token flavour: what anonymous clients may do (Docker Hub grants anonymous pull). */
  anonymous?: Grant[];
}

export interface RegistryRequest {
  method: string;
  uri: string;
  status: number;
  /** Response body bytes the registry wrote. */
  written: number;
  /** When the registry finished the response (ms since the epoch) and how long it took (ms). */
  end: number;
  durationMs: number;
}

/** Go duration strings as the registry logs them: `11.4ms`, `1.2s`, `850µs`, `1m2.5s`. */
export function parseGoDuration(text: string): number {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, "µs": 1e-3, us: 1e-3, ns: 1e-6 };
  let total = 0;
  for (const [, value, unit] of text.matchAll(/([\d.]+)(h|ms|m|s|µs|us|ns)/g)) total += Number(value) * (units[unit as string] ?? 0);
  return total;
}

export interface RunningRegistry {
  /** `127.0.0.1:PORT`, usable as the registry part of a reference. */
  host: string;
  url: string;
  auth: AuthFlavour;
  users: TestUser[];
  dir: string;
  issuer?: TokenIssuer;
  /** Requests the registry has answered so far, read from its JSON log. */
  requests(): Promise<RegistryRequest[]>;
  /** Every request the registry has answered since it started (resetRequests does not apply). */
  requestLog(): Promise<RegistryRequest[]>;
  /** Forget requests logged so far (for counting one phase of a test). */
  resetRequests(): Promise<void>;
  stop(): Promise<void>;
}

export const DEFAULT_USER: TestUser = {
  username: "warm",
  password: "s3cret-test-password-Xq9",
  grants: [{ repository: "*", actions: ["pull", "push"] }],
};

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function htpasswdFile(users: TestUser[]): Promise<string> {
  // Dynamic import: bcryptjs is a dev dependency and only the Basic flavour needs it.
  const bcrypt = await import("bcryptjs");
  const lines = users.map((u) => `${u.username}:${bcrypt.hashSync(u.password, 4)}`);
  return lines.join("\n") + "\n";
}

function registryConfig(opts: { dataDir: string; port: number; auth: string }): string {
  return [
    "version: 0.1",
    "log:",
    "  level: info",
    "  formatter: json",
    "  accesslog:",
    "    disabled: true",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${opts.dataDir}`,
    "  delete:",
    "    enabled: true",
    "  redirect:",
    "    disable: true",
    "http:",
    `  addr: 127.0.0.1:${opts.port}`,
    `  secret: basewarm-test-${opts.port}`,
    opts.auth,
  ].join("\n");
}

async function waitReady(url: string, child: ChildProcess, logPath: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      const log = await readFile(logPath, "utf8").catch(() => "");
      throw new Error(`docker-registry exited with ${child.exitCode}: ${log.slice(-2000)}`);
    }
    try {
      const res = await fetch(`${url}/v2/`);
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 401) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`docker-registry at ${url} did not become ready in 15 s`);
}

export async function startRegistry(options: RegistryOptions = {}): Promise<RunningRegistry> {
  const auth = options.auth ?? "none";
  const users = options.users ?? (auth === "none" ? [] : [DEFAULT_USER]);
  const dir = await mkdtemp(join(tmpdir(), "basewarm-registry-"));
  const dataDir = options.dataDir ?? join(dir, "data");
  await mkdir(dataDir, { recursive: true });

  let issuer: TokenIssuer | undefined;
  let authConfig = "";
  if (auth === "basic") {
    const path = join(dir, "htpasswd");
    await writeFile(path, await htpasswdFile(users));
    authConfig = ["auth:", "  htpasswd:", "    realm: basewarm-test", `    path: ${path}`].join("\n");
  } else if (auth === "token") {
    issuer = await startTokenIssuer({
      dir,
      users,
      ...(options.tokenTtlSeconds === undefined ? {} : { ttlSeconds: options.tokenTtlSeconds }),
      ...(options.anonymous === undefined ? {} : { anonymous: options.anonymous }),
    });
    authConfig = [
      "auth:",
      "  token:",
      `    realm: ${issuer.realm}`,
      `    service: ${issuer.service}`,
      `    issuer: ${issuer.issuer}`,
      `    rootcertbundle: ${issuer.certPath}`,
    ].join("\n");
  }

  // A port can be taken between freePort() and the registry's bind; retry a few times.
  for (let attempt = 0; ; attempt++) {
    const port = options.port ?? (await freePort());
    const configPath = join(dir, "config.yml");
    await writeFile(configPath, registryConfig({ dataDir, port, auth: authConfig }));
    const logPath = join(dir, `registry-${attempt}.log`);
    const log = createWriteStream(logPath);
    const child = spawn("docker-registry", ["serve", configPath], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitReady(url, child, logPath);
    } catch (err) {
      child.kill("SIGKILL");
      if (attempt < 3 && options.port === undefined) continue;
      await issuer?.stop();
      throw err;
    }
    let skipLines = 0;
    const readRequests = async (): Promise<RegistryRequest[]> => {
      const text = await readFile(logPath, "utf8");
      const out: RegistryRequest[] = [];
      for (const line of text.split("\n")) {
        if (!line.startsWith("{")) continue;
        let entry: Record<string, unknown>;
        try {
          entry = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue;
        }
        const method = entry["http.request.method"];
        const msg = entry["msg"];
        if (typeof method !== "string" || typeof msg !== "string" || !msg.startsWith("response completed")) continue;
        out.push({
          method,
          uri: String(entry["http.request.uri"]),
          status: Number(entry["http.response.status"]),
          written: Number(entry["http.response.written"] ?? 0),
          end: Date.parse(String(entry["time"])),
          durationMs: parseGoDuration(String(entry["http.response.duration"] ?? "")),
        });
      }
      return out;
    };
    const running: RunningRegistry = {
      host: `127.0.0.1:${port}`,
      url,
      auth,
      users,
      dir,
      async requests() {
        // The registry writes its log line after the response; give it a moment to land.
        await new Promise((r) => setTimeout(r, 100));
        return (await readRequests()).slice(skipLines);
      },
      async requestLog() {
        await new Promise((r) => setTimeout(r, 100));
        return readRequests();
      },
      async resetRequests() {
        await new Promise((r) => setTimeout(r, 100));
        skipLines = (await readRequests()).length;
      },
      async stop() {
        if (child.exitCode === null) {
          const exited = new Promise((r) => child.once("exit", r));
          child.kill("SIGTERM");
          const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
          await exited;
          clearTimeout(timer);
        }
        log.end();
        await issuer?.stop();
        if (options.dataDir === undefined) await rm(dir, { recursive: true, force: true });
      },
    };
    if (issuer) running.issuer = issuer;
    return running;
  }
}
