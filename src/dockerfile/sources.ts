/**
 * The flags through which COPY and RUN pull from another stage or an image: `COPY --from=<x>` and
 * `RUN --mount=...,from=<x>`. Read here as written; deciding whether `<x>` is a stage or an image is
 * the caller's (the Dockerfile's stages, or nothing for an ONBUILD trigger).
 */
import { invalid, type Span } from "./model.js";
import { originalSpan, type Instruction } from "./parser.js";
import { processWord, ShellError } from "./shell.js";
import { TextBuilder } from "./text.js";

export interface FlagSource {
  value: string;
  /** Original-text span of the value; null when it cannot be replaced in place. */
  span: Span | null;
}

interface CsvField {
  value: string;
  start: number;
  end: number;
  quoted: boolean;
}

/** Go's encoding/csv for one record, strict quotes; returns fields with their offsets, or an error. */
function parseCsv(text: string): CsvField[] | string {
  if (text === "") return "empty mount";
  const fields: CsvField[] = [];
  let i = 0;
  for (;;) {
    const start = i;
    if (text[i] === '"') {
      const value = new TextBuilder();
      i++;
      for (;;) {
        const quote = text.indexOf('"', i);
        if (quote === -1) return `extraneous or missing " in quoted-field`;
        value.add(text.slice(i, quote));
        if (text[quote + 1] === '"') {
          value.add('"');
          i = quote + 2;
          continue;
        }
        i = quote + 1;
        break;
      }
      if (i < text.length && text[i] !== ",") return `extraneous or missing " in quoted-field`;
      fields.push({ value: value.toString(), start, end: i, quoted: true });
    } else {
      const comma = text.indexOf(",", i);
      const end = comma === -1 ? text.length : comma;
      const value = text.slice(i, end);
      if (value.includes('"')) return `bare " in non-quoted-field`;
      fields.push({ value, start, end, quoted: false });
      i = end;
    }
    if (i >= text.length) return fields;
    i++; // the comma
  }
}

function flagName(value: string): string {
  const eq = value.indexOf("=");
  return eq === -1 ? value.slice(2) : value.slice(2, eq);
}

/** `COPY --from=<x>`: the value, or undefined without one. Variables are refused, as BuildKit does. */
export function copyFromFlag(command: Instruction, file: string, esc: string): FlagSource | undefined {
  const line = command.line.startLine;
  let from: { value: string; start: number; end: number } | undefined;
  for (const flag of command.flags) {
    if (flagName(flag.value) !== "from") continue;
    const eq = flag.value.indexOf("=");
    if (eq === -1) throw invalid(file, line, "flag", "missing a value on flag --from", "write COPY --from=<stage or image> ...");
    if (from) throw invalid(file, line, "flag", "duplicate flag --from", "COPY takes one --from");
    from = { value: flag.value.slice(eq + 1), start: flag.start, end: flag.end };
  }
  if (!from || from.value === "") return undefined;
  let unchanged = false;
  try {
    unchanged = processWord(from.value, new Map(), { escapeToken: esc }).result === from.value;
  } catch (err) {
    if (!(err instanceof ShellError)) throw err;
  }
  if (!unchanged) {
    throw invalid(file, line, "expansion", `variable expansion is not supported for --from=${from.value}`, "define a stage with FROM ${VAR} AS <name> from a global ARG and copy from that stage", { value: from.value });
  }
  const raw = command.line.text.slice(from.start, from.end);
  const span = raw.startsWith("--from=") ? originalSpan(command.line, from.start + "--from=".length, from.end) : null;
  return { value: from.value, span };
}

/**
 * Every `RUN --mount=...,from=<x>` that reads from a stage or an image (tmpfs mounts read nothing),
 * handed to `visit` flag by flag, so an error in a later flag comes after what the earlier ones raise.
 */
export function mountFromFlags(command: Instruction, file: string, visit: (source: FlagSource) => void): void {
  const line = command.line.startLine;
  for (const flag of command.flags) {
    if (flagName(flag.value) !== "mount") continue;
    const eq = flag.value.indexOf("=");
    if (eq === -1) throw invalid(file, line, "flag", "missing a value on flag --mount", "write RUN --mount=type=...,from=... <command>");
    const value = flag.value.slice(eq + 1);
    const fields = parseCsv(value);
    if (typeof fields === "string") throw invalid(file, line, "flag", `failed to parse --mount=${value}: ${fields}`, "write --mount as comma-separated key=value pairs", { value });
    let from: CsvField | undefined;
    let fromValue = "";
    let type = "bind";
    for (const field of fields) {
      const fieldEq = field.value.indexOf("=");
      if (fieldEq === -1) continue;
      const key = field.value.slice(0, fieldEq).toLowerCase();
      const fieldValue = field.value.slice(fieldEq + 1);
      if (key === "type") type = fieldValue.toLowerCase();
      if (key !== "from") continue;
      if (/\$./.test(fieldValue)) {
        throw invalid(file, line, "expansion", `'from' doesn't support variable expansion (--mount ...from=${fieldValue})`, "define an alias stage with FROM ${VAR} AS <name> and mount from it", { value: fieldValue });
      }
      from = field;
      fromValue = fieldValue;
    }
    if (!from || fromValue === "" || type === "tmpfs") continue;
    const raw = command.line.text.slice(flag.start, flag.end);
    const keyLength = from.value.indexOf("=") + 1;
    const base = flag.start + "--mount=".length;
    const span = raw === `--mount=${value}` && !from.quoted ? originalSpan(command.line, base + from.start + keyLength, base + from.end) : null;
    visit({ value: fromValue, span });
  }
}
