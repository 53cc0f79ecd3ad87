/**
 * A Dockerfile reader that follows BuildKit's frontend/dockerfile/parser line by line.
 *
 * Written by hand because no JavaScript Dockerfile parser reproduces BuildKit's rules, and those rules
 * decide which images a build pulls: parser directives only on the first lines, the escape token
 * changing line continuations, comment and blank lines dropped inside a continued instruction, heredoc
 * bodies that are never instructions, flags before arguments. Every piece of an instruction keeps its
 * offsets in the original text so the rewriter can replace exactly the bytes of a reference.
 *
 * Linear in time and memory for any input: lines are scanned by index (never split into an array),
 * words and flags are built from slices, and instructions are handed to the caller one at a time so a
 * file of millions of lines is never held as millions of objects.
 */
import { DockerfileError } from "./errors.js";
import { processWord, ShellError } from "./shell.js";
import { TextBuilder, isGoSpaceCode } from "./text.js";

export interface LogicalLine {
  text: string;
  /** 1-based physical line where the instruction starts. */
  startLine: number;
  /**
   * Runs of `text` that come from one contiguous range of the original, packed as
   * [logicalOffset, originalOffset, length] triples, one per physical line (typed: 12 bytes a line, not an object).
   */
  segments: SegmentList;
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
  /** ONBUILD's wrapped instruction (one level: BuildKit refuses ONBUILD ONBUILD). */
  sub?: Instruction;
}

const HEREDOC_INSTRUCTIONS = new Set(["run", "copy", "add"]);
const JSON_INSTRUCTIONS = new Set(["run", "cmd", "entrypoint", "shell", "copy", "add", "volume"]);
const VALID_DIRECTIVES = new Set(["syntax", "escape", "check"]);
const HEREDOC_RE = /^(\d*)<<(-?)([^<]*)$/;

const TAB = 0x09;
const SPACE = 0x20;
const HASH = 0x23;
const BACKSLASH = 0x5c;

/** Go regexp `\s` (ASCII only), what BuildKit's directive regexp allows around the key and value. */
function isAsciiSpace(c: number): boolean {
  return c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d || c === 0x20;
}

/** What Go's and JS's regexp `.` refuse: a value that holds one is not a directive. */
function isLineTerminator(c: number): boolean {
  return c === 0x0a || c === 0x0d || c === 0x2028 || c === 0x2029;
}

