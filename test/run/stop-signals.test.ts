import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { makeImage, makeLayer, pushImage } from "../../testkit/images.js";
import { startBasewarm, workspace } from "../helpers/cli.js";
import { useFaultProxies } from "../helpers/fault-proxy.js";
import { useRegistry } from "../helpers/registries.js";

const BLOB_GET = /\/blobs\/sha256:/;

/** Stop signals during the mirror step of `basewarm run`, with a blob stalled upstream for minutes. */
describe("SIGTERM during a run's mirror step", () => {
  const upstream = useRegistry();
  const mirror = useRegistry();
  const startProxy = useFaultProxies();

  async function stalledRun(prefix: string) {
    await pushImage(upstream().url, `stop/${prefix}`, makeImage({ seed: `stop-${prefix}`, layers: [makeLayer(`stop-${prefix}`, 300_000)] }), "1");
    // Beside the stalled image, one that arrives: the stopped run must not report reading its ONBUILD triggers as a problem.
    await pushImage(upstream().url, `stop/${prefix}-fast`, makeImage({ seed: `stop-${prefix}-fast`, layers: [makeLayer(`stop-${prefix}-fast`, 1000)] }), "1");
    const proxy = await startProxy(upstream(), [{ method: "GET", path: BLOB_GET, fault: { kind: "stall-body", afterBytes: 1000, ms: 600_000 }, times: Infinity }]);
    const temp = mkdtempSync(join(tmpdir(), "basewarm-stop-tmp-"));
    const dir = workspace({
      "basewarm.yaml": [
        `target: { registry: "${mirror().host}", prefix: ${prefix} }`,
        "state: state.db",
        `images: ["${proxy.host}/stop/${prefix}:1", "${upstream().host}/stop/${prefix}-fast:1"]`,
        // Credentials make the run write a temporary auth file for the builder: it must not stay behind.
        'registries: { "builder-only.example:5000": { username: bot, password: "Stop-Secret-77" } }',
        "build: { driver: buildah }",
      ].join("\n"),
    });
    const started = startBasewarm(["run", "--config", join(dir, "basewarm.yaml")], { TMPDIR: temp });
    const deadline = Date.now() + 30_000;
    while ((proxy.injected["stall-body"] ?? 0) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(proxy.injected["stall-body"], started.output()).toBeGreaterThan(0);
    const fast = `${mirror().url}/v2/${prefix}/${upstream().host.replace(":", "-")}/stop/${prefix}-fast/manifests/1`;
    const arrived = async () => (await fetch(fast, { method: "HEAD", headers: { accept: "application/vnd.oci.image.manifest.v1+json" } })).status === 200;
    while (Date.now() < deadline && !(await arrived())) await new Promise((r) => setTimeout(r, 50));
    expect(await arrived(), started.output()).toBe(true);
    expect(readdirSync(temp).filter((f) => f.startsWith("basewarm-auth-"))).toHaveLength(1);
    return { ...started, temp, dir };
  }

  const exited = (child: import("node:child_process").ChildProcess) =>
    new Promise<{ code: number | null; ms: number }>((resolve) => {
      const t = Date.now();
      child.once("exit", (code) => resolve({ code, ms: Date.now() - t }));
    });

  it("stops within seconds, records the run as abandoned and removes the temporary credentials", async () => {
    const { child, temp, dir, output } = await stalledRun("one");
    const exit = exited(child);
    child.kill("SIGTERM");
    const { code, ms } = await exit;
    expect(ms).toBeLessThan(10_000);
    // The work was not done: a one-shot run says so with its exit code.
    expect(code, output()).toBe(1);
    expect(output()).toMatch(/abandoned/);
    expect(output()).not.toMatch(/ONBUILD|problem/i);
    expect(readdirSync(temp).filter((f) => f.startsWith("basewarm-auth-"))).toEqual([]);
    const db = new Database(join(dir, "state.db"), { readonly: true });
    expect((db.prepare("SELECT outcome FROM runs ORDER BY id DESC LIMIT 1").get() as { outcome: string }).outcome).toBe("abandoned");
    expect(db.prepare("SELECT COUNT(*) AS n FROM lock").get()).toEqual({ n: 0 });
    db.close();
  });

  it("a second SIGTERM exits at once and still leaves no credentials behind", async () => {
    const { child, temp } = await stalledRun("two");
    const exit = exited(child);
    child.kill("SIGTERM");
    child.kill("SIGTERM");
    const { code, ms } = await exit;
    expect(ms).toBeLessThan(5_000);
    expect([1, 143]).toContain(code);
    expect(readdirSync(temp).filter((f) => f.startsWith("basewarm-auth-"))).toEqual([]);
  });
});
