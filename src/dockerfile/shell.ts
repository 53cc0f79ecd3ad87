/**
 * The word expander of BuildKit's Dockerfile frontend (frontend/dockerfile/shell), re-implemented from
 * its observable behaviour: `$VAR`, `${VAR}`, `${VAR:-w}` `${VAR-w}` `${VAR:+w}` `${VAR+w}` `${VAR:?m}`
 * `${VAR?m}`, `${VAR#p}` `${VAR##p}` `${VAR%p}` `${VAR%%p}`, `${VAR/p/r}` `${VAR//p/r}`, single and
 * double quotes, and the escape token (`\` or a backtick from `# escape=`).
 *
 * It is not a POSIX shell on purpose: BuildKit's quirks decide what image a FROM names, so they are
 * kept (e.g. `${VAR:#p}` behaves like `${VAR#p}`, an escape inside double quotes only escapes `"`,
 * `$` and itself, `$1` is an (unset) variable, unset variables expand to "").
 */
import { compilePattern, prefixMatchEnd, searchMatch, type Pattern } from "./glob.js";
import { ShellError } from "./shell-error.js";
import { TextBuilder, codePointLength, isGoSpaceCode } from "./text.js";

export { isGoSpace } from "./text.js";
export { ShellError, type ShellProblem } from "./shell-error.js";

export interface ShellOptions {
  escapeToken?: string;
  /** Keep quote characters in the result (used to tell quoted heredoc delimiters apart). */
  rawQuotes?: boolean;
  /** Keep escape characters in the result. */
  rawEscapes?: boolean;
  /** Leave `$VAR` / `${VAR...}` as written when VAR is unset instead of expanding to "". */
  skipUnsetEnv?: boolean;
}

export interface ShellResult {
  /** The expanded word (BuildKit's ProcessWord). */
  result: string;
  /** The expansion split into words on unquoted whitespace (BuildKit's ProcessWords). */
  words: string[];
  /** Variables that were looked up and found. */
  matched: Set<string>;
  /** Variables that were looked up and not set. */
  unmatched: Set<string>;
}

/**
 * How deeply `${...}` substitutions (and the quotes inside them) may nest. BuildKit recurses without a
 * limit on Go's growable stack; ours is fixed, and no real Dockerfile nests more than a few levels.
 */
export const MAX_SHELL_NESTING = 200;

const EOF = -1;
const DOLLAR = 0x24;
const SINGLE = 0x27;
const DOUBLE = 0x22;

function isLetter(ch: string): boolean {
  const c = ch.charCodeAt(0);
  if (c < 0x80) return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
  return /^\p{L}$/u.test(ch);
}

function isDigit(ch: string): boolean {
  const c = ch.charCodeAt(0);
  if (c < 0x80) return c >= 0x30 && c <= 0x39;
  return /^\p{Nd}$/u.test(ch);
}

const SPECIAL_PARAMS = new Set(["@", "*", "#", "?", "-", "$", "!", "0"]);

/** BuildKit's word splitting: unquoted whitespace ends a word; quoted or escaped text never does. */
class Words {
  private word = new TextBuilder();
  private readonly words: string[] = [];

  /** Text whose whitespace splits words (plain characters, variable values). */
  addSplitting(s: string): void {
    let start = 0;
    for (let i = 0; i < s.length; i++) {
      if (!isGoSpaceCode(s.charCodeAt(i))) continue;
      this.word.add(s.slice(start, i));
      this.flush();
      start = i + 1;
    }
    this.word.add(s.slice(start));
  }

  /** Text that stays in the current word (quoted, escaped). */
  addRaw(s: string): void {
    this.word.add(s);
  }

  private flush(): void {
    if (this.word.length === 0) return;
    this.words.push(this.word.toString());
    this.word = new TextBuilder();
  }

  get(): string[] {
    this.flush();
    return this.words;
  }
}

class Lexer {
  private readonly src: string;
  private pos = 0;
  private depth = 0;
  private rawEscapes: boolean;
  private readonly escapeCode: number;
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();

  private readonly env: ReadonlyMap<string, string>;
  private readonly opts: Required<ShellOptions>;

