/**
 * Pre-tokenizers: split text into the words that byte-level BPE then merges independently.
 *
 * These are hand-written scanners that reproduce llama.cpp's unicode_regex_split for the regex sets
 * it uses (its own scanners for the GPT-2 and LLaMA-3 patterns, std::regex over "collapsed"
 * category bytes for the others), with llama.cpp's Unicode tables (see UnicodeFlags). A JS RegExp
 * would differ: JS's `\s` includes U+FEFF and excludes U+0085, and its `\p{..}` follow whatever
 * Unicode version the engine ships.
 *
 * Every stage refines a list of piece lengths (in code points), like llama.cpp's offset lists.
 */
import {
  FLAG_LETTER,
  FLAG_NUMBER,
  FLAG_PUNCTUATION,
  FLAG_WHITESPACE,
  codePointFlags,
  toCodePoints,
} from './UnicodeFlags';

/** The regex families implemented here. */
export type PreTokenizerKind = 'llama3' | 'gpt2' | 'default';

const CR = 0x0d;
const LF = 0x0a;
const APOSTROPHE = 0x27;
const SPACE = 0x20;

/** The text as code points plus their flags; flags(i) is 0 outside [lo, hi), like llama.cpp's helpers. */
class Scan {
  readonly flags: Uint16Array;
  constructor(readonly cps: Uint32Array) {
    this.flags = new Uint16Array(cps.length);
    for (let i = 0; i < cps.length; i++) this.flags[i] = codePointFlags(cps[i]);
  }
}

/** Piece lengths -> [start, end) windows, calling visit for each and collecting the new lengths. */
function refine(lengths: number[], visit: (lo: number, hi: number, out: number[]) => void): number[] {
  const out: number[] = [];
  let start = 0;
  for (const len of lengths) {
    visit(start, start + len, out);
    start += len;
  }
  return out;
}

/** ASCII-only lowering is exact here: no other code point lowercases to one of "strmdvel". */
function lowerAscii(cp: number): number {
  return cp >= 0x41 && cp <= 0x5a ? cp + 0x20 : cp;
}

/** Length of a contraction ('s 't 'm 'd = 2, 're 've 'll = 3) starting at pos, or 0. */
function contractionAt(cps: Uint32Array, pos: number, hi: number, caseInsensitive: boolean): number {
  if (cps[pos] !== APOSTROPHE || pos + 1 >= hi) return 0;
  const low = caseInsensitive ? lowerAscii : (c: number) => c;
  const a = low(cps[pos + 1]);
  if (a === 0x73 || a === 0x74 || a === 0x6d || a === 0x64) return 2; // s t m d
  if (pos + 2 >= hi) return 0;
  const b = low(cps[pos + 2]);
  if ((a === 0x72 && b === 0x65) || (a === 0x76 && b === 0x65) || (a === 0x6c && b === 0x6c)) return 3; // re ve ll
  return 0;
}

const NOT_TEXT = FLAG_WHITESPACE | FLAG_LETTER | FLAG_NUMBER;

/**
 * (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 */
function splitLlama3(scan: Scan, lengths: number[]): number[] {
  const { cps, flags } = scan;
  return refine(lengths, (lo, hi, out) => {
    const f = (i: number): number => (i >= lo && i < hi ? flags[i] : 0);
    let pos = lo;
    const emit = (end: number) => {
      if (end > pos) out.push(end - pos);
      pos = end;
    };
    while (pos < hi) {
      const cp = cps[pos];
      const fl = flags[pos];
      const contraction = contractionAt(cps, pos, hi, true);
      if (contraction) {
        emit(pos + contraction);
        continue;
      }
      // one optional non-letter/number (not CR/LF) followed by letters
      if (cp !== CR && cp !== LF && !(fl & FLAG_NUMBER) && (fl & FLAG_LETTER || f(pos + 1) & FLAG_LETTER)) {
        let end = pos + 1;
        while (f(end) & FLAG_LETTER) end++;
        emit(end);
        continue;
      }
      // digits in groups of at most three
      if (fl & FLAG_NUMBER) {
        let end = pos;
        while (f(end) & FLAG_NUMBER) {
          end++;
          if (end - pos === 3) emit(end);
        }
        emit(end);
        continue;
      }
      // optional space, a run of "other" characters, then any CR/LF
      const next = cp === SPACE ? f(pos + 1) : fl;
      if (!(next & NOT_TEXT) && fl !== 0) {
        let end = pos + (cp === SPACE ? 1 : 0);
        while (f(end) !== 0 && !(f(end) & NOT_TEXT)) end++;
        while (end < hi && (cps[end] === CR || cps[end] === LF)) end++;
        emit(end);
        continue;
      }
      // whitespace: up to the last CR/LF of the run, or all but the last before a non-space
      let n = 0;
      let afterLastNewline = 0;
      while (f(pos + n) & FLAG_WHITESPACE) {
        const c = cps[pos + n];
        if (c === CR || c === LF) afterLastNewline = pos + n + 1;
        n++;
      }
      if (afterLastNewline > 0) emit(afterLastNewline);
      else if (n > 1 && pos + n < hi) emit(pos + n - 1);
      else if (n > 0) emit(pos + n);
      else emit(pos + 1);
    }
  });
}

