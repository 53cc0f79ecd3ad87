import { join } from "node:path";
import { parse } from "smol-toml";
import { describe, expect, it } from "vitest";
import { makeImage, makeLayer, makeMultiArch, pushImage } from "../../testkit/images.js";
import { basewarm, jsonOf, workspace } from "../helpers/cli.js";
import { useRegistry } from "../helpers/registries.js";

interface Policy { rules: { action: string; selector: { identifier: string }; updates: { identifier: string } }[] }
interface JsonResult { format: string; text: string; redirected: { ref: string; upstreamDigest: string; mirror: string }[]; leftOut: { ref: string; reason: string; message: string }[] }

const ACCEPT = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

async function headDigest(url: string): Promise<string | null> {
  const response = await fetch(url, { method: "HEAD", headers: { Accept: ACCEPT } });
  return response.ok ? response.headers.get("docker-content-digest") : null;
}

describe("basewarm buildkit-config against real registries", () => {
  const upstream = useRegistry();
  const mirror = useRegistry();

  it("redirects only what the mirror holds, in all three formats, with the mirror's own digest for filtered platforms", async () => {
    const up = upstream().host;
    const comp = up.replace(":", "-");
    const multi = makeMultiArch({ seed: "bkc-multi", shared: [makeLayer("bkc-shared", 2000)], archLayerSize: 500 });
    const plain = makeImage({ seed: "bkc-plain", layers: [makeLayer("bkc-plain", 1500)] });
    await pushImage(upstream().url, "lib/multi", multi, "1");
    await pushImage(upstream().url, "lib/plain", plain, "1");
    const dir = workspace({
      "app/Dockerfile": `FROM ${up}/lib/multi:1 AS base\nCOPY --from=${up}/lib/gone:1 /x /x\nFROM base\nRUN true\n`,
      "basewarm.yaml": [
        `target: { registry: "${mirror().host}", prefix: p }`,
        "state: s.db",
        "mirror: { platforms: [linux/amd64] }",
        "catalog:",
        "  - dockerfile: app/Dockerfile",
        "images:",
        `  - { ref: "${up}/lib/plain:1", platforms: [] }`,
        "",
      ].join("\n"),
    });
    const config = join(dir, "basewarm.yaml");
    const dockerfile = join(dir, "app/Dockerfile");
    const bkc = (...args: string[]) => basewarm(["buildkit-config", "--config", config, ...args]);

    // gone:1 does not exist upstream yet: the mirror step fails for it alone.
    expect((await basewarm(["mirror", "--config", config])).code).toBe(1);
    const mirroredMulti = await headDigest(`${mirror().url}/v2/p/${comp}/lib/multi/manifests/1`);
    expect(mirroredMulti).toMatch(/^sha256:/);
    expect(mirroredMulti).not.toBe(multi.digest);
    const multiTo = `docker-image://${mirror().host}/p/${comp}/lib/multi:1@${mirroredMulti}`;
    const plainTo = `docker-image://${mirror().host}/p/${comp}/lib/plain:1@${plain.digest}`;

    // Source policy: both forms for each held image, nothing for gone:1, exit 1 with the reason.
    const policyRun = await bkc("--format", "source-policy");
    expect(policyRun.code).toBe(1);
    expect(policyRun.stderr).toContain(`not redirected: ${up}/lib/gone:1:`);
    expect(policyRun.stderr).toContain(`basewarm: not redirected: ${up}/lib/gone:1: not found upstream`);
    const policy = JSON.parse(policyRun.stdout) as Policy;
    expect(policy.rules).toEqual([
      { action: "CONVERT", selector: { identifier: `docker-image://${up}/lib/multi:1` }, updates: { identifier: multiTo } },
      { action: "CONVERT", selector: { identifier: `docker-image://${up}/lib/multi:1@${multi.digest}` }, updates: { identifier: multiTo } },
      { action: "CONVERT", selector: { identifier: `docker-image://${up}/lib/plain:1` }, updates: { identifier: plainTo } },
      { action: "CONVERT", selector: { identifier: `docker-image://${up}/lib/plain:1@${plain.digest}` }, updates: { identifier: plainTo } },
    ]);

    // gone:1 now exists upstream but is not mirrored: left out for that reason, as JSON too.
    const gone = makeImage({ seed: "bkc-gone", layers: [makeLayer("bkc-gone", 800)] });
    await pushImage(upstream().url, "lib/gone", gone, "1");
    const json = jsonOf<JsonResult>(await bkc("--format", "source-policy", "--json"));
    expect(json.leftOut).toEqual([expect.objectContaining({ ref: `${up}/lib/gone:1`, reason: "not-mirrored" })]);
    expect(json.redirected.map((r) => r.ref).sort()).toEqual([`${up}/lib/multi:1`, `${up}/lib/plain:1`]);
    expect(JSON.parse(json.text)).toEqual(policy);

    // buildkitd.toml: the upstream's section points at the mirror path; both plain-HTTP hosts say so.
    const mirrorsRun = await bkc("--format", "mirrors");
    expect(mirrorsRun.code).toBe(1);
    expect(mirrorsRun.stderr).toContain(`not redirected: ${up}/lib/gone:1: the mirror does not hold`);
    expect(mirrorsRun.stdout).toContain(`# not in the mirror, pulled from upstream: ${up}/lib/gone:1`);
    expect(parse(mirrorsRun.stdout)).toEqual({
      registry: { [up]: { mirrors: [`${mirror().host}/p/${comp}`], http: true }, [mirror().host]: { http: true } },
    });

    // Build contexts for the Dockerfile: the held base only.
    const contexts = await bkc("--format", "build-contexts", dockerfile);
    expect(contexts.code).toBe(1);
    expect(contexts.stdout).toBe(`--build-context ${up}/lib/multi:1=${multiTo}\n`);

    // Once gone:1 is mirrored, everything is redirected and the command succeeds quietly.
    expect((await basewarm(["mirror", "--config", config])).code).toBe(0);
    const goneMirrored = await headDigest(`${mirror().url}/v2/p/${comp}/lib/gone/manifests/1`);
    const all = await bkc("--format", "build-contexts", dockerfile);
    expect({ code: all.code, stderr: all.stderr }).toEqual({ code: 0, stderr: "" });
    expect(all.stdout.split("\n").filter(Boolean).sort()).toEqual([
      `--build-context ${up}/lib/gone:1=docker-image://${mirror().host}/p/${comp}/lib/gone:1@${goneMirrored}`,
      `--build-context ${up}/lib/multi:1=${multiTo}`,
    ]);
    const allPolicy = await bkc("--format", "source-policy");
    expect(allPolicy.code).toBe(0);
    expect((JSON.parse(allPolicy.stdout) as Policy).rules).toHaveLength(6);
  });

  it("refuses bad arguments with one line and exit 2", async () => {
    const dir = workspace({ "basewarm.yaml": `target: { registry: "${mirror().host}" }\n`, "Dockerfile": "FROM alpine:3.20\n" });
    const config = join(dir, "basewarm.yaml");
    const cases: [string[], RegExp][] = [
      [["--format", "yaml"], /--format "yaml": want one of mirrors, source-policy, build-contexts/],
      [["--format", "build-contexts"], /build-contexts needs a DOCKERFILE/],
      [["--format", "build-contexts", join(dir, "nope")], /Dockerfile .*nope/i],
      [["--format", "build-contexts", join(dir, "Dockerfile"), "--build-arg", "=NONAME"], /--build-arg "=NONAME": want NAME=VALUE/],
      [["--format", "source-policy", "--target", "release"], /apply to a DOCKERFILE argument/],
    ];
    for (const [args, message] of cases) {
      const run = await basewarm(["buildkit-config", "--config", config, ...args]);
      expect({ args, code: run.code }).toEqual({ args, code: 2 });
      expect(run.stderr).toMatch(message);
      expect(run.stderr.trim().split("\n")).toHaveLength(1);
      expect(run.stdout).toBe("");
    }
  });

  it("an unreachable mirror leaves every image out with the lookup error, never a crash", async () => {
    const up = upstream().host;
    await pushImage(upstream().url, "lib/solo", makeImage({ seed: "bkc-solo", layers: [makeLayer("bkc-solo", 300)] }), "1");
    const dir = workspace({ "basewarm.yaml": `target: { registry: "127.0.0.1:9" }\nimages: ["${up}/lib/solo:1"]\n` });
    const run = await basewarm(["buildkit-config", "--config", join(dir, "basewarm.yaml"), "--format", "source-policy", "--json"]);
    expect(run.code).toBe(1);
    const result = jsonOf<JsonResult & { leftOut: { code?: string }[] }>(run);
    expect(result.redirected).toEqual([]);
    expect(result.leftOut).toEqual([expect.objectContaining({ ref: `${up}/lib/solo:1`, reason: "lookup-failed", code: "NETWORK_ERROR" })]);
    expect(JSON.parse(result.text)).toEqual({ rules: [] });
  });
});
