/**
 * The fleet as config/kubernetes-cronjob.yaml runs it: four `basewarm serve --once --shard i/4` at
 * the same time over one state — a SQLite file on one host, or PostgreSQL across hosts. Real CLI
 * processes, real registries, real PostgreSQL.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeImage, makeLayer, pushImage, startPostgres, type RunningPostgres } from "../../testkit/index.js";
import { basewarm, jsonOf, workspace } from "../helpers/cli.js";
import { useRegistry } from "../helpers/registries.js";

interface StatusJson {
  runs: { shard: { index: number; count: number } | null; outcome: string }[];
  shards: { shard: string; last: { outcome: string }; failures: { images: { source: string }[] } }[];
  problems: string[];
}

describe("four shards at once over one state", () => {
  const upstream = useRegistry();
  const mirror = useRegistry();
  let postgres: RunningPostgres;
  const password = "fleet-Pg-Secret-9c1";
  const names = Array.from({ length: 12 }, (_, i) => `img${i}`);

  beforeAll(async () => {
    postgres = await startPostgres({ password });
    for (const name of names) await pushImage(upstream().url, `fleet/${name}`, makeImage({ seed: `fleet-${name}`, layers: [makeLayer(`fleet-${name}`, 3000)] }), "1");
  }, 120_000);
  afterAll(() => postgres?.stop());

  async function fleet(state: string, prefix: string, extra: string[] = [], env: Record<string, string> = {}) {
    const dir = workspace({
      "basewarm.yaml": [
        `target: { registry: "${mirror().host}", prefix: ${prefix} }`,
        `state: ${state}`,
        "images:",
        ...[...names, ...extra].map((n) => `  - ${upstream().host}/fleet/${n}:1`),
      ].join("\n"),
    });
    const config = join(dir, "basewarm.yaml");
    const before = (await mirror().requests()).length;
    const runs = await Promise.all([0, 1, 2, 3].map((i) => basewarm(["serve", "--once", "--config", config, "--shard", `${i}/4`], { env })));
    const manifestPuts = (await mirror().requests()).slice(before).filter((r) => r.method === "PUT" && r.uri.includes(`/${prefix}/`) && r.uri.includes("/manifests/"));
    const status = await basewarm(["status", "--config", config, "--json", "--check"], { env });
    return { runs, manifestPuts, status: jsonOf<StatusJson>(status), statusCode: status.code };
  }

  for (const backend of ["sqlite", "postgres"] as const) {
    it(`${backend}: all four exit 0, every image copied exactly once, status shows four shard runs`, async () => {
      const state = backend === "sqlite" ? "state.db" : await postgres.createDatabase();
      const env: Record<string, string> = backend === "postgres" ? { PGPASSWORD: password } : {};
      const { runs, manifestPuts, status, statusCode } = await fleet(state, `ok-${backend}`, [], env);
      for (const run of runs) expect(run.code, run.stderr).toBe(0);
      expect(manifestPuts).toHaveLength(names.length);
      expect(new Set(manifestPuts.map((r) => r.uri)).size).toBe(names.length);
      expect(status.runs.map((r) => `${r.shard?.index}/${r.shard?.count} ${r.outcome}`).sort()).toEqual(["0/4 ok", "1/4 ok", "2/4 ok", "3/4 ok"]);
      expect(statusCode).toBe(0);
      expect(status.problems).toEqual([]);
    });

    it(`${backend}: an image that fails makes exactly the shard that owns it exit non-zero, and status --check says so`, async () => {
      const state = backend === "sqlite" ? "state.db" : await postgres.createDatabase();
      const env: Record<string, string> = backend === "postgres" ? { PGPASSWORD: password } : {};
      const { runs, status, statusCode } = await fleet(state, `bad-${backend}`, ["missing"], env);
      const failedShards = runs.flatMap((run, i) => (run.code === 0 ? [] : [i]));
      expect(failedShards).toHaveLength(1);
      expect(runs[failedShards[0]!]!.code).toBe(1);
      // The shard that exited non-zero is the one whose run recorded the missing image.
      const owner = status.shards.find((s) => s.failures.images.some((f) => f.source.endsWith("/fleet/missing:1")));
      expect(owner?.shard).toBe(`${failedShards[0]}/4`);
      // Partial when the shard also copied other images, failed when the missing one was its only
      // image: which images a shard owns follows from the registry's port, so it is worked out here.
      const shardOf = (key: string) => createHash("sha256").update(key).digest().readUInt32BE(0) % 4;
      const others = names.filter((n) => shardOf(`image:${upstream().host}/fleet/${n}:1`) === failedShards[0]);
      const outcome = others.length > 0 ? "partial" : "failed";
      expect(owner?.last.outcome).toBe(outcome);
      expect(statusCode).toBe(1);
      expect(status.problems).toEqual([expect.stringMatching(new RegExp(`^shard ${failedShards[0]}/4: last run \\d+ ${outcome}`))]);
    });
  }

  it("a catalog problem is reported by the one shard that owns it, not by all four", async () => {
    // Two entries that work, one whose Dockerfile is invalid (an entry's problem) and a pattern that
    // matches nothing (the catalog's): each problem must show once across the fleet, in one shard.
    const dir = workspace({
      "basewarm.yaml": [
        `target: { registry: "${mirror().host}", prefix: problems }`,
        "state: state.db",
        "catalog:",
        "  - dockerfile: 'apps/*/Dockerfile'",
        "  - dockerfile: 'nowhere/*/Dockerfile'",
      ].join("\n"),
      "apps/one/Dockerfile": `FROM ${upstream().host}/fleet/img0:1\n`,
      "apps/two/Dockerfile": `FROM ${upstream().host}/fleet/img1:1\n`,
      "apps/broken/Dockerfile": "FROM Upper/Case:1\n",
    });
    const config = join(dir, "basewarm.yaml");
    const runs = await Promise.all([0, 1, 2, 3].map((i) => basewarm(["run", "--config", config, "--shard", `${i}/4`, "--json"])));
    const reports = runs.map((run) => jsonOf<{ problems: { message: string }[] }>(run));
    const reported = reports.flatMap((r) => r.problems.map((p) => p.message));
    expect(reported).toHaveLength(2);
    expect(reported).toEqual(expect.arrayContaining([expect.stringMatching(/broken\/Dockerfile/), expect.stringMatching(/no file matches "nowhere/)]));
    // Exactly the shards that reported a problem failed; the others ran clean.
    for (const [i, run] of runs.entries()) expect(run.code, run.stderr).toBe(reports[i]!.problems.length > 0 ? 1 : 0);
  });
});
