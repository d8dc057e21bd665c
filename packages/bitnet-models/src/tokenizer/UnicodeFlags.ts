/**
 * Code point classes as llama.cpp's pre-tokenizers see them.
 *
 * llama.cpp does not use a regex engine's Unicode support for `\p{L}`, `\p{N}`, `\s` ...: it ships a
 * table generated from UnicodeData.txt of Unicode 15.1 (one general-category group per code point,
 * unassigned code points flagged "undefined") plus the 25 White_Space code points of PropList.txt.
 * We rebuild the same classes from the JS engine's Unicode property escapes and correct for the
 * engine's newer Unicode version: code points assigned after 15.1 are reported as unassigned, and
 * the few 15.1 additions are pinned in case the runtime's ICU predates 15.1.
 */

export const FLAG_UNDEFINED = 0x0001;
export const FLAG_NUMBER = 0x0002;
export const FLAG_LETTER = 0x0004;
export const FLAG_SEPARATOR = 0x0008;
export const FLAG_MARK = 0x0010;
export const FLAG_PUNCTUATION = 0x0020;
export const FLAG_SYMBOL = 0x0040;
export const FLAG_CONTROL = 0x0080;
export const FLAG_WHITESPACE = 0x0100;

/**
 * White_Space (PropList.txt). Unlike JS's `\s` this has U+0085 and lacks U+FEFF, which is exactly
 * what Python's / Rust's / llama.cpp's `\s` mean.
 */
const WHITE_SPACE: readonly number[] = [
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008,
  0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
];

/** Inclusive [first, last] pairs of code points assigned in Unicode 16.0 and 17.0 (unassigned for llama.cpp). */
const ASSIGNED_AFTER_15_1: readonly number[] = [
  0x88f, 0x88f, 0x897, 0x897, 0xc5c, 0xc5c, 0xcdc, 0xcdc, 0x1acf, 0x1add, 0x1ae0, 0x1aeb, 0x1b4e, 0x1b4f, 0x1b7f, 0x1b7f, 0x1c89,
  0x1c8a, 0x20c1, 0x20c1, 0x2427, 0x2429, 0x2b96, 0x2b96, 0x31e4, 0x31e5, 0xa7cb, 0xa7cf, 0xa7d2, 0xa7d2, 0xa7d4, 0xa7d4, 0xa7da,
  0xa7dc, 0xa7f1, 0xa7f1, 0xfbc3, 0xfbd2, 0xfd90, 0xfd91, 0xfdc8, 0xfdce, 0x105c0, 0x105f3, 0x10940, 0x10959, 0x10d40, 0x10d65,
  0x10d69, 0x10d85, 0x10d8e, 0x10d8f, 0x10ec2, 0x10ec7, 0x10ed0, 0x10ed8, 0x10efa, 0x10efc, 0x11380, 0x11389, 0x1138b, 0x1138b,
  0x1138e, 0x1138e, 0x11390, 0x113b5, 0x113b7, 0x113c0, 0x113c2, 0x113c2, 0x113c5, 0x113c5, 0x113c7, 0x113ca, 0x113cc, 0x113d5,
  0x113d7, 0x113d8, 0x113e1, 0x113e2, 0x116d0, 0x116e3, 0x11b60, 0x11b67, 0x11bc0, 0x11be1, 0x11bf0, 0x11bf9, 0x11db0, 0x11ddb,
  0x11de0, 0x11de9, 0x11f5a, 0x11f5a, 0x13460, 0x143fa, 0x16100, 0x16139, 0x16d40, 0x16d79, 0x16ea0, 0x16eb8, 0x16ebb, 0x16ed3,
  0x16ff2, 0x16ff6, 0x187f8, 0x187ff, 0x18cff, 0x18cff, 0x18d09, 0x18d1e, 0x18d80, 0x18df2, 0x1cc00, 0x1ccfc, 0x1cd00, 0x1ceb3,
  0x1ceba, 0x1ced0, 0x1cee0, 0x1cef0, 0x1e5d0, 0x1e5fa, 0x1e5ff, 0x1e5ff, 0x1e6c0, 0x1e6de, 0x1e6e0, 0x1e6f5, 0x1e6fe, 0x1e6ff,
  0x1f6d8, 0x1f6d8, 0x1f777, 0x1f77a, 0x1f8b2, 0x1f8bb, 0x1f8c0, 0x1f8c1, 0x1f8d0, 0x1f8d8, 0x1fa54, 0x1fa57, 0x1fa89, 0x1fa8a,
  0x1fa8e, 0x1fa8f, 0x1fabe, 0x1fabe, 0x1fac6, 0x1fac6, 0x1fac8, 0x1fac8, 0x1facd, 0x1facd, 0x1fadc, 0x1fadc, 0x1fadf, 0x1fadf,
  0x1fae9, 0x1faea, 0x1faef, 0x1faef, 0x1fbcb, 0x1fbef, 0x1fbfa, 0x1fbfa, 0x2b73a, 0x2b73f, 0x2cea2, 0x2cead, 0x323b0, 0x33479,
];

