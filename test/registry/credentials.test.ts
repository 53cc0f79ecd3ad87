import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BasewarmError, isBasewarmError, type ErrorCode } from "../../src/errors.js";
import {
  chainCredentials,
  configCredentials,
  dockerConfigCredentials,
  normalizeHost,
  spawnHelperRunner,
  type Credential,
  type CredentialSource,
} from "../../src/registry/index.js";

/** Every secret the tests hand out; no error message may contain any of them. */
const SECRET = "helper-secret-Zq81";
const HUB_PASSWORD = "hub-pass-7Yx:with:colons";
const INLINE_PASSWORD = "inline-pass-Kk42";
/** What a careless helper prints on stderr when it fails. */
const LEAKED_TOKEN = "ghp_9fQe21LmXz0aa7Tt";
const SECRETS = [SECRET, HUB_PASSWORD, INLINE_PASSWORD, "idtok-Pp9", "regtok-Rr3", LEAKED_TOKEN, "9fQe21"];

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "basewarm-creds-"));
}

function writeConfig(content: unknown): string {
  const path = join(tempDir(), "config.json");
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

const b64 = (text: string) => Buffer.from(text).toString("base64");

async function failure(promise: Promise<unknown>, code: ErrorCode): Promise<string> {
  const error = await promise.then(() => undefined, (err: unknown) => err);
  expect(error).toBeInstanceOf(BasewarmError);
  expect(isBasewarmError(error, code)).toBe(true);
  const message = (error as Error).message;
  expect(message).not.toContain("\n");
  for (const secret of SECRETS) expect(message).not.toContain(secret);
  return message;
}

/**
 * A real docker-credential helper (the `get` verb of the docker-credential-helpers protocol:
 * server URL on stdin, JSON on stdout), first on a PATH given through the runner's env.
 * Every call appends the server URL it was asked for to a log, so tests can count invocations.
 */
function installHelper(name = "fixture"): { env: Record<string, string>; calls: () => string[] } {
  const dir = tempDir();
  const log = join(dir, "calls.log");
  writeFileSync(log, "");
  const script = `#!/bin/sh
if [ "$1" != "get" ]; then echo "unsupported verb $1" >&2; exit 2; fi
url=$(cat)
printf '%s\\n' "$url" >> "$HELPER_LOG"
case "$url" in
  good.example|127.0.0.1:5000) printf '{"ServerURL":"%s","Username":"robot","Secret":"${SECRET}"}' "$url" ;;
  https://index.docker.io/v1/) printf '{"ServerURL":"%s","Username":"hubuser","Secret":"${HUB_PASSWORD}"}' "$url" ;;
  token.example) printf '{"ServerURL":"token.example","Username":"<token>","Secret":"refresh-${SECRET}"}' ;;
  broken.example) echo "keychain is locked"  >&2; echo "also on stdout ${SECRET}"; exit 3 ;;
  leaky.example) printf 'unlock failed: secret=${SECRET} \\033[2K for robot, password ${HUB_PASSWORD} and token ${LEAKED_TOKEN} rejected\nsecond line ${SECRET}\n' >&2; exit 4 ;;
  leaky-long.example) printf 'Authorization: Basic ${Buffer.from(`robot:${SECRET}`).toString("base64")} %0300d\n' 7 >&2; exit 5 ;;
  stdout-error.example) echo "error getting credentials - err: dbus session unavailable"; exit 1 ;;
  json-fail.example) printf '{"Username":"robot","Secret":"${SECRET}"}'; exit 1 ;;
  garbage.example) echo "this is not json ${SECRET}" ;;
  wrongshape.example) echo '{"Username": 7, "Secret": ["${SECRET}"]}' ;;
  empty.example) : ;;
  nosecret.example) echo '{"ServerURL":"nosecret.example","Username":"robot","Secret":""}' ;;
  slow.example) sleep 5 ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`;
  const program = join(dir, `docker-credential-${name}`);
  writeFileSync(program, script);
  chmodSync(program, 0o755);
  return {
    env: { PATH: `${dir}:/usr/bin:/bin`, HELPER_LOG: log },
    calls: () => readFileSync(log, "utf8").split("\n").filter(Boolean),
  };
}

describe("normalizeHost: Docker config keys name hosts", () => {
  it.each([
    ["https://index.docker.io/v1/", "docker.io"],
    ["https://index.docker.io/v1", "docker.io"],
    ["index.docker.io", "docker.io"],
    ["docker.io", "docker.io"],
    ["registry-1.docker.io", "docker.io"],
    ["https://registry-1.docker.io/v2/", "docker.io"],
    ["registry.hub.docker.com", "docker.io"],
    ["http://host:5000", "host:5000"],
    ["https://host:5000/", "host:5000"],
    ["host:5000/v2/", "host:5000"],
    ["host:5000", "host:5000"],
    ["HTTPS://Registry.Example.COM/v2/", "registry.example.com"],
    ["  ghcr.io  ", "ghcr.io"],
    ["127.0.0.1:5000", "127.0.0.1:5000"],
    ["[::1]:5000/v2/", "[::1]:5000"],
    ["quay.io/org/repo", "quay.io"],
    ["example.com:443", "example.com:443"],
  ])("%s → %s", (key, host) => {
    expect(normalizeHost(key)).toBe(host);
  });
});

describe("dockerConfigCredentials: auths", () => {
  // Each key form Docker tools write, and every host name a lookup may use for it.
  it.each([
    ["https://index.docker.io/v1/", ["docker.io", "index.docker.io", "registry-1.docker.io"]],
    ["index.docker.io", ["docker.io", "registry-1.docker.io"]],
    ["docker.io", ["docker.io", "index.docker.io", "registry-1.docker.io"]],
    ["registry-1.docker.io", ["docker.io", "https://index.docker.io/v1/"]],
    ["http://host:5000", ["host:5000", "HOST:5000"]],
    ["host:5000/v2/", ["host:5000"]],
    ["https://ghcr.io", ["ghcr.io"]],
  ])("a key %j answers for %j and nothing else", async (key, hosts) => {
    const source = dockerConfigCredentials({ configPath: writeConfig({ auths: { [key]: { auth: b64(`me:${INLINE_PASSWORD}`) } } }) });
    for (const host of hosts) expect(await source.get(host)).toEqual({ kind: "basic", username: "me", password: INLINE_PASSWORD });
    expect(await source.get("other.example")).toBeUndefined();
    expect(await source.get("host:5001")).toBeUndefined();
    // A port is part of the host: host:5000 credentials are not host's.
    expect(await source.get("host")).toBeUndefined();
  });

  it("reads every entry form Docker writes", async () => {
    const source = dockerConfigCredentials({
      configPath: writeConfig({
        auths: {
          "https://index.docker.io/v1/": { auth: b64(`hubuser:${HUB_PASSWORD}`), email: "x@example.com" },
          "http://127.0.0.1:5000": { username: "u", password: INLINE_PASSWORD },
          "ghcr.io": { identitytoken: "idtok-Pp9" },
          "id-with-user.example": { auth: b64("someone:"), identitytoken: "idtok-Pp9" },
          "quay.io/v2/": { registrytoken: "regtok-Rr3", auth: b64("ignored:ignored") },
          "both.example": { auth: b64("from-auth:p1"), username: "from-fields", password: "p2" },
          "empty-password.example": { auth: b64("user:") },
          "placeholder.example": {},
        },
        HttpHeaders: { "User-Agent": "x" },
        currentContext: "default",
      }),
    });
    const expected: [string, Credential | undefined][] = [
      ["docker.io", { kind: "basic", username: "hubuser", password: HUB_PASSWORD }],
      ["127.0.0.1:5000", { kind: "basic", username: "u", password: INLINE_PASSWORD }],
      ["ghcr.io", { kind: "identityToken", token: "idtok-Pp9" }],
      ["id-with-user.example", { kind: "identityToken", username: "someone", token: "idtok-Pp9" }],
      ["quay.io", { kind: "registryToken", token: "regtok-Rr3" }],
      ["both.example", { kind: "basic", username: "from-auth", password: "p1" }],
      ["empty-password.example", { kind: "basic", username: "user", password: "" }],
      ["placeholder.example", undefined],
      ["unknown.example", undefined],
    ];
    for (const [host, credential] of expected) expect(await source.get(host), host).toEqual(credential);
  });

  it("prefers the key spelled as Docker looks it up when several name the same host", async () => {
    const source = dockerConfigCredentials({
      configPath: writeConfig({ auths: { "docker.io": { auth: b64("alias:a") }, "https://index.docker.io/v1/": { auth: b64("canonical:c") } } }),
    });
    expect(await source.get("docker.io")).toEqual({ kind: "basic", username: "canonical", password: "c" });
  });

  it("treats a missing file as no credentials", async () => {
    const source = dockerConfigCredentials({ configPath: join(tempDir(), "absent", "config.json") });
    expect(await source.get("docker.io")).toBeUndefined();
    expect(await source.get("ghcr.io")).toBeUndefined();
  });

  it.each([
    // Where, in words of our own: the same on every Node, never the text around it (a password).
    ["{ nope", /: invalid JSON at line 1, column 3; fix the Docker config/],
    ['{\n  "auths": {\n    x\n}', /: invalid JSON at line 3, column 5; /],
    [`{"auths": {"x.example": {"password": "${INLINE_PASSWORD}}}}`, /: invalid JSON at line 1, column 58; /],
    [`{"auths": {"x.example": {"auth": "${INLINE_PASSWORD}" nope}}}`, /: invalid JSON at line 1, column \d+; /],
    ["", /: invalid JSON \(Unexpected end of JSON input\)/],
    [JSON.stringify({ auths: [] }), /: invalid Docker config at \["auths"\]: /],
    [JSON.stringify({ auths: { "x.example": { auth: 42 } } }), /: invalid Docker config at \["auths"\]\["x.example"\]\["auth"\]: /],
    [JSON.stringify({ credHelpers: { "x.example": true } }), /: invalid Docker config at \["credHelpers"\]\["x.example"\]: /],
    [JSON.stringify({ credsStore: 5 }), /: invalid Docker config at \["credsStore"\]: /],
    [JSON.stringify("just a string"), /: invalid Docker config at the top level: /],
  ])("a broken file is CONFIG_INVALID naming the path: %j", async (content, pattern) => {
    const path = writeConfig(content);
    const message = await failure(dockerConfigCredentials({ configPath: path }).get("x.example"), "CONFIG_INVALID");
    expect(message.startsWith(`${path}: `)).toBe(true);
    expect(message).toMatch(pattern);
  });

  it("a config path that is a directory is CONFIG_INVALID, not silently empty", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "config.json"));
    const message = await failure(dockerConfigCredentials({ configPath: join(dir, "config.json") }).get("docker.io"), "CONFIG_INVALID");
    expect(message).toMatch(/config\.json: cannot read the Docker config \(EISDIR/);
  });

  it.each([
    ["not base64 at all!", "bad.example"],
    [b64(`no-colon-${INLINE_PASSWORD}`), "bad.example"],
    [b64(`:${INLINE_PASSWORD}`), "bad.example"],
    [`${b64(`me:${INLINE_PASSWORD}`)}$$`, "bad.example"],
  ])("an auth value that is not base64 user:password fails clearly (%j)", async (auth) => {
    const path = writeConfig({ auths: { "https://bad.example/v2/": { auth }, "good.example": { auth: b64("a:b") } } });
    const source = dockerConfigCredentials({ configPath: path });
    const message = await failure(source.get("bad.example"), "CONFIG_INVALID");
    expect(message).toBe(`${path}: auths["https://bad.example/v2/"].auth is not base64 of user:password; run docker login bad.example again or fix the entry`);
    // Only the broken entry fails: other hosts still get their credentials.
    expect(await source.get("good.example")).toEqual({ kind: "basic", username: "a", password: "b" });
  });
});