function isAlpha(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function isAlnum(c: number): boolean {
  return isAlpha(c) || (c >= 0x30 && c <= 0x39);
}

/**
 * `key[ \t\n\f\r]*=[ \t\n\f\r]*(.+?)[ \t\n\f\r]*$` matched from `from`, without a regexp: that one
 * backtracks quadratically over a long run of spaces inside the value.
 */
export function matchDirective(s: string, from: number): { key: string; value: string; valueStart: number } | null {
  let i = from;
  if (!isAlpha(s.charCodeAt(i))) return null;
  i++;
  while (i < s.length && isAlnum(s.charCodeAt(i))) i++;
  const key = s.slice(from, i);
  while (i < s.length && isAsciiSpace(s.charCodeAt(i))) i++;
  if (s.charCodeAt(i) !== 0x3d) return null;
  i++;
  let end = s.length;
  while (end > i && isAsciiSpace(s.charCodeAt(end - 1))) end--;
  if (end === i) {
    // Only spaces after `=`: the lazy value takes the last one that `.` accepts.
    let j = s.length - 1;
    while (j >= i && isLineTerminator(s.charCodeAt(j))) j--;
    return j < i ? null : { key, value: s[j] as string, valueStart: j };
  }
  let start = i;
  while (isAsciiSpace(s.charCodeAt(start))) start++;
  for (let k = start; k < end; k++) if (isLineTerminator(s.charCodeAt(k))) return null;
  return { key, value: s.slice(start, end), valueStart: start };
}

/** One block of segment triples: 3 × 8192 entries (96 KiB). */
const BLOCK = 3 * 8192;

/**
 * Segment triples: a plain array for the usual instruction of a few lines (cheap to allocate), then
 * fixed-size Int32Array blocks once an instruction spans many lines: 12 bytes a line, never copied or
 * reallocated as it grows (V8 strings are shorter than 2^31, so offsets fit).
 */
class Segments {
  private small: number[] | undefined = [];
  private blocks: Int32Array[] = [];
  private size = 0;

  push(logical: number, original: number, length: number): void {
    if (this.small) {
      this.small.push(logical, original, length);
      if (this.small.length < 192) return;
      for (const n of this.small) this.store(n);
      this.small = undefined;
      return;
    }
    this.store(logical);
    this.store(original);
    this.store(length);
  }

  private store(n: number): void {
    const offset = this.size % BLOCK;
    if (offset === 0) this.blocks.push(new Int32Array(BLOCK));
    (this.blocks[this.blocks.length - 1] as Int32Array)[offset] = n;
    this.size++;
  }

  done(): SegmentList {
    if (this.small) return this.small;
    const blocks = this.blocks;
    return { length: this.size, at: (i) => (blocks[Math.floor(i / BLOCK)] as Int32Array)[i % BLOCK] as number };
  }
}

/** Read access to segment triples (a plain array, or blocks). */
export type SegmentList = readonly number[] | { readonly length: number; at(index: number): number };

function segmentAt(list: SegmentList, index: number): number {
  return Array.isArray(list) ? (list[index] as number) : (list as { at(index: number): number }).at(index);
}

/** Physical lines, as bufio.Scanner with BuildKit's scanLines: split on "\n", drop trailing "\r"/"\n". */
class Lines {
  private readonly text: string;
  private next = 0;
  /** 1-based number of the current line. */
  number = 0;
  /** The current line's content is text[start, end). */
  start = 0;
  end = 0;

  constructor(text: string) {
    this.text = text;
  }

  advance(): boolean {
    const text = this.text;
    if (this.next >= text.length) return false;
    const nl = text.indexOf("\n", this.next);
    const lineEnd = nl === -1 ? text.length : nl + 1;
    let end = lineEnd;
    while (end > this.next && (text.charCodeAt(end - 1) === 0x0a || text.charCodeAt(end - 1) === 0x0d)) end--;
    this.start = this.next;
    this.end = end;
    this.next = lineEnd;
    this.number++;
    return true;
  }
}

function skipSpace(s: string, from: number, to: number): number {
  let i = from;
  while (i < to && isGoSpaceCode(s.charCodeAt(i))) i++;
  return i;
}

function skipSpaceBack(s: string, from: number, to: number): number {
  let i = to;
  while (i > from && isGoSpaceCode(s.charCodeAt(i - 1))) i--;
  return i;
}

/** BuildKit's line continuation: the escape token as the last non-blank character, unless itself escaped. */
function trimContinuation(s: string, start: number, end: number, esc: number): { end: number; continued: boolean } {
  let e = end;
  while (e > start && (s.charCodeAt(e - 1) === SPACE || s.charCodeAt(e - 1) === TAB)) e--;
  if (e > start && s.charCodeAt(e - 1) === esc && (e - 1 === start || s.charCodeAt(e - 2) !== esc)) return { end: e - 1, continued: true };
  return { end, continued: false };
}

class Directives {
  escapeToken = "\\";
  done = false;
  private readonly seen = new Set<string>();
  private readonly file: string;

  constructor(file: string) {
    this.file = file;
  }

  /** Directives count only until the first line that is not one (an empty line, a comment, an instruction). */
  consider(s: string, start: number, line: number): void {
    if (this.done) return;
    let m: ReturnType<typeof matchDirective> = null;
    if (s.charCodeAt(start) === HASH) {
      let i = start + 1;
      while (i < s.length && isAsciiSpace(s.charCodeAt(i))) i++;
      m = matchDirective(s, i);
    }
    const key = m?.key.toLowerCase();
    if (!m || key === undefined || !VALID_DIRECTIVES.has(key)) {
      this.done = true;
      return;
    }
    if (this.seen.has(key)) {
      throw new DockerfileError({ file: this.file, line, problem: "directive", what: `only one ${key} parser directive can be used`, todo: `remove the repeated "# ${key}=" line` });
    }
    this.seen.add(key);
    if (key === "escape") {
      if (m.value !== "`" && m.value !== "\\") {
        throw new DockerfileError({
          file: this.file,
          line,
          problem: "directive",
          value: m.value,
          what: `invalid escape token '${m.value}' does not match \` or \\`,
          todo: 'use "# escape=`" or "# escape=\\"',
        });
      }
      this.escapeToken = m.value;
    }
  }
}

/**
 * BuildKit's extractBuilderFlags: leading words that start with `--` are flags; quotes and backslashes
 * (always `\`, whatever the escape directive says) are processed inside them; a lone `--` ends the flags.
 */
function extractFlags(text: string, from: number, to: number): { flags: Word[]; restStart: number } {
  const flags: Word[] = [];
  let pos = from;
  for (;;) {
    pos = skipSpace(text, pos, to);
    if (pos === to) return { flags, restStart: to };
    if (text.charCodeAt(pos) !== 0x2d || pos + 1 === to || text.charCodeAt(pos + 1) !== 0x2d) return { flags, restStart: pos };
    const wordStart = pos;
    const word = new TextBuilder();
    let blankOK = false;
    let quote = -1;
    while (pos < to) {
      const c = text.charCodeAt(pos);
      if (quote === -1) {
        if (isGoSpaceCode(c)) break;
        if (c === 0x27 || c === 0x22) {
          quote = c;
          blankOK = true;
          pos++;
          continue;
        }
      } else if (c === quote) {
        quote = -1;
        pos++;
        continue;
      }
      if (c === BACKSLASH) {
        // A backslash at the very end is dropped (and closes an open quote).
        if (pos + 1 === to) {
          quote = -1;
          pos++;
          continue;
        }
        word.add(text[pos + 1] as string);
        pos += 2;
        continue;
      }
      let end = pos + 1;
      while (end < to) {
        const d = text.charCodeAt(end);
        if (d === BACKSLASH || (quote === -1 ? isGoSpaceCode(d) || d === 0x27 || d === 0x22 : d === quote)) break;
        end++;
      }
      word.add(text.slice(pos, end));
      pos = end;
    }
    const value = word.toString();
    if (pos < to && value === "--") return { flags, restStart: pos };
    if (pos === to && value === "--") return { flags, restStart: to };
    if (blankOK || value.length > 0) flags.push({ value, start: wordStart, end: pos });
    if (pos === to) return { flags, restStart: to };
  }
}

/**
 * BuildKit's parseWords (ARG, ENV, LABEL): split on unquoted whitespace, keeping quotes and escapes in
 * the words for the shell expander to process later. Yields the words one at a time.
 */
export function* parseWords(text: string, esc: string, base: number): Generator<Word> {
  const escCode = esc.charCodeAt(0);
  let pos = 0;
  const n = text.length;
  for (;;) {
    pos = skipSpace(text, pos, n);
    if (pos === n) return;
    const start = pos;
    let quote = -1;
    let blankOK = false;
    // A lone escape at the very end is left out of the value (but not of the span).
    let dropLast = false;
    while (pos < n) {
      const c = text.charCodeAt(pos);
      if (quote === -1) {
        if (isGoSpaceCode(c)) break;
        if (c === 0x27 || c === 0x22) {
          quote = c;
          blankOK = true;
          pos++;
          continue;
        }
        if (c === escCode) {
          if (pos + 1 === n) {
            dropLast = true;
            pos++;
            continue;
          }
          pos += 2;
          continue;
        }
        pos++;
        continue;
      }
      if (c === quote) {
        quote = -1;
        pos++;
        continue;
      }
      if (c === escCode && quote !== 0x27) {
        if (pos + 1 === n) {
          dropLast = true;
          pos++;
          continue;
        }
        pos += 2;
        continue;
      }
      pos++;
    }
    const value = text.slice(start, dropLast ? pos - 1 : pos);
    if (blankOK || value.length > 0) yield { value, start: base + start, end: base + pos };
  }
}

/**
 * Whitespace-delimited arguments (FROM): BuildKit splits on `[\t\v\f\r ]+` without quote handling.
 * At most `max` words are returned (a caller that needs three asks for four, not for millions).
 */
export function splitWhitespace(text: string, base: number, max = Infinity): Word[] {
  const words: Word[] = [];
  if (text === "") return words;
  const re = /[\t\v\f\r ]+/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    words.push({ value: text.slice(last, m.index), start: base + last, end: base + m.index });
    last = m.index + m[0].length;
    if (words.length >= max) return words;
  }
  words.push({ value: text.slice(last), start: base + last, end: base + text.length });
  return words;
}