/** Unicode 15.1 additions (first, last, flag), used when the runtime's ICU is older than 15.1. */
const ADDED_IN_15_1: readonly (readonly [number, number, number])[] = [
  [0x2ffc, 0x2fff, FLAG_SYMBOL],
  [0x31ef, 0x31ef, FLAG_SYMBOL],
  [0x2ebf0, 0x2ee5d, FLAG_LETTER],
];

const MAX_CODE_POINT = 0x10ffff;

const CATEGORY_TESTS: readonly (readonly [RegExp, number])[] = [
  [/^\p{L}$/u, FLAG_LETTER],
  [/^\p{N}$/u, FLAG_NUMBER],
  [/^\p{P}$/u, FLAG_PUNCTUATION],
  [/^\p{S}$/u, FLAG_SYMBOL],
  [/^\p{M}$/u, FLAG_MARK],
  [/^\p{Z}$/u, FLAG_SEPARATOR],
  [/^\p{Cn}$/u, FLAG_UNDEFINED],
];

// Lazily filled: 0 means "not computed yet"; every computed entry has at least one category bit.
let table: Uint16Array | undefined;
let postRanges: Int32Array | undefined;

function isAssignedAfter151(cp: number): boolean {
  const r = (postRanges ??= Int32Array.from(ASSIGNED_AFTER_15_1));
  // binary search over the pairs
  let lo = 0;
  let hi = r.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < r[2 * mid]) hi = mid - 1;
    else if (cp > r[2 * mid + 1]) lo = mid + 1;
    else return true;
  }
  return false;
}

function computeFlags(cp: number): number {
  let flags = 0;
  if (isAssignedAfter151(cp)) {
    flags = FLAG_UNDEFINED;
  } else {
    const ch = String.fromCodePoint(cp);
    for (const [re, flag] of CATEGORY_TESTS) {
      if (re.test(ch)) {
        flags = flag;
        break;
      }
    }
    if (flags === FLAG_UNDEFINED) {
      for (const [first, last, flag] of ADDED_IN_15_1) if (cp >= first && cp <= last) flags = flag;
    }
    // Cc, Cf, Co, Cs are all "control" for llama.cpp.
    if (flags === 0) flags = FLAG_CONTROL;
  }
  return flags;
}

function buildTable(): Uint16Array {
  const t = new Uint16Array(MAX_CODE_POINT + 1);
  for (const cp of WHITE_SPACE) t[cp] = computeFlags(cp) | FLAG_WHITESPACE;
  // ASCII is hot: fill it eagerly.
  for (let cp = 0; cp < 0x80; cp++) if (t[cp] === 0) t[cp] = computeFlags(cp);
  return t;
}

/** The llama.cpp flags of a code point (category bit | FLAG_WHITESPACE). Out-of-range values are "undefined". */
export function codePointFlags(cp: number): number {
  if (cp < 0 || cp > MAX_CODE_POINT) return FLAG_UNDEFINED;
  const t = (table ??= buildTable());
  let f = t[cp];
  if (f === 0) {
    f = computeFlags(cp);
    t[cp] = f;
  }
  return f;
}

/** Code points of a well-formed string, and the UTF-16 offset at which each starts (plus the end). */
export function toCodePoints(text: string): { cps: Uint32Array; offsets: Uint32Array } {
  const cps = new Uint32Array(text.length);
  const offsets = new Uint32Array(text.length + 1);
  let n = 0;
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i) as number;
    cps[n] = cp;
    offsets[n] = i;
    n++;
    i += cp > 0xffff ? 2 : 1;
  }
  offsets[n] = text.length;
  return { cps: cps.subarray(0, n), offsets: offsets.subarray(0, n + 1) };
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** String.prototype.toWellFormed (ES2024): lone surrogates become U+FFFD, as UTF-8 encoders do. */
export function toWellFormed(text: string): string {
  const native = (text as unknown as { toWellFormed?: () => string }).toWellFormed;
  return native ? native.call(text) : text.replace(LONE_SURROGATE, '\uFFFD');
}
