/**
 * Platforms (`os/arch[/variant]`) read, normalized, written and matched by containerd's rules
 * (github.com/containerd/platforms: Parse, Normalize, Format, NewMatcher), which BuildKit, buildx
 * and the container runtimes use. One module, so the config, the CLI, the Dockerfile reader and
 * the index filter cannot disagree about what `linux/arm64` means.
 */
import { BasewarmError } from "../errors.js";

/** An OCI platform. `variant` is "" when there is none, as in containerd's Go struct. */
export interface Platform {
  os: string;
  architecture: string;
  variant: string;
  /** `os.version` (Windows build, e.g. `10.0.17763.5329`). */
  osVersion?: string;
  /** `os.features` (e.g. `win32k`). */
  osFeatures?: readonly string[];
}

export const DEFAULT_PLATFORM: Platform = { os: "linux", architecture: "amd64", variant: "" };

/** How to write a platform, for error messages. */
export const PLATFORM_SYNTAX = "os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8";

// containerd's knownOS / knownArch (Go's GOOS/GOARCH lists), plus the aliases normalizeArch reads.
const KNOWN_OS = new Set([
  "aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js", "linux", "nacl",
  "netbsd", "openbsd", "plan9", "solaris", "wasip1", "windows", "zos", "macos",
]);
const KNOWN_ARCH = new Set([
  "386", "amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be", "loong64", "mips", "mipsle", "mips64",
  "mips64le", "mips64p32", "mips64p32le", "ppc", "ppc64", "ppc64le", "riscv", "riscv64", "s390", "s390x",
  "sparc", "sparc64", "wasm",
  "i386", "x86_64", "x86-64", "aarch64", "armhf", "armel",
]);
const COMPONENT_RE = /^[A-Za-z0-9_-]+$/;
// containerd accepts an OS version in parentheses: `windows(10.0.17763)/amd64`.
const OS_RE = /^([A-Za-z0-9_-]+)(?:\(([A-Za-z0-9_.-]*)\))?$/;

function normalizeOs(os: string): string {
  const lower = os.toLowerCase();
  return lower === "macos" ? "darwin" : lower;
}

/** containerd's normalizeArch: aliases to GOARCH names, default variants dropped or filled in. */
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
      // arm64 without a variant IS v8: the two spellings are one platform.
      if (v === "8" || v === "v8" || v === "v8.0") return { architecture: "arm64", variant: "" };
      if (v === "9" || v === "9.0" || v === "v9.0") return { architecture: "arm64", variant: "v9" };
      return { architecture: "arm64", variant: v };
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

/** containerd's Normalize: the one spelling of a platform, used for comparing and printing. */
export function normalizePlatform(p: { os: string; architecture: string; variant?: string | undefined; osVersion?: string | undefined; osFeatures?: readonly string[] | undefined }): Platform {
  const out: Platform = { os: normalizeOs(p.os), ...normalizeArch(p.architecture, p.variant ?? "") };
  if (p.osVersion) out.osVersion = p.osVersion;
  if (p.osFeatures && p.osFeatures.length > 0) out.osFeatures = [...p.osFeatures];
  return out;
}

/**
 * Parse and normalize `os[(version)][/arch[/variant]]`; the reason when it is not a platform.
 * Like containerd's Parse, a lone OS gets the default architecture and a lone architecture the
 * default OS (BuildKit accepts `FROM --platform=linux`); `requireArchitecture` refuses both, for
 * places where a short form is more likely a mistake (the config, `copy --platform`).
 */
export function tryParsePlatform(spec: string, options: { requireArchitecture?: boolean } = {}): Platform | string {
  if (spec === "") return "empty platform";
  const parts = spec.split("/");
  if (parts.length > 3) return "too many components";
  const [osPart = "", arch, variant] = parts;
  const os = OS_RE.exec(osPart);
  if (!os || (arch !== undefined && !COMPONENT_RE.test(arch)) || (variant !== undefined && !COMPONENT_RE.test(variant))) {
    return parts.some((p) => p === "") ? "empty component" : "invalid characters (letters, digits, '_' and '-' only)";
  }
  const name = os[1] ?? "";
  const osVersion = os[2] ? { osVersion: os[2] } : {};
  if (arch === undefined) {
    if (options.requireArchitecture) return "missing the architecture";
    const lower = name.toLowerCase();
    if (KNOWN_OS.has(lower)) return normalizePlatform({ os: lower, architecture: DEFAULT_PLATFORM.architecture, ...osVersion });
    if (KNOWN_ARCH.has(lower) && !os[2]) return normalizePlatform({ os: DEFAULT_PLATFORM.os, architecture: lower });
    return "unknown operating system or architecture";
  }
  return normalizePlatform({ os: name, architecture: arch, variant: variant ?? "", ...osVersion });
}

/** The message for a platform that does not parse: value, reason, and how to write one. */
export function platformProblemMessage(spec: string, reason: string): string {
  return `invalid platform ${JSON.stringify(spec)}: ${reason} (want ${PLATFORM_SYNTAX})`;
}

/** Parse `os/arch[/variant]` given by a user; throws USAGE with the value and the reason. */
export function parsePlatform(spec: string): Platform {
  const parsed = tryParsePlatform(spec.trim(), { requireArchitecture: true });
  if (typeof parsed === "string") throw new BasewarmError("USAGE", platformProblemMessage(spec, parsed));
  return parsed;
}

/**
 * `os/arch[/variant]` as containerd's Format writes it (what BuildKit puts in TARGETPLATFORM);
 * `osVersion: true` adds the version the way containerd's FormatAll does, for messages.
 */
export function formatPlatform(p: Platform, options: { osVersion?: boolean } = {}): string {
  const os = options.osVersion && p.osVersion ? `${p.os}(${p.osVersion})` : p.os;
  return p.variant === "" ? `${os}/${p.architecture}` : `${os}/${p.architecture}/${p.variant}`;
}

/** Windows images run on hosts of the same build: compare `major.minor.build`, not the revision. */
function osVersionMatches(os: string, wanted: string, candidate: string): boolean {
  if (os !== "windows") return wanted === candidate;
  const build = (v: string) => v.split(".").slice(0, 3).join(".");
  return build(wanted) === build(candidate);
}

/**
 * Whether an index entry is the wanted platform (containerd's NewMatcher): both sides normalized,
 * then os, architecture and variant equal. So `linux/arm64` ≡ `linux/arm64/v8`, `linux/arm` is
 * v7 only, and a wanted platform without variant means the architecture's default variant, not
 * any variant: a mirror keeps exactly what was named, and builders apply their own fallbacks.
 * An OS version or features narrow the match only when the wanted platform names them.
 */
export function platformMatches(wanted: Platform, candidate: Platform | undefined): boolean {
  if (!candidate) return false;
  const w = normalizePlatform(wanted);
  const c = normalizePlatform(candidate);
  if (w.os !== c.os || w.architecture !== c.architecture || w.variant !== c.variant) return false;
  if (w.osVersion !== undefined && c.osVersion !== undefined && !osVersionMatches(w.os, w.osVersion, c.osVersion)) return false;
  if (w.osFeatures !== undefined && !w.osFeatures.every((f) => c.osFeatures?.includes(f))) return false;
  return true;
}
