export { openProblem, readRegularFile, resolvePath, type ReadOptions } from "./read.js";
