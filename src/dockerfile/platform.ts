/**
 * Platform strings as containerd's `platforms.Parse` + `Normalize` read them, which is what BuildKit
 * uses for `--platform` and for the automatic platform ARGs (TARGETPLATFORM, TARGETARCH, ...).
 */

export interface Platform {
  os: string;
  architecture: string;
  variant: string;
}

const KNOWN_OS = new Set([
  "aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js", "linux", "nacl",
  "netbsd", "openbsd", "plan9", "solaris", "wasip1", "windows", "zos",
]);
const KNOWN_ARCH = new Set([
  "386", "amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be", "loong64", "mips", "mipsle", "mips64",
  "mips64le", "mips64p32", "mips64p32le", "ppc", "ppc64", "ppc64le", "riscv", "riscv64", "s390", "s390x",
  "sparc", "sparc64", "wasm",
  // aliases normalizeArch understands
  "i386", "x86_64", "x86-64", "aarch64", "armhf", "armel",
]);
const COMPONENT_RE = /^[A-Za-z0-9_-]+$/;
const OS_RE = /^[A-Za-z0-9_-]+(?:\([A-Za-z0-9_.-]*\))?$/;

export const DEFAULT_PLATFORM: Platform = { os: "linux", architecture: "amd64", variant: "" };

function normalizeArch(arch: string, variant: string): { architecture: string; variant: string } {
  const a = arch.toLowerCase();
  const v = variant.toLowerCase();
  switch (a) {
    case "i386":
      return { architecture: "386", variant: "" };
    case "x86_64":
    case "x86-64":
    case "amd64":
      return { architecture: "amd64", variant: v === "v1" ? "" : v };
    case "aarch64":
    case "arm64":
      return { architecture: "arm64", variant: v === "8" || v === "v8" || v === "v8.0" ? "" : v };
    case "armhf":
      return { architecture: "arm", variant: "v7" };
    case "armel":
      return { architecture: "arm", variant: "v6" };
    case "arm":
      if (v === "" || v === "7") return { architecture: "arm", variant: "v7" };
      if (v === "5" || v === "6" || v === "8") return { architecture: "arm", variant: `v${v}` };
      return { architecture: "arm", variant: v };
    default:
      return { architecture: a, variant: v };
  }
}

/** Parse `os[/arch[/variant]]` (or a lone architecture); returns a reason string when it is not a platform. */
export function parsePlatform(spec: string): Platform | string {
  if (spec === "") return "empty platform";
  const parts = spec.split("/");
  if (parts.length > 3) return "too many components (want os/arch[/variant])";
  const [os = "", arch, variant] = parts;
  if (!OS_RE.test(os) || (arch !== undefined && !COMPONENT_RE.test(arch)) || (variant !== undefined && !COMPONENT_RE.test(variant))) {
    return "invalid characters (want os/arch[/variant], e.g. linux/arm64)";
  }
  if (arch === undefined) {
    const lower = os.toLowerCase();
    if (KNOWN_OS.has(lower.replace(/\(.*\)$/, ""))) return { os: lower, ...normalizeArch(DEFAULT_PLATFORM.architecture, "") };
    if (KNOWN_ARCH.has(lower)) return { os: DEFAULT_PLATFORM.os, ...normalizeArch(lower, "") };
    return "unknown operating system or architecture";
  }
  return { os: os.toLowerCase(), ...normalizeArch(arch, variant ?? "") };
}

export function formatPlatform(p: Platform): string {
  return p.variant === "" ? `${p.os}/${p.architecture}` : `${p.os}/${p.architecture}/${p.variant}`;
}
