import { mkdtempSync, readdirSync } from "node:fs";
import { getEventListeners } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { Scheduler } from "../../src/schedule/index.js";
import { silentLogger } from "../../src/log/index.js";
import { makeBusyboxImage, makeImage, makeLayer, pushImage } from "../../testkit/images.js";
import { basewarm, startBasewarm, workspace } from "../helpers/cli.js";
import { useRegistry } from "../helpers/registries.js";

function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (check()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error("timed out waiting"));
      setTimeout(tick, 50);
    };
    tick();
  });
}

/** Rows in a table of a state file that another process is writing; 0 while it does not exist yet. */
function rowCount(path: string, table: "images" | "lock" | "runs"): number {
  try {
    const db = new Database(path, { readonly: true });
    const n = (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
    db.close();
    return n;
  } catch {
    return 0;
  }
}

describe("scheduler", () => {
  it("fires from a real cron expression and never runs two at once", async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    const scheduler = new Scheduler({
      cron: "* * * * * *", // every second
      logger: silentLogger,
      run: async () => {
        active++;
        runs++;
        maxActive = Math.max(maxActive, active);
        await new Promise((r) => setTimeout(r, 2200)); // longer than the period
        active--;
      },
    });
    scheduler.start();
    await waitFor(() => runs >= 2, 10_000);
    await scheduler.stop();
    expect(maxActive).toBe(1);
    expect(scheduler.stats.skippedBusy).toBeGreaterThan(0);
  });
});

describe("scheduler start delay", () => {
  it("waits the random start delay before a run, and a stop during the delay runs nothing", async () => {
    const started: number[] = [];
    const scheduler = new Scheduler({ cron: "0 0 1 1 *", jitterSeconds: 1, random: () => 0.5, logger: silentLogger, run: async () => void started.push(Date.now()) });
    const t0 = Date.now();
    await scheduler.fire();
    expect(started).toHaveLength(1);
    expect(started[0]! - t0).toBeGreaterThanOrEqual(480);

    const stopped = new Scheduler({ cron: "0 0 1 1 *", jitterSeconds: 5, random: () => 0.9, logger: silentLogger, run: async () => void started.push(Date.now()) });
    const pending = stopped.fire();
    await new Promise((r) => setTimeout(r, 100));
    const t1 = Date.now();
    await stopped.stop();
    await pending;
    expect(Date.now() - t1).toBeLessThan(1000);
    expect(started).toHaveLength(1);
  });

  it("leaves no listener on its stop signal after each delayed run (a long serve would gain one per run)", async () => {
    let signal: AbortSignal | undefined;
    const scheduler = new Scheduler({ cron: "0 0 1 1 *", jitterSeconds: 1, random: () => 0.001, logger: silentLogger, run: async (s) => void (signal = s) });
    for (let i = 0; i < 12; i++) await scheduler.fire();
    expect(scheduler.stats.started).toBe(12);
    expect(getEventListeners(signal!, "abort")).toHaveLength(0);
    await scheduler.stop();
  });
});