/** parseJSON: an exec-form array must hold strings only; anything that is not JSON is shell form. */
function isJsonArgs(args: string, line: number, file: string): boolean {
  if (!args.startsWith("[")) return false;
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    return false;
  }
  if (!Array.isArray(parsed)) return false;
  if (!parsed.every((v) => typeof v === "string")) {
    throw new DockerfileError({ file, line, problem: "json-args", what: "when using JSON array syntax, arrays must be comprised of strings only", todo: "fix the Dockerfile syntax" });
  }
  return true;
}

function isSplitSpace(c: number): boolean {
  return c === SPACE || c === TAB || c === 0x0b || c === 0x0c || c === 0x0d;
}

/** splitCommand + the line parser dispatch: instruction name, flags, arguments, exec form. */
function parseInstruction(line: LogicalLine, from: number, to: number, file: string, nested: boolean): Instruction {
  const text = line.text;
  const lead = skipSpace(text, from, to);
  const end = skipSpaceBack(text, lead, to);
  let ws = lead;
  while (ws < end && !isSplitSpace(text.charCodeAt(ws))) ws++;
  const keyword = text.slice(lead, ws).toLowerCase();
  let flags: Word[] = [];
  let args = "";
  let argsStart = end;
  if (ws < end) {
    let restStart = ws;
    while (restStart < end && isSplitSpace(text.charCodeAt(restStart))) restStart++;
    const extracted = extractFlags(text, restStart, end);
    flags = extracted.flags;
    argsStart = skipSpace(text, extracted.restStart, end);
    args = text.slice(argsStart, skipSpaceBack(text, argsStart, end));
  }
  const instruction: Instruction = { keyword, line, flags, args, argsStart, json: false, heredocs: [] };
  if (JSON_INSTRUCTIONS.has(keyword) && args !== "") instruction.json = isJsonArgs(args, line.startLine, file);
  if (keyword === "onbuild" && args !== "" && !nested) instruction.sub = parseInstruction(line, argsStart, argsStart + args.length, file, true);
  return instruction;
}

