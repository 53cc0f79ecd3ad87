import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeDirs } from "../../src/layout/directories.js";
import { useTempDirs } from "../helpers/temp.js";

const tempDir = useTempDirs("dirs");

describe("a layout's directories, one level at a time", () => {
  it("makes every missing level, keeps those there, and lets several writers make the same ones at once", async () => {
    const root = tempDir();
    mkdirSync(join(root, "a"));
    writeFileSync(join(root, "a", "kept"), "x");
    await Promise.all(Array.from({ length: 8 }, () => makeDirs(join(root, "a", "b", "c", "d"))));
    expect(statSync(join(root, "a", "b", "c", "d")).isDirectory()).toBe(true);
    expect(existsSync(join(root, "a", "kept"))).toBe(true);
    await makeDirs(join(root, "a", "b")); // all there: nothing to do
  });

  // Node's recursive mkdir never returned here: procfs answers ENOENT for a new name under /proc.
  it("fails under /proc at once instead of retrying forever", async () => {
    await expect(makeDirs("/proc/basewarm-test/layout")).rejects.toMatchObject({ code: "ENOENT" });
  }, 5000);

  it("fails under a file with the reason", async () => {
    const root = tempDir();
    writeFileSync(join(root, "file"), "x");
    await expect(makeDirs(join(root, "file", "layout"))).rejects.toMatchObject({ code: "ENOTDIR" });
  });
});