  constructor(source: string, env: ReadonlyMap<string, string>, opts: Required<ShellOptions>) {
    this.env = env;
    this.opts = opts;
    this.src = source;
    this.rawEscapes = opts.rawEscapes;
    this.escapeCode = opts.escapeToken.charCodeAt(0);
  }

  /** The code point at the cursor as a string, or EOF. */
  private peek(): string | typeof EOF {
    if (this.pos >= this.src.length) return EOF;
    return this.src.slice(this.pos, this.pos + codePointLength(this.src, this.pos));
  }

  private next(): string | typeof EOF {
    const ch = this.peek();
    if (ch !== EOF) this.pos += ch.length;
    return ch;
  }

  run(): { result: string; words: string[] } {
    return this.processStopOn(EOF, this.rawEscapes);
  }

  private processStopOn(stop: string | typeof EOF, rawEscapes: boolean): { result: string; words: string[] } {
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    const stopCode = stop === EOF ? -1 : stop.charCodeAt(0);
    const src = this.src;
    try {
      const result = new TextBuilder();
      const words = new Words();
      while (this.pos < src.length) {
        const code = src.charCodeAt(this.pos);
        if (code === stopCode) {
          this.pos++;
          return { result: result.toString(), words: words.get() };
        }
        if (code === DOLLAR) {
          const tmp = this.processDollar();
          result.add(tmp);
          words.addSplitting(tmp);
        } else if (code === SINGLE) {
          const tmp = this.processSingleQuote();
          result.add(tmp);
          words.addRaw(tmp);
        } else if (code === DOUBLE) {
          const tmp = this.processDoubleQuote();
          result.add(tmp);
          words.addRaw(tmp);
        } else if (code === this.escapeCode) {
          this.pos++;
          if (this.rawEscapes) {
            words.addRaw(this.opts.escapeToken);
            result.add(this.opts.escapeToken);
          }
          const escaped = this.next();
          if (escaped === EOF) break;
          words.addRaw(escaped);
          result.add(escaped);
        } else {
          // A run of plain characters: none of them is special (all special characters are ASCII).
          let end = this.pos + 1;
          while (end < src.length) {
            const c = src.charCodeAt(end);
            if (c === stopCode || c === DOLLAR || c === SINGLE || c === DOUBLE || c === this.escapeCode) break;
            end++;
          }
          const run = src.slice(this.pos, end);
          this.pos = end;
          words.addSplitting(run);
          result.add(run);
        }
      }
      if (stop !== EOF) throw new ShellError("unterminated", `unexpected end of statement while looking for matching ${stop}`);
      return { result: result.toString(), words: words.get() };
    } finally {
      this.rawEscapes = saved;
    }
  }

  private processSingleQuote(): string {
    const open = this.pos;
    const close = this.src.indexOf("'", open + 1);
    if (close === -1) {
      this.pos = this.src.length;
      throw new ShellError("unterminated", "unexpected end of statement while looking for matching single-quote");
    }
    this.pos = close + 1;
    return this.opts.rawQuotes ? this.src.slice(open, close + 1) : this.src.slice(open + 1, close);
  }

  private processDoubleQuote(): string {
    const result = new TextBuilder();
    const src = this.src;
    if (this.opts.rawQuotes) result.add('"');
    this.pos++;
    for (;;) {
      if (this.pos >= src.length) throw new ShellError("unterminated", "unexpected end of statement while looking for matching double-quote");
      const code = src.charCodeAt(this.pos);
      if (code === DOUBLE) {
        this.pos++;
        if (this.opts.rawQuotes) result.add('"');
        return result.toString();
      }
      if (code === DOLLAR) {
        result.add(this.processDollar());
        continue;
      }
      if (code === this.escapeCode) {
        this.pos++;
        const esc = this.opts.escapeToken;
        if (this.rawEscapes) result.add(esc);
        const after = this.pos < src.length ? src.charCodeAt(this.pos) : EOF;
        if (after === EOF) continue;
        if (after === DOUBLE || after === DOLLAR || after === this.escapeCode) {
          result.add(src[this.pos] as string);
          this.pos++;
        } else {
          result.add(esc);
        }
        continue;
      }
      let end = this.pos + 1;
      while (end < src.length) {
        const c = src.charCodeAt(end);
        if (c === DOUBLE || c === DOLLAR || c === this.escapeCode) break;
        end++;
      }
      result.add(src.slice(this.pos, end));
      this.pos = end;
    }
  }

