import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { DigestVerifier } from "../../src/copy/index.js";
import { OciLayout, REF_NAME_ANNOTATION } from "../../src/layout/index.js";
import { useTempDirs } from "../helpers/temp.js";
import { flatten, makeImage, makeLayer, sha256, writeOciLayout, type TestImage } from "../../testkit/images.js";

const tempDir = useTempDirs("layout");

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

/** Every file under dir/blobs plus stray temp files in dir: what a failed write must not leave. */
function filesIn(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1)).sort();
}

async function writeImage(layout: OciLayout, image: TestImage, refName?: string): Promise<void> {
  const { blobs, manifests } = flatten(image);
  // Blobs as streams of small chunks, manifests as buffers: both ways a copy writes.
  for (const b of blobs) await layout.blobWrite(b, Readable.from([b.data.subarray(0, 100), b.data.subarray(100)]));
  for (const m of manifests) await layout.blobWrite({ mediaType: m.mediaType, digest: m.digest, size: m.bytes.length }, m.bytes);
  await layout.indexPut({ mediaType: image.mediaType, digest: image.digest, size: image.bytes.length }, refName);
}

const image = makeImage({ seed: "layout-unit", layers: [makeLayer("layout-unit", 3000)] });
const other = makeImage({ seed: "layout-unit-2", layers: [makeLayer("layout-unit-2", 2000)] });

