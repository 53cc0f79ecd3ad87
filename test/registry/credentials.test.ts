import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isBasewarmError } from "../../src/errors.js";
import { chainCredentials, configCredentials, dockerConfigCredentials, spawnHelperRunner } from "../../src/registry/index.js";

const SECRET = "helper-secret-Zq81";

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "basewarm-creds-"));
}

/** A real credential helper executable (the docker-credential protocol), first on PATH. */
function helperEnv(): Record<string, string | undefined> {
  const dir = tempDir();
  const script = [
    "#!/bin/sh",
    'read host',
    'case "$host" in',
    `  good.example) echo '{"ServerURL":"good.example","Username":"robot","Secret":"${SECRET}"}' ;;`,
    `  token.example) echo '{"ServerURL":"token.example","Username":"<token>","Secret":"refresh-${SECRET}"}' ;;`,
    `  broken.example) echo "keychain locked for ${SECRET}-never-shown" >/dev/null; echo "keychain is locked" >&2; exit 3 ;;`,
    '  *) echo "credentials not found in native keychain"; exit 1 ;;',
    "esac",
  ].join("\n");
  writeFileSync(join(dir, "docker-credential-test"), script);
  chmodSync(join(dir, "docker-credential-test"), 0o755);
  return { PATH: `${dir}:/usr/bin:/bin` };
}

describe("credentials", () => {
  it("reads auths from a docker config.json in every form Docker writes", async () => {
    const dir = tempDir();
    const path = join(dir, "config.json");
    writeFileSync(path, JSON.stringify({
      auths: {
        "https://index.docker.io/v1/": { auth: Buffer.from("hubuser:hubpass").toString("base64") },
        "http://127.0.0.1:5000": { username: "u", password: "p" },
        "ghcr.io": { identitytoken: "idtok" },
        "quay.io/v2/": { registrytoken: "regtok" },
      },
    }));
    const source = dockerConfigCredentials({ configPath: path });
    expect(await source.get("docker.io")).toEqual({ kind: "basic", username: "hubuser", password: "hubpass" });
    expect(await source.get("registry-1.docker.io")).toEqual({ kind: "basic", username: "hubuser", password: "hubpass" });
    expect(await source.get("127.0.0.1:5000")).toEqual({ kind: "basic", username: "u", password: "p" });
    expect(await source.get("ghcr.io")).toEqual({ kind: "identityToken", token: "idtok" });
    expect(await source.get("quay.io")).toEqual({ kind: "registryToken", token: "regtok" });
    expect(await source.get("other.example")).toBeUndefined();
  });

  it("treats a missing docker config as no credentials, and a broken one as a clear error", async () => {
    const dir = tempDir();
    expect(await dockerConfigCredentials({ configPath: join(dir, "none.json") }).get("docker.io")).toBeUndefined();
    writeFileSync(join(dir, "bad.json"), "{ nope");
    const err = await dockerConfigCredentials({ configPath: join(dir, "bad.json") }).get("docker.io").catch((e: unknown) => e);
    expect(isBasewarmError(err, "CONFIG_INVALID")).toBe(true);
    expect((err as Error).message).toMatch(/bad\.json: invalid JSON/);
    writeFileSync(join(dir, "badauth.json"), JSON.stringify({ auths: { "x.example": { auth: Buffer.from("nocolon").toString("base64") } } }));
    const err2 = await dockerConfigCredentials({ configPath: join(dir, "badauth.json") }).get("x.example").catch((e: unknown) => e);
    expect((err2 as Error).message).toMatch(/does not decode to user:password; log in again/);
  });

  it("runs docker-credential helpers from credHelpers, credsStore and the basewarm config", async () => {
    const runner = spawnHelperRunner(helperEnv());
    const dir = tempDir();
    const path = join(dir, "config.json");
    writeFileSync(path, JSON.stringify({ credHelpers: { "good.example": "test", "broken.example": "test" }, credsStore: "test" }));
    const source = dockerConfigCredentials({ configPath: path, helperRunner: runner });
    expect(await source.get("good.example")).toEqual({ kind: "basic", username: "robot", password: SECRET });
    expect(await source.get("token.example")).toEqual({ kind: "identityToken", token: `refresh-${SECRET}` });
    expect(await source.get("unknown.example")).toBeUndefined();
    const err = await source.get("broken.example").catch((e: unknown) => e);
    expect(isBasewarmError(err, "AUTH_FAILED")).toBe(true);
    expect((err as Error).message).toBe("credential helper docker-credential-test failed for broken.example: keychain is locked");
    expect((err as Error).message).not.toContain(SECRET);

    const fromConfig = configCredentials({ "good.example": { credentialHelper: "test" }, "plain.example": { username: "a", password: "b" } }, { helperRunner: runner });
    expect(await fromConfig.get("good.example")).toEqual({ kind: "basic", username: "robot", password: SECRET });
    const missing = configCredentials({ "x.example": { credentialHelper: "absent" } }, { helperRunner: runner });
    expect(((await missing.get("x.example").catch((e: unknown) => e)) as Error).message).toMatch(/docker-credential-absent is not on PATH/);
    const chained = chainCredentials(fromConfig, dockerConfigCredentials({ configPath: path, helperRunner: runner }));
    expect(await chained.get("plain.example")).toEqual({ kind: "basic", username: "a", password: "b" });
    expect(await chained.get("token.example")).toEqual({ kind: "identityToken", token: `refresh-${SECRET}` });
  });
});
