export { emptyPath, openProblem, readRegularFile, resolvePath, type ReadOptions } from "./read.js";
export { makeTempDir, type TempDir } from "./temp-dir.js";
