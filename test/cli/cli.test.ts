import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { makeImage, makeLayer, makeMultiArch, pushImage } from "../../testkit/images.js";
import { basewarm, expectOneLineError, jsonOf, workspace } from "../helpers/cli.js";
import { useRegistry } from "../helpers/registries.js";

describe("basewarm CLI", () => {
  it("prints help", async () => {
    const run = await basewarm(["--help"]);
    expect(run.code).toBe(0);
    for (const command of ["run", "serve", "mirror", "copy", "refs", "rewrite", "plan", "status", "history"]) expect(run.stdout).toContain(command);
  });

  it("refs --json lists images with provenance, no network", async () => {
    const dir = workspace({ Dockerfile: "# syntax=docker/dockerfile:1\nARG V=3.20\nFROM --platform=$BUILDPLATFORM alpine:${V} AS build\nCOPY --from=golang:1.22 /go /go\nFROM build\n" });
    const run = await basewarm(["refs", join(dir, "Dockerfile"), "--json", "--build-arg", "V=3.19"]);
    expect(run.code).toBe(0);
    expect(jsonOf(run)).toEqual([
      { ref: "docker/dockerfile:1", normalized: "docker.io/docker/dockerfile:1", kind: "syntax", line: 1 },
      { ref: "alpine:3.19", normalized: "docker.io/library/alpine:3.19", kind: "from", line: 3, platform: "linux/amd64", stage: "build" },
      { ref: "golang:1.22", normalized: "docker.io/library/golang:1.22", kind: "copy-from", line: 4, stage: "build" },
    ]);
  });

  it("a state: that names some other file is refused in one line, exit 2, by readers and writers alike, and left as it was", async () => {
    const notes = "my notes, not a database\n".repeat(100);
    const dir = workspace({ "notes.txt": notes, "basewarm.yaml": "target: { registry: 127.0.0.1:5999 }\nstate: notes.txt\nimages: [alpine:3.20]\n" });
    for (const command of ["status", "history", "mirror"]) {
      expectOneLineError(await basewarm([command, "--config", join(dir, "basewarm.yaml")]), /state file .*notes\.txt is not a SQLite database; move it away or point state: at another file/, 2);
    }
    expect(readFileSync(join(dir, "notes.txt"), "utf8")).toBe(notes);
  });

  it("refs of a Dockerfile that pulls nothing says so on stderr, and prints no list", async () => {
    const dir = workspace({ Dockerfile: "FROM scratch\nCOPY app /app\n" });
    const run = await basewarm(["refs", join(dir, "Dockerfile")]);
    expect([run.code, run.stdout, run.stderr]).toEqual([0, "", `basewarm: ${join(dir, "Dockerfile")} pulls no image (only FROM scratch, or stages built here)\n`]);
    expect(jsonOf(await basewarm(["refs", join(dir, "Dockerfile"), "--json"]))).toEqual([]);
  });

  it("refs --build-arg NAME takes the value from the environment, as docker build does, and passes nothing when unset", async () => {
    const dir = workspace({ Dockerfile: "ARG V=3.20\nFROM alpine:${V}\n" });
    const refsWith = async (env: Record<string, string>) => jsonOf<{ ref: string }[]>(await basewarm(["refs", join(dir, "Dockerfile"), "--json", "--build-arg", "V"], { env })).map((u) => u.ref);
    expect(await refsWith({ V: "3.18" })).toEqual(["alpine:3.18"]);
    expect(await refsWith({})).toEqual(["alpine:3.20"]);
  });

  it.each([
    [["refs", "/nonexistent/Dockerfile"], /Dockerfile \/nonexistent\/Dockerfile not found/],
    [["refs", "BADFILE"], /BADFILE:2: .*lowercase/],
    [["refs", "Dockerfile", "--build-arg", "=3.19"], /--build-arg "=3\.19": want NAME=VALUE, or NAME to take its value from the environment/],
    [["refs", "Dockerfile", "--build-arg", "BAD-NAME=1"], /--build-arg "BAD-NAME=1": want NAME=VALUE/],
    [["mirror", "--config", "/nonexistent.yaml"], /config file \/nonexistent\.yaml not found/],
    // An empty path (an unset variable in a script) names no file, not the working directory.
    [["mirror", "--config", ""], /^basewarm: config file: the path given is empty; pass an existing file with --config/],
    [["refs", ""], /^basewarm: Dockerfile: the path given is empty; check the path/],
    [["mirror", "--config", "BADCONFIG"], /basewarm\.yaml:2: concurrency\.blobs: .*number/i],
    [["copy", "Alpine", "x"], /invalid reference "Alpine": repository name must be lowercase/],
    [["copy", "alpine", "y", "--platform", "linux"], /invalid platform "linux"/],
    [["run", "--config", "BADCONFIG"], /basewarm\.yaml:2/],
    // The shard is an argument: it is checked before the config is read.
    [["run", "--config", "BADCONFIG", "--shard", "4/4"], /--shard "4\/4": want INDEX\/COUNT with 0 ≤ INDEX < COUNT/],
    [["serve", "--config", "/nonexistent.yaml", "--once", "--shard", "x"], /--shard "x": want INDEX\/COUNT/],
    [["refs", "/dev/zero"], /Dockerfile \/dev\/zero is not a regular file/],
    [["run", "--config", "/dev/zero"], /config file \/dev\/zero is not a regular file/],
    // Arguments first, before the config is read.
    [["status", "--config", "/nonexistent.yaml", "--max-age", "7h"], /--max-age "7h" only counts with --check; add --check/],
    [["status", "--config", "/nonexistent.yaml", "--stale-hours", "1e30"], /--stale-hours "1e30": want a positive number of hours, at most 87600/],
    // A read-only command never creates the state it was pointed at.
    [["status", "--config", "NOSTATE"], /state file .*never\.db does not exist: no run or mirror has recorded anything there yet; check state: in .*nostate\.yaml/],
    [["history", "--config", "NOSTATE"], /state file .*never\.db does not exist/],
    // For a monitor, a state nothing wrote yet is "never ran": unhealthy (1), not a usage error.
    [["status", "--config", "NOSTATE", "--check"], /state file .*never\.db does not exist: no run or mirror has recorded anything there yet/, 1],
    [["mirror", "--config", "DIRSTATE"], /state file .*\/sub is a directory; point state: at a file, e\.g\. .*\/sub\/basewarm\.db/],
    [["mirror", "--config", "NODIRSTATE"], /state directory .*\/absent does not exist; create it or point state: at a file in an existing directory/],
    // skopeo's other transports, as skopeo users write them: named as such, not taken for a registry host or an image.
    [["copy", "alpine:3.20", "dir:/tmp/x"], /"dir:\/tmp\/x": skopeo's dir: transport is not supported; copy takes a registry image \(docker:\/\/ optional\) or an OCI layout, oci:DIR\[:TAG\]/],
    [["copy", "docker-archive:/tmp/a.tar", "oci:/tmp/x"], /"docker-archive:\/tmp\/a\.tar": skopeo's docker-archive: transport is not supported/],
    [["copy", "docker-daemon:alpine:3.20", "alpine:3.20"], /skopeo's docker-daemon: transport is not supported/],
    [["copy", "alpine:3.20", "containers-storage:alpine"], /skopeo's containers-storage: transport is not supported/],
    [["copy", "oci-archive:a.tar:v1", "alpine:3.20"], /skopeo's oci-archive: transport is not supported/],
    // Still registry images: after docker://, and a host with a port. Both parse, so the copy gets as far as comparing their digests.
    [["copy", `docker://dir:x@sha256:${"1".repeat(64)}`, `localhost:5000/lib/x@sha256:${"2".repeat(64)}`], /destination localhost:5000\/lib\/x@sha256:2{64} names digest sha256:2{64}, but the source is sha256:1{64}/],
  ] as [string[], RegExp, number?][])("rejects bad input with one clear line: %j", async (args, pattern, code) => {
    const dir = workspace({ BADFILE: "FROM alpine\nFROM Ubuntu:22.04\n", "basewarm.yaml": "target: { registry: 127.0.0.1:5000 }\nconcurrency: { blobs: lots }\n", Dockerfile: "FROM alpine\n", "nostate.yaml": "target: { registry: 127.0.0.1:5000 }\nstate: never.db\n", "dirstate.yaml": "target: { registry: 127.0.0.1:5000 }\nstate: sub\n", "sub/.keep": "", "nodirstate.yaml": "target: { registry: 127.0.0.1:5000 }\nstate: absent/x.db\n" });
    const files: Record<string, string> = { BADFILE: "BADFILE", BADCONFIG: "basewarm.yaml", Dockerfile: "Dockerfile", NOSTATE: "nostate.yaml", DIRSTATE: "dirstate.yaml", NODIRSTATE: "nodirstate.yaml" };
    const resolved = args.map((a) => (files[a] === undefined ? a : join(dir, files[a])));
    expectOneLineError(await basewarm(resolved), pattern, code);
    expect(existsSync(join(dir, "never.db"))).toBe(false);
  });

  it("rejects an unknown command or option as usage errors", async () => {
    const run = await basewarm(["mirorr"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^basewarm: unknown command 'mirorr'/);
    const early = await basewarm(["--config", "x.yaml", "run"]);
    expect([early.code, early.stderr]).toEqual([2, "basewarm: unknown option '--config'; options go after the command: basewarm COMMAND --config ...\n"]);
    // After its command, an unknown option is just unknown: no hint to move it.
    const unknown = await basewarm(["status", "--config", "x.yaml", "--shard", "1/2"]);
    expect([unknown.code, unknown.stderr]).toEqual([2, "basewarm: unknown option '--shard'\n"]);
    const missing = await basewarm(["buildkit-config", "--config", "x.yaml"]);
    expect([missing.code, missing.stderr]).toEqual([2, "basewarm: required option '--format <format>' not specified\n"]);
  });

  describe("against real registries", () => {
    const upstream = useRegistry();
    const mirror = useRegistry();

    it("copy SRC DST copies one image, skopeo-style, and reports JSON", async () => {
      const image = makeMultiArch({ seed: "cli-copy", shared: [makeLayer("cli-shared", 5000)], archLayerSize: 1000 });
      await pushImage(upstream().url, "lib/tool", image, "1");
      const run = await basewarm(["copy", `${upstream().host}/lib/tool:1`, `${mirror().host}/copied/tool:1`, "--json"]);
      expect(run.code).toBe(0);
      const result = jsonOf(run) as { status: string; digest: string };
      expect(result).toMatchObject({ status: "copied", digest: image.digest });
      const again = await basewarm(["copy", `${upstream().host}/lib/tool:1`, `${mirror().host}/copied/tool:1`]);
      expect(again.stdout).toMatch(/^unchanged /);
      // A failed copy says so in one line, not a warning and then the failure.
      expectOneLineError(await basewarm(["copy", `${upstream().host}/lib/absent:1`, `${mirror().host}/copied/absent:1`]), /^basewarm: copy .*lib\/absent:1 → .* failed: .*no such image at the source/, 1);
    });

    it("copy checks a destination digest against the source, prints one well-formed reference, and accepts docker://", async () => {
      const image = makeImage({ seed: "cli-copy-digest", layers: [makeLayer("cli-copy-digest", 2000)] });
      await pushImage(upstream().url, "lib/pinned", image, "1");
      const wrong = `sha256:${"1".repeat(64)}`;
      const refused = await basewarm(["copy", `${upstream().host}/lib/pinned:1`, `${mirror().host}/dig/pinned@${wrong}`]);
      expect(refused.code).toBe(1);
      expectOneLineError(refused, /^basewarm: copy .* failed: destination .* names digest sha256:1{64}, but .*lib\/pinned:1 is sha256:[0-9a-f]{64}; drop the digest/, 1);
      expect(await fetch(`${mirror().url}/v2/dig/pinned/manifests/${image.digest}`, { method: "HEAD", headers: { accept: image.mediaType } }).then((r) => r.status)).toBe(404);

      const right = await basewarm(["copy", `docker://${upstream().host}/lib/pinned:1`, `docker://${mirror().host}/dig/pinned@${image.digest}`]);
      expect(right.code, right.stderr).toBe(0);
      expect(right.stdout).toMatch(new RegExp(`^copied ${mirror().host}/dig/pinned@${image.digest}: `));
      expect(right.stdout.match(/@sha256:/g)).toHaveLength(1);
      expect(await fetch(`${mirror().url}/v2/dig/pinned/manifests/${image.digest}`, { method: "HEAD", headers: { accept: image.mediaType } }).then((r) => r.status)).toBe(200);

      // With --platform the copy is a filtered index of its own digest: that is the one to name.
      const multi = makeMultiArch({ seed: "cli-copy-digest-multi", shared: [makeLayer("cli-copy-digest-shared", 1500)], archLayerSize: 500 });
      await pushImage(upstream().url, "lib/multi", multi, "1");
      const tagged = await basewarm(["copy", `${upstream().host}/lib/multi:1`, `${mirror().host}/dig/arm:1`, "--platform", "linux/arm64", "--json"]);
      const filtered = (jsonOf(tagged) as { digest: string }).digest;
      expect(filtered).not.toBe(multi.digest);
      const named = await basewarm(["copy", `${upstream().host}/lib/multi:1`, `${mirror().host}/dig/arm-pinned@${filtered}`, "--platform", "linux/arm64"]);
      expect(named.code, named.stderr).toBe(0);
      expect(named.stdout).toMatch(new RegExp(`^copied ${mirror().host}/dig/arm-pinned@${filtered} \\(platforms filtered`));
      const unfiltered = await basewarm(["copy", `${upstream().host}/lib/multi:1`, `${mirror().host}/dig/arm-pinned@${multi.digest}`, "--platform", "linux/arm64"]);
      expectOneLineError(unfiltered, new RegExp(`names digest ${multi.digest}, but .*lib/multi:1 is ${filtered}`), 1);
    });

    it("mirror --json copies what it can, reports failures, exits 1, and records history", async () => {
      await pushImage(upstream().url, "lib/one", makeImage({ seed: "cli-one", layers: [makeLayer("cli-one", 3000)] }), "1");
      const dir = workspace({
        "basewarm.yaml": [
          `target: { registry: "${mirror().host}", prefix: m }`,
          "state: state.db",
          "images:",
          `  - ${upstream().host}/lib/one:1`,
          `  - ${upstream().host}/lib/missing:1`,
        ].join("\n"),
      });
      const run = await basewarm(["mirror", "--config", join(dir, "basewarm.yaml"), "--json"]);
      expect(run.code).toBe(1);
      const report = jsonOf(run) as { images: { source: string; target: string; digest: string | null; status: string; bytes: number; error?: string }[]; summary: { copied: number; failed: number } };
      expect(report.images.map((i) => i.status)).toEqual(["copied", "failed"]);
      expect(report.images[0]!.target).toBe(`${mirror().host}/m/${upstream().host.replace(":", "-")}/lib/one:1`);
      expect(report.images[0]!.bytes).toBeGreaterThan(3000);
      expect(report.images[1]!.error).toMatch(/lib\/missing:1: no such image at the source/);
      expect(report.summary).toMatchObject({ copied: 1, failed: 1 });

      // A reference given twice is mirrored once.
      const one = await basewarm(["mirror", `${upstream().host}/lib/one:1`, `${upstream().host}/lib/one:1`, "--config", join(dir, "basewarm.yaml")]);
      expect(one.code).toBe(0);
      expect(one.stdout).toMatch(/^unchanged /);
      expect(one.stdout).toMatch(/\n1 image: 0 copied, 1 unchanged/);
      const history = await basewarm(["history", `${upstream().host}/lib/one:1`, "--config", join(dir, "basewarm.yaml"), "--json"]);
      expect(jsonOf(history)).toEqual([expect.objectContaining({ ref: `${upstream().host}/lib/one:1`, runs: 2 })]);
      const status = await basewarm(["status", "--config", join(dir, "basewarm.yaml")]);
      expect(status.stdout).toMatch(/run 2 +mirror +ok/);
      expect(status.stdout).toMatch(/run 1 +mirror +partial/);
      // In human mode the failure's warning is a readable line, not a raw JSON log entry.
      const human = await basewarm(["mirror", `${upstream().host}/lib/missing:1`, "--config", join(dir, "basewarm.yaml")]);
      expect(human.code).toBe(1);
      const lines = human.stderr.trim().split("\n");
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) expect(line).toMatch(/^basewarm: (warning|error): /);
      expect(human.stderr).toMatch(/no such image at the source/);
      // --force copies again what the mirror already has.
      const forced = jsonOf(await basewarm(["mirror", `${upstream().host}/lib/one:1`, "--config", join(dir, "basewarm.yaml"), "--force", "--json"])) as { images: { status: string }[]; summary: { blobsCopied: number; blobsSkipped: number } };
      expect(forced.images.map((i) => i.status)).toEqual(["copied"]);
      const db = new Database(join(dir, "state.db"), { readonly: true });
      expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
      db.close();
    });

    it("mirror of many images at once prints nothing on stderr, cold or no-op (no Node warnings)", async () => {
      // More requests in flight than Node's default of 10 listeners per stop signal.
      const count = 24;
      const images = await Promise.all(Array.from({ length: count }, async (_, i) => {
        await pushImage(upstream().url, `quiet/img${i}`, makeImage({ seed: `cli-quiet-${i}`, layers: [makeLayer(`cli-quiet-${i}`, 1500)] }), "1");
        return `  - ${upstream().host}/quiet/img${i}:1`;
      }));
      const dir = workspace({ "basewarm.yaml": [`target: { registry: "${mirror().host}", prefix: quiet }`, "state: state.db", "images:", ...images].join("\n") });
      for (const wanted of ["copied", "unchanged"]) {
        const run = await basewarm(["mirror", "--config", join(dir, "basewarm.yaml"), "--json"]);
        expect(run.code, run.stderr).toBe(0);
        expect((jsonOf(run) as { images: { status: string }[] }).images.map((i) => i.status)).toEqual(Array<string>(count).fill(wanted));
        expect(run.stderr).toBe("");
      }
    });

    it("mirrors a digest as it is: name:tag@digest never moves the mirror's tag, and platform filters leave digests whole", async () => {
      const old = makeImage({ seed: "cli-pin-old", layers: [makeLayer("cli-pin-old", 1200)] });
      const current = makeImage({ seed: "cli-pin-new", layers: [makeLayer("cli-pin-new", 1200)] });
      const multi = makeMultiArch({ seed: "cli-pin-multi", shared: [makeLayer("cli-pin-shared", 1500)], archLayerSize: 800 });
      await pushImage(upstream().url, "pin/app", old, "1");
      await pushImage(upstream().url, "pin/app", current, "1"); // the tag moved on; a pin still names the old digest
      await pushImage(upstream().url, "pin/multi", multi, "1");
      const up = upstream().host;
      const dir = workspace({
        "basewarm.yaml": [
          `target: { registry: "${mirror().host}", prefix: pin }`,
          "state: state.db",
          "mirror: { platforms: [linux/amd64] }",
          "images:",
          `  - ${up}/pin/app:1`,
          `  - ${up}/pin/app:1@${old.digest}`,
          `  - ${up}/pin/multi@${multi.digest}`,
        ].join("\n"),
        Dockerfile: `FROM ${up}/pin/multi@${multi.digest}\n`,
      });
      const config = join(dir, "basewarm.yaml");
      const mirrored = `${mirror().url}/v2/pin/${up.replace(":", "-")}`;
      const tagDigest = async () => (await fetch(`${mirrored}/pin/app/manifests/1`, { method: "HEAD", headers: { accept: current.mediaType } })).headers.get("docker-content-digest");
      for (const [round, wanted] of [[1, ["copied", "copied", "copied"]], [2, ["unchanged", "unchanged", "unchanged"]]] as const) {
        await mirror().resetRequests();
        await upstream().resetRequests();
        const run = await basewarm(["mirror", "--config", config, "--json"]);
        expect(run.code, `round ${round}: ${run.stderr}`).toBe(0);
        // Nothing written the second time: one read of the mirror per image (a GET where a filter applies).
        const requests = (await mirror().requests()).map((r) => `${r.method} ${r.uri.split("/manifests/")[0]!.split("/").pop()}`).sort();
        if (round === 2) expect(requests).toEqual(["GET app", "HEAD app", "HEAD multi"]);
        // Upstream, one HEAD for the tag, filter or not: digests are never asked for again.
        if (round === 2) expect((await upstream().requests()).map((r) => `${r.method} ${r.uri}`)).toEqual(["HEAD /v2/pin/app/manifests/1"]);
        const report = jsonOf(run) as { images: { status: string; digest: string; platformsFiltered: boolean }[] };
        expect(report.images.map((i) => i.status)).toEqual(wanted);
        // The tag follows upstream only; the pin lives under its digest.
        expect(await tagDigest()).toBe(current.digest);
        // The pinned index is mirrored whole: the filter would have made a digest nobody asked for.
        expect(report.images[2]).toMatchObject({ digest: multi.digest, platformsFiltered: false });
      }
      const rewritten = await basewarm(["rewrite", join(dir, "Dockerfile"), "--config", config, "--resolve"]);
      expect([rewritten.code, rewritten.stderr]).toEqual([0, ""]);
      expect(rewritten.stdout).toBe(`FROM ${mirror().host}/pin/${up.replace(":", "-")}/pin/multi@${multi.digest}\n`);
    });

    it("rewrite and buildkit-config read a catalog Dockerfile with its entry's build args, and pin a FROM built from them", async () => {
      const image = makeImage({ seed: "cli-args", layers: [makeLayer("cli-args", 1000)] });
      await pushImage(upstream().url, "lib/args", image, "2");
      const dir = workspace({
        "svc/Dockerfile": `ARG TAG=1\nFROM ${upstream().host}/lib/args:\${TAG}\nRUN echo $TAG\n`,
        "basewarm.yaml": `target: { registry: "${mirror().host}", prefix: a }\nstate: s.db\ncatalog:\n  - dockerfile: svc/Dockerfile\n    buildArgs: { TAG: "2" }\n`,
      });
      const config = join(dir, "basewarm.yaml");
      const dockerfile = join(dir, "svc/Dockerfile");
      expect((await basewarm(["mirror", "--config", config])).code).toBe(0);
      const pinned = `${mirror().host}/a/${upstream().host.replace(":", "-")}/lib/args@${image.digest}`;
      const rewritten = await basewarm(["rewrite", dockerfile, "--config", config, "--resolve"]);
      expect([rewritten.code, rewritten.stderr, rewritten.stdout]).toEqual([0, "", `ARG TAG=1\nFROM ${pinned}\nRUN echo $TAG\n`]);
      const contexts = await basewarm(["buildkit-config", dockerfile, "--config", config, "--format", "build-contexts"]);
      expect([contexts.code, contexts.stderr]).toEqual([0, ""]);
      expect(contexts.stdout).toContain(`=docker-image://${mirror().host}/a/${upstream().host.replace(":", "-")}/lib/args:2@${image.digest}\n`);
      // A flag still wins over the entry: TAG=1 does not exist upstream.
      const flagged = await basewarm(["buildkit-config", dockerfile, "--config", config, "--format", "build-contexts", "--build-arg", "TAG=1"]);
      expect(flagged.code).toBe(1);
      expect(flagged.stderr).toContain(`lib/args:1: not found upstream`);
    });

    it("a one-off mirror of a catalog image makes the run's copy: the filter plus the platforms its builds pull for", async () => {
      const multi = makeMultiArch({ seed: "cli-oneoff", shared: [makeLayer("cli-oneoff", 500)], archLayerSize: 300, platforms: [{ os: "linux", architecture: "amd64" }, { os: "linux", architecture: "arm64" }, { os: "linux", architecture: "s390x" }] });
      await pushImage(upstream().url, "lib/oneoff", multi, "1");
      const ref = `${upstream().host}/lib/oneoff:1`;
      const dir = workspace({
        "arm/Dockerfile": `FROM ${ref}\n`,
        "basewarm.yaml": `target: { registry: "${mirror().host}", prefix: one }\nstate: s.db\nmirror: { platforms: [linux/amd64] }\ncatalog:\n  - { dockerfile: arm/Dockerfile, platforms: [linux/arm64] }\n`,
      });
      const config = join(dir, "basewarm.yaml");
      const mirrored = await basewarm(["mirror", "--config", config, ref, "--json"]);
      expect(mirrored.code, mirrored.stderr).toBe(0);
      const held = await fetch(`${mirror().url}/v2/one/${upstream().host.replace(":", "-")}/lib/oneoff/manifests/1`, { headers: { accept: "application/vnd.oci.image.index.v1+json" } });
      const index = (await held.json()) as { manifests: { platform: { architecture: string } }[] };
      expect(index.manifests.map((m) => m.platform.architecture)).toEqual(["amd64", "arm64"]);
      const plan = jsonOf<{ images: { mirrored: boolean; platforms: string[] }[] }>(await basewarm(["plan", "--config", config, "--json"]));
      expect(plan.images).toEqual([expect.objectContaining({ mirrored: true, platforms: ["linux/amd64", "linux/arm64"] })]);
    });

    it("plan and rewrite show the catalog against the mirror", async () => {
      const image = makeImage({ seed: "cli-plan", layers: [makeLayer("cli-plan", 1000)] });
      await pushImage(upstream().url, "lib/base", image, "2");
      const dir = workspace({
        "app/Dockerfile": `FROM ${upstream().host}/lib/base:2 AS build\nRUN true\nFROM build\n`,
        "basewarm.yaml": `target: { registry: "${mirror().host}", prefix: p }\nstate: s.db\ncatalog:\n  - dockerfile: app/Dockerfile\n`,
      });
      const config = join(dir, "basewarm.yaml");
      // Previewing creates no state file, and says what the mirror is not known to hold.
      const preview = await basewarm(["rewrite", join(dir, "app/Dockerfile"), "--config", config]);
      expect(preview.code).toBe(0);
      expect(preview.stderr).toBe(`basewarm: ${join(dir, "app/Dockerfile")}:1: ${upstream().host}/lib/base:2: the state has no record of mirroring it (--resolve asks the mirror); mirror it first: basewarm mirror --config ${config} ${upstream().host}/lib/base:2\n`);
      expect(existsSync(join(dir, "s.db"))).toBe(false);
      // Asked, the mirror lacks it: the rewritten file would not build, and the exit says so.
      const unresolved = await basewarm(["rewrite", join(dir, "app/Dockerfile"), "--config", config, "--resolve"]);
      expect(unresolved.code).toBe(1);
      expect(unresolved.stderr).toMatch(/:1: .*lib\/base:2: the mirror does not hold it; mirror it first/);
      const before = jsonOf(await basewarm(["plan", "--config", config, "--json"])) as { images: { ref: string; upstreamDigest: string; mirrored: boolean }[] };
      expect(before.images).toEqual([expect.objectContaining({ ref: `${upstream().host}/lib/base:2`, upstreamDigest: image.digest, mirrored: false })]);
      expect((await basewarm(["mirror", "--config", config])).code).toBe(0);
      const after = jsonOf(await basewarm(["plan", "--config", config, "--json"])) as { images: { mirrored: boolean }[] };
      expect(after.images[0]!.mirrored).toBe(true);
      // Upstream moves the tag on: the plan tells the mirror's older copy from none at all.
      const next = makeImage({ seed: "cli-plan-next", layers: [makeLayer("cli-plan-next", 1000)] });
      await pushImage(upstream().url, "lib/base", next, "2");
      const stale = await basewarm(["plan", "--config", config]);
      expect([stale.code, stale.stderr]).toEqual([0, ""]);
      expect(stale.stdout.split("\n")[0]).toBe(`${upstream().host}/lib/base:2  ${next.digest.slice(0, 19)}  OUT OF DATE (mirror holds ${image.digest}, upstream is at ${next.digest})`);
      const staleJson = jsonOf(await basewarm(["plan", "--config", config, "--json"])) as { images: unknown[] };
      expect(staleJson.images).toEqual([expect.objectContaining({ upstreamDigest: next.digest, mirrored: false, mirrorDigest: image.digest, outOfDate: `mirror holds ${image.digest}, upstream is at ${next.digest}` })]);
      await pushImage(upstream().url, "lib/base", image, "2");
      const rewritten = await basewarm(["rewrite", join(dir, "app/Dockerfile"), "--config", config]);
      expect(rewritten.code).toBe(0);
      expect(rewritten.stderr).toBe("");
      const resolved = await basewarm(["rewrite", join(dir, "app/Dockerfile"), "--config", config, "--resolve"]);
      expect([resolved.code, resolved.stderr, resolved.stdout]).toEqual([0, "", rewritten.stdout]);
      // The mirror lost the image (cleaned up) while the state still remembers the copy: asked, only the mirror counts.
      const mirrored = `${mirror().url}/v2/p/${upstream().host.replace(":", "-")}/lib/base/manifests/${image.digest}`;
      expect((await fetch(mirrored, { method: "DELETE" })).status).toBe(202);
      const lost = await basewarm(["rewrite", join(dir, "app/Dockerfile"), "--config", config, "--resolve"]);
      expect(lost.code).toBe(1);
      expect(lost.stderr).toMatch(/:1: .*lib\/base:2: the mirror does not hold it; mirror it first/);
      expect(lost.stdout).not.toContain(image.digest);
      expect(rewritten.stdout).toBe(`FROM ${mirror().host}/p/${upstream().host.replace(":", "-")}/lib/base@${image.digest} AS build\nRUN true\nFROM build\n`);
      expect(readFileSync(join(dir, "app/Dockerfile"), "utf8")).toContain(`${upstream().host}/lib/base:2`);
      // `# syntax=` is rewritten as the warm run rewrites it.
      writeFileSync(join(dir, "app/Dockerfile.syntax"), `# syntax=${upstream().host}/lib/base:2\nFROM scratch\n`);
      const syntax = await basewarm(["rewrite", join(dir, "app/Dockerfile.syntax"), "--config", config]);
      expect(syntax.stdout).toBe(`# syntax=${mirror().host}/p/${upstream().host.replace(":", "-")}/lib/base@${image.digest}\nFROM scratch\n`);
    });
  });
});
