export { OciLayout, REF_NAME_ANNOTATION, type LayoutEntry } from "./layout.js";
export { LAYOUT_PREFIX, formatLayoutName, isLayoutName, parseLayoutName, type LayoutName } from "./name.js";
