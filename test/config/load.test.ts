import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isBasewarmError } from "../../src/errors.js";
import { loadConfig, parseConfig } from "../../src/config/index.js";

const minimal = "target:\n  registry: 127.0.0.1:5000\n";

function errorOf(text: string, env: Record<string, string> = {}): string {
  try {
    parseConfig(text, "/etc/basewarm.yaml", { env });
  } catch (err) {
    expect(isBasewarmError(err)).toBe(true);
    const message = (err as Error).message;
    expect(message).not.toContain("\n");
    return message;
  }
  throw new Error("expected a config error");
}

describe("config", () => {
  it("fills defaults for a minimal config", () => {
    const { config } = parseConfig(minimal, "/etc/basewarm.yaml");
    expect(config.target).toEqual({ registry: "127.0.0.1:5000", prefix: "mirror", cachePrefix: "cache" });
    expect(config.concurrency).toEqual({ blobs: 8, perRegistry: 10, images: 16 });
    expect(config.build.driver).toBe("none");
    expect(config.state).toBe("basewarm.db");
  });

  it.each([
    ["an unknown top-level key", `${minimal}tagret: {}\n`, /basewarm\.yaml:3: tagret: unknown key "tagret"/],
    ["an unknown nested key", `${minimal}concurrency:\n  blob: 4\n`, /:4: concurrency\.blob: unknown key "blob"/],
    ["a wrong type", `${minimal}concurrency:\n  blobs: many\n`, /:4: concurrency\.blobs: .*number/i],
    ["a bad cron expression", `${minimal}schedule:\n  cron: "every day"\n`, /:4: schedule\.cron: not a valid cron expression/],
    ["a cron expression on a date that never comes", `${minimal}schedule:\n  cron: "0 0 31 2 *"\n`, /:4: schedule\.cron: not a valid cron expression \(five or six fields, each value in range and on a date that exists/],
    ["a bad platform", `${minimal}catalog:\n  - dockerfile: Dockerfile\n    platforms: [linux]\n`, /:5: catalog\[0\]\.platforms\[0\]: want os\/arch/],
    ["a bad image reference", `${minimal}images:\n  - "Alpine:3"\n`, /:4: images\[0\]: "Alpine:3": repository name must be lowercase; want an image reference/],
    ["a bad mirror prefix", "target:\n  registry: 127.0.0.1:5000\n  prefix: Team/Mirror\n", /:3: target\.prefix: "Team\/Mirror": repository name must be lowercase/],
    ["a bad registry host", "target:\n  registry: 'http://x'\n", /:2: target\.registry: want a registry host/],
    ["a missing target", "state: x.db\n", /target: missing: name the registry to mirror into/],
    ["a target that is not a block", "target: 127.0.0.1:5000\n", /:1: target: .*object/i],
    ["a target without its registry", "target: {}\n", /:1: target\.registry: missing: name the registry/],
    ["an empty inline password", `${minimal}registries:\n  docker.io:\n    username: me\n    password: ""\n`, /:6: registries\.docker\.io\.password: empty; write the password/],
    // Past Node's timer limit a timeout fires at once: every build would fail in 0 s.
    ["a build timeout over a week", `${minimal}build:\n  timeoutSeconds: 3000000\n`, /:4: build\.timeoutSeconds: at most 604800 seconds \(a week\)/],
    ["a schedule jitter over a day", `${minimal}schedule:\n  cron: "0 * * * *"\n  jitterSeconds: 10000000000\n`, /:5: schedule\.jitterSeconds: at most 86400 seconds \(a day\)/],
    ["a registry key with a scheme", `${minimal}registries:\n  https://docker.io: { insecure: true }\n`, /:4: registries\.https:\/\/docker\.io: want a registry host as key, like docker\.io or 127\.0\.0\.1:5000 \(no scheme, no path\)$/],
    ["an unknown time zone", `${minimal}schedule:\n  cron: "0 * * * *"\n  timezone: Mars/Base\n`, /:5: schedule\.timezone: not a time zone this Node knows; want an IANA name like UTC or Europe\/Berlin$/],
    ["an unquoted number where text is wanted", `${minimal}catalog:\n  - dockerfile: Dockerfile\n    buildArgs: { NODE_VERSION: 20 }\n`, /:5: catalog\[0\]\.buildArgs\.NODE_VERSION: .*received number; YAML reads an unquoted 20 or true as a number or boolean: quote it \("20"\)$/],
    ["yes where a boolean is wanted", `${minimal}mirror:\n  referrers: yes\n`, /:4: mirror\.referrers: .*received string; write true or false$/],
    ["invalid YAML", "target: [\n", /basewarm\.yaml:\d+: invalid YAML/],
    ["an empty file", "", /empty/],
    ["a username without password", `${minimal}registries:\n  docker.io:\n    username: me\n`, /registries\.docker\.io: give both username and a password/],
    ["a missing password variable", `${minimal}registries:\n  docker.io:\n    username: me\n    passwordEnv: HUB_PASSWORD\n`, /:6: registries\.docker\.io\.passwordEnv: environment variable HUB_PASSWORD is not set/],
  ])("rejects %s with one line naming the file, line and field", (_name, text, pattern) => {
    expect(errorOf(text)).toMatch(pattern);
  });

  it("refuses an empty password from the environment or a file (a Secret not filled in), naming where", () => {
    const viaEnv = `${minimal}registries:\n  docker.io:\n    username: me\n    passwordEnv: HUB_PASSWORD\n`;
    expect(errorOf(viaEnv, { HUB_PASSWORD: "" })).toMatch(/:6: registries\.docker\.io\.passwordEnv: environment variable HUB_PASSWORD is empty; set it to the password/);
    const dir = mkdtempSync(join(tmpdir(), "basewarm-config-"));
    writeFileSync(join(dir, "pw"), "\n");
    const viaFile = `${minimal}registries:\n  docker.io:\n    username: me\n    passwordFile: ${join(dir, "pw")}\n`;
    expect(errorOf(viaFile)).toMatch(new RegExp(`:6: registries\\.docker\\.io\\.passwordFile: password file ${join(dir, "pw")} is empty; write the password in it`));
  });

  it("takes passwords from the environment it is given, not from the file", () => {
    const loaded = parseConfig(`${minimal}registries:\n  docker.io:\n    username: me\n    passwordEnv: HUB_PASSWORD\n`, "/x.yaml", { env: { HUB_PASSWORD: "hunter2" } });
    expect(loaded.secrets).toEqual({ "docker.io": "hunter2" });
  });

  it("refuses a dockerConfig that is not there (a typo would pass for bad credentials), and takes one that is", () => {
    const dir = mkdtempSync(join(tmpdir(), "basewarm-config-"));
    const text = `${minimal}dockerConfig: docker/config.json\n`;
    expect(() => parseConfig(text, join(dir, "basewarm.yaml"))).toThrow(new RegExp(`basewarm\\.yaml:3: dockerConfig: ${join(dir, "docker", "config.json")} does not exist; fix the path, or remove dockerConfig`));
    mkdirSync(join(dir, "docker"));
    writeFileSync(join(dir, "docker", "config.json"), "{}");
    expect(parseConfig(text, join(dir, "basewarm.yaml")).config.dockerConfig).toBe("docker/config.json");
  });

  it("says in its own words that a file holds two YAML documents, and that an empty --config names no file", () => {
    expect(errorOf(`${minimal}---\nimages: []\n`)).toMatch(/basewarm\.yaml:3: invalid YAML: a second document starts here \(---\); a config is one document/);
    expect(errorOf(`${minimal}---\n`)).not.toMatch(/parseAllDocuments/);
    expect(() => loadConfig("")).toThrow(/^config file: the path given is empty; pass an existing file with --config/);
    expect(() => loadConfig(" ")).toThrow(/the path given is empty/);
  });

  it("names the missing config file and what to do", () => {
    const dir = mkdtempSync(join(tmpdir(), "basewarm-config-"));
    expect(() => loadConfig(join(dir, "nope.yaml"))).toThrow(/config file .*nope\.yaml not found; pass an existing file with --config/);
    writeFileSync(join(dir, "ok.yaml"), minimal);
    expect(loadConfig(join(dir, "ok.yaml")).dir).toBe(dir);
  });

  it("reports an unresolved alias (an unquoted value starting with *) by line, never quoting the value", () => {
    const message = errorOf(`${minimal}registries:\n  docker.io:\n    username: me\n    password: *hunter2secret\n`);
    expect(message).toMatch(/basewarm\.yaml:6: invalid YAML: an alias/);
    expect(message).not.toContain("hunter2secret");
  });

  it("refuses an alias bomb as a config error", () => {
    const bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n";
    expect(errorOf(`${minimal}${bomb}`)).toMatch(/basewarm\.yaml:\d+: invalid YAML: .*too many aliases/);
  });

  it("refuses what is not a regular file, and files too large, with one line naming the file", () => {
    const dir = mkdtempSync(join(tmpdir(), "basewarm-config-"));
    const fifo = join(dir, "fifo.yaml");
    execFileSync("mkfifo", [fifo]);
    mkdirSync(join(dir, "sub.yaml"));
    writeFileSync(join(dir, "huge.yaml"), `${minimal}# ${"x".repeat(2 * 1024 * 1024)}\n`);
    const cases: [string, RegExp][] = [
      ["/dev/zero", /config file \/dev\/zero is not a regular file/],
      [fifo, /fifo\.yaml is not a regular file/],
      [join(dir, "sub.yaml"), /sub\.yaml is a directory; pass the file itself/],
      [join(dir, "huge.yaml"), /huge\.yaml is larger than 1024 KiB/],
    ];
    for (const [path, pattern] of cases) {
      let caught: unknown;
      try {
        loadConfig(path);
      } catch (err) {
        caught = err;
      }
      expect(isBasewarmError(caught, "FILE_UNREADABLE"), path).toBe(true);
      expect((caught as Error).message).toMatch(pattern);
    }
  });
});
