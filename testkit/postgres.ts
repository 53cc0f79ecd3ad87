/**
 * A real PostgreSQL server for tests: Debian's `postgresql` binaries (found under
 * /usr/lib/postgresql/<version>/bin, not on PATH), a fresh cluster in a temp dir, listening on
 * 127.0.0.1 and a free port, its socket in the same dir. PostgreSQL refuses to run as root, so as
 * root the cluster belongs to, and runs as, the `postgres` user.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { chown, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { freePort } from "./registry-server.js";
import { randomBytes } from "node:crypto";

export interface PostgresOptions {
  /**
   * Require this password over TCP (scram-sha-256) for the `postgres` user; without it every
   * connection is trusted. The unix socket stays trusted, for the harness itself.
   */
  password?: string;
}

export interface RunningPostgres {
  host: string;
  port: number;
  user: string;
  /** The cluster's directory (data, socket and server log). */
  dir: string;
  /** `postgres://postgres@127.0.0.1:PORT/DATABASE` (never with a password). */
  url(database?: string): string;
  /** A new empty database, for one test; returns its URL. */
  createDatabase(): Promise<string>;
  /** Stop the server, keeping its data: `immediate` is a crash (no checkpoint), as a killed host would. */
  halt(mode?: "fast" | "immediate"): Promise<void>;
  /** Start the halted server again on the same port, with its data. */
  resume(): Promise<void>;
  /** Stop the server and delete its data. Harmless twice. */
  stop(): Promise<void>;
}

/** The newest installed PostgreSQL's bin directory. */
export function postgresBinDir(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  const found = versions.map((v) => join(root, v, "bin")).find((dir) => existsSync(join(dir, "pg_ctl")));
  if (found === undefined) throw new Error(`no PostgreSQL server under ${root}; run scripts/setup.sh (Debian package postgresql)`);
  return found;
}

function postgresAccount(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith("postgres:"));
  const [, , uid, gid] = line?.split(":") ?? [];
  if (uid === undefined || gid === undefined) throw new Error("running as root but there is no postgres user; install Debian's postgresql package");
  return { uid: Number(uid), gid: Number(gid) };
}

function run(file: string, args: string[], account: { uid: number; gid: number } | undefined, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, ...(account ?? {}), env: { ...process.env, LC_ALL: "C" } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(" ")} failed: ${String(stderr).trim() || err.message}`));
      else resolve(String(stdout));
    });
  });
}

export async function startPostgres(options: PostgresOptions = {}): Promise<RunningPostgres> {
  const bin = postgresBinDir();
  const account = postgresAccount();
  const dir = await mkdtemp(join(tmpdir(), "basewarm-pg-"));
  const data = join(dir, "data");
  if (account) await chown(dir, account.uid, account.gid);
  const initArgs = ["-D", data, "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C"];
  if (options.password === undefined) {
    initArgs.push("-A", "trust");
  } else {
    const pwfile = join(dir, "pwfile");
    await writeFile(pwfile, `${options.password}\n`, { mode: 0o600 });
    if (account) await chown(pwfile, account.uid, account.gid);
    initArgs.push("--auth-local=trust", "--auth-host=scram-sha-256", `--pwfile=${pwfile}`);
  }
  await run(join(bin, "initdb"), initArgs, account);

  let port = 0;
  let stopped = true;
  const pgCtl = (args: string[]): Promise<string> => run(join(bin, "pg_ctl"), ["-D", data, ...args], account);
  const startOn = async (p: number): Promise<void> => {
    await pgCtl(["-w", "-t", "60", "-l", join(dir, "server.log"), "-o", `-p ${p} -k ${dir} -c listen_addresses=127.0.0.1`, "start"]);
    stopped = false;
  };
  // A free port can be taken between the probe and the bind: try a few.
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      await startOn(port);
      break;
    } catch (err) {
      if (attempt >= 2) {
        await rm(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }

  const url = (database = "postgres"): string => `postgres://postgres@127.0.0.1:${port}/${database}`;
  const halt = async (mode: "fast" | "immediate" = "fast"): Promise<void> => {
    if (stopped) return;
    await pgCtl(["-w", "-m", mode, "stop"]);
    stopped = true;
  };
  return {
    host: "127.0.0.1",
    port,
    user: "postgres",
    dir,
    url,
    async createDatabase() {
      const name = `bw_${randomBytes(6).toString("hex")}`;
      // Over the socket, which stays trusted whatever the TCP authentication.
      const client = new pg.Client({ host: dir, port, user: "postgres", database: "postgres" });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return url(name);
    },
    halt,
    async resume() {
      if (stopped) await startOn(port);
    },
    async stop() {
      await halt("fast").catch(() => halt("immediate"));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
