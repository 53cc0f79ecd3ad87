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

export class ShellError extends Error {
  override name = "ShellError";
}

const EOF = -1;

/** Go's unicode.IsSpace (JS `\s` differs: it has U+FEFF and lacks U+0085). */
export function isGoSpace(ch: string): boolean {
  return /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/u.test(ch);
}

function isLetter(ch: string): boolean {
  return /^\p{L}$/u.test(ch);
}

function isDigit(ch: string): boolean {
  return /^\p{Nd}$/u.test(ch);
}

const SPECIAL_PARAMS = new Set(["@", "*", "#", "?", "-", "$", "!", "0"]);

class Words {
  word = "";
  words: string[] = [];
  inWord = false;

  addChar(ch: string): void {
    if (isGoSpace(ch)) {
      if (this.inWord && this.word.length > 0) {
        this.words.push(this.word);
        this.word = "";
        this.inWord = false;
      }
    } else {
      this.addRawChar(ch);
    }
  }

  addRawChar(ch: string): void {
    this.word += ch;
    this.inWord = true;
  }

  addString(s: string): void {
    for (const ch of s) this.addChar(ch);
  }

  addRawString(s: string): void {
    this.word += s;
    this.inWord = true;
  }

  get(): string[] {
    if (this.word.length > 0) {
      this.words.push(this.word);
      this.word = "";
      this.inWord = false;
    }
    return this.words;
  }
}

class Lexer {
  private readonly chars: string[];
  private pos = 0;
  private rawEscapes: boolean;
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();

  private readonly env: ReadonlyMap<string, string>;
  private readonly opts: Required<ShellOptions>;

  constructor(source: string, env: ReadonlyMap<string, string>, opts: Required<ShellOptions>) {
    this.env = env;
    this.opts = opts;
    this.chars = Array.from(source);
    this.rawEscapes = opts.rawEscapes;
  }

  private peek(): string | typeof EOF {
    return this.pos < this.chars.length ? (this.chars[this.pos] as string) : EOF;
  }

  private next(): string | typeof EOF {
    return this.pos < this.chars.length ? (this.chars[this.pos++] as string) : EOF;
  }

  run(): { result: string; words: string[] } {
    return this.processStopOn(EOF, this.rawEscapes);
  }

  private processStopOn(stop: string | typeof EOF, rawEscapes: boolean): { result: string; words: string[] } {
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      let result = "";
      const words = new Words();
      while (this.peek() !== EOF) {
        const ch = this.peek() as string;
        if (stop !== EOF && ch === stop) {
          this.next();
          return { result, words: words.get() };
        }
        if (ch === "$") {
          const tmp = this.processDollar();
          result += tmp;
          words.addString(tmp);
        } else if (ch === "'") {
          const tmp = this.processSingleQuote();
          result += tmp;
          words.addRawString(tmp);
        } else if (ch === '"') {
          const tmp = this.processDoubleQuote();
          result += tmp;
          words.addRawString(tmp);
        } else {
          let c = this.next() as string;
          if (c === this.opts.escapeToken) {
            if (this.rawEscapes) {
              words.addRawChar(c);
              result += c;
            }
            const escaped = this.next();
            if (escaped === EOF) break;
            c = escaped;
            words.addRawChar(c);
          } else {
            words.addChar(c);
          }
          result += c;
        }
      }
      if (stop !== EOF) throw new ShellError(`unexpected end of statement while looking for matching ${stop}`);
      return { result, words: words.get() };
    } finally {
      this.rawEscapes = saved;
    }
  }

  private processSingleQuote(): string {
    let result = "";
    const open = this.next() as string;
    if (this.opts.rawQuotes) result += open;
    for (;;) {
      const ch = this.next();
      if (ch === EOF) throw new ShellError("unexpected end of statement while looking for matching single-quote");
      if (ch === "'") {
        if (this.opts.rawQuotes) result += ch;
        return result;
      }
      result += ch;
    }
  }

  private processDoubleQuote(): string {
    let result = "";
    const open = this.next() as string;
    if (this.opts.rawQuotes) result += open;
    for (;;) {
      const p = this.peek();
      if (p === EOF) throw new ShellError("unexpected end of statement while looking for matching double-quote");
      if (p === '"') {
        this.next();
        if (this.opts.rawQuotes) result += p;
        return result;
      }
      if (p === "$") {
        result += this.processDollar();
        continue;
      }
      let ch = this.next() as string;
      if (ch === this.opts.escapeToken) {
        if (this.rawEscapes) result += ch;
        const after = this.peek();
        if (after === EOF) continue;
        if (after === '"' || after === "$" || after === this.opts.escapeToken) ch = this.next() as string;
      }
      result += ch;
    }
  }

  private processName(): string {
    let name = "";
    while (this.peek() !== EOF) {
      const ch = this.peek() as string;
      if (name.length === 0 && isDigit(ch)) {
        while (this.peek() !== EOF && isDigit(this.peek() as string)) name += this.next() as string;
        return name;
      }
      if (name.length === 0 && SPECIAL_PARAMS.has(ch)) {
        this.next();
        return ch;
      }
      if (!isLetter(ch) && !isDigit(ch) && ch !== "_") break;
      name += this.next() as string;
    }
    return name;
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
      if (this.peek() === EOF) throw new ShellError(missing);
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
    this.next();
    const first = this.peek();
    if (first === EOF) throw new ShellError("syntax error: missing '}'");
    if (first === "{" || first === "}" || first === ":") throw new ShellError("syntax error: bad substitution");

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
      const re = shellPatternToRegex(pattern, true, false);
      if (replaceAll) return goReplaceAll(value, re, replacement);
      const m = re.exec(value);
      return m ? value.slice(0, m.index) + replacement + value.slice(m.index + m[0].length) : value;
    } else if (ch !== "+" && ch !== "-" && ch !== "?" && ch !== "#" && ch !== "%") {
      throw new ShellError(`unsupported modifier (${chs}) in substitution`);
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
        if (!set) throw new ShellError(`${name}: ${word !== "" ? word : "is not allowed to be unset"}`);
        if (nullIsUnset && value === "") throw new ShellError(`${name}: ${word !== "" ? word : "is not allowed to be empty"}`);
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
        throw new ShellError(`unsupported modifier (${chs}) in substitution`);
    }
  }
}

