/**
 * Index-based text helpers shared by the lexer, the parser and the word expander. A Dockerfile can be
 * one instruction of many megabytes, so nothing here makes a string or an object per character:
 * text is built from slices, and the slices are joined in batches.
 */

/** Go's unicode.IsSpace for one UTF-16 code unit (JS `\s` differs: it has U+FEFF and lacks U+0085). */
export function isGoSpaceCode(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0x85) return false;
  return (
    c === 0x85 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 ||
    c === 0x202f || c === 0x205f || c === 0x3000
  );
}

/** Go's unicode.IsSpace for a one-character string (one code point). */
export function isGoSpace(ch: string): boolean {
  return ch.length === 1 && isGoSpaceCode(ch.charCodeAt(0));
}

/** Length (1 or 2 code units) of the code point at `i`, so scanners step over surrogate pairs whole. */
export function codePointLength(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
    const d = s.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return 2;
  }
  return 1;
}

// Joining every few thousand pieces keeps the live pieces few, whatever the input's shape.
const BATCH = 4096;

/** A string built from pieces in linear time and memory (no rope of one node per appended character). */
export class TextBuilder {
  private pieces: string[] = [];
  private batches: string[] = [];
  length = 0;

  add(s: string): void {
    if (s.length === 0) return;
    this.pieces.push(s);
    this.length += s.length;
    if (this.pieces.length >= BATCH) {
      this.batches.push(this.pieces.join(""));
      this.pieces = [];
    }
  }

  toString(): string {
    if (this.batches.length === 0) return this.pieces.join("");
    if (this.pieces.length > 0) {
      this.batches.push(this.pieces.join(""));
      this.pieces = [];
    }
    const joined = this.batches.join("");
    this.batches = [joined];
    return joined;
  }
}
