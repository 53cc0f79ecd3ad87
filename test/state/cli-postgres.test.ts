/**
 * The CLI on a PostgreSQL state: the setting picks the backend, the password comes from the
 * environment and never shows, two shards run at once, and a server that is down is one line and a
 * non-zero exit. Real CLI (dist/), real registries, real PostgreSQL.
 */
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeImage, makeLayer, pushImage, startPostgres, type RunningPostgres } from "../../testkit/index.js";
import { basewarm, jsonOf, workspace } from "../helpers/cli.js";
import { useRegistry } from "../helpers/registries.js";

describe("basewarm on a PostgreSQL state", () => {
  const upstream = useRegistry();
  const mirror = useRegistry();
  const password = "cli-Pg-Secret-41ad";
  let server: RunningPostgres;
  beforeAll(async () => {
    server = await startPostgres({ password });
  }, 60_000);
  afterAll(() => server.stop());

  it("runs two shards at once, records both, and fails in one line without the password when the server is down", async () => {
    const names = ["a", "b", "c", "d", "e", "f"];
    for (const name of names) await pushImage(upstream().url, `lib/${name}`, makeImage({ seed: `pgcli-${name}`, layers: [makeLayer(`pgcli-${name}`, 2000)] }), "1");
    const url = await server.createDatabase();
    const dir = workspace({
      "basewarm.yaml": [
        `target: { registry: "${mirror().host}", prefix: pg }`,
        `state: ${url}`,
        "images:",
        ...names.map((n) => `  - ${upstream().host}/lib/${n}:1`),
      ].join("\n"),
      Dockerfile: `FROM ${upstream().host}/lib/a:1\n`,
    });
    const config = join(dir, "basewarm.yaml");
    const env = { PGPASSWORD: password };

    // Before any run, status and history refuse the empty database and create nothing in it, so a
    // mistyped database name cannot pass for "no runs yet".
    for (const command of ["status", "history"]) {
      const empty = await basewarm([command, "--config", config], { env });
      expect([empty.code, empty.stderr]).toEqual([2, `basewarm: state database ${url} holds no basewarm state: no run or mirror has recorded anything there yet; check state: in ${config}\n`]);
    }
    expect((await basewarm(["status", "--config", config, "--check"], { env })).code).toBe(1);
    // A password file that is not there is the operator's setup, not an empty state: status --check
    // must not call it "never ran", nor rewrite print the Dockerfile unpinned as if nothing was recorded.
    const noSecret = { PGPASSWORD_FILE: join(dir, "absent-secret") };
    const secretMissing = new RegExp(`^basewarm: state database ${url}: cannot read the password file PGPASSWORD_FILE=.*absent-secret: it does not exist; mount the secret there or fix the variable\n$`);
    for (const args of [["status", "--config", config, "--check"], ["rewrite", join(dir, "Dockerfile"), "--config", config]]) {
      const refused = await basewarm(args, { env: noSecret });
      expect([refused.code, refused.stdout]).toEqual([2, ""]);
      expect(refused.stderr).toMatch(secretMissing);
    }
    const probe = new pg.Client({ host: server.dir, port: server.port, user: "postgres", database: url.slice(url.lastIndexOf("/") + 1) });
    await probe.connect();
    try {
      expect((await probe.query("SELECT to_regnamespace('basewarm') IS NULL AS absent")).rows).toEqual([{ absent: true }]);
    } finally {
      await probe.end();
    }

    const shards = await Promise.all([0, 1].map((i) => basewarm(["run", "--config", config, "--shard", `${i}/2`, "--json"], { env })));
    for (const run of shards) expect(run.code, run.stderr).toBe(0);
    const copied = shards.flatMap((run) => (jsonOf(run) as { mirror: { images: { source: string; status: string }[] } }).mirror.images);
    expect(copied.map((i) => i.source).sort()).toEqual(names.map((n) => `${upstream().host}/lib/${n}:1`));
    expect(copied.every((i) => i.status === "copied")).toBe(true);

    const status = await basewarm(["status", "--config", config, "--json"], { env });
    expect(status.code).toBe(0);
    const runs = (jsonOf(status) as { runs: { outcome: string; shard: { index: number; count: number } | null }[] }).runs;
    expect(runs.map((r) => [r.outcome, r.shard?.index, r.shard?.count]).sort()).toEqual([["ok", 0, 2], ["ok", 1, 2]]);

    const noPassword = await basewarm(["status", "--config", config]);
    expect(noPassword.code).toBe(1);
    expect(noPassword.stderr.trim()).toMatch(new RegExp(`^basewarm: state database ${url.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: cannot prepare it: the server asks for a password and none is set`));

    await server.halt("immediate");
    try {
      const down = await basewarm(["history", "--config", config], { env });
      expect(down.code).toBe(1);
      const lines = down.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^basewarm: state database postgres:\/\/postgres@127\.0\.0\.1:\d+\/bw_\w+: cannot prepare it: .*; check that the database server is running and reachable$/);
      expect(down.stderr + down.stdout).not.toContain(password);
    } finally {
      await server.resume();
    }

    // What the shards recorded before the outage is all there.
    const history = await basewarm(["history", "--config", config, "--json"], { env });
    expect((jsonOf(history) as { ref: string }[]).map((h) => h.ref).sort()).toEqual(names.map((n) => `${upstream().host}/lib/${n}:1`));
  });
});
