export { currentProcess, processGone, type ProcessIdentity } from "./liveness.js";
