import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { makeImage, makeLayer, makeMultiArch, pushImage } from "../../testkit/images.js";
import { basewarm, startBasewarm, workspace } from "../helpers/cli.js";
import { useRegistry } from "../helpers/registries.js";

describe("SIGKILL during a run", () => {
  const upstream = useRegistry();
  const mirror = useRegistry();

  it.each([1, 2, 3, 4])("leaves a consistent state that the next run completes (seed %i)", async (seed) => {
    const repos = Array.from({ length: 8 }, (_, i) => `kill${seed}/img${i}`);
    for (const [i, repo] of repos.entries()) {
      await pushImage(upstream().url, repo, i % 3 === 0
        ? makeMultiArch({ seed: repo, shared: [makeLayer(`k${seed}-shared`, 400_000)], archLayerSize: 300_000 })
        : makeImage({ seed: repo, layers: [makeLayer(`k${seed}-shared`, 400_000), makeLayer(repo, 500_000)] }), "1");
    }
    const dir = workspace({
      "basewarm.yaml": [
        `target: { registry: "${mirror().host}", prefix: k${seed} }`,
        "state: state.db",
        "concurrency: { images: 2, blobs: 2 }",
        "images:",
        ...repos.map((r) => `  - ${upstream().host}/${r}:1`),
      ].join("\n"),
    });
    const config = join(dir, "basewarm.yaml");
    const { child } = startBasewarm(["run", "--config", config]);
    // Listened for at once: a run that finishes before the kill (the "after" case) must not hang the test.
    const exited = new Promise((r) => child.once("exit", r));
    // Kill at a seed-dependent moment: before, during or after the copies.
    await new Promise((r) => setTimeout(r, 120 + seed * 90));
    child.kill("SIGKILL");
    await exited;

    const next = await basewarm(["run", "--config", config, "--json"]);
    expect(next.stderr).toBe("");
    expect(next.code).toBe(0);
    const report = JSON.parse(next.stdout) as { outcome: string; mirror: { images: { status: string; digest: string }[] } };
    expect(report.outcome).toBe("ok");
    expect(report.mirror.images.every((i) => i.status === "copied" || i.status === "unchanged")).toBe(true);
    const db = new Database(join(dir, "state.db"), { readonly: true });
    expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
    const runs = db.prepare("SELECT outcome FROM runs ORDER BY id").all() as { outcome: string }[];
    expect(runs.at(-1)!.outcome).toBe("ok");
    expect(runs.slice(0, -1).every((r) => r.outcome === "abandoned" || r.outcome === "ok")).toBe(true);
    db.close();
  });
});

describe("secrets never leak", () => {
  const password = "Pa55-word-that-must-not-leak-7731";
  const user = { username: "leakcheck", password, grants: [{ repository: "*", actions: ["pull" as const, "push" as const] }] };
  const basicSource = useRegistry({ auth: "basic", users: [user] });
  const tokenTarget = useRegistry({ auth: "token", users: [user] });

  it("keeps passwords, tokens and Authorization headers out of output, logs, reports and the state file", async () => {
    const image = makeImage({ seed: "leak", layers: [makeLayer("leak", 2000)] });
    await pushImage(basicSource().url, "s/img", image, "1", { authorization: "Basic " + Buffer.from(`${user.username}:${password}`).toString("base64") });
    const dir = workspace({
      "basewarm.yaml": [
        `target: { registry: "${tokenTarget().host}" }`,
        "state: state.db",
        "registries:",
        `  "${basicSource().host}": { username: ${user.username}, passwordEnv: SRC_PASSWORD }`,
        `  "${tokenTarget().host}": { username: ${user.username}, passwordEnv: SRC_PASSWORD }`,
        "images:",
        `  - ${basicSource().host}/s/img:1`,
        `  - ${basicSource().host}/s/missing:1`,
        "log: { level: trace }",
      ].join("\n"),
    });
    const env = { SRC_PASSWORD: password };
    const outputs: string[] = [];
    for (const args of [["mirror", "--json"], ["run", "--json"], ["status"], ["history"], ["plan", "--json"], ["mirror", "--debug"]]) {
      const run = await basewarm([...args, "--config", join(dir, "basewarm.yaml")], { env });
      outputs.push(run.stdout, run.stderr);
    }
    // A wrong password: the error says what to do, without the secret.
    const wrong = await basewarm(["mirror", "--config", join(dir, "basewarm.yaml"), "--debug"], { env: { SRC_PASSWORD: "wrong-" + password } });
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toMatch(/check the credentials/);
    outputs.push(wrong.stdout, wrong.stderr);

    const all = outputs.join("\n");
    expect(all).toContain(`"level":20`); // the debug logs were really on
    // --debug shows each registry request (method, host, path, status, time), never its headers or query.
    expect(all).toMatch(new RegExp(`basewarm: debug: registry request \\(method=HEAD, host=${tokenTarget().host.replace(/\./g, "\\.")}, path=/v2/[^ ?]+/manifests/1, status=200, headersMs=\\d+\\)`));
    const basic = Buffer.from(`${user.username}:${password}`).toString("base64");
    const tokens = tokenTarget().issuer!.log.length;
    expect(tokens).toBeGreaterThan(0);
    for (const secret of [password, basic, "Bearer ey", "Basic " + basic.slice(0, 8)]) {
      expect(all).not.toContain(secret);
    }
    const files = readdirSync(dir).filter((f) => f.startsWith("state.db"));
    for (const file of files) {
      const bytes = readFileSync(join(dir, file));
      expect(bytes.includes(Buffer.from(password))).toBe(false);
      expect(bytes.includes(Buffer.from(basic))).toBe(false);
    }
  });
});
