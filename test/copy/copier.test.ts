import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { readdirSync, writeFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Copier, targetReference, parsePlatform, type CopyRequest } from "../../src/copy/index.js";
import { parseReference } from "../../src/reference/index.js";
import { RegistryClient, type RepositoryRef } from "../../src/registry/index.js";
import type { CredentialSource } from "../../src/registry/credentials.js";
import {
  makeArtifact, makeCacheImage, makeImage, makeLayer, makeMultiArch, pushImage, sha256, writeOciLayout, type TestImage,
} from "../../testkit/images.js";
import type { RunningRegistry } from "../../testkit/registry-server.js";
import { useRegistry } from "../helpers/registries.js";

const run = promisify(execFile);

/** skopeo's view of a manifest digest. Async: the token issuer lives in this process. */
async function skopeoDigest(host: string, repoAndTag: string, creds?: string): Promise<string> {
  const args = ["inspect", "--tls-verify=false", "--raw", ...(creds ? ["--creds", creds] : []), `docker://${host}/${repoAndTag}`];
  const { stdout } = await run("skopeo", args, { encoding: "buffer", maxBuffer: 8 << 20 });
  return sha256(stdout);
}

const base = makeLayer("base-os", 200_000);
const images: Record<string, TestImage> = {
  "lib/app-a": makeImage({ seed: "app-a", layers: [base, makeLayer("app-a", 50_000)] }),
  "lib/app-b": makeImage({ seed: "app-b", layers: [base, makeLayer("app-b", 60_000)] }),
  "lib/docker-style": makeImage({ seed: "docker-style", layers: [makeLayer("dock", 30_000, "docker")], format: "docker" }),
  "lib/multi": makeMultiArch({ seed: "multi", shared: [base], archLayerSize: 20_000 }),
  "lib/multi-docker": makeMultiArch({ seed: "multi-d", shared: [makeLayer("md", 10_000, "docker")], archLayerSize: 5_000, format: "docker" }),
  "cache/app": makeCacheImage("cache-app", [base, makeLayer("cache-layer", 7_000)]),
};