  private processName(): string {
    const start = this.pos;
    let first = true;
    for (;;) {
      const ch = this.peek();
      if (ch === EOF) break;
      if (first && isDigit(ch)) {
        for (let d = this.peek(); d !== EOF && isDigit(d); d = this.peek()) this.pos += d.length;
        return this.src.slice(start, this.pos);
      }
      if (first && SPECIAL_PARAMS.has(ch)) {
        this.pos += ch.length;
        return ch;
      }
      if (!isLetter(ch) && !isDigit(ch) && ch !== "_") break;
      this.pos += ch.length;
      first = false;
    }
    return this.src.slice(start, this.pos);
  }

  private getEnv(name: string): { value: string; set: boolean } {
    const value = this.env.get(name);
    if (value === undefined) {
      this.unmatched.add(name);
      return { value: "", set: false };
    }
    this.matched.add(name);
    return { value, set: true };
  }

  private stopOnBrace(stop: string, raw: boolean, missing: string): string {
    try {
      return this.processStopOn(stop, raw).result;
    } catch (err) {
      if (err instanceof ShellError && err.problem === "too-deep") throw err;
      if (this.peek() === EOF) throw new ShellError("unterminated", missing);
      throw err;
    }
  }

  private processDollar(): string {
    this.next();
    if (this.peek() !== "{") {
      const name = this.processName();
      if (name === "") return "$";
      const { value, set } = this.getEnv(name);
      if (!set && this.opts.skipUnsetEnv) return "$" + name;
      return value;
    }
    if (this.depth >= MAX_SHELL_NESTING) {
      throw new ShellError("too-deep", `variable substitutions nested more than ${MAX_SHELL_NESTING} deep`);
    }
    this.depth++;
    try {
      return this.processBraced();
    } finally {
      this.depth--;
    }
  }

  private processBraced(): string {
    this.next();
    const first = this.peek();
    if (first === EOF) throw new ShellError("unterminated", "syntax error: missing '}'");
    if (first === "{" || first === "}" || first === ":") throw new ShellError("bad-substitution", "syntax error: bad substitution");

    const name = this.processName();
    let ch = this.next();
    let chs = ch === EOF ? "" : ch;
    let nullIsUnset = false;

    if (ch === "}") {
      const { value, set } = this.getEnv(name);
      if (!set && this.opts.skipUnsetEnv) return `\${${name}}`;
      return value;
    }
    if (ch === ":") {
      nullIsUnset = true;
      ch = this.next();
      chs += ch === EOF ? "" : ch;
    } else if (ch === "/") {
      const replaceAll = this.peek() === "/";
      if (replaceAll) this.next();
      const pattern = this.stopOnBrace("/", true, "syntax error: missing '/' in ${}");
      const replacement = this.stopOnBrace("}", true, "syntax error: missing '}'");
      const { value, set } = this.getEnv(name);
      if (!set && this.opts.skipUnsetEnv) return `\${${name}/${pattern}/${replacement}}`;
      const compiled = compilePattern(pattern);
      if (replaceAll) return goReplaceAll(value, compiled, replacement);
      const m = searchMatch(compiled, value, 0);
      return m ? value.slice(0, m.index) + replacement + value.slice(m.end) : value;
    } else if (ch !== "+" && ch !== "-" && ch !== "?" && ch !== "#" && ch !== "%") {
      throw new ShellError("unsupported-modifier", `unsupported modifier (${chs}) in substitution`);
    }

    // ch is now the operator (after an optional ':'); an unknown one is reported after reading the word, as BuildKit does.
    const raw = ch === "#" || ch === "%";
    let word = this.stopOnBrace("}", raw, "syntax error: missing '}'");
    const { value, set } = this.getEnv(name);
    if (!set && this.opts.skipUnsetEnv) return `\${${name}${chs}${word}}`;
    const unset = !set || (nullIsUnset && value === "");
    switch (ch) {
      case "-":
        return unset ? word : value;
      case "+":
        return unset ? "" : word;
      case "?":
        if (!set) throw new ShellError("required-variable", `${name}: ${word !== "" ? word : "is not allowed to be unset"}`);
        if (nullIsUnset && value === "") throw new ShellError("required-variable", `${name}: ${word !== "" ? word : "is not allowed to be empty"}`);
        return value;
      case "#":
      case "%": {
        let greedy = false;
        if (word.startsWith(ch)) {
          greedy = true;
          word = word.slice(1);
        }
        return ch === "%" ? trimSuffix(word, value, greedy) : trimPrefix(word, value, greedy);
      }
      default:
        throw new ShellError("unsupported-modifier", `unsupported modifier (${chs}) in substitution`);
    }
  }
}

