import { chownSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { makeImage, makeLayer, pushImage, writeOciLayout } from "../../testkit/images.js";
import { basewarm, expectOneLineError } from "../helpers/cli.js";
import { useRegistry } from "../helpers/registries.js";
import { useTempDirs } from "../helpers/temp.js";

const tempDir = useTempDirs("layout-cli");
const NOBODY = 65534;

/** Every path under `dir`. */
function walk(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).map((name) => join(dir, name));
}
/** Far above a refusal (well under a second); a copy that spins is killed here and fails the test. */
const SPIN_LIMIT_MS = 20_000;

describe("copy with an OCI layout refuses what a user got wrong in one line, exit 2", () => {
  const registry = useRegistry();
  const image = makeImage({ seed: "layout-cli", layers: [makeLayer("layout-cli", 2000)] });
  const source = () => `${registry().host}/lib/small:1`;
  beforeAll(() => pushImage(registry().url, "lib/small", image, "1"));

  it.each([
    // procfs answers ENOENT to a new name under /proc, which Node's recursive mkdir retried forever.
    ["under /proc", "/proc/basewarm-test-layout", /OCI layout \/proc\/basewarm-test-layout cannot be written: \/proc refuses new entries \(ENOENT\); name a directory you can write to/],
    ["under a file", "/dev/null/x", /OCI layout \/dev\/null\/x cannot be written: \/dev\/null is not a directory; name a directory you can write to/],
    ["under /sys", "/sys/basewarm-test-layout", /OCI layout \/sys\/basewarm-test-layout cannot be written: \/sys: permission denied; name a directory you can write to/],
  ])("a destination %s that cannot be created, at once", async (_where, dir, message) => {
    const run = await basewarm(["copy", source(), `oci:${dir}:v1`], { timeoutMs: SPIN_LIMIT_MS });
    expectOneLineError(run, message, 2);
  }, SPIN_LIMIT_MS + 10_000);

  // Someone else's folders, and root without the capabilities that ignore file modes (setpriv): the
  // mode bits then hold for the CLI, which still reads its own files wherever the checkout is.
  it.skipIf(process.getuid?.() !== 0)("a destination the user may not write: a new layout in someone else's directory, or someone else's layout", async () => {
    const root = tempDir();
    const theirs = join(root, "theirs");
    mkdirSync(theirs, { mode: 0o755 });
    const layout = join(root, "layout");
    await writeOciLayout(layout, [{ image, tag: "v1" }]);
    for (const path of [theirs, layout, ...walk(layout)]) chownSync(path, NOBODY, NOBODY);
    const asAnotherUser = { wrapper: ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"] };
    expectOneLineError(await basewarm(["copy", source(), `oci:${theirs}/new:v1`], asAnotherUser), new RegExp(`OCI layout ${theirs}/new cannot be written: ${theirs}: permission denied; name a directory you can write to`), 2);
    expectOneLineError(await basewarm(["copy", source(), `oci:${layout}:v2`], asAnotherUser), new RegExp(`OCI layout ${layout} cannot be written: ${layout}: permission denied`), 2);
    expect(readdirSync(theirs)).toEqual([]);
    expect(readdirSync(layout).sort()).toEqual(["blobs", "index.json", "oci-layout"]);
  });

  it("a source layout without the image named, or without any, lists the names it has", async () => {
    const dir = tempDir();
    await writeOciLayout(dir, [{ image, tag: "v1" }, { image, tag: "v2" }]);
    expectOneLineError(await basewarm(["copy", `oci:${dir}:zz`, `${registry().host}/x/y:1`]), new RegExp(`OCI layout ${dir} has no image named "zz" \\(names there: "v1", "v2"\\); name one of those`), 2);
    const empty = tempDir();
    await writeOciLayout(empty, []);
    expectOneLineError(await basewarm(["copy", `oci:${empty}`, `${registry().host}/x/y:1`]), new RegExp(`OCI layout ${empty} holds no image \\(its index.json lists none\\)`), 2);
    expect(await fetch(`${registry().url}/v2/x/y/manifests/1`, { method: "HEAD" }).then((r) => r.status)).toBe(404);
  });
});