describe("OCI layout on disk", () => {
  it("creates a layout skopeo reads back: marker, blobs by digest, index.json naming the image", async () => {
    const dir = join(tempDir(), "new");
    const layout = OciLayout.forWriting(dir);
    expect(existsSync(dir)).toBe(false); // nothing is created before the first write
    await writeImage(layout, image, "v1");
    expect(JSON.parse(readFileSync(join(dir, "oci-layout"), "utf8"))).toEqual({ imageLayoutVersion: "1.0.0" });
    const raw = execFileSync("skopeo", ["inspect", "--raw", `oci:${dir}:v1`]);
    expect(sha256(raw)).toBe(image.digest);
    const config = JSON.parse(execFileSync("skopeo", ["inspect", "--config", `oci:${dir}:v1`]).toString()) as { config: { Labels: Record<string, string> } };
    expect(config.config.Labels["basewarm.test.seed"]).toBe("layout-unit");
    expect(filesIn(dir).filter((f) => f.includes(".tmp"))).toEqual([]);
    expect(OciLayout.open(dir).find("v1")).toEqual({ mediaType: image.mediaType, digest: image.digest, size: image.bytes.length, refName: "v1" });
  });

  it("refuses content that does not match its descriptor and leaves neither the blob nor a temp file", async () => {
    const dir = tempDir();
    const layout = OciLayout.forWriting(dir);
    const [config] = image.blobs;
    if (!config) throw new Error("image without config");
    const flipped = Buffer.from(config.data);
    flipped[0] = flipped[0]! ^ 1;
    await expect(layout.blobWrite(config, flipped)).rejects.toMatchObject({ code: "DIGEST_MISMATCH", message: expect.stringMatching(/hashes to sha256:/) });
    await expect(layout.blobWrite(config, Buffer.concat([config.data, Buffer.from("x")]))).rejects.toMatchObject({ code: "DIGEST_MISMATCH", message: expect.stringMatching(/more than the \d+ bytes/) });
    await expect(layout.blobWrite(config, config.data.subarray(1))).rejects.toMatchObject({ code: "DIGEST_MISMATCH" });
    const broken = new Readable({ read() {} });
    broken.push(config.data.subarray(0, 10));
    setImmediate(() => broken.destroy(new Error("source went away")));
    await expect(layout.blobWrite(config, broken)).rejects.toThrow(/source went away/);
    // Only the empty layout the first write created: no blob, no temp file.
    expect(filesIn(dir)).toEqual(["index.json", "oci-layout"]);
    expect(await layout.blobHas(config)).toBe(false);
  });

  it("a checked write relies on the stream's own digest check: a corrupt stream leaves nothing, a wrong size is still refused", async () => {
    const dir = tempDir();
    const layout = OciLayout.forWriting(dir);
    const [, layer] = image.blobs;
    if (!layer) throw new Error("image without a layer");
    const through = (bytes: Buffer): DigestVerifier => {
      const verifier = new DigestVerifier(layer.digest, layer.size, "test");
      Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]).pipe(verifier);
      return verifier;
    };
    const flipped = Buffer.from(layer.data);
    flipped[2000] = flipped[2000]! ^ 1;
    await expect(layout.blobWrite(layer, through(flipped), { checked: true })).rejects.toMatchObject({ code: "DIGEST_MISMATCH", message: expect.stringMatching(/hashes to sha256:/) });
    // The size is checked here even so: a stream that does not check it must not land.
    await expect(layout.blobWrite(layer, Readable.from([layer.data.subarray(1)]), { checked: true })).rejects.toMatchObject({ code: "DIGEST_MISMATCH", message: expect.stringMatching(/bytes, its descriptor declares/) });
    expect(filesIn(dir)).toEqual(["index.json", "oci-layout"]);

    await layout.blobWrite(layer, through(layer.data), { checked: true });
    expect(await layout.blobHas(layer)).toBe(true);
    expect(sha256(readFileSync(join(dir, "blobs", "sha256", layer.digest.slice("sha256:".length))))).toBe(layer.digest);
  });

  it("rewrites index.json replacing the entry of the same name in place, keeping every other entry and field", async () => {
    const dir = tempDir();
    await writeOciLayout(dir, [{ image, tag: "v1" }, { image, tag: "v2" }]);
    const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8")) as { manifests: Record<string, unknown>[]; [k: string]: unknown };
    index["annotations"] = { "org.example.kept": "yes" };
    index.manifests[1] = { ...index.manifests[1], annotations: { [REF_NAME_ANNOTATION]: "v2", "org.example.note": "kept" } };
    index.manifests.push({ mediaType: image.mediaType, digest: image.digest, size: image.bytes.length });
    writeFileSync(join(dir, "index.json"), JSON.stringify(index));

    const layout = OciLayout.forWriting(dir);
    await writeImage(layout, other, "v1");
    await writeImage(layout, other); // unnamed, twice: listed once
    await layout.indexPut({ mediaType: other.mediaType, digest: other.digest, size: other.bytes.length }, undefined);
    const after = JSON.parse(readFileSync(join(dir, "index.json"), "utf8")) as typeof index;
    expect(after["annotations"]).toEqual({ "org.example.kept": "yes" });
    expect(after.manifests).toEqual([
      { mediaType: other.mediaType, digest: other.digest, size: other.bytes.length, annotations: { [REF_NAME_ANNOTATION]: "v1" } },
      index.manifests[1],
      index.manifests[2],
      { mediaType: other.mediaType, digest: other.digest, size: other.bytes.length },
    ]);
    expect(sha256(execFileSync("skopeo", ["inspect", "--raw", `oci:${dir}:v1`]))).toBe(other.digest);
    expect(sha256(execFileSync("skopeo", ["inspect", "--raw", `oci:${dir}:v2`]))).toBe(image.digest);
  });

  describe("several writers at once", () => {
    const descriptorOf = (img: TestImage) => ({ mediaType: img.mediaType, digest: img.digest, size: img.bytes.length });
    const names = (dir: string) => (JSON.parse(readFileSync(join(dir, "index.json"), "utf8")) as { manifests: { annotations?: Record<string, string> }[] }).manifests
      .map((m) => m.annotations?.[REF_NAME_ANNOTATION]);
    /** A pid that no process has now: a child that already exited. */
    const deadPid = () => spawnSync("true").pid!;

    it("lose no index.json entry: each rewrite reads the index afresh under the lock", async () => {
      const dir = tempDir();
      await writeImage(OciLayout.forWriting(dir), image, "first");
      // Twelve writers on one new layout, each naming the same image: their rewrites interleave.
      const writers = Array.from({ length: 12 }, () => OciLayout.forWriting(dir));
      await Promise.all(writers.map((w, i) => w.indexPut(descriptorOf(image), `tag${i}`)));
      expect(names(dir).sort()).toEqual(["first", ...Array.from({ length: 12 }, (_, i) => `tag${i}`)].sort());
      expect(filesIn(dir).filter((f) => f.startsWith("."))).toEqual([]);
    });

    it("take over the lock of a writer that died, and wait for a live one, then say who holds it", async () => {
      const dir = tempDir();
      await writeImage(OciLayout.forWriting(dir), image, "v1");
      const lock = join(dir, ".basewarm-index.lock");
      writeFileSync(lock, JSON.stringify({ pid: deadPid(), hostname: hostname() }));
      await OciLayout.forWriting(dir).indexPut(descriptorOf(image), "after-crash");
      expect(names(dir)).toEqual(["v1", "after-crash"]);
      expect(existsSync(lock)).toBe(false);

      // A live holder: this very process (a pid alive on this host), as a stuck copy would be.
      writeFileSync(lock, JSON.stringify({ pid: process.pid, hostname: hostname() }));
      const started = Date.now();
      await expect(OciLayout.forWriting(dir, { lockWaitMs: 300 }).indexPut(descriptorOf(image), "blocked")).rejects.toMatchObject({
        code: "LOCKED",
        message: expect.stringContaining(`index.json has been locked by pid ${process.pid} on ${hostname()} for 0 s; wait for that copy to finish, or remove ${lock} if no such process runs`),
      });
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
      expect(names(dir)).toEqual(["v1", "after-crash"]);
      expect(existsSync(lock)).toBe(true); // someone else's lock is never removed

      // Released while a writer waits: it goes on.
      const waiting = OciLayout.forWriting(dir, { lockWaitMs: 5000 }).indexPut(descriptorOf(image), "waited");
      setTimeout(() => rmSync(lock), 100);
      await waiting;
      expect(names(dir)).toEqual(["v1", "after-crash", "waited"]);
    });

    it("open a directory another writer is creating: one holding nothing but its temp file is not refused", async () => {
      const dir = tempDir();
      // The moment between another copy's first temp file and its oci-layout marker.
      const creating = `.basewarm-${hostname()}-${process.pid}-0b9f9d3e-4a51-4c8e-9d0a-3f1e2d4c5b6a.tmp`;
      writeFileSync(join(dir, creating), "{}");
      await writeImage(OciLayout.forWriting(dir), image, "v1");
      expect(names(dir)).toEqual(["v1"]);
      // Anything else in a directory without a marker is still someone else's: refused.
      const foreign = tempDir();
      mkdirSync(join(foreign, "blobs"));
      expect(codeOf(() => OciLayout.forWriting(foreign))).toBe("LAYOUT_INVALID");
    });

    it("remove the temp files of writers that died, and keep a live writer's and another host's", async () => {
      const dir = tempDir();
      await writeImage(OciLayout.forWriting(dir), image, "v1");
      const uuid = "0b9f9d3e-4a51-4c8e-9d0a-3f1e2d4c5b6a";
      const dead = `.basewarm-${hostname()}-${deadPid()}-${uuid}.tmp`;
      const live = `.basewarm-${hostname()}-${process.pid}-${uuid}.tmp`;
      const elsewhere = `.basewarm-builder-7.example-${deadPid()}-${uuid}.tmp`;
      const foreign = "notes.tmp";
      for (const name of [dead, live, elsewhere, foreign]) writeFileSync(join(dir, name), "half a blob");
      await writeImage(OciLayout.forWriting(dir), other, "v2");
      expect(readdirSync(dir).filter((n) => n.endsWith(".tmp")).sort()).toEqual([live, elsewhere, foreign].sort());
      expect(names(dir)).toEqual(["v1", "v2"]);
    });
  });

  describe("refuses what is not a readable layout, with the reason", () => {
    const cases: [string, (dir: string) => void, string, RegExp][] = [
      ["a missing directory", () => undefined, "FILE_NOT_FOUND", /OCI layout .*\/missing not found/],
      ["a file", (dir) => writeFileSync(dir, "x"), "LAYOUT_INVALID", /is not a directory/],
      ["a directory without oci-layout", (dir) => (mkdirSync(dir), writeFileSync(join(dir, "index.json"), "{}")), "LAYOUT_INVALID", /has no oci-layout file/],
      ["a version 2 marker", (dir) => (mkdirSync(dir), writeFileSync(join(dir, "oci-layout"), '{"imageLayoutVersion":"2.0.0"}')), "LAYOUT_INVALID", /imageLayoutVersion "2\.0\.0"/],
      ["no index.json", (dir) => (mkdirSync(dir), writeFileSync(join(dir, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}')), "FILE_NOT_FOUND", /index\.json not found/],
      ["index.json that is not JSON", (dir) => (mkdirSync(dir), writeFileSync(join(dir, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}'), writeFileSync(join(dir, "index.json"), "{not json")), "LAYOUT_INVALID", /index\.json is not valid JSON/],
      ["index.json over 4 MiB", (dir) => (mkdirSync(dir), writeFileSync(join(dir, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}'), writeFileSync(join(dir, "index.json"), " ".repeat(4 * 1024 * 1024 + 1))), "FILE_UNREADABLE", /index\.json is larger than 4096 KiB/],
      ["an entry with a bad digest", (dir) => (mkdirSync(dir), writeFileSync(join(dir, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}'), writeFileSync(join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "x", digest: "sha256:abc", size: 1 }] }))), "LAYOUT_INVALID", /manifests\.0\.digest: not a valid digest/],
    ];
    it.each(cases)("%s", (_name, setup, code, message) => {
      const dir = join(tempDir(), "missing");
      setup(dir);
      expect(codeOf(() => OciLayout.open(dir))).toBe(code);
      expect(() => OciLayout.open(dir)).toThrow(message);
    });
  });

  it("finds an image by name, or the only one without a name; otherwise says which names there are", async () => {
    const dir = tempDir();
    await writeOciLayout(dir, [{ image, tag: "v1" }]);
    expect(OciLayout.open(dir).find(undefined).digest).toBe(image.digest);
    await writeOciLayout(dir, [{ image, tag: "v1" }, { image: other, tag: "v2" }]);
    const two = OciLayout.open(dir);
    expect(two.find("v2").digest).toBe(other.digest);
    expect(() => two.find("v3")).toThrow(/has no image named "v3" \(names there: "v1", "v2"\)/);
    expect(codeOf(() => two.find("v3"))).toBe("USAGE");
    expect(() => two.find(undefined)).toThrow(/holds 2 images \(names: "v1", "v2"\); name one: oci:.*:TAG/);
    expect(codeOf(() => two.find(undefined))).toBe("USAGE");
    await writeOciLayout(dir, [{ image, tag: "v1" }, { image: other, tag: "v1" }]);
    expect(() => OciLayout.open(dir).find("v1")).toThrow(/names 2 images "v1"/);
  });

  it("accepts a new, empty or layout directory to write into and refuses any other", async () => {
    const root = tempDir();
    mkdirSync(join(root, "empty"));
    expect(() => OciLayout.forWriting(join(root, "empty"))).not.toThrow();
    expect(() => OciLayout.forWriting(join(root, "a/b/new"))).not.toThrow();
    mkdirSync(join(root, "home"));
    writeFileSync(join(root, "home", "notes.txt"), "mine");
    expect(() => OciLayout.forWriting(join(root, "home"))).toThrow(/home exists and is not an OCI image layout .*name a new or empty directory/);
    expect(codeOf(() => OciLayout.forWriting(join(root, "home")))).toBe("LAYOUT_INVALID");
    await writeOciLayout(join(root, "broken"), [{ image, tag: "v1" }]);
    writeFileSync(join(root, "broken", "index.json"), "[");
    expect(() => OciLayout.forWriting(join(root, "broken"))).toThrow(/index\.json is not valid JSON/);
    expect(readdirSync(join(root, "home"))).toEqual(["notes.txt"]);
  });

  it("reads a manifest only when its bytes match the descriptor", async () => {
    const dir = tempDir();
    await writeOciLayout(dir, [{ image, tag: "v1" }]);
    const layout = OciLayout.open(dir);
    const descriptor = layout.find("v1");
    expect(sha256(layout.manifestRead(descriptor))).toBe(image.digest);
    const path = join(dir, "blobs", "sha256", image.digest.slice(7));
    writeFileSync(path, image.bytes.toString().replace("layers", "Layers"));
    expect(() => layout.manifestRead(descriptor)).toThrow(/hashing to sha256:[0-9a-f]{64}, not the \d+ bytes of sha256:.*the layout is corrupt/);
    expect(codeOf(() => layout.manifestRead(descriptor))).toBe("DIGEST_MISMATCH");
    expect(codeOf(() => layout.manifestRead({ ...descriptor, digest: sha256("absent") }))).toBe("FILE_NOT_FOUND");
    expect(codeOf(() => layout.manifestRead({ ...descriptor, size: 5 * 1024 * 1024 }))).toBe("MANIFEST_TOO_LARGE");
  });

  it("streams a blob into the given stream; a missing blob or a FIFO fails the stream instead of hanging", async () => {
    const dir = tempDir();
    await writeOciLayout(dir, [{ image, tag: "v1" }]);
    const layout = OciLayout.open(dir);
    const layer = image.blobs[1]!;
    const chunks: Buffer[] = [];
    for await (const chunk of layout.blobRead(layer, { through: new PassThrough() })) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(layer.data)).toBe(true);

    const drain = async (stream: Readable) => {
      for await (const _ of stream) void _;
    };
    await expect(drain(layout.blobRead({ ...layer, digest: sha256("absent") }, { through: new PassThrough() }))).rejects.toMatchObject({ code: "FILE_NOT_FOUND", message: expect.stringMatching(/not found; the layout is incomplete/) });
    const fifo = sha256("fifo");
    execFileSync("mkfifo", [join(dir, "blobs", "sha256", fifo.slice(7))]);
    await expect(drain(layout.blobRead({ ...layer, digest: fifo }, { through: new PassThrough() }))).rejects.toMatchObject({ code: "FILE_UNREADABLE" });
  });
});