describe("basewarm serve (a real process)", () => {
  const upstream = useRegistry();
  const mirror = useRegistry();

  it("runs on its cron schedule, logs a health line per run, and exits 0 on SIGTERM", async () => {
    await pushImage(upstream().url, "lib/s", makeImage({ seed: "serve", layers: [makeLayer("serve", 1000)] }), "1");
    const dir = workspace({
      "basewarm.yaml": [
        `target: { registry: "${mirror().host}" }`,
        "state: state.db",
        `images: ["${upstream().host}/lib/s:1"]`,
        'schedule: { cron: "*/2 * * * * *" }',
        "log: { level: info }",
      ].join("\n"),
    });
    const { child, output } = startBasewarm(["serve", "--config", join(dir, "basewarm.yaml")]);
    await waitFor(() => (output().match(/"msg":"health"/g) ?? []).length >= 2, 20_000);
    child.kill("SIGTERM");
    const code = await new Promise((r) => child.once("exit", r));
    expect(code).toBe(0);
    expect(output()).toMatch(/"msg":"scheduler stopped"/);
    expect(output()).toMatch(/"health":"ok","runId":\d+,"outcome":"ok"/);
    const db = new Database(join(dir, "state.db"), { readonly: true });
    const runs = db.prepare("SELECT trigger, outcome FROM runs ORDER BY id").all() as { trigger: string; outcome: string }[];
    expect(runs.length).toBeGreaterThanOrEqual(2);
    expect(runs.every((r) => r.trigger === "schedule" && r.outcome === "ok")).toBe(true);
    expect(db.prepare("SELECT COUNT(*) AS n FROM lock").get()).toEqual({ n: 0 });
    db.close();
  });

  /** A catalog of one buildah entry whose build takes a while (`step`), over busybox:`tag` upstream. */
  async function slowBuild(tag: string, step: string, configLines: string[]): Promise<string> {
    await pushImage(upstream().url, "lib/busybox", makeBusyboxImage({ seed: `serve-slow-${tag}` }), tag);
    return workspace({
      "slow/Dockerfile": `FROM ${upstream().host}/lib/busybox:${tag}\n${step}\n`,
      "basewarm.yaml": [
        `target: { registry: "${mirror().host}" }`,
        "state: state.db",
        "catalog: [{ dockerfile: slow/Dockerfile }]",
        "build: { driver: buildah, timeoutSeconds: 120 }",
        ...configLines,
      ].join("\n"),
    });
  }

  it("a second SIGTERM during a build exits at once and still leaves no folder and no builder process behind", async () => {
    const dir = await slowBuild("2", "RUN sleep 67", ['registries: { "builder-only.example:5000": { username: bot, password: "Twice-Secret-3" } }']);
    const temp = mkdtempSync(join(tmpdir(), "basewarm-serve-tmp-"));
    const { child, output } = startBasewarm(["serve", "--once", "--config", join(dir, "basewarm.yaml")], { TMPDIR: temp });
    // The build has started: buildah's storage, the staged Dockerfile and the credentials are all there.
    await waitFor(() => readdirSync(temp).some((name) => name.startsWith("basewarm-buildah-")), 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(readdirSync(temp).filter((n) => n.startsWith("basewarm-")).map((n) => n.replace(/-[^-]+$/, "")).sort()).toEqual(["basewarm-auth", "basewarm-build", "basewarm-buildah"]);
    const exit = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    // Apart, or the kernel folds two pending signals into one.
    await new Promise((r) => setTimeout(r, 20));
    child.kill("SIGTERM");
    expect(await exit, output()).toBe(143);
    expect(readdirSync(temp), output()).toEqual([]);
    // buildah ran in a process group of its own: the immediate exit took it along.
    await new Promise((r) => setTimeout(r, 500));
    const { spawnSync } = await import("node:child_process");
    expect(spawnSync("pgrep", ["-f", "sleep 67"], { encoding: "utf8" }).stdout.trim()).toBe("");
  });

  it("abandons a run cleanly on SIGTERM during a build, and the next run finishes the work", async () => {
    const dir = await slowBuild("1", "RUN sleep 60", ["log: { level: info }"]);
    const started = Date.now();
    // Its own TMPDIR: whatever the run or buildah puts there must be gone after the stop.
    const temp = mkdtempSync(join(tmpdir(), "basewarm-serve-tmp-"));
    const { child, output } = startBasewarm(["serve", "--once", "--config", join(dir, "basewarm.yaml")], { TMPDIR: temp });
    // Wait until the mirror step is done and the build has started.
    await waitFor(() => rowCount(join(dir, "state.db"), "images") > 0, 20_000);
    await new Promise((r) => setTimeout(r, 1500));
    child.kill("SIGTERM");
    const code = await new Promise((r) => child.once("exit", r));
    // A one-shot run stopped before its work was done exits 1, like any run that did not finish.
    expect(code).toBe(1);
    expect(Date.now() - started).toBeLessThan(40_000);
    // Nothing may stay (the shipped build's code cache lives beside it, not in a temp folder).
    expect(readdirSync(temp)).toEqual([]);
    const db = new Database(join(dir, "state.db"), { readonly: true });
    expect(db.prepare("SELECT outcome FROM runs").all()).toEqual([{ outcome: "abandoned" }]);
    expect(db.prepare("SELECT outcome, reason FROM builds").all()).toEqual([{ outcome: "failed", reason: expect.stringMatching(/stopped/) }]);
    expect(db.prepare("SELECT COUNT(*) AS n FROM lock").get()).toEqual({ n: 0 });
    expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
    db.close();
    expect(output()).not.toMatch(/\n\s+at /);
    // The health line of a stopped run does not say ok.
    expect(output()).toMatch(/"health":"abandoned","runId":1,"outcome":"abandoned"/);
    expect(output()).not.toMatch(/"health":"ok"/);

    // The next run completes (the Dockerfile no longer sleeps) and the mirror work is not redone.
    const { writeFileSync } = await import("node:fs");
    writeFileSync(join(dir, "slow/Dockerfile"), `FROM ${upstream().host}/lib/busybox:1\nRUN echo fast\n`);
    const next = await basewarm(["run", "--config", join(dir, "basewarm.yaml"), "--json"]);
    expect(next.code).toBe(0);
    const report = JSON.parse(next.stdout) as { outcome: string; mirror: { summary: { unchanged: number } }; builds: { outcome: string }[] };
    expect(report.outcome).toBe("ok");
    expect(report.mirror.summary.unchanged).toBe(1);
    expect(report.builds.map((b) => b.outcome)).toEqual(["built"]);
  });

  it("refuses a second run, and a mirror, while one holds the lock", async () => {
    await pushImage(upstream().url, "lib/busybox", makeBusyboxImage({ seed: "serve-lock" }), "2");
    const dir = workspace({
      "slow/Dockerfile": `FROM ${upstream().host}/lib/busybox:2\nRUN sleep 30\n`,
      "basewarm.yaml": `target: { registry: "${mirror().host}" }\nstate: state.db\ncatalog: [{ dockerfile: slow/Dockerfile }]\nbuild: { driver: buildah }\n`,
    });
    const { child } = startBasewarm(["run", "--config", join(dir, "basewarm.yaml")]);
    await waitFor(() => rowCount(join(dir, "state.db"), "lock") > 0, 20_000);
    const second = await basewarm(["run", "--config", join(dir, "basewarm.yaml")]);
    expect(second.code).toBe(3); // EXIT.locked: a held lock is not a failed run
    expect(second.stderr.trim()).toMatch(/^basewarm: another run or mirror holds the lock in .*state\.db; wait for it to finish/);
    // mirror writes the same records: it waits its turn too, and records no run of its own.
    const runsBefore = rowCount(join(dir, "state.db"), "runs");
    const mirroring = await basewarm(["mirror", "--config", join(dir, "basewarm.yaml"), "--json"]);
    expect(mirroring.code).toBe(3);
    expect(mirroring.stderr.trim()).toMatch(/^basewarm: another run or mirror holds the lock in .*state\.db; wait for it to finish/);
    expect(rowCount(join(dir, "state.db"), "runs")).toBe(runsBefore);
    child.kill("SIGTERM");
    // Stopped before its work was done: the one-shot run exits 1.
    expect(await new Promise((r) => child.once("exit", r))).toBe(1);
    // The lock is free again: the same mirror now runs.
    const after = await basewarm(["mirror", "--config", join(dir, "basewarm.yaml"), "--json"]);
    expect(after.code, after.stderr).toBe(0);
    expect(rowCount(join(dir, "state.db"), "lock")).toBe(0);
  });
});
