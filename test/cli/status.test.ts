/**
 * `basewarm status` over a real state written by real runs (no registry needed: the catalogs name
 * no images). What it watches, and that it says why a run failed.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeImage, makeLayer, pushImage } from "../../testkit/index.js";
import { basewarm, jsonOf, workspace } from "../helpers/cli.js";
import { useFaultProxies } from "../helpers/fault-proxy.js";
import { useRegistry } from "../helpers/registries.js";

interface StatusJson {
  shards: { shard: string; last: { id: number; outcome: string }; failures: { images: unknown[] }; deferred: { source: string; lastMirrored: string | null }[] }[];
  problems: string[];
}

describe("status", () => {
  it("names a failed run's catalog problem, and watches the shards the deployment runs now", async () => {
    const dir = workspace({
      "broken.yaml": "target: { registry: 127.0.0.1:9 }\nstate: s.db\ncatalog:\n  - dockerfile: nothere/*/Dockerfile\n",
      "fleet.yaml": "target: { registry: 127.0.0.1:9 }\nstate: s.db\n",
    });
    const broken = join(dir, "broken.yaml");
    const fleet = join(dir, "fleet.yaml");
    const status = async (...extra: string[]) => basewarm(["status", "--config", fleet, ...extra]);

    // A monitoring job reads the state without the registry secrets a run needs.
    const withSecret = join(dir, "secret.yaml");
    writeFileSync(withSecret, "target: { registry: 127.0.0.1:9 }\nstate: s.db\nregistries: { \"127.0.0.1:9\": { username: bot, passwordEnv: MIRROR_PASSWORD } }\n");
    expect((await basewarm(["run", "--config", withSecret])).stderr).toMatch(/passwordEnv: environment variable MIRROR_PASSWORD is not set/);
    expect((await basewarm(["status", "--config", withSecret])).stderr).toMatch(/state file .* does not exist/);

    // A one-off whole-catalog run fails: status says why, not only that it failed.
    expect((await basewarm(["run", "--config", broken])).code).toBe(1);
    const failed = await status();
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain(`failures in run 1 (shard all):\n  ${broken}:4: catalog[0].dockerfile: no file matches "nothere/*/Dockerfile" (relative to ${dir})\n`);
    const serveLog = await basewarm(["serve", "--once", "--config", broken]);
    expect(serveLog.stdout + serveLog.stderr).toMatch(/"msg":"catalog problem"/);
    expect(serveLog.stdout + serveLog.stderr).toContain("no file matches \\\"nothere/*/Dockerfile\\\"");

    // The sharded runs that follow supersede it: the one-off failure is not watched forever.
    for (const shard of ["0/2", "1/2"]) expect((await basewarm(["serve", "--once", "--config", fleet, "--shard", shard])).code).toBe(0);
    const sharded = await status("--check", "--json");
    expect([sharded.code, jsonOf<StatusJson>(sharded).shards.map((s) => `${s.shard} ${s.last.outcome}`)]).toEqual([0, ["0/2 ok", "1/2 ok"]]);

    // A shard count changed (2 → 3): the old count's shards are gone, not stale forever; the new
    // count's shards that have not run yet are missing.
    expect((await basewarm(["serve", "--once", "--config", fleet, "--shard", "2/3"])).code).toBe(0);
    const resharded = jsonOf<StatusJson>(await status("--check", "--json", "--max-age", "1h"));
    expect(resharded.shards.map((s) => s.shard)).toEqual(["2/3"]);
    expect(resharded.problems).toEqual(["shard 0/3: never ran (not among the last 200 runs)", "shard 1/3: never ran (not among the last 200 runs)"]);
    for (const shard of ["0/3", "1/3"]) expect((await basewarm(["serve", "--once", "--config", fleet, "--shard", shard])).code).toBe(0);
    expect(jsonOf<StatusJson>(await status("--check", "--json", "--max-age", "1h")).problems).toEqual([]);

    // A one-off mirror newer than every shard run is watched until the shards run again.
    expect((await basewarm(["mirror", "--config", broken])).code).toBe(1);
    const oneOff = await status("--check", "--json");
    expect([oneOff.code, jsonOf<StatusJson>(oneOff).shards.map((s) => `${s.shard} ${s.last.outcome}`)]).toEqual([1, ["0/3 ok", "1/3 ok", "2/3 ok", "all failed"]]);
    expect((await basewarm(["serve", "--once", "--config", fleet, "--shard", "2/3"])).code).toBe(0);
    expect((await status("--check")).code).toBe(0);

    // A full run newer than every shard run covers their work: the deployment is one run again,
    // and only it is watched (the old shards would otherwise fail --max-age for weeks).
    expect((await basewarm(["run", "--config", broken])).code).toBe(1);
    const full = await status("--check", "--json");
    expect([full.code, jsonOf<StatusJson>(full).shards.map((s) => `${s.shard} ${s.last.outcome}`)]).toEqual([1, ["all failed"]]);
    expect((await status("--check")).stderr).toMatch(/^basewarm: shard all: last run \d+ failed/m);

    // Too old, said in the unit it was asked in.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const old = await status("--check", "--max-age", "1s");
    expect(old.stderr).toMatch(/^basewarm: shard all: last run \d+ started \S+, more than 1 s ago$/m);
  });

  it("counts a shard of the watched count that never ran, in every output, and forgets the shards of a count given up", async () => {
    const dir = workspace({ "fleet.yaml": "target: { registry: 127.0.0.1:9 }\nstate: s.db\n" });
    const fleet = join(dir, "fleet.yaml");
    const status = async (...extra: string[]) => basewarm(["status", "--config", fleet, ...extra]);
    const never = (shard: string) => `shard ${shard}: never ran (not among the last 200 runs)`;

    // One index of an Indexed Job of four ran; the three others never started.
    expect((await basewarm(["run", "--config", fleet, "--shard", "0/4"])).code).toBe(0);
    const check = await status("--check", "--max-age", "1h");
    expect(check.code).toBe(1);
    expect(check.stderr).toBe(["1/4", "2/4", "3/4"].map((s) => `basewarm: ${never(s)}\n`).join(""));
    const json = jsonOf<StatusJson & { neverRan: string[] }>(await status("--check", "--json"));
    expect([json.shards.map((s) => s.shard), json.neverRan, json.problems]).toEqual([["0/4"], ["1/4", "2/4", "3/4"], ["1/4", "2/4", "3/4"].map(never)]);
    // Plain status shows them, and exits 1 only for failed work.
    const plain = await status();
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain(["1/4", "2/4", "3/4"].map((s) => `${never(s)}\n`).join(""));

    for (const shard of ["1/4", "2/4", "3/4"]) expect((await basewarm(["run", "--config", fleet, "--shard", shard])).code).toBe(0);
    expect(await status("--check", "--max-age", "1h")).toMatchObject({ code: 0, stderr: "" });

    // Four shards become two: only the new count's missing shard is demanded, never the old four.
    expect((await basewarm(["run", "--config", fleet, "--shard", "1/2"])).code).toBe(0);
    const halved = await status("--check", "--max-age", "1h");
    expect([halved.code, halved.stderr]).toEqual([1, `basewarm: ${never("0/2")}\n`]);
    expect((await basewarm(["run", "--config", fleet, "--shard", "0/2"])).code).toBe(0);
    expect(await status("--check", "--max-age", "1h")).toMatchObject({ code: 0, stderr: "" });
  });
});

