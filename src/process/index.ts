export { currentProcess, processGone, type ProcessIdentity } from "./liveness.js";
export { atExit } from "./exit-hooks.js";
