import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeImage, makeLayer, pushImage } from "../../testkit/images.js";
import { basewarm, jsonOf, workspace } from "../helpers/cli.js";
import { useRegistry } from "../helpers/registries.js";

describe("ONBUILD triggers of mirrored bases (real CLI, real registries)", () => {
  const upstream = useRegistry();
  const mirror = useRegistry();

  it("mirrors the images a base's ONBUILD triggers pull in the same run, and reports a malformed trigger without crashing", async () => {
    const up = upstream().host;
    await pushImage(upstream().url, "tools/helper", makeImage({ seed: "ob-helper", layers: [makeLayer("ob-helper", 1500)] }), "1");
    await pushImage(upstream().url, "tools/assets", makeImage({ seed: "ob-assets", layers: [makeLayer("ob-assets", 1500)] }), "2");
    await pushImage(upstream().url, "base/onbuild", makeImage({
      seed: "ob-base",
      layers: [makeLayer("ob-base", 1500)],
      onBuild: [`COPY --from=${up}/tools/helper:1 /bin/helper /bin/helper`, `RUN --mount=type=bind,from=${up}/tools/assets:2,target=/a true`, "COPY --from=Not/A:Valid-Ref /x /y"],
    }), "1");
    const dir = workspace({
      "app/Dockerfile": `FROM ${up}/base/onbuild:1\n`,
      "basewarm.yaml": [`target: { registry: "${mirror().host}", prefix: ob }`, "state: state.db", "catalog: [{ dockerfile: app/Dockerfile }]"].join("\n"),
    });
    const run = await basewarm(["run", "--config", join(dir, "basewarm.yaml"), "--json"]);
    const report = jsonOf<{ outcome: string; mirror: { images: { source: string; status: string }[] }; problems: { origin: string; message: string }[] }>(run);
    expect(report.mirror.images.map((i) => [i.source, i.status])).toEqual([
      [`${up}/base/onbuild:1`, "copied"],
      [`${up}/tools/helper:1`, "copied"],
      [`${up}/tools/assets:2`, "copied"],
    ]);
    expect(report.problems).toEqual([expect.objectContaining({ origin: `ONBUILD of ${up}/base/onbuild:1`, message: expect.stringMatching(/ONBUILD of .*base\/onbuild:1.*trigger 2/) })]);
    // A malformed trigger is a problem of the run (partial, exit 1), never a crash.
    expect(report.outcome).toBe("partial");
    expect(run.code).toBe(1);
    expect(run.stderr).not.toMatch(/\n\s+at /);

    // The next run finds everything in the mirror: nothing is copied again.
    const again = jsonOf<{ mirror: { images: { status: string }[] } }>(await basewarm(["run", "--config", join(dir, "basewarm.yaml"), "--json"]));
    expect(again.mirror.images.map((i) => i.status)).toEqual(["unchanged", "unchanged", "unchanged"]);

    // plan and buildkit-config read the same triggers from the mirror: the pulled images are listed,
    // redirected, and the malformed trigger is the same problem (exit 1).
    const plan = await basewarm(["plan", "--config", join(dir, "basewarm.yaml"), "--json"]);
    expect(plan.code).toBe(1);
    const planned = jsonOf<{ images: { ref: string; mirrored: boolean; usedBy: { kind: string; origin?: string }[] }[]; problems: { message: string }[] }>(plan);
    expect(planned.images.map((i) => [i.ref, i.mirrored, i.usedBy.map((u) => u.kind === "onbuild" ? u.origin : u.kind)])).toEqual([
      [`${up}/base/onbuild:1`, true, ["dockerfile"]],
      [`${up}/tools/helper:1`, true, [`ONBUILD of ${up}/base/onbuild:1`]],
      [`${up}/tools/assets:2`, true, [`ONBUILD of ${up}/base/onbuild:1`]],
    ]);
    expect(planned.problems).toEqual([expect.objectContaining({ message: expect.stringMatching(/ONBUILD of .*base\/onbuild:1.*trigger 2/) })]);
    const policy = await basewarm(["buildkit-config", "--config", join(dir, "basewarm.yaml"), "--format", "source-policy", "--json"]);
    expect(policy.code).toBe(1);
    const redirected = jsonOf<{ redirected: { ref: string }[]; problems: string[] }>(policy);
    expect(redirected.redirected.map((r) => r.ref)).toEqual([`${up}/base/onbuild:1`, `${up}/tools/helper:1`, `${up}/tools/assets:2`]);
    expect(redirected.problems).toEqual([expect.stringMatching(/ONBUILD of .*base\/onbuild:1.*trigger 2/)]);
  });
});
