import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { makeImage, makeLayer, pushImage } from "../../testkit/images.js";
import { basewarm, CLI } from "../helpers/cli.js";
import { useRegistry } from "../helpers/registries.js";

const run = promisify(execFile);

describe("progress display", () => {
  const upstream = useRegistry();
  const mirror = useRegistry();

  it("shows images, bytes and rate on a terminal, and nothing when not a TTY or with --json", async () => {
    await pushImage(upstream().url, "p/img", makeImage({ seed: "progress", layers: [makeLayer("progress", 300_000)] }), "1");
    // util-linux `script` gives the command a real pseudo-terminal.
    const command = `${process.execPath} ${CLI} copy ${upstream().host}/p/img:1 ${mirror().host}/tty/img:1`;
    const { stdout } = await run("script", ["-qec", command, "/dev/null"], { env: { ...process.env, TERM: "xterm" } });
    expect(stdout).toMatch(/images 1\/1 +0\.3 MB +[\d.]+ MB\/s/);
    expect(stdout).toMatch(/copied .*tty\/img:1@sha256:/);

    const piped = await basewarm(["copy", `${upstream().host}/p/img:1`, `${mirror().host}/piped/img:1`]);
    expect(piped.stderr).toBe("");
    const json = await basewarm(["copy", `${upstream().host}/p/img:1`, `${mirror().host}/json/img:1`, "--json"]);
    expect(json.stderr).toBe("");
    expect(JSON.parse(json.stdout)).toMatchObject({ status: "copied" });
  });
});
