import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/index.js";
import { catalogOf } from "../../src/run/catalog.js";
import { parseStateSetting } from "../../src/state/setting.js";

/** The shipped CronJob must run the fleet the way basewarm's shards expect. */
describe("config/kubernetes-cronjob.yaml", () => {
  const docs = parseAllDocuments(readFileSync("config/kubernetes-cronjob.yaml", "utf8")).map((d) => d.toJS() as Record<string, any>);
  const cronJob = docs.find((d) => d["kind"] === "CronJob")!;
  const configMap = docs.find((d) => d["kind"] === "ConfigMap" && d["metadata"]["name"] === "basewarm-config")!;

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

  it("mounts the files the catalog names: the catalog, expanded over the pod's files, finds every Dockerfile", () => {
    const pod = cronJob["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    const mounts = pod["containers"][0]["volumeMounts"] as { name: string; mountPath: string }[];
    const volumes = pod["volumes"] as { name: string; configMap?: { name: string; items?: { key: string; path: string }[] } }[];
    // The pod's files, laid out under a temp root: each mounted ConfigMap's items (or keys) at its mount.
    const root = mkdtempSync(join(tmpdir(), "basewarm-pod-"));
    const dockerfiles: string[] = [];
    for (const mount of mounts) {
      const source = volumes.find((v) => v.name === mount.name)?.configMap;
      const map = docs.find((d) => d["kind"] === "ConfigMap" && d["metadata"]["name"] === source?.name);
      expect(map, `volume ${mount.name}`).toBeDefined();
      const data = map!["data"] as Record<string, string>;
      for (const item of source?.items ?? Object.keys(data).map((key) => ({ key, path: key }))) {
        expect(Object.keys(data)).toContain(item.key);
        const file = join(root, mount.mountPath, item.path);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, data[item.key] ?? "");
        if (item.path.endsWith("Dockerfile")) dockerfiles.push(file);
      }
    }
    // Absolute paths in the config point into the pod's filesystem: here, under the temp root.
    const text = (configMap["data"]["basewarm.yaml"] as string).replace(/(dockerfile: )\//g, `$1${root}/`);
    const loaded = parseConfig(text, join(root, "etc/basewarm/basewarm.yaml"), { env: { DOCKERHUB_TOKEN: "x" } });
    const catalog = catalogOf(loaded);
    expect(catalog.problems).toEqual([]);
    expect(catalog.entries.map((e) => e.dockerfile).sort()).toEqual(dockerfiles.sort());
    expect(dockerfiles.length).toBeGreaterThan(0);
    // A CronJob with no builder would mirror and never warm a cache.
    expect(loaded.config.build.driver).not.toBe("none");
  });
});
