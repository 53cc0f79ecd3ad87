/**
 * The shell patterns of `${VAR#p}`, `${VAR%p}` and `${VAR/p/r}` (`*`, `?`, backslash escapes), matched
 * by simulating all positions of the pattern at once (a Thompson NFA): O(value × pattern) for any input.
 * BuildKit compiles them to Go regexps, which are linear too; a JavaScript RegExp backtracks, and a
 * pattern like `*a*a*a…c` against `aaaa…` took tens of seconds.
 *
 * Semantics are those of the regexp BuildKit builds: `*` is `.*` (greedy, or lazy for the shortest
 * prefix), `?` is `.`, and `.` matches one code point but no line terminator.
 */
import { ShellError } from "./shell-error.js";

type Token = { kind: "literal"; text: string } | { kind: "any" } | { kind: "star" };

export interface Pattern {
  tokens: Token[];
}

function codePointAt(s: string, i: number): string {
  const c = s.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
    const d = s.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return s.slice(i, i + 2);
  }
  return s[i] as string;
}

function isLineTerminator(ch: string): boolean {
  return ch === "\n" || ch === "\r" || ch === "\u2028" || ch === "\u2029";
}

/** Tokens of a pattern; a backslash escapes `*`, `?` and itself, and is dropped before `}` and `/`. */
export function compilePattern(pattern: string): Pattern {
  const tokens: Token[] = [];
  let i = 0;
  while (i < pattern.length) {
    const ch = codePointAt(pattern, i);
    if (ch === "*") tokens.push({ kind: "star" });
    else if (ch === "?") tokens.push({ kind: "any" });
    else if (ch === "\\") {
      const next = i + 1 < pattern.length ? codePointAt(pattern, i + 1) : undefined;
      i++;
      // `}` and `/` are escaped only to get them past the ${} parser; the escape is not part of the pattern.
      if (next === "}" || next === "/") continue;
      if (next !== "*" && next !== "?" && next !== "\\") {
        throw new ShellError("invalid-pattern", `invalid pattern (${pattern}) in substitution: invalid escape '\\${next ?? ""}'`);
      }
      tokens.push({ kind: "literal", text: next });
    } else tokens.push({ kind: "literal", text: ch });
    i += ch.length;
  }
  return { tokens };
}

/** Pattern positions active at one point of the value, each with the earliest start that reaches it. */
class States {
  readonly start: Int32Array;
  readonly list: number[] = [];

  constructor(size: number) {
    this.start = new Int32Array(size).fill(-1);
  }

  /** Activate `state` (and, through leading stars, the states after it) for a match begun at `from`. */
  add(tokens: Token[], state: number, from: number): void {
    let s = state;
    for (;;) {
      if (this.start[s] !== -1) return;
      this.start[s] = from;
      this.list.push(s);
      if (s < tokens.length && (tokens[s] as Token).kind === "star") s++;
      else return;
    }
  }

  clear(): void {
    for (const s of this.list) this.start[s] = -1;
    this.list.length = 0;
  }
}

/** Advance every thread over the code point `ch`, in priority order (earliest start first). */
function step(tokens: Token[], current: States, next: States, ch: string): void {
  const ordered = current.list.slice().sort((a, b) => (current.start[a] as number) - (current.start[b] as number));
  for (const s of ordered) {
    if (s === tokens.length) continue;
    const token = tokens[s] as Token;
    const from = current.start[s] as number;
    if (token.kind === "literal") {
      if (token.text === ch) next.add(tokens, s + 1, from);
    } else if (!isLineTerminator(ch)) {
      next.add(tokens, token.kind === "star" ? s : s + 1, from);
      if (token.kind === "star") next.add(tokens, s + 1, from);
    }
  }
}

/**
 * The end of the shortest (or, `longest`, the longest) match of `pattern` that starts at `from`
 * in `value`, or -1 when none does.
 */
export function prefixMatchEnd(pattern: Pattern, value: string, from: number, longest: boolean): number {
  const { tokens } = pattern;
  const accept = tokens.length;
  let current = new States(accept + 1);
  let next = new States(accept + 1);
  current.add(tokens, 0, from);
  let found = -1;
  let i = from;
  for (;;) {
    if (current.start[accept] !== -1) {
      found = i;
      if (!longest) return found;
    }
    if (current.list.length === 0 || i >= value.length) return found;
    const ch = codePointAt(value, i);
    step(tokens, current, next, ch);
    [current, next] = [next, current];
    next.clear();
    i += ch.length;
  }
}

/** The leftmost match of `pattern` at or after `from`, longest at that start (`*` greedy): BuildKit's `${VAR/p/r}`. */
export function searchMatch(pattern: Pattern, value: string, from: number): { index: number; end: number } | null {
  const { tokens } = pattern;
  const accept = tokens.length;
  let current = new States(accept + 1);
  let next = new States(accept + 1);
  let best: { index: number; end: number } | null = null;
  let i = from;
  for (;;) {
    // A new thread may start here only while no match is known (a later start can never win).
    if (best === null) current.add(tokens, 0, i);
    const acceptedFrom = current.start[accept] as number;
    if (acceptedFrom !== -1 && (best === null || acceptedFrom <= best.index)) best = { index: acceptedFrom, end: i };
    if (best !== null) {
      // Threads begun after the best start cannot change the answer.
      const keep = current.list.filter((s) => (current.start[s] as number) <= (best as { index: number }).index);
      if (keep.length !== current.list.length) {
        const starts = keep.map((s) => current.start[s] as number);
        current.clear();
        keep.forEach((s, k) => {
          current.start[s] = starts[k] as number;
          current.list.push(s);
        });
      }
    }
    if (i >= value.length || (best !== null && current.list.length === 0)) return best;
    const ch = codePointAt(value, i);
    step(tokens, current, next, ch);
    [current, next] = [next, current];
    next.clear();
    i += ch.length;
  }
}
