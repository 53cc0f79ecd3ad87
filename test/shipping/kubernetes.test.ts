import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/index.js";
import { parseStateSetting } from "../../src/state/setting.js";

/** The shipped CronJob must run the fleet the way basewarm's shards expect. */
describe("config/kubernetes-cronjob.yaml", () => {
  const docs = parseAllDocuments(readFileSync("config/kubernetes-cronjob.yaml", "utf8")).map((d) => d.toJS() as Record<string, any>);
  const cronJob = docs.find((d) => d["kind"] === "CronJob")!;
  const configMap = docs.find((d) => d["kind"] === "ConfigMap")!;

  it("gives every index its own shard, with the shard count equal to completions, all running at once", () => {
    const job = cronJob["spec"]["jobTemplate"]["spec"];
    const container = job["template"]["spec"]["containers"][0];
    const args: string[] = container["args"];
    expect(job["completionMode"]).toBe("Indexed");
    expect(args.slice(0, 2)).toEqual(["serve", "--once"]);
    const shard = args[args.indexOf("--shard") + 1];
    const match = /^\$\(JOB_COMPLETION_INDEX\)\/(\d+)$/.exec(shard ?? "");
    expect(match).not.toBeNull();
    expect(Number(match![1])).toBe(job["completions"]);
    expect(job["parallelism"]).toBe(job["completions"]);
  });

  it("shares a PostgreSQL state whose password comes from a Secret, never a SQLite file on a shared volume", () => {
    const text = configMap["data"]["basewarm.yaml"] as string;
    const loaded = parseConfig(text, "/etc/basewarm/basewarm.yaml", { env: { DOCKERHUB_TOKEN: "x" } });
    expect(parseStateSetting(loaded.config.state, "/etc/basewarm").kind).toBe("postgres");
    expect(loaded.config.state).not.toMatch(/:[^@/]*@/); // no password in the URL
    const env = cronJob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["env"] as { name: string; valueFrom?: { secretKeyRef?: unknown } }[];
    expect(env.find((e) => e.name === "PGPASSWORD")?.valueFrom?.secretKeyRef).toBeDefined();
    const volumes = cronJob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["volumes"] as { persistentVolumeClaim?: unknown }[];
    expect(volumes.some((v) => v.persistentVolumeClaim !== undefined)).toBe(false);
  });
});
