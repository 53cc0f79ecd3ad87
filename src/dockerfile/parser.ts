/**
 * A Dockerfile reader that follows BuildKit's frontend/dockerfile/parser line by line.
 *
 * Written by hand because no JavaScript Dockerfile parser reproduces BuildKit's rules, and those rules
 * decide which images a build pulls: parser directives only on the first lines, the escape token
 * changing line continuations, comment and blank lines dropped inside a continued instruction, heredoc
 * bodies that are never instructions, flags before arguments. Every piece of an instruction keeps its
 * offsets in the original text so the rewriter can replace exactly the bytes of a reference.
 */
import { isGoSpace, processWord } from "./shell.js";

/** A run of a logical (joined) line that comes from one contiguous range of the original text. */
export interface Segment {
  logical: number;
  original: number;
  length: number;
}

export interface LogicalLine {
  text: string;
  /** 1-based physical line where the instruction starts. */
  startLine: number;
  segments: Segment[];
}

export interface Word {
  /** The word after the parser's own processing (quotes removed for flags, kept for ARG words). */
  value: string;
  /** Logical offsets of the raw word in `LogicalLine.text`. */
  start: number;
  end: number;
}

export interface Instruction {
  /** Lowercased instruction name. */
  keyword: string;
  line: LogicalLine;
  flags: Word[];
  /** Arguments text (trimmed) and its logical offset. */
  args: string;
  argsStart: number;
  /** Whether the arguments are a JSON array (exec form). */
  json: boolean;
  /** Heredoc delimiters whose bodies followed the instruction. */
  heredocs: string[];
  /** ONBUILD's wrapped instruction. */
  sub?: Instruction;
}

export interface ParsedDockerfile {
  escapeToken: string;
  instructions: Instruction[];
}

/** A parse problem at a 1-based line; the caller turns it into a BasewarmError with the file name. */
export class DockerfileSyntaxError extends Error {
  override name = "DockerfileSyntaxError";
  readonly line: number;

  constructor(line: number, message: string) {
    super(message);
    this.line = line;
  }
}

interface PhysicalLine {
  /** Line content without its trailing CR/LF characters. */
  text: string;
  /** Offset of `text` in the original string. */
  start: number;
}

const HEREDOC_INSTRUCTIONS = new Set(["run", "copy", "add"]);
const JSON_INSTRUCTIONS = new Set(["run", "cmd", "entrypoint", "shell", "copy", "add", "volume"]);
const VALID_DIRECTIVES = new Set(["syntax", "escape", "check"]);
// Go regexp `\s` is ASCII only.
const DIRECTIVE_RE = /^#[\t\n\f\r ]*([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*$/;
const HEREDOC_RE = /^(\d*)<<(-?)([^<]*)$/;

/** Split like bufio.Scanner with BuildKit's scanLines: on "\n", then drop trailing "\r"/"\n" characters. */
function physicalLines(text: string): PhysicalLine[] {
  const lines: PhysicalLine[] = [];
  let start = 0;
  while (start < text.length) {
    const nl = text.indexOf("\n", start);
    const end = nl === -1 ? text.length : nl + 1;
    let contentEnd = end;
    while (contentEnd > start && (text[contentEnd - 1] === "\n" || text[contentEnd - 1] === "\r")) contentEnd--;
    lines.push({ text: text.slice(start, contentEnd), start });
    start = end;
  }
  return lines;
}

function leadingSpace(s: string): number {
  let i = 0;
  while (i < s.length && isGoSpace(s[i] as string)) i++;
  return i;
}

function trailingSpace(s: string): number {
  let i = s.length;
  while (i > 0 && isGoSpace(s[i - 1] as string)) i--;
  return s.length - i;
}

/** BuildKit's line continuation: the escape token as the last non-blank character, unless itself escaped. */
function trimContinuation(s: string, esc: string): { text: string; continued: boolean } {
  let end = s.length;
  while (end > 0 && (s[end - 1] === " " || s[end - 1] === "\t")) end--;
  if (end > 0 && s[end - 1] === esc && (end === 1 || s[end - 2] !== esc)) {
    return { text: s.slice(0, end - 1), continued: true };
  }
  return { text: s, continued: false };
}

function isCommentLine(s: string): boolean {
  return s.slice(leadingSpace(s)).startsWith("#");
}