/** A shell wildcard pattern (`*`, `?`, backslash escapes; no brackets) as a regular expression. */
function shellPatternToRegex(pattern: string, greedy: boolean, anchored: boolean): RegExp {
  const chars = Array.from(pattern);
  let out = anchored ? "^" : "";
  for (let i = 0; i < chars.length; i++) {
    const tok = chars[i] as string;
    if (tok === "*") {
      out += greedy ? ".*" : ".*?";
      continue;
    }
    if (tok === "?") {
      out += ".";
      continue;
    }
    if (tok === "\\") {
      const nextCh = chars[i + 1];
      // `}` and `/` are escaped only to get them past the ${} parser; the escape is not part of the pattern.
      if (nextCh === "}" || nextCh === "/") continue;
      if (nextCh !== "*" && nextCh !== "?" && nextCh !== "\\") {
        throw new ShellError(`invalid pattern (${pattern}) in substitution: invalid escape '\\${nextCh ?? ""}'`);
      }
      out += "\\" + nextCh;
      i++;
      continue;
    }
    if ("[]{}.+()|^$".includes(tok)) out += "\\";
    out += tok;
  }
  return new RegExp(out, "u");
}

function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const m = shellPatternToRegex(pattern, greedy, true).exec(value);
  return m ? value.slice(m.index + m[0].length) : value;
}

/** Reverse a pattern without splitting escape pairs (`a\*c` becomes `c\*a`). */
function reversePattern(pattern: string): string {
  const chars = Array.from(pattern);
  const out: string[] = new Array<string>(chars.length);
  const last = chars.length - 1;
  for (let i = 0; i <= last; ) {
    const tok = chars[i] as string;
    const outIdx = last - i;
    if (tok === "\\" && i !== last) {
      out[outIdx - 1] = tok;
      out[outIdx] = chars[i + 1] as string;
      i += 2;
    } else {
      out[outIdx] = tok;
      i++;
    }
  }
  return out.join("");
}

function reverseString(s: string): string {
  return Array.from(s).reverse().join("");
}

/** Shortest (or longest) suffix match: reverse both sides and reuse the prefix search, as BuildKit does. */
function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  return reverseString(trimPrefix(reversePattern(pattern), reverseString(value), greedy));
}

/**
 * Go's Regexp.ReplaceAllString: empty matches right after a previous match are skipped, and the
 * replacement is a template (`$0`/`${0}` is the match, `$$` a dollar, any other `$name` is empty).
 */
function goReplaceAll(value: string, re: RegExp, template: string): string {
  const global = new RegExp(re.source, "gu");
  let out = "";
  let last = 0;
  let prevEnd = -1;
  let m: RegExpExecArray | null;
  while ((m = global.exec(value)) !== null) {
    const start = m.index;
    const end = start + m[0].length;
    if (m[0].length === 0) {
      global.lastIndex = end + (value.codePointAt(end) !== undefined && (value.codePointAt(end) as number) > 0xffff ? 2 : 1);
      if (start === prevEnd) continue;
    }
    out += value.slice(last, start) + expandTemplate(template, m[0]);
    last = end;
    prevEnd = end;
    if (global.lastIndex > value.length) break;
  }
  return out + value.slice(last);
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