describe("dockerConfigCredentials: credential helpers (a real docker-credential program)", () => {
  it("asks credHelpers for their hosts and credsStore for the rest, Docker Hub by its login URL", async () => {
    const helper = installHelper();
    const path = writeConfig({ credHelpers: { "https://good.example": "fixture", "token.example": "fixture" }, credsStore: "fixture" });
    const source = dockerConfigCredentials({ configPath: path, helperRunner: spawnHelperRunner({ env: helper.env }) });
    expect(await source.get("good.example")).toEqual({ kind: "basic", username: "robot", password: SECRET });
    expect(await source.get("token.example")).toEqual({ kind: "identityToken", token: `refresh-${SECRET}` });
    expect(await source.get("registry-1.docker.io")).toEqual({ kind: "basic", username: "hubuser", password: HUB_PASSWORD });
    expect(await source.get("127.0.0.1:5000")).toEqual({ kind: "basic", username: "robot", password: SECRET });
    expect(await source.get("unknown.example")).toBeUndefined();
    expect(await source.get("empty.example")).toBeUndefined();
    expect(await source.get("nosecret.example")).toBeUndefined();
    expect(helper.calls()).toEqual(["good.example", "token.example", "https://index.docker.io/v1/", "127.0.0.1:5000", "unknown.example", "empty.example", "nosecret.example"]);
  });

  it("runs each helper once per host for the life of the source, whatever alias is asked", async () => {
    const helper = installHelper();
    const source = dockerConfigCredentials({ configPath: writeConfig({ credsStore: "fixture" }), helperRunner: spawnHelperRunner({ env: helper.env }) });
    const answers = await Promise.all(["docker.io", "index.docker.io", "registry-1.docker.io", "https://index.docker.io/v1/"].map((h) => source.get(h)));
    for (const answer of answers) expect(answer).toEqual({ kind: "basic", username: "hubuser", password: HUB_PASSWORD });
    expect(await source.get("unknown.example")).toBeUndefined();
    expect(await source.get("unknown.example")).toBeUndefined();
    expect(await source.get("docker.io")).toEqual(answers[0]);
    expect(helper.calls()).toEqual(["https://index.docker.io/v1/", "unknown.example"]);
  });

  it("falls back to the inline auths entry when the helper has nothing, and never when it answers", async () => {
    const helper = installHelper();
    const path = writeConfig({
      credsStore: "fixture",
      auths: { "inline.example": { auth: b64(`inline:${INLINE_PASSWORD}`) }, "good.example": { auth: b64("stale:stale") } },
    });
    const source = dockerConfigCredentials({ configPath: path, helperRunner: spawnHelperRunner({ env: helper.env }) });
    expect(await source.get("inline.example")).toEqual({ kind: "basic", username: "inline", password: INLINE_PASSWORD });
    expect(await source.get("good.example")).toEqual({ kind: "basic", username: "robot", password: SECRET });
    expect(helper.calls()).toEqual(["inline.example", "good.example"]);
  });

  it.each([
    ["broken.example", "credential helper docker-credential-fixture failed for broken.example: exit status 3: keychain is locked"],
    ["stdout-error.example", "credential helper docker-credential-fixture failed for stdout-error.example: exit status 1: error getting credentials - err: dbus session unavailable"],
    ["leaky.example", "credential helper docker-credential-fixture failed for leaky.example: exit status 4: unlock failed: secret=[REDACTED]  [2K for robot, password [REDACTED] and token [REDACTED] rejected"],
    ["leaky-long.example", `credential helper docker-credential-fixture failed for leaky-long.example: exit status 5: Authorization: Basic [REDACTED] ${"0".repeat(120 - "Authorization: Basic [REDACTED] ".length)}…`],
    ["json-fail.example", "credential helper docker-credential-fixture failed for json-fail.example: exit status 1"],
    ["garbage.example", "credential helper docker-credential-fixture returned an unreadable answer for garbage.example (want JSON with Username and Secret)"],
    ["wrongshape.example", "credential helper docker-credential-fixture returned an unreadable answer for wrongshape.example (want JSON with Username and Secret)"],
  ])("a failing helper for %s is AUTH_FAILED without the secret", async (host, expected) => {
    const helper = installHelper();
    const source = dockerConfigCredentials({ configPath: writeConfig({ credHelpers: { [host]: "fixture" } }), helperRunner: spawnHelperRunner({ env: helper.env }) });
    expect(await failure(source.get(host), "AUTH_FAILED")).toBe(expected);
    // Failures are not cached: the next lookup asks the helper again.
    await failure(source.get(host), "AUTH_FAILED");
    expect(helper.calls()).toEqual([host, host]);
  });

  it("a helper that is not installed says so", async () => {
    const helper = installHelper();
    const path = writeConfig({ credsStore: "desktop" });
    const source = dockerConfigCredentials({ configPath: path, helperRunner: spawnHelperRunner({ env: helper.env }) });
    expect(await failure(source.get("ghcr.io"), "AUTH_FAILED")).toBe(
      "credential helper docker-credential-desktop failed for ghcr.io: docker-credential-desktop is not on PATH; install it or remove it from the credentials configuration",
    );
  });

  it("a helper that hangs is stopped", async () => {
    const helper = installHelper();
    const source = dockerConfigCredentials({ configPath: writeConfig({ credsStore: "fixture" }), helperRunner: spawnHelperRunner({ env: helper.env, timeoutMs: 300 }) });
    const started = Date.now();
    expect(await failure(source.get("slow.example"), "AUTH_FAILED")).toBe("credential helper docker-credential-fixture failed for slow.example: no answer within 0.3 s");
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it("refuses helper names that are not plain names (they become a program name)", async () => {
    const path = writeConfig({ credsStore: "../../bin/sh" });
    const message = await failure(dockerConfigCredentials({ configPath: path, helperRunner: spawnHelperRunner({ env: installHelper().env }) }).get("x.example"), "CONFIG_INVALID");
    expect(message).toBe(`${path}: credential helper name "../../bin/sh" is invalid (want e.g. desktop for docker-credential-desktop)`);
    const runner = spawnHelperRunner({ env: installHelper().env });
    expect(await failure(runner("a/b", "x.example"), "AUTH_FAILED")).toMatch(/failed for x\.example: invalid helper name/);
  });
});

describe("configCredentials: basewarm's own registries section", () => {
  it("gives static credentials and runs helpers, with Docker Hub aliases", async () => {
    const helper = installHelper();
    const source = configCredentials(
      {
        "index.docker.io": { credentialHelper: "fixture" },
        "127.0.0.1:5000": { username: "admin", password: INLINE_PASSWORD },
        "good.example": { credentialHelper: "fixture" },
        "insecure-only.example": {},
      },
      { helperRunner: spawnHelperRunner({ env: helper.env }) },
    );
    expect(await source.get("registry-1.docker.io")).toEqual({ kind: "basic", username: "hubuser", password: HUB_PASSWORD });
    expect(await source.get("docker.io")).toEqual({ kind: "basic", username: "hubuser", password: HUB_PASSWORD });
    expect(await source.get("127.0.0.1:5000")).toEqual({ kind: "basic", username: "admin", password: INLINE_PASSWORD });
    expect(await source.get("good.example")).toEqual({ kind: "basic", username: "robot", password: SECRET });
    expect(await source.get("insecure-only.example")).toBeUndefined();
    expect(await source.get("unlisted.example")).toBeUndefined();
    expect(helper.calls()).toEqual(["https://index.docker.io/v1/", "good.example"]);
  });

  it.each([
    [{ "x.example": { username: "me" } }, 'registries["x.example"]: give both username and password, or a credentialHelper'],
    [{ "x.example": { password: INLINE_PASSWORD } }, 'registries["x.example"]: give both username and password, or a credentialHelper'],
    [{ "x.example": { credentialHelper: "../evil" } }, 'registries["x.example"].credentialHelper: want a helper name like ecr-login (for docker-credential-ecr-login)'],
  ])("refuses incomplete entries up front: %j", (entries, expected) => {
    let error: unknown;
    try {
      configCredentials(entries);
    } catch (err) {
      error = err;
    }
    expect(isBasewarmError(error, "CONFIG_INVALID")).toBe(true);
    expect((error as Error).message).toBe(expected);
    expect((error as Error).message).not.toContain(INLINE_PASSWORD);
  });
});

describe("chainCredentials", () => {
  const fixed = (answers: Record<string, Credential>): CredentialSource & { asked: string[] } => {
    const asked: string[] = [];
    return { asked, get: async (host) => (asked.push(host), answers[host]) };
  };

  it("the first source with an answer wins; later ones are not asked", async () => {
    const first = fixed({ "a.example": { kind: "basic", username: "first", password: "1" } });
    const second = fixed({ "a.example": { kind: "basic", username: "second", password: "2" }, "b.example": { kind: "registryToken", token: "t" } });
    const chain = chainCredentials(first, second);
    expect(await chain.get("a.example")).toEqual({ kind: "basic", username: "first", password: "1" });
    expect(second.asked).toEqual([]);
    expect(await chain.get("b.example")).toEqual({ kind: "registryToken", token: "t" });
    expect(await chain.get("c.example")).toBeUndefined();
    expect(first.asked).toEqual(["a.example", "b.example", "c.example"]);
    expect(await chainCredentials().get("a.example")).toBeUndefined();
  });

  it("basewarm config before Docker config, as the CLI wires them; a failing source stops the chain", async () => {
    const helper = installHelper();
    const runner = spawnHelperRunner({ env: helper.env });
    const docker = dockerConfigCredentials({ configPath: writeConfig({ credsStore: "fixture", auths: { "plain.example": { auth: b64("docker:d") } } }), helperRunner: runner });
    const chain = chainCredentials(configCredentials({ "plain.example": { username: "basewarm", password: "b" } }, { helperRunner: runner }), docker);
    expect(await chain.get("plain.example")).toEqual({ kind: "basic", username: "basewarm", password: "b" });
    expect(await chain.get("token.example")).toEqual({ kind: "identityToken", token: `refresh-${SECRET}` });
    expect(await failure(chain.get("broken.example"), "AUTH_FAILED")).toMatch(/^credential helper docker-credential-fixture failed for broken\.example: exit status 3: keychain is locked$/);
  });
});