class Directives {
  escapeToken = "\\";
  done = false;
  private readonly seen = new Set<string>();

  /** Directives count only until the first line that is not one (an empty line, a comment, an instruction). */
  consider(token: string, line: number): void {
    if (this.done) return;
    const m = DIRECTIVE_RE.exec(token);
    const key = m?.[1]?.toLowerCase();
    if (!m || key === undefined || !VALID_DIRECTIVES.has(key)) {
      this.done = true;
      return;
    }
    if (this.seen.has(key)) throw new DockerfileSyntaxError(line, `only one ${key} parser directive can be used (remove the repeated "# ${key}=" line)`);
    this.seen.add(key);
    if (key === "escape") {
      const value = m[2] ?? "";
      if (value !== "`" && value !== "\\") {
        throw new DockerfileSyntaxError(line, `invalid escape token '${value}' does not match \` or \\ (use "# escape=\`" or "# escape=\\")`);
      }
      this.escapeToken = value;
    }
  }
}

/**
 * BuildKit's extractBuilderFlags: leading words that start with `--` are flags; quotes and backslashes
 * (always `\`, whatever the escape directive says) are processed inside them; a lone `--` ends the flags.
 */
function extractFlags(text: string, base: number): { flags: Word[]; restStart: number } {
  const flags: Word[] = [];
  const SPACES = 0;
  const WORD = 1;
  const QUOTE = 2;
  let phase = SPACES;
  let word = "";
  let quote = "";
  let blankOK = false;
  let wordStart = 0;
  for (let pos = 0; pos <= text.length; pos++) {
    const atEnd = pos === text.length;
    let ch = atEnd ? "" : (text[pos] as string);
    if (phase === SPACES) {
      if (atEnd) break;
      if (isGoSpace(ch)) continue;
      if (ch !== "-" || pos + 1 === text.length || text[pos + 1] !== "-") return { flags, restStart: base + pos };
      phase = WORD;
      wordStart = pos;
    }
    if (atEnd) {
      if (word !== "--" && (blankOK || word.length > 0)) flags.push({ value: word, start: base + wordStart, end: base + pos });
      break;
    }
    if (phase === WORD) {
      if (isGoSpace(ch)) {
        phase = SPACES;
        if (word === "--") return { flags, restStart: base + pos };
        if (blankOK || word.length > 0) flags.push({ value: word, start: base + wordStart, end: base + pos });
        word = "";
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = QUOTE;
        continue;
      }
      if (ch === "\\") {
        if (pos + 1 === text.length) continue;
        pos++;
        ch = text[pos] as string;
      }
      word += ch;
      continue;
    }
    if (ch === quote) {
      phase = WORD;
      continue;
    }
    if (ch === "\\") {
      if (pos + 1 === text.length) {
        phase = WORD;
        continue;
      }
      pos++;
      ch = text[pos] as string;
    }
    word += ch;
  }
  return { flags, restStart: base + text.length };
}

/**
 * BuildKit's parseWords (ARG, ENV, LABEL): split on unquoted whitespace, keeping quotes and escapes in
 * the words for the shell expander to process later.
 */
export function parseWords(text: string, esc: string, base: number): Word[] {
  const words: Word[] = [];
  const chars = Array.from(text);
  const SPACES = 0;
  const WORD = 1;
  const QUOTE = 2;
  let phase = SPACES;
  let quote = "";
  let blankOK = false;
  let word = "";
  let offset = 0; // UTF-16 offset of chars[i]
  let wordStart = 0;
  for (let i = 0; i <= chars.length; i++) {
    const atEnd = i === chars.length;
    let ch = atEnd ? "" : (chars[i] as string);
    if (phase === SPACES) {
      if (atEnd) break;
      if (isGoSpace(ch)) {
        offset += ch.length;
        continue;
      }
      phase = WORD;
      wordStart = offset;
    }
    if (atEnd) {
      if (blankOK || word.length > 0) words.push({ value: word, start: base + wordStart, end: base + offset });
      break;
    }
    if (phase === WORD) {
      if (isGoSpace(ch)) {
        phase = SPACES;
        if (blankOK || word.length > 0) words.push({ value: word, start: base + wordStart, end: base + offset });
        word = "";
        blankOK = false;
        offset += ch.length;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = QUOTE;
      }
      if (ch === esc) {
        if (i + 1 === chars.length) {
          offset += ch.length;
          continue;
        }
        word += ch;
        offset += ch.length;
        i++;
        ch = chars[i] as string;
      }
      word += ch;
      offset += ch.length;
      continue;
    }
    if (ch === quote) phase = WORD;
    if (ch === esc && quote !== "'") {
      if (i + 1 === chars.length) {
        phase = WORD;
        offset += ch.length;
        continue;
      }
      word += ch;
      offset += ch.length;
      i++;
      ch = chars[i] as string;
    }
    word += ch;
    offset += ch.length;
  }
  return words;
}