/** 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S) (plus a bare \s+ fallback) */
function splitGpt2(scan: Scan, lengths: number[]): number[] {
  const { cps, flags } = scan;
  return refine(lengths, (lo, hi, out) => {
    const f = (i: number): number => (i >= lo && i < hi ? flags[i] : 0);
    let pos = lo;
    const emit = (end: number) => {
      if (end > pos) out.push(end - pos);
      pos = end;
    };
    while (pos < hi) {
      const cp = cps[pos];
      const contraction = contractionAt(cps, pos, hi, false);
      if (contraction) {
        emit(pos + contraction);
        continue;
      }
      const lead = cp === SPACE ? 1 : 0;
      const first = f(pos + lead);
      const runOf = (test: (fl: number) => boolean): void => {
        let end = pos + lead;
        while (test(f(end))) end++;
        emit(end);
      };
      if (first & FLAG_LETTER) {
        runOf((x) => (x & FLAG_LETTER) !== 0);
        continue;
      }
      if (first & FLAG_NUMBER) {
        runOf((x) => (x & FLAG_NUMBER) !== 0);
        continue;
      }
      if (first !== 0 && !(first & NOT_TEXT)) {
        runOf((x) => x !== 0 && !(x & NOT_TEXT));
        continue;
      }
      let n = 0;
      while (f(pos + n) & FLAG_WHITESPACE) n++;
      if (n > 1 && pos + n < hi) emit(pos + n - 1);
      else if (n > 0) emit(pos + n);
      else emit(pos + 1);
    }
  });
}

/** Isolate maximal runs of members; the gaps between runs become pieces too (std::regex split). */
function splitRuns(scan: Scan, lengths: number[], member: (cp: number, flags: number) => boolean): number[] {
  const { cps, flags } = scan;
  return refine(lengths, (lo, hi, out) => {
    let pos = lo;
    while (pos < hi) {
      const inRun = member(cps[pos], flags[pos]);
      let end = pos + 1;
      while (end < hi && member(cps[end], flags[end]) === inRun) end++;
      out.push(end - pos);
      pos = end;
    }
  });
}

/** [0-9][0-9][0-9]: leftmost non-overlapping triples of ASCII digits become pieces. */
function splitDigitTriples(scan: Scan, lengths: number[]): number[] {
  const { cps } = scan;
  const digit = (cp: number) => cp >= 0x30 && cp <= 0x39;
  return refine(lengths, (lo, hi, out) => {
    let last = lo;
    let i = lo;
    while (i + 3 <= hi) {
      if (digit(cps[i]) && digit(cps[i + 1]) && digit(cps[i + 2])) {
        if (i > last) out.push(i - last);
        out.push(3);
        i += 3;
        last = i;
      } else {
        i++;
      }
    }
    if (hi > last) out.push(hi - last);
  });
}

/**
 * llama.cpp's "default" pre-tokenizer collapses non-ASCII code points to one byte per category
 * before running std::regex, so a class like \p{P} means: the listed ASCII characters, or any
 * non-ASCII, non-whitespace code point of that category.
 */
