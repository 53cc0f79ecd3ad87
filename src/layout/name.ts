/**
 * `oci:DIR[:NAME]`, skopeo's name for an image in an OCI layout (containers/image, oci/layout):
 * the directory runs to the first `:` after the prefix, the rest is the image's ref name.
 */
import { BasewarmError } from "../errors.js";

export const LAYOUT_PREFIX = "oci:";

// image-spec annotations.md, `org.opencontainers.image.ref.name`: components of alphanumerics
// joined by `-._:@+` or `--`, separated by `/`. containers/image refuses other names the same way.
const COMPONENT = "[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*";
const REF_NAME_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);

export interface LayoutName {
  dir: string;
  /** The ref name (a tag, in skopeo's words); none means "the only image in the layout". */
  refName?: string;
}

export function isLayoutName(input: string): boolean {
  return input.startsWith(LAYOUT_PREFIX);
}

export function parseLayoutName(input: string): LayoutName {
  if (!isLayoutName(input)) throw new BasewarmError("REF_INVALID", `${JSON.stringify(input)} is not an OCI layout name: want ${LAYOUT_PREFIX}DIR[:TAG]`);
  const rest = input.slice(LAYOUT_PREFIX.length);
  const colon = rest.indexOf(":");
  const dir = colon === -1 ? rest : rest.slice(0, colon);
  if (dir === "") throw new BasewarmError("REF_INVALID", `invalid OCI layout name ${JSON.stringify(input)}: no directory; want ${LAYOUT_PREFIX}DIR[:TAG]`);
  if (colon === -1) return { dir };
  const refName = rest.slice(colon + 1);
  if (!REF_NAME_RE.test(refName)) {
    throw new BasewarmError("REF_INVALID", `invalid OCI layout name ${JSON.stringify(input)}: tag ${JSON.stringify(refName)} must be letters and digits joined by one of . _ - : @ + or --, in parts separated by /`);
  }
  return { dir, refName };
}

export function formatLayoutName(name: LayoutName): string {
  return `${LAYOUT_PREFIX}${name.dir}${name.refName === undefined ? "" : `:${name.refName}`}`;
}
