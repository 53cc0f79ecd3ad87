import { afterAll, describe, expect, it } from "vitest";
import { mirrorReference } from "../../src/naming/index.js";
import { parseReference } from "../../src/reference/index.js";
import { RegistryClient } from "../../src/registry/index.js";
import { mirrorHoldings } from "../../src/redirect/index.js";
import { makeImage, makeIndex, makeLayer, makeMultiArch, pushImage } from "../../testkit/images.js";
import { useRegistry } from "../helpers/registries.js";

describe("what the mirror holds (manifest HEADs against real registries)", () => {
  const upstream = useRegistry();
  const mirror = useRegistry();
  const client = new RegistryClient({ retry: { baseDelayMs: 10, maxDelayMs: 50 } });
  afterAll(() => client.close());

  it("holds an unfiltered image only at the upstream's current digest, and a filtered one at the mirror's own", async () => {
    const target = { registry: mirror().host, prefix: "m" };
    const repoIn = (source: string) => mirrorReference(parseReference(source), target).repository;
    const up = upstream().host;
    const v1 = makeImage({ seed: "hold-v1", layers: [makeLayer("hold-v1", 400)] });
    const v2 = makeImage({ seed: "hold-v2", layers: [makeLayer("hold-v2", 400)] });
    const multi = makeMultiArch({ seed: "hold-multi", shared: [makeLayer("hold-shared", 300)], archLayerSize: 200 });
    const amd64Only = makeIndex([multi.children[0]!]);
    // The mirror holds v1 of app:1 and an amd64-only index of multi:1 (what a filtered copy makes).
    await pushImage(upstream().url, "lib/app", v1, "1");
    await pushImage(mirror().url, repoIn(`${up}/lib/app:1`), v1, "1");
    await pushImage(upstream().url, "lib/multi", multi, "1");
    await pushImage(mirror().url, repoIn(`${up}/lib/multi:1`), amd64Only, "1");
    await pushImage(upstream().url, "lib/pinned", v2, "x");

    const needs = [
      { reference: parseReference(`${up}/lib/app:1`), platforms: [] },
      { reference: parseReference(`${up}/lib/multi:1`), platforms: ["linux/amd64"] },
      { reference: parseReference(`${up}/lib/pinned@${v2.digest}`), platforms: [] },
      { reference: parseReference(`${up}/lib/absent:1`), platforms: [] },
    ];
    const first = await mirrorHoldings(needs, target, client);
    expect(first.held.map((h) => [h.source.toString(), h.upstreamDigest, h.mirror.toString()])).toEqual([
      [`${up}/lib/app:1`, v1.digest, `${mirror().host}/${repoIn(`${up}/lib/app:1`)}:1@${v1.digest}`],
      [`${up}/lib/multi:1`, multi.digest, `${mirror().host}/${repoIn(`${up}/lib/multi:1`)}:1@${amd64Only.digest}`],
    ]);
    expect(first.leftOut.map((l) => [l.source.toString(), l.reason])).toEqual([
      [`${up}/lib/pinned@${v2.digest}`, "not-mirrored"],
      [`${up}/lib/absent:1`, "upstream-missing"],
    ]);

    // Upstream moves app:1 on: the mirror's copy is stale, so it is no longer redirected.
    await pushImage(upstream().url, "lib/app", v2, "1");
    const second = await mirrorHoldings(needs.slice(0, 1), target, client);
    expect(second.held).toEqual([]);
    expect(second.leftOut).toEqual([expect.objectContaining({ reason: "not-mirrored", message: expect.stringContaining(`@${v2.digest}`) })]);
  });
});
