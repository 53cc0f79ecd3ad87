import { BasewarmError } from "../errors.js";
import type { Platform } from "./manifest.js";

/** Parse `os/arch[/variant]` as given on the command line or in the config. */
export function parsePlatform(value: string): Platform {
  const parts = value.trim().toLowerCase().split("/");
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9_.-]+$/.test(p))) {
    throw new BasewarmError("USAGE", `invalid platform ${JSON.stringify(value)}: want os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8`);
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  return variant ? { os, architecture, variant } : { os, architecture };
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join("/");
}

/** containerd's default variants: `linux/arm64` means v8, `linux/arm` means v7. */
function normalizedVariant(p: Platform): string | undefined {
  if (p.variant) return p.variant;
  if (p.architecture === "arm64") return "v8";
  if (p.architecture === "arm") return "v7";
  return undefined;
}

/** Whether an index entry satisfies a wanted platform; a wanted platform without variant matches any variant. */
export function platformMatches(wanted: Platform, candidate: Platform | undefined): boolean {
  if (!candidate) return false;
  if (wanted.os !== candidate.os || wanted.architecture !== candidate.architecture) return false;
  if (!wanted.variant) return true;
  return normalizedVariant(wanted) === normalizedVariant(candidate);
}
