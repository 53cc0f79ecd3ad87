/**
 * The commands that only read the state (status, history, rewrite) work where this user may not
 * write it — a monitoring sidecar's read-only mount, a file another user owns — and write nothing.
 * The CLI runs as root without its file-permission capabilities (setpriv), so mode bits hold for it
 * as for any user (see test/state/migrations.test.ts for why not as another user).
 */
import { chmodSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { makeBusyboxImage, pushImage } from "../../testkit/index.js";
import { basewarm, expectOneLineError, workspace } from "../helpers/cli.js";
import { useRegistry } from "../helpers/registries.js";

const withoutFileCapabilities = process.getuid?.() === 0 ? ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"] : [];

describe("a state this user may not write", () => {
  const registry = useRegistry();
  const locked: string[] = [];
  afterEach(() => {
    for (const dir of locked.splice(0)) chmodSync(dir, 0o755);
  });

  async function recordedState(): Promise<{ dir: string; config: string; ref: string; digest: string }> {
    const image = makeBusyboxImage({ seed: `read-only-${Math.random()}` });
    await pushImage(registry().url, "library/tool", image, "1");
    const digest = image.digest;
    const ref = `${registry().host}/library/tool:1`;
    const dir = workspace({
      "basewarm.yaml": `target: { registry: "${registry().host}", prefix: m }\nstate: state/basewarm.db\nimages: ["${ref}"]\n`,
      Dockerfile: `FROM ${ref}\n`,
      "state/.keep": "",
    });
    const config = join(dir, "basewarm.yaml");
    const mirrored = await basewarm(["mirror", "--config", config]);
    expect(mirrored.code, mirrored.stderr).toBe(0);
    chmodSync(dir, 0o755);
    return { dir, config, ref, digest };
  }

  function lock(dir: string): void {
    chmodSync(join(dir, "state", "basewarm.db"), 0o444);
    chmodSync(join(dir, "state"), 0o555);
    locked.push(join(dir, "state"));
  }

  it("is read by status, history and rewrite, which change nothing in it", async () => {
    const { dir, config, ref, digest } = await recordedState();
    lock(dir);
    const before = readFileSync(join(dir, "state", "basewarm.db"));
    const asReader = { wrapper: withoutFileCapabilities };

    const status = await basewarm(["status", "--config", config, "--check"], asReader);
    expect([status.code, status.stderr]).toEqual([0, ""]);
    expect(status.stdout).toMatch(/^run 1 +mirror +ok/m);
    const history = await basewarm(["history", ref, "--config", config], asReader);
    expect([history.code, history.stderr]).toEqual([0, ""]);
    expect(history.stdout).toContain(digest);
    const rewrite = await basewarm(["rewrite", join(dir, "Dockerfile"), "--config", config], asReader);
    expect([rewrite.code, rewrite.stderr]).toEqual([0, ""]);
    expect(rewrite.stdout).toBe(`FROM ${registry().host}/m/${registry().host.replace(":", "-")}/library/tool@${digest}\n`);

    expect(readFileSync(join(dir, "state", "basewarm.db")).equals(before)).toBe(true);
    expect(readdirSync(join(dir, "state")).sort()).toEqual([".keep", "basewarm.db"]);
    // A writer still fails, in one line.
    expectOneLineError(await basewarm(["mirror", "--config", config], asReader), /state file .*basewarm\.db: cannot .*readonly database/, 1);
  });

  it("is read through its -shm while a writer has it open, seeing the writer's commits", async () => {
    const { dir, config, ref } = await recordedState();
    const writer = new Database(join(dir, "state", "basewarm.db"));
    try {
      // A commit that stays in the WAL (no checkpoint while the writer is open).
      writer.pragma("wal_autocheckpoint = 0");
      const runs = (writer.prepare("SELECT COUNT(*) AS n FROM runs").get() as { n: number }).n;
      expect((await basewarm(["mirror", "--config", config])).code).toBe(0);
      lock(dir);
      const status = await basewarm(["status", "--config", config, "--json"], { wrapper: withoutFileCapabilities });
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toContain(`"id": ${runs + 1}`);
      const history = await basewarm(["history", ref, "--config", config], { wrapper: withoutFileCapabilities });
      expect(history.stdout).toMatch(/\(2 runs\)/);
    } finally {
      writer.close();
    }
  });

  it("of an older schema is refused in one line that says how to upgrade it", async () => {
    const { dir, config } = await recordedState();
    const db = new Database(join(dir, "state", "basewarm.db"));
    const version = db.pragma("user_version", { simple: true }) as number;
    db.pragma(`user_version = ${version - 1}`);
    db.close();
    lock(dir);
    const mode = statSync(join(dir, "state", "basewarm.db")).mode;
    expectOneLineError(await basewarm(["status", "--config", config], { wrapper: withoutFileCapabilities }),
      new RegExp(`schema version ${version - 1}, older than this basewarm's \\(${version}\\), and this user may not write it to upgrade it; let a run or mirror with write access open it once`), 1);
    expect(statSync(join(dir, "state", "basewarm.db")).mode).toBe(mode);
  });
});
