export { readRegularFile, resolvePath, type ReadOptions } from "./read.js";
