export { onbuildFindings, onbuildTriggers, readOnbuild, type OnbuildFindings, type OnbuildRead } from "./triggers.js";