describe("copier between real registries", () => {
  const source = useRegistry();
  const target = useRegistry();

  async function seed(r: RunningRegistry): Promise<void> {
    for (const [repo, image] of Object.entries(images)) await pushImage(r.url, repo, image, "v1");
  }

  function requestsFor(tag = "v1", prefix = "mirror"): CopyRequest[] {
    return Object.keys(images).map((repo) => {
      const src = parseReference(`${source().host}/${repo}:${tag}`);
      return { source: src, target: targetReference(src, { registry: target().host, prefix }) };
    });
  }

  it("copies every kind of image faithfully, uploads each shared blob once, and a second run is a no-op", async () => {
    await seed(source());
    const client = new RegistryClient();
    const copier = new Copier({ client });
    await target().resetRequests();
    const results = await copier.copyAll(requestsFor());
    expect(results.map((r) => [r.status, r.error])).toEqual(results.map(() => ["copied", undefined]));
    for (const [repo, image] of Object.entries(images)) {
      const result = results.find((r) => r.source.endsWith(`/${repo}:v1`))!;
      expect(result.digest).toBe(image.digest);
      const targetPath = `mirror/${source().host.replace(":", "-")}/${repo}:v1`;
      expect(await skopeoDigest(target().host, targetPath)).toBe(await skopeoDigest(source().host, `${repo}:v1`));
    }
    // The base layer is in 4 repositories but crosses the wire once and is mounted into the other 3.
    const uploads = (await target().requests()).filter((r) => r.method === "PUT" && r.uri.includes("/blobs/uploads/"));
    const uniqueBlobs = new Set(Object.values(images).flatMap((i) => [...i.blobs, ...i.children.flatMap((c) => c.blobs)].map((b) => b.digest)));
    expect(uploads.length).toBe(uniqueBlobs.size);
    expect(copier.totals.blobsMounted).toBeGreaterThanOrEqual(3);

    // Second run, new copier (new process): at most 2 requests per tag reference, nothing moved.
    await source().resetRequests();
    await target().resetRequests();
    const again = await new Copier({ client }).copyAll(requestsFor());
    expect(again.every((r) => r.status === "unchanged" && r.bytes === 0)).toBe(true);
    const total = (await source().requests()).length + (await target().requests()).length;
    expect(total).toBeLessThanOrEqual(2 * Object.keys(images).length);
    await client.close();
  });

  it("treats digest references as immutable: no upstream request when the target has the digest", async () => {
    const client = new RegistryClient();
    const image = images["lib/app-a"]!;
    await pushImage(source().url, "lib/app-a", image, "v1");
    const src = parseReference(`${source().host}/lib/app-a@${image.digest}`);
    const request = { source: src, target: targetReference(src, { registry: target().host, prefix: "pinned" }) };
    expect((await new Copier({ client }).copyImage(request)).status).toBe("copied");
    await source().resetRequests();
    await target().resetRequests();
    const again = await new Copier({ client }).copyImage(request);
    expect(again.status).toBe("unchanged");
    expect((await source().requests()).length).toBe(0);
    expect((await target().requests()).length).toBe(1);
    await client.close();
  });

  it("copies only the wanted platforms into a new index and says so", async () => {
    const client = new RegistryClient();
    await pushImage(source().url, "lib/multi", images["lib/multi"]!, "v1");
    const src = parseReference(`${source().host}/lib/multi:v1`);
    const dst = targetReference(src, { registry: target().host, prefix: "amd64only" });
    const result = await new Copier({ client }).copyImage({ source: src, target: dst, platforms: [parsePlatform("linux/amd64")] });
    expect(result.status).toBe("copied");
    expect(result.platformsFiltered).toBe(true);
    expect(result.digest).not.toBe(images["lib/multi"]!.digest);
    const index = JSON.parse((await client.manifestGet(dst)).bytes.toString()) as { manifests: { platform: { architecture: string } }[] };
    expect(index.manifests.map((m) => m.platform.architecture)).toEqual(["amd64"]);
    const again = await new Copier({ client }).copyImage({ source: src, target: dst, platforms: [parsePlatform("linux/amd64")] });
    expect(again.status).toBe("unchanged");
    const none = await new Copier({ client }).copyImage({ source: src, target: dst, platforms: [parsePlatform("linux/s390x")] });
    expect(none.status).toBe("failed");
    expect(none.error).toMatch(/no manifest for linux\/s390x \(available: linux\/amd64, linux\/arm64\/v8\)/);
    await client.close();
  });

  it("fails only the image whose blob is corrupt at the source, and never pushes it", async () => {
    const client = new RegistryClient({ retry: { baseDelayMs: 5, maxDelayMs: 10 } });
    const good = makeImage({ seed: "good", layers: [makeLayer("good-layer", 9_000)] });
    const bad = makeImage({ seed: "bad", layers: [makeLayer("bad-layer", 9_000)] });
    await pushImage(source().url, "corrupt/good", good, "v1");
    await pushImage(source().url, "corrupt/bad", bad, "v1");
    // Flip a byte in the registry's stored copy of the layer: the source now serves corrupt content.
    const layer = bad.blobs[1]!;
    const hex = layer.digest.slice("sha256:".length);
    const path = join(source().dir, "data", "docker", "registry", "v2", "blobs", "sha256", hex.slice(0, 2), hex, "data");
    const bytes = readFileSync(path);
    bytes[4000] = (bytes[4000] ?? 0) ^ 0x01;
    writeFileSync(path, bytes);
    const requests = ["corrupt/good", "corrupt/bad"].map((repo) => {
      const src = parseReference(`${source().host}/${repo}:v1`);
      return { source: src, target: targetReference(src, { registry: target().host, prefix: "c" }) };
    });
    const [goodResult, badResult] = await new Copier({ client, blobAttempts: 2 }).copyAll(requests);
    expect(goodResult!.status).toBe("copied");
    expect(badResult!.status).toBe("failed");
    expect(badResult!.errorCode).toBe("DIGEST_MISMATCH");
    expect(badResult!.error).toMatch(/hashes to sha256:/);
    const dstRepo: RepositoryRef = { registry: target().host, repository: requests[1]!.target.repository };
    expect(await client.blobHead(dstRepo, layer.digest)).toBeUndefined();
    expect(await client.manifestHead(requests[1]!.target)).toBeUndefined();
    await client.close();
  });

  it("reports a missing image as failed with a clear reason while the others are copied", async () => {
    const client = new RegistryClient();
    await pushImage(source().url, "lib/app-b", images["lib/app-b"]!, "v1");
    const missing = parseReference(`${source().host}/lib/nope:v1`);
    const present = parseReference(`${source().host}/lib/app-b:v1`);
    const results = await new Copier({ client }).copyAll([missing, present].map((src) => ({ source: src, target: targetReference(src, { registry: target().host, prefix: "mixed" }) })));
    expect(results[0]!.status).toBe("failed");
    expect(results[0]!.error).toContain("lib/nope:v1");
    expect(results[1]!.status).toBe("copied");
    await client.close();
  });

  it("copies an artifact and its referrers when asked", async () => {
    const client = new RegistryClient();
    const subject = images["lib/app-a"]!;
    const sbom = makeArtifact("sbom-a", "application/spdx+json", subject);
    await pushImage(source().url, "ref/app", subject, "v1");
    await pushImage(source().url, "ref/app", sbom);
    // distribution 2.8 has no referrers API: publish the tag-schema index like a 1.1 client would.
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [{ mediaType: sbom.mediaType, digest: sbom.digest, size: sbom.bytes.length, artifactType: "application/spdx+json" }] }));
    await fetch(`${source().url}/v2/ref/app/manifests/${subject.digest.replace(":", "-")}`, { method: "PUT", body: index, headers: { "content-type": "application/vnd.oci.image.index.v1+json" } });
    const src = parseReference(`${source().host}/ref/app:v1`);
    const dst = targetReference(src, { registry: target().host, prefix: "withrefs" });
    const result = await new Copier({ client }).copyImage({ source: src, target: dst, referrers: true });
    expect(result.status).toBe("copied");
    expect(result.referrers).toBe(1);
    const referrers = await client.referrers({ registry: target().host, repository: dst.repository }, subject.digest);
    expect(referrers.map((r) => r.digest)).toEqual([sbom.digest]);
    expect((await client.manifestGet(dst.pinned(sbom.digest))).bytes.equals(sbom.bytes)).toBe(true);
    await client.close();
  });
});