/** Whitespace-delimited arguments (FROM): BuildKit splits on `[\t\v\f\r ]+` without quote handling. */
export function splitWhitespace(text: string, base: number): Word[] {
  const words: Word[] = [];
  if (text === "") return words;
  const re = /[\t\v\f\r ]+/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    words.push({ value: text.slice(last, m.index), start: base + last, end: base + m.index });
    last = m.index + m[0].length;
  }
  words.push({ value: text.slice(last), start: base + last, end: base + text.length });
  return words;
}

/** parseJSON: an exec-form array must hold strings only; anything that is not JSON is shell form. */
function isJsonArgs(args: string, line: number): boolean {
  const rest = args.slice(leadingSpace(args));
  if (!rest.startsWith("[")) return false;
  let parsed: unknown;
  try {
    parsed = JSON.parse(rest);
  } catch {
    return false;
  }
  if (!Array.isArray(parsed)) return false;
  if (!parsed.every((v) => typeof v === "string")) {
    throw new DockerfileSyntaxError(line, "when using JSON array syntax, arrays must be comprised of strings only");
  }
  return true;
}

/** splitCommand + the line parser dispatch: instruction name, flags, arguments, exec form. */
function parseInstruction(line: LogicalLine, from: number, to: number): Instruction {
  const text = line.text;
  const lead = from + leadingSpace(text.slice(from, to));
  const end = to - trailingSpace(text.slice(lead, to));
  const body = text.slice(lead, end);
  const ws = /[\t\v\f\r ]+/.exec(body);
  const cmd = ws ? body.slice(0, ws.index) : body;
  const keyword = cmd.toLowerCase();
  let flags: Word[] = [];
  let args = "";
  let argsStart = end;
  if (ws) {
    const restStart = lead + ws.index + ws[0].length;
    const extracted = extractFlags(text.slice(restStart, end), restStart);
    flags = extracted.flags;
    const remainder = text.slice(extracted.restStart, end);
    const l = leadingSpace(remainder);
    args = remainder.slice(l, remainder.length - trailingSpace(remainder.slice(l)));
    argsStart = extracted.restStart + l;
  }
  const instruction: Instruction = { keyword, line, flags, args, argsStart, json: false, heredocs: [] };
  if (JSON_INSTRUCTIONS.has(keyword) && args !== "") instruction.json = isJsonArgs(args, line.startLine);
  if (keyword === "onbuild" && args !== "") instruction.sub = parseInstruction(line, argsStart, argsStart + args.length);
  return instruction;
}

/** Delimiters of the heredocs an instruction line opens (`<<EOF`, `<<-EOF`, `<<"EOF"`, `2<<EOF`...). */
function heredocNames(lineText: string): { name: string; chomp: boolean }[] {
  let words: string[];
  try {
    words = processWord(lineText, new Map(), { rawQuotes: true, rawEscapes: true, skipUnsetEnv: true }).words;
  } catch {
    return [];
  }
  const out: { name: string; chomp: boolean }[] = [];
  for (const word of words) {
    const m = HEREDOC_RE.exec(word);
    if (!m) continue;
    const rest = m[3] ?? "";
    if (rest === "") continue;
    let parts: string[];
    try {
      parts = processWord(rest, new Map(), { skipUnsetEnv: true }).words;
    } catch {
      continue;
    }
    if (parts.length !== 1) continue;
    out.push({ name: parts[0] as string, chomp: m[2] === "-" });
  }
  return out;
}

function canContainHeredoc(instruction: Instruction): boolean {
  const target = instruction.keyword === "onbuild" && instruction.sub ? instruction.sub : instruction;
  return HEREDOC_INSTRUCTIONS.has(target.keyword) && !target.json;
}