function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const end = prefixMatchEnd(compilePattern(pattern), value, 0, greedy);
  return end === -1 ? value : value.slice(end);
}

/** UTF-16 code units back to a string, a slice at a time (no argument list as long as the text). */
function fromCodeUnits(units: Uint16Array): string {
  const out = new TextBuilder();
  for (let i = 0; i < units.length; i += 8192) out.add(String.fromCharCode(...units.subarray(i, i + 8192)));
  return out.toString();
}

/**
 * Reverse `s` by tokens: code points, and with `escapes` an escape and the code point after it stay
 * together in their order (`a\*c` becomes `c\*a`). Each token's code units are written, in order, at
 * the mirrored position, so surrogate pairs survive.
 */
function reverseTokens(s: string, escapes: boolean): string {
  const n = s.length;
  const out = new Uint16Array(n);
  let i = 0;
  while (i < n) {
    let len = codePointLength(s, i);
    if (escapes && s[i] === "\\" && i + 1 < n) len = 1 + codePointLength(s, i + 1);
    for (let k = 0; k < len; k++) out[n - i - len + k] = s.charCodeAt(i + k);
    i += len;
  }
  return fromCodeUnits(out);
}

/** Shortest (or longest) suffix match: reverse both sides and reuse the prefix search, as BuildKit does. */
function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  return reverseTokens(trimPrefix(reverseTokens(pattern, true), reverseTokens(value, false), greedy), false);
}

/**
 * Go's Regexp.ReplaceAllString: empty matches right after a previous match are skipped, and the
 * replacement is a template (`$0`/`${0}` is the match, `$$` a dollar, any other `$name` is empty).
 */
function goReplaceAll(value: string, pattern: Pattern, template: string): string {
  const out = new TextBuilder();
  let last = 0;
  let prevEnd = -1;
  let from = 0;
  while (from <= value.length) {
    const m = searchMatch(pattern, value, from);
    if (m === null) break;
    const { index: start, end } = m;
    if (start === end) {
      from = end + (end < value.length ? codePointLength(value, end) : 1);
      if (start === prevEnd) continue;
    } else {
      from = end;
    }
    out.add(value.slice(last, start));
    out.add(expandTemplate(template, value.slice(start, end)));
    last = end;
    prevEnd = end;
  }
  out.add(value.slice(last));
  return out.toString();
}

function expandTemplate(template: string, match: string): string {
  return template.replace(/\$(\$|\{([A-Za-z0-9_]*)\}|([A-Za-z0-9_]+))/g, (whole, _all: string, braced?: string, bare?: string) => {
    if (whole === "$$") return "$";
    const name = braced ?? bare;
    if (name === undefined) return whole;
    if (braced !== undefined && braced === "") return whole;
    return name === "0" ? match : "";
  });
}

/**
 * Expand `word` against `env` the way BuildKit's shell lexer does.
 * Throws ShellError on syntax errors (unterminated quotes, bad substitutions, `${VAR:?msg}`).
 */
export function processWord(word: string, env: ReadonlyMap<string, string>, options: ShellOptions = {}): ShellResult {
  const opts: Required<ShellOptions> = {
    escapeToken: options.escapeToken ?? "\\",
    rawQuotes: options.rawQuotes ?? false,
    rawEscapes: options.rawEscapes ?? false,
    skipUnsetEnv: options.skipUnsetEnv ?? false,
  };
  const lexer = new Lexer(word, env, opts);
  const { result, words } = lexer.run();
  return { result, words, matched: lexer.matched, unmatched: lexer.unmatched };
}
