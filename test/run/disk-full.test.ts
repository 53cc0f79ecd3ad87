/**
 * A disk that fills up in the middle of `basewarm run`: the state lives on a small tmpfs that the
 * test fills while a blob transfer is stalled upstream. Every later write fails (SQLITE_FULL),
 * including the lock's release in the cleanup; the run must still run every cleanup step (the
 * temporary credentials file goes), say what happened in one line, exit non-zero, and leave a
 * state that the next run, once there is room again, opens and completes.
 */
import { execFileSync } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeImage, makeLayer, pushImage } from "../../testkit/images.js";
import { basewarm, startBasewarm, workspace } from "../helpers/cli.js";
import { useFaultProxies } from "../helpers/fault-proxy.js";
import { useRegistry } from "../helpers/registries.js";
import { openStateStore } from "../../src/state/index.js";

/** Mount a tmpfs of `size` at a new folder; undefined when this machine does not allow mounts. */
function mountSmallDisk(size: string): string | undefined {
  const at = mkdtempSync(join(tmpdir(), "basewarm-small-disk-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", at], { stdio: "pipe" });
    return at;
  } catch {
    rmSync(at, { recursive: true, force: true });
    return undefined;
  }
}

/** Write zeros until the file system refuses: ENOSPC. */
function fillUp(file: string): void {
  const fd = openSync(file, "w");
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
  } finally {
    closeSync(fd);
  }
}

describe("a disk that fills up mid-run", () => {
  const upstream = useRegistry();
  const mirror = useRegistry();
  let disk: string | undefined;
  const startProxy = useFaultProxies();
  beforeAll(() => {
    disk = mountSmallDisk("4m");
  });
  afterAll(() => {
    if (disk) {
      execFileSync("umount", [disk]);
      rmSync(disk, { recursive: true, force: true });
    }
  });

  it("runs every cleanup step, removes the credentials file, exits 1 in one line, and the next run completes", async (ctx) => {
    // Mounting needs CAP_SYS_ADMIN (root on this machine and CI's); say so rather than pass silently.
    if (!disk) ctx.skip("cannot mount a tmpfs here (needs CAP_SYS_ADMIN)");
    const stateDir = join(disk!, "state");
    mkdirSync(stateDir);
    const layer = makeLayer("disk-full", 200_000);
    await pushImage(upstream().url, "full/app", makeImage({ seed: "disk-full", layers: [layer] }), "1");
    // One stall of 3 s on the layer's GET: the window in which the disk fills up. The layer's, not
    // any blob's: the config blob is shorter than 1000 bytes, so a stall rule it reached first was
    // used up without stalling, and the run finished before the disk filled.
    const proxy = await startProxy(upstream(), [{ method: "GET", path: new RegExp(`/blobs/${layer.digest}`), fault: { kind: "stall-body", afterBytes: 1000, ms: 3000 }, times: 1 }]);
    const temp = mkdtempSync(join(tmpdir(), "basewarm-full-tmp-"));
    const dir = workspace({
      "basewarm.yaml": [
        `target: { registry: "${mirror().host}", prefix: full }`,
        `state: ${join(stateDir, "state.db")}`,
        `images: ["${proxy.host}/full/app:1"]`,
        // Credentials make the run write a temporary auth file for the builder: it must not stay behind.
        'registries: { "builder-only.example:5000": { username: bot, password: "Full-Secret-31" } }',
        "build: { driver: buildah }",
      ].join("\n"),
    });
    const { child, output } = startBasewarm(["run", "--config", join(dir, "basewarm.yaml")], { TMPDIR: temp });
    const exit = new Promise<number | null>((resolve) => child.once("exit", resolve));
    const deadline = Date.now() + 30_000;
    while ((proxy.injected["stall-body"] ?? 0) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(proxy.injected["stall-body"], output()).toBe(1);
    expect(readdirSync(temp).filter((f) => f.startsWith("basewarm-auth-")), output() + " DIR=" + readdirSync(temp).join(",")).toHaveLength(1);
    fillUp(join(disk!, "filler"));

    const code = await exit;
    const text = output();
    expect(code, text).toBe(1);
    expect(text).toMatch(/^basewarm: .*state file .*state\.db.*(full|SQLITE_FULL).*check free space/m);
    expect(text).not.toMatch(/\n\s+at /);
    expect(text).not.toContain("Full-Secret-31");
    expect(readdirSync(temp).filter((f) => f.startsWith("basewarm-auth-"))).toEqual([]);

    // With room again, the next run takes the dead run's lock over, finishes the work, and the file is sound.
    rmSync(join(disk!, "filler"));
    const next = await basewarm(["run", "--config", join(dir, "basewarm.yaml")], { env: { TMPDIR: temp } });
    expect(next.code, next.stdout + next.stderr).toBe(0);
    const db = new Database(join(stateDir, "state.db"), { readonly: true });
    expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
    const runs = db.prepare("SELECT outcome FROM runs ORDER BY id").all() as { outcome: string }[];
    expect(runs.map((r) => r.outcome)).toEqual(["abandoned", "ok"]);
    expect(db.prepare("SELECT COUNT(*) AS n FROM lock").get()).toEqual({ n: 0 });
    db.close();
    expect(readdirSync(temp).filter((f) => f.startsWith("basewarm-auth-"))).toEqual([]);
  });

  it("a store whose lock release fails on the full disk still closes, and says why in one line", async (ctx) => {
    if (!disk) ctx.skip("cannot mount a tmpfs here (needs CAP_SYS_ADMIN)");
    const stateDir = join(disk!, "store");
    mkdirSync(stateDir);
    const state = await openStateStore(join(stateDir, "state.db"), { baseDir: stateDir });
    const lock = await state.acquireLock();
    expect(lock).not.toBeNull();
    fillUp(join(disk!, "filler-store"));
    try {
      await expect(state.close()).rejects.toThrow(/^state file .*state\.db: cannot release the run lock: .*full.*; check free space/);
      // Closed all the same: use after close is refused, and closing again is harmless.
      await expect(state.recentRuns(1)).rejects.toThrow(/closed/);
      await expect(state.close()).resolves.toBeUndefined();
    } finally {
      rmSync(join(disk!, "filler-store"));
    }
    // The file is sound; the lock row stays until its holder (this process) is gone, then it is
    // taken over, as the run above shows.
    const db = new Database(join(stateDir, "state.db"), { readonly: true });
    expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
    expect(db.prepare("SELECT COUNT(*) AS n FROM lock").get()).toEqual({ n: 1 });
    db.close();
  });
});