describe("copier across authenticated registries", () => {
  const pullOnly = { username: "reader", password: "reader-secret-1", grants: [{ repository: "*", actions: ["pull" as const] }] };
  const pusher = { username: "writer", password: "writer-secret-2", grants: [{ repository: "*", actions: ["pull" as const, "push" as const] }] };
  const source = useRegistry({ auth: "token", users: [pullOnly, pusher] });
  const target = useRegistry({ auth: "basic", users: [pusher] });
  const tokenTarget = useRegistry({ auth: "token", users: [pusher] });

  it("pulls with pull-only credentials, pushes with push credentials, mounts with the right scopes", async () => {
    const image = images["lib/multi"]!;
    const layout = join(source().dir, "layout");
    await writeOciLayout(layout, [{ image, tag: "v1" }]);
    await run("skopeo", ["copy", "--all", "--dest-tls-verify=false", "--dest-creds", `${pusher.username}:${pusher.password}`, `oci:${layout}:v1`, `docker://${source().host}/auth/multi:v1`]);
    expect(readdirSync(layout).length).toBeGreaterThan(0);

    const credentials: CredentialSource = {
      get: async (host) => (host === source().host ? { kind: "basic", ...pullOnly } : host === target().host || host === tokenTarget().host ? { kind: "basic", ...pusher } : undefined),
    };
    const client = new RegistryClient({ credentials });
    const src = parseReference(`${source().host}/auth/multi:v1`);
    // skopeo compresses the layout's layers on the way in, so the source digest is skopeo's, not ours.
    const sourceDigest = await skopeoDigest(source().host, "auth/multi:v1", `${pusher.username}:${pusher.password}`);
    for (const dstRegistry of [target(), tokenTarget()]) {
      const copier = new Copier({ client });
      const results = await copier.copyAll(["a", "b"].map((prefix) => ({ source: src, target: targetReference(src, { registry: dstRegistry.host, prefix }) })));
      expect(results.map((r) => r.status)).toEqual(["copied", "copied"]);
      expect(results[0]!.digest).toBe(sourceDigest);
      expect(copier.totals.blobsMounted).toBeGreaterThan(0);
      expect(await skopeoDigest(dstRegistry.host, `b/${source().host.replace(":", "-")}/auth/multi:v1`, `${pusher.username}:${pusher.password}`)).toBe(sourceDigest);
    }
    // The source's issuer only ever saw pull scopes; the token target saw mount scopes.
    expect(source().issuer!.log.filter((e) => e.account === "reader").flatMap((e) => e.scopes).every((s) => s.endsWith(":pull"))).toBe(true);
    const mountScopes = tokenTarget().issuer!.log.map((e) => [...e.scopes].sort().join(" "));
    expect(mountScopes.some((s) => /repository:a\/.*:pull repository:b\/.*:pull,push/.test(s) || /repository:b\/.*:pull,push repository:a\/.*:pull/.test(s))).toBe(true);
    await client.close();
  });
});