/** Parse a Dockerfile's text (already decoded) into instructions with their source offsets. */
export function parseDockerfile(text: string): ParsedDockerfile {
  const lines = physicalLines(text);
  const directives = new Directives();
  const instructions: Instruction[] = [];
  let i = 0;
  while (i < lines.length) {
    const physical = lines[i] as PhysicalLine;
    let content = physical.text;
    let offset = physical.start;
    if (i === 0 && content.startsWith("\uFEFF")) {
      content = content.slice(1);
      offset += 1;
    }
    const lead = leadingSpace(content);
    content = content.slice(lead);
    offset += lead;
    directives.consider(content, i + 1);
    if (content.startsWith("#")) content = "";
    const startLine = i + 1;
    i++;
    const first = trimContinuation(content, directives.escapeToken);
    if (!first.continued && first.text === "") continue;

    let joined = first.text;
    const segments: Segment[] = [{ logical: 0, original: offset, length: first.text.length }];
    let continued = first.continued;
    while (continued && i < lines.length) {
      const next = lines[i] as PhysicalLine;
      i++;
      if (isCommentLine(next.text)) continue;
      if (leadingSpace(next.text) === next.text.length) continue;
      const part = trimContinuation(next.text, directives.escapeToken);
      segments.push({ logical: joined.length, original: next.start, length: part.text.length });
      joined += part.text;
      continued = part.continued;
    }

    const line: LogicalLine = { text: joined, startLine, segments };
    const instruction = parseInstruction(line, 0, joined.length);
    if (canContainHeredoc(instruction)) {
      for (const heredoc of heredocNames(joined)) {
        let terminated = false;
        while (i < lines.length) {
          const body = (lines[i] as PhysicalLine).text;
          i++;
          const candidate = heredoc.chomp ? body.replace(/^\t+/, "") : body;
          if (candidate === heredoc.name) {
            terminated = true;
            break;
          }
        }
        if (!terminated) {
          throw new DockerfileSyntaxError(startLine, `unterminated heredoc <<${heredoc.name} (end it with a line that is exactly "${heredoc.name}")`);
        }
        instruction.heredocs.push(heredoc.name);
      }
    }
    instructions.push(instruction);
  }
  return { escapeToken: directives.escapeToken, instructions };
}

/** Map a logical span to the original text; null when it crosses a line continuation. */
export function originalSpan(line: LogicalLine, start: number, end: number): { start: number; end: number } | null {
  for (const seg of line.segments) {
    if (start >= seg.logical && end <= seg.logical + seg.length && (start < seg.logical + seg.length || start === end)) {
      return { start: seg.original + (start - seg.logical), end: seg.original + (end - seg.logical) };
    }
  }
  return null;
}

/**
 * The `# syntax=` frontend image, found the way BuildKit's DetectSyntax does: after a BOM and an
 * optional `#!` line, on the leading `#` directive lines (no indentation allowed there); the image is
 * the value's first space-separated word.
 */
export function detectSyntax(text: string): { image: string; line: number; start: number; end: number } | null {
  let offset = text.startsWith("\uFEFF") ? 1 : 0;
  let lineNo = 0;
  const seen = new Set<string>();
  let firstLine = true;
  while (offset < text.length) {
    const nl = text.indexOf("\n", offset);
    const end = nl === -1 ? text.length : nl;
    let raw = text.slice(offset, end);
    if (raw.endsWith("\r")) raw = raw.slice(0, -1);
    lineNo++;
    const lineStart = offset;
    offset = nl === -1 ? text.length : nl + 1;
    if (firstLine && raw.startsWith("#!")) {
      firstLine = false;
      continue;
    }
    firstLine = false;
    if (!raw.startsWith("#")) return null;
    const afterHash = raw.slice(1);
    const lead = leadingSpace(afterHash);
    const m = /^([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*$/d.exec(afterHash.slice(lead));
    const key = m?.[1]?.toLowerCase();
    if (!m || key === undefined || !VALID_DIRECTIVES.has(key) || seen.has(key)) return null;
    seen.add(key);
    if (key !== "syntax") continue;
    const value = m[2] ?? "";
    const image = value.split(" ")[0] ?? "";
    const valueStart = lineStart + 1 + lead + (m.indices?.[2]?.[0] ?? 0);
    return { image, line: lineNo, start: valueStart, end: valueStart + image.length };
  }
  return null;
}
