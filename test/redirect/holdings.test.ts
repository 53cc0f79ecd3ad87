import { afterAll, describe, expect, it } from "vitest";
import { Copier } from "../../src/copy/index.js";
import { mirrorReference } from "../../src/naming/index.js";
import { parsePlatform } from "../../src/oci/index.js";
import { parseReference } from "../../src/reference/index.js";
import { RegistryClient } from "../../src/registry/index.js";
import { mirrorHoldings } from "../../src/redirect/index.js";
import { makeImage, makeIndex, makeLayer, makeMultiArch, pushImage } from "../../testkit/images.js";
import { useRegistry } from "../helpers/registries.js";

describe("what the mirror holds (manifest requests against real registries)", () => {
  const upstream = useRegistry();
  const mirror = useRegistry();
  const client = new RegistryClient({ retry: { baseDelayMs: 10, maxDelayMs: 50 } });
  afterAll(() => client.close());

  it("holds an unfiltered image only at the upstream's current digest, and a filtered one only while it was made from it", async () => {
    const target = { registry: mirror().host, prefix: "m" };
    const repoIn = (source: string) => mirrorReference(parseReference(source), target).repository;
    const up = upstream().host;
    const v1 = makeImage({ seed: "hold-v1", layers: [makeLayer("hold-v1", 400)] });
    const v2 = makeImage({ seed: "hold-v2", layers: [makeLayer("hold-v2", 400)] });
    const multi = makeMultiArch({ seed: "hold-multi", shared: [makeLayer("hold-shared", 300)], archLayerSize: 200 });
    // The mirror holds v1 of app:1 and an amd64-only copy of multi:1, made by the copier's own filter.
    await pushImage(upstream().url, "lib/app", v1, "1");
    await pushImage(mirror().url, repoIn(`${up}/lib/app:1`), v1, "1");
    await pushImage(upstream().url, "lib/multi", multi, "1");
    const multiSource = parseReference(`${up}/lib/multi:1`);
    const filtered = await new Copier({ client }).copyImage({ source: multiSource, target: mirrorReference(multiSource, target), platforms: [parsePlatform("linux/amd64")] });
    expect(filtered.platformsFiltered).toBe(true);
    await pushImage(upstream().url, "lib/pinned", v2, "x");

    const needs = [
      { reference: parseReference(`${up}/lib/app:1`), platforms: [] },
      { reference: parseReference(`${up}/lib/multi:1`), platforms: ["linux/amd64"] },
      { reference: parseReference(`${up}/lib/pinned@${v2.digest}`), platforms: [] },
      { reference: parseReference(`${up}/lib/absent:1`), platforms: [] },
      { reference: parseReference(`${up}/lib/pinned@sha256:${"9".repeat(64)}`), platforms: [] },
    ];
    const first = await mirrorHoldings(needs, target, client);
    expect(first.held.map((h) => [h.source.toString(), h.upstreamDigest, h.mirror.toString()])).toEqual([
      [`${up}/lib/app:1`, v1.digest, `${mirror().host}/${repoIn(`${up}/lib/app:1`)}:1@${v1.digest}`],
      [`${up}/lib/multi:1`, multi.digest, `${mirror().host}/${repoIn(`${up}/lib/multi:1`)}:1@${filtered.digest}`],
    ]);
    expect(first.leftOut.map((l) => [l.source.toString(), l.reason])).toEqual([
      [`${up}/lib/pinned@${v2.digest}`, "not-mirrored"],
      [`${up}/lib/absent:1`, "upstream-missing"],
      // A digest upstream never had is a typo to fix, not an image to mirror.
      [`${up}/lib/pinned@sha256:${"9".repeat(64)}`, "upstream-missing"],
    ]);

    // Upstream moves app:1 and multi:1 on: the mirror's copies are out of date, so neither is
    // redirected, and each says what it holds and what upstream holds now.
    await pushImage(upstream().url, "lib/app", v2, "1");
    const multi2 = makeMultiArch({ seed: "hold-multi-2", shared: [makeLayer("hold-shared-2", 300)], archLayerSize: 200 });
    await pushImage(upstream().url, "lib/multi", multi2, "1");
    const second = await mirrorHoldings(needs.slice(0, 2), target, client);
    expect(second.held).toEqual([]);
    expect(second.leftOut.map((l) => [l.source.toString(), l.reason, l.message])).toEqual([
      [`${up}/lib/app:1`, "out-of-date", `the mirror's ${mirror().host}/${repoIn(`${up}/lib/app:1`)}:1 is out of date (mirror holds ${v1.digest}, upstream is at ${v2.digest}); run basewarm mirror first`],
      [`${up}/lib/multi:1`, "out-of-date", `the mirror's ${mirror().host}/${repoIn(`${up}/lib/multi:1`)}:1 is out of date (mirror's copy was filtered from ${multi.digest}, upstream is at ${multi2.digest}); run basewarm mirror first`],
    ]);

    // The same upstream digest filtered for other platforms is not the copy the catalog asks for.
    const arm = await mirrorHoldings([{ reference: parseReference(`${up}/lib/multi:1`), platforms: ["linux/arm64"] }], target, client);
    expect(arm.leftOut.map((l) => l.reason)).toEqual(["out-of-date"]);
    await pushImage(upstream().url, "lib/multi", multi, "1");
    const otherFilter = await mirrorHoldings([{ reference: parseReference(`${up}/lib/multi:1`), platforms: ["linux/arm64"] }], target, client);
    expect(otherFilter.leftOut.map((l) => l.message)).toEqual([expect.stringContaining("(mirror's copy is filtered for linux/amd64, the config asks for linux/arm64)")]);
    // Asked whole, the filtered copy of the same upstream digest is named as such, not as an older image.
    const wholeNow = await mirrorHoldings([{ reference: parseReference(`${up}/lib/multi:1`), platforms: [] }], target, client);
    expect(wholeNow.leftOut.map((l) => l.message)).toEqual([expect.stringContaining("(mirror's copy is filtered for linux/amd64, the config asks for every platform)")]);

    // A filtered index without basewarm's annotations (another tool's, or an older basewarm's) cannot
    // be tied to an upstream digest: it is out of date until a mirror run replaces it.
    await pushImage(mirror().url, repoIn(`${up}/lib/multi:1`), makeIndex([multi.children[0]!]), "1");
    const foreign = await mirrorHoldings(needs.slice(1, 2), target, client);
    expect(foreign.leftOut.map((l) => l.reason)).toEqual(["out-of-date"]);

    // The mirror holds the upstream digest, but its tag serves another copy (filtered by an earlier
    // config): the tag is what builders get and what a mirror run replaces, so it is out of date.
    await pushImage(mirror().url, repoIn(`${up}/lib/multi:1`), multi);
    const whole = { reference: parseReference(`${up}/lib/multi:1`), platforms: [] };
    expect((await mirrorHoldings([whole], target, client)).leftOut.map((l) => l.reason)).toEqual(["out-of-date"]);
    // Once the tag serves the whole index, it is held unfiltered, and out of date for a filter.
    await pushImage(mirror().url, repoIn(`${up}/lib/multi:1`), multi, "1");
    expect((await mirrorHoldings([whole], target, client)).held.map((h) => h.mirror.digest)).toEqual([multi.digest]);
    expect((await mirrorHoldings(needs.slice(1, 2), target, client)).leftOut.map((l) => l.message)).toEqual([expect.stringContaining("(mirror holds the whole index, the config asks for linux/amd64)")]);
  });
});