describe("status of images deferred at the rate-limit reserve", () => {
  const upstream = useRegistry();
  const mirror = useRegistry();
  const faultProxy = useFaultProxies();

  it("lists them apart from failures, and --check counts one not mirrored within --stale-hours", async () => {
    for (const repo of ["r/a", "r/b", "r/c"]) await pushImage(upstream().url, repo, makeImage({ seed: repo, layers: [makeLayer(repo, 1000)] }), "v1");
    // Docker Hub's budget headers, as a registry in front of the real one sends them.
    const proxy = await faultProxy(upstream());
    const ref = (name: string) => `${proxy.host}/r/${name}:v1`;
    const dir = workspace({});
    const config = join(dir, "basewarm.yaml");
    // One image at a time: the first one's answer sets the budget, the ones after it are deferred.
    const configure = (names: string[]) => writeFileSync(config, `target: { registry: "${mirror().host}" }\nstate: s.db\nconcurrency: { images: 1 }\nimages:\n${names.map((n) => `  - ${ref(n)}\n`).join("")}`);
    const status = async (...extra: string[]) => basewarm(["status", "--config", config, ...extra]);

    configure(["a", "b"]);
    expect((await basewarm(["run", "--config", config])).code).toBe(0);
    proxy.setRules([{ path: /\/manifests\//, fault: { kind: "rate-limit", limit: 100, remaining: () => 5 }, times: Infinity }]);
    const deferring = await basewarm(["run", "--config", config]);
    expect([deferring.code, deferring.stdout]).toEqual([0, expect.stringMatching(/1 unchanged, 0 failed, 1 deferred/)]);

    // Deferred by design: the run is ok, and status names the image apart from failures.
    const plain = await status();
    expect(plain.code).toBe(0);
    expect(plain.stdout).not.toContain("failures in run");
    const json = jsonOf<StatusJson>(await status("--json"));
    const lastMirrored = json.shards[0]?.deferred[0]?.lastMirrored ?? "";
    expect(lastMirrored).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);
    expect(json.shards.map((s) => [s.shard, s.last.outcome, s.failures.images, s.deferred.map((d) => d.source)])).toEqual([["all", "ok", [], [ref("b")]]]);
    expect(plain.stdout).toContain(`deferred (rate limit) in run 2 (shard all), tried again next run:\n  image ${ref("b")}: last mirrored ${lastMirrored}\n`);
    expect(await status("--check", "--max-age", "1h")).toMatchObject({ code: 0, stderr: "" });

    // Deferred for longer than the stale limit: --check says so, though every run was ok.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const overdue = await status("--check", "--stale-hours", "0.0003");
    expect([overdue.code, overdue.stderr]).toEqual([1, `basewarm: shard all: image ${ref("b")} deferred (rate limit), last mirrored ${lastMirrored}, more than 1 s ago\n`]);

    // An image deferred since it was configured was never mirrored at all.
    configure(["a", "c"]);
    expect((await basewarm(["run", "--config", config])).code).toBe(0);
    const never = await status("--check");
    expect([never.code, never.stderr]).toEqual([1, `basewarm: shard all: image ${ref("c")} deferred (rate limit), never mirrored\n`]);
    expect((await status()).stdout).toContain(`deferred (rate limit) in run 3 (shard all), tried again next run:\n  image ${ref("c")}: never mirrored\n`);
  });
});