function nonAsciiOf(cp: number, flags: number, category: number): boolean {
  return cp >= 0x80 && !(flags & FLAG_WHITESPACE) && (flags & category) !== 0;
}

// ASCII members of [\p{P}\$\+<=>\^~\|]: every printable ASCII punctuation/symbol except the backtick.
const DEFAULT_PUNCT_ASCII = new Set(Array.from('!"#%&\'()*,-./:;?@[\\]_{}$+<=>^~|', (c) => c.charCodeAt(0)));

function splitDefault(scan: Scan, lengths: number[]): number[] {
  let out = splitRuns(scan, lengths, (cp, fl) => DEFAULT_PUNCT_ASCII.has(cp) || nonAsciiOf(cp, fl, FLAG_PUNCTUATION));
  out = splitGpt2(scan, out);
  out = splitRuns(scan, out, (cp, fl) => (cp >= 0x30 && cp <= 0x39) || nonAsciiOf(cp, fl, FLAG_NUMBER));
  return splitDigitTriples(scan, out);
}

/** How a `tokenizer.ggml.pre` value configures llama.cpp's BPE tokenizer. */
export interface PreTokenizerConfig {
  readonly kind: PreTokenizerKind;
  /** A whole pre-token found in the vocabulary is emitted as is, without running merges. */
  readonly ignoreMerges: boolean;
  /** Default of add_bos when the file has no tokenizer.ggml.add_bos_token. */
  readonly addBos: boolean;
  /** llama_detokenize's clean-up of " ." " ?" " 's" ... for this pre-tokenizer. */
  readonly cleanSpaces: boolean;
}

const LLAMA3: PreTokenizerConfig = { kind: 'llama3', ignoreMerges: true, addBos: true, cleanSpaces: true };
const GPT2: PreTokenizerConfig = { kind: 'gpt2', ignoreMerges: false, addBos: false, cleanSpaces: true };

/** The `pre` names llama.cpp maps onto the three regex families implemented here. */
const PRE_TOKENIZERS: ReadonlyMap<string, PreTokenizerConfig> = new Map<string, PreTokenizerConfig>([
  ...['llama3', 'llama-v3', 'llama-bpe', 'falcon3', 'falcon-h1', 'pixtral', 'midm-2.0', 'lfm2', 'jina-v5-nano'].map(
    (name) => [name, LLAMA3] as const,
  ),
  // same regex as llama3, but merges always run and no BOS by default
  ...['dbrx', 'smaug-bpe'].map((name) => [name, { ...LLAMA3, ignoreMerges: false, addBos: false }] as const),
  ...['gpt-2', 'phi-2', 'jina-es', 'jina-de', 'gigachat', 'jina-v2-es', 'jina-v2-de', 'a.x-4.0', 'mellum', 'modern-bert', 'exaone4', 'mpt', 'olmo', 'jais'].map(
    (name) => [name, GPT2] as const,
  ),
  ...['trillion', 'granite-docling'].map((name) => [name, { ...GPT2, cleanSpaces: false }] as const),
  ['default', { kind: 'default', ignoreMerges: false, addBos: false, cleanSpaces: true }],
]);

/** llama.cpp's settings for a `tokenizer.ggml.pre` value; undefined when it is not one we implement. */
export function preTokenizerConfig(pre: string): PreTokenizerConfig | undefined {
  return PRE_TOKENIZERS.get(pre);
}

/** Split well-formed text into pre-tokens (substrings of the input, in order, covering all of it). */
export function preTokenize(text: string, kind: PreTokenizerKind): string[] {
  if (text.length === 0) return [];
  const { cps, offsets } = toCodePoints(text);
  const scan = new Scan(cps);
  const whole = [cps.length];
  const lengths = kind === 'llama3' ? splitLlama3(scan, whole) : kind === 'gpt2' ? splitGpt2(scan, whole) : splitDefault(scan, whole);
  const pieces: string[] = new Array(lengths.length);
  let start = 0;
  for (let i = 0; i < lengths.length; i++) {
    const end = start + lengths[i];
    pieces[i] = text.slice(offsets[start], offsets[end]);
    start = end;
  }
  return pieces;
}
