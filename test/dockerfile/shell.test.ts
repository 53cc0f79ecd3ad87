import { describe, expect, it } from "vitest";
import { processWord, ShellError, type ShellOptions } from "../../src/dockerfile/index.js";

const IMG = "docker.io/library/alpine:3.20";
const env = new Map<string, string>([
  ["A", "x"],
  ["EMPTY", ""],
  ["IMG", IMG],
  ["AXC", "axc"],
  ["ABC", "abc"],
  ["ÄB", "umlaut"],
]);

// [word, expected result] — BuildKit's shell lexer semantics, not POSIX sh.
const expansions: [string, string][] = [
  ["plain", "plain"],
  ["$A", "x"],
  ["${A}", "x"],
  ["$A$A-${A}", "xx-x"],
  ["$", "$"],
  ["a$", "a$"],
  ["$1", ""],
  ["$UNSET", ""],
  ["${UNSET}", ""],
  ["${ÄB}", "umlaut"],
  ["${UNSET:-def}", "def"],
  ["${EMPTY:-def}", "def"],
  ["${A:-def}", "x"],
  ["${UNSET-def}", "def"],
  ["${EMPTY-def}", ""],
  ["${A:+alt}", "alt"],
  ["${EMPTY:+alt}", ""],
  ["${EMPTY+alt}", "alt"],
  ["${UNSET+alt}", ""],
  ["${EMPTY?msg}", ""],
  ["${A:?msg}", "x"],
  ["${UNSET:-${A}}", "x"],
  ["${UNSET:-$A/y}", "x/y"],
  ["${IMG#*/}", "library/alpine:3.20"],
  ["${IMG##*/}", "alpine:3.20"],
  ["${IMG%/*}", "docker.io/library"],
  ["${IMG%%/*}", "docker.io"],
  ["${IMG%:*}", "docker.io/library/alpine"],
  ["${IMG#nomatch}", IMG],
  ["${IMG#?ocker.}", "io/library/alpine:3.20"],
  ["${IMG:#*/}", "library/alpine:3.20"],
  ["${IMG/library/lib}", "docker.io/lib/alpine:3.20"],
  ["${IMG//\\//_}", "docker.io_library_alpine:3.20"],
  ["${AXC//x*/-}", "a-"],
  ["${ABC//*/-}", "-"],
  ["${ABC/b/$A}", "axc"],
  ["${UNSET/a/b}", ""],
  ["'$A'", "$A"],
  ['"$A"', "x"],
  ['"${A}-y"', "x-y"],
  ["\\$A", "$A"],
  ['"a\\"b"', 'a"b'],
  ['"a\\nb"', "a\\nb"],
  ['"a\\$A"', "a$A"],
  ["a\\ b", "a b"],
  ["a\\", "a"],
  ["'it''s'", "its"],
];

const failures: [string, string][] = [
  ["${", "missing '}'"],
  ["${}", "bad substitution"],
  ["${:-x}", "bad substitution"],
  ["${A", "unsupported modifier"],
  ["${A:-x", "missing '}'"],
  ["${A:x}", "unsupported modifier (:x)"],
  ["${A/x", "missing '/'"],
  ["${A/x/y", "missing '}'"],
  ["${UNSET:?}", "UNSET: is not allowed to be unset"],
  ["${EMPTY:?}", "EMPTY: is not allowed to be empty"],
  ["${UNSET?custom message}", "UNSET: custom message"],
  ["${IMG#\\x}", "invalid escape"],
  ["'open", "matching single-quote"],
  ['"open', "matching double-quote"],
];

describe("shell expander", () => {
  it.each(expansions)("expands %s to %s", (word, expected) => {
    expect(processWord(word, env).result).toBe(expected);
  });

  it.each(failures)("rejects %s (%s)", (word, message) => {
    expect(() => processWord(word, env)).toThrow(ShellError);
    expect(() => processWord(word, env)).toThrow(message);
  });

  it("reports which variables were found and which were not", () => {
    const r = processWord("${A}:${UNSET:-x}$EMPTY", env);
    expect([...r.matched].sort()).toEqual(["A", "EMPTY"]);
    expect([...r.unmatched]).toEqual(["UNSET"]);
  });

  it("uses a backtick as escape token after # escape=`", () => {
    const options: ShellOptions = { escapeToken: "`" };
    expect(processWord("`$A", env, options).result).toBe("$A");
    expect(processWord("C:\\$A", env, options).result).toBe("C:\\x");
    expect(processWord('"a`"b"', env, options).result).toBe('a"b');
  });

  it("splits words on unquoted whitespace only, after expansion", () => {
    expect(processWord(`a b  'c d' "" e\\ f`, env).words).toEqual(["a", "b", "c d", "e f"]);
    expect(processWord("${SPACED}", new Map([["SPACED", "one two"]])).words).toEqual(["one", "two"]);
  });

  it("keeps unset variables and quotes as written when asked (heredoc detection)", () => {
    const r = processWord(`$X \${Y:-z} '<<EOF'`, new Map(), { skipUnsetEnv: true, rawQuotes: true });
    expect(r.result).toBe(`$X \${Y:-z} '<<EOF'`);
    expect(r.words).toEqual(["$X", "${Y:-z}", "'<<EOF'"]);
  });
});
