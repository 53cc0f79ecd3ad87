export { readRegularFile, type ReadOptions } from "./read.js";