/** Delimiters of the heredocs an instruction line opens (`<<EOF`, `<<-EOF`, `<<"EOF"`, `2<<EOF`...). */
function heredocNames(lineText: string): { name: string; chomp: boolean }[] {
  // Expansion here only removes characters, so a line without "<<" opens no heredoc.
  if (!lineText.includes("<<")) return [];
  let words: string[];
  try {
    words = processWord(lineText, new Map(), { rawQuotes: true, rawEscapes: true, skipUnsetEnv: true }).words;
  } catch (err) {
    // BuildKit ignores the expander's errors here too (heredocsFromLine).
    if (err instanceof ShellError) return [];
    throw err;
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
    } catch (err) {
      if (err instanceof ShellError) continue;
      throw err;
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

/** Whether the text from `start` to `end` is exactly `name`, after dropping leading tabs when `chomp`. */
function isHeredocEnd(text: string, start: number, end: number, name: string, chomp: boolean): boolean {
  let s = start;
  if (chomp) while (s < end && text.charCodeAt(s) === TAB) s++;
  return end - s === name.length && text.startsWith(name, s);
}

/**
 * Parse a Dockerfile's text (already decoded), handing each instruction with its source offsets to
 * `onInstruction` in file order. Returns the escape token the directives chose.
 * Throws DockerfileError for what BuildKit's parser rejects.
 */
export function parseDockerfile(text: string, file: string, onInstruction: (instruction: Instruction) => void): { escapeToken: string } {
  const lines = new Lines(text);
  const directives = new Directives(file);
  while (lines.advance()) {
    let start = lines.start;
    if (lines.number === 1 && text.charCodeAt(start) === 0xfeff && start < lines.end) start++;
    start = skipSpace(text, start, lines.end);
    if (!directives.done) directives.consider(text.slice(start, lines.end), 0, lines.number);
    const startLine = lines.number;
    const esc = directives.escapeToken.charCodeAt(0);
    const isComment = text.charCodeAt(start) === HASH;
    const first = isComment ? { end: start, continued: false } : trimContinuation(text, start, lines.end, esc);
    if (!first.continued && first.end === start) continue;

    const segments = new Segments();
    segments.push(0, start, first.end - start);
    let joined: TextBuilder | undefined;
    let continued = first.continued;
    while (continued && lines.advance()) {
      const lead = skipSpace(text, lines.start, lines.end);
      // Comment lines and blank lines inside a continued instruction are dropped.
      if (lead === lines.end || text.charCodeAt(lead) === HASH) continue;
      const part = trimContinuation(text, lines.start, lines.end, esc);
      if (!joined) {
        joined = new TextBuilder();
        joined.add(text.slice(start, first.end));
      }
      segments.push(joined.length, lines.start, part.end - lines.start);
      joined.add(text.slice(lines.start, part.end));
      continued = part.continued;
    }

    const lineText = joined ? joined.toString() : text.slice(start, first.end);
    const line: LogicalLine = { text: lineText, startLine, segments: segments.done() };
    const instruction = parseInstruction(line, 0, lineText.length, file, false);
    if (canContainHeredoc(instruction)) {
      for (const heredoc of heredocNames(lineText)) {
        let terminated = false;
        while (lines.advance()) {
          if (isHeredocEnd(text, lines.start, lines.end, heredoc.name, heredoc.chomp)) {
            terminated = true;
            break;
          }
        }
        if (!terminated) {
          throw new DockerfileError({
            file,
            line: startLine,
            problem: "heredoc-unterminated",
            value: heredoc.name,
            what: `unterminated heredoc <<${heredoc.name}`,
            todo: `end it with a line that is exactly "${heredoc.name}"`,
          });
        }
        instruction.heredocs.push(heredoc.name);
      }
    }
    onInstruction(instruction);
  }
  return { escapeToken: directives.escapeToken };
}

/** Map a logical span to the original text; null when it crosses a line continuation. */
export function originalSpan(line: LogicalLine, start: number, end: number): { start: number; end: number } | null {
  const segs = line.segments;
  const count = segs.length / 3;
  // The first segment that ends at or after `start` (after it, for a non-empty span); segments are sorted.
  let lo = 0;
  let hi = count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const segEnd = segmentAt(segs, mid * 3) + segmentAt(segs, mid * 3 + 2);
    if (start === end ? segEnd < start : segEnd <= start) lo = mid + 1;
    else hi = mid;
  }
  if (lo === count) return null;
  const logical = segmentAt(segs, lo * 3);
  const original = segmentAt(segs, lo * 3 + 1);
  const length = segmentAt(segs, lo * 3 + 2);
  if (start < logical || end > logical + length) return null;
  return { start: original + (start - logical), end: original + (end - logical) };
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
    const m = matchDirective(raw, skipSpace(raw, 1, raw.length));
    const key = m?.key.toLowerCase();
    if (!m || key === undefined || !VALID_DIRECTIVES.has(key) || seen.has(key)) return null;
    seen.add(key);
    if (key !== "syntax") continue;
    const space = m.value.indexOf(" ");
    const image = space === -1 ? m.value : m.value.slice(0, space);
    const valueStart = lineStart + m.valueStart;
    return { image, line: lineNo, start: valueStart, end: valueStart + image.length };
  }
  return null;
}
