/**
 * A parser for llama.cpp's GBNF grammar syntax:
 *
 *   name ::= alternative | alternative ...      (one rule per line; `root` is the start rule)
 *
 * An alternative is a sequence of: string literals "..." (escapes \n \t \r \\ \" \xHH \uHHHH
 * \UHHHHHHHH), character classes [a-z0-9_] and negated classes [^"\\], `.` (any character), rule
 * references, and parenthesised groups; each may be followed by `*`, `+`, `?`, `{m}`, `{m,}`, `{,n}`
 * or `{m,n}`. `#` starts a comment. A rule may continue on the next line after `|` or inside
 * parentheses. Everything works on Unicode code points.
 *
 * Quantifiers and groups are rewritten into generated helper rules (`x*` becomes `r ::= x r | ε`,
 * with the recursive reference last so the matcher can drop the finished frame), so the compiled
 * {@link Grammar} only knows character sets and rule references.
 */
import { GrammarError, grammarPosition } from './GrammarError';
import { Grammar, type RawElement, type RawRule } from './Grammar';

/** Largest repetition count accepted in `{m,n}`. */
export const MAX_GBNF_REPETITION = 1000;
/** Largest number of elements a grammar may expand to (after repetitions are unrolled). */
export const MAX_GBNF_ELEMENTS = 200_000;
const MAX_CODE_POINT = 0x10ffff;

/** Parse GBNF text into a compiled grammar; throws {@link GrammarError} on any problem. */
export function parseGbnf(text: string): Grammar {
  return new GbnfParser(text).parse();
}

type Item = RawElement[]; // one parsed term: a literal gives several char elements

class GbnfParser {
  private pos = 0;
  private readonly rules: RawRule[] = [];
  private readonly index = new Map<string, number>();
  private readonly firstRef = new Map<number, number>();
  private readonly defined = new Set<number>();
  private elements = 0;

  constructor(private readonly src: string) {}

  parse(): Grammar {
    this.skipSpace(true);
    while (this.pos < this.src.length) {
      this.parseRule();
      this.skipSpace(true);
    }
    for (const [id, at] of this.firstRef) {
      if (!this.defined.has(id)) throw this.error(`undefined rule '${this.rules[id].name}'`, at);
    }
    const root = this.index.get('root');
    if (root === undefined || !this.defined.has(root)) throw new GrammarError("the grammar has no 'root' rule");
    return new Grammar(this.rules, root);
  }

  private error(reason: string, at = this.pos): GrammarError {
    return new GrammarError(reason, grammarPosition(this.src, at));
  }

  private ruleId(name: string): number {
    let id = this.index.get(name);
    if (id === undefined) {
      id = this.rules.length;
      this.rules.push({ name, alternatives: [] });
      this.index.set(name, id);
    }
    return id;
  }

  private generatedRule(base: string, alternatives: RawElement[][]): number {
    const id = this.rules.length;
    this.rules.push({ name: `${base}_${id}`, alternatives, generated: true });
    return id;
  }

  private parseRule(): void {
    const start = this.pos;
    const name = this.parseName();
    if (name === '') throw this.error('expected a rule name');
    this.skipSpace(false);
    if (!this.src.startsWith('::=', this.pos)) throw this.error(`expected '::=' after rule name '${name}'`);
    this.pos += 3;
    this.skipSpace(true);
    const id = this.ruleId(name);
    if (this.defined.has(id)) throw this.error(`rule '${name}' is defined twice`, start);
    this.defined.add(id);
    this.rules[id].alternatives = this.parseAlternatives(name, false);
    if (this.pos < this.src.length) {
      const c = this.src[this.pos];
      if (c === ')') throw this.error("unexpected ')'");
      if (c !== '\n' && c !== '\r') throw this.error(`unexpected '${c}' at the end of rule '${name}'`);
    }
  }

  private parseAlternatives(name: string, nested: boolean): RawElement[][] {
    const alternatives = [this.parseSequence(name, nested)];
    while (this.src[this.pos] === '|') {
      this.pos++;
      this.skipSpace(true);
      alternatives.push(this.parseSequence(name, nested));
    }
    return alternatives;
  }

  private parseSequence(name: string, nested: boolean): RawElement[] {
    const seq: RawElement[] = [];
    let last: Item | undefined;
    for (;;) {
      const c = this.src[this.pos];
      if (c === undefined || c === '|' || c === ')' || c === '\n' || c === '\r') break;
      const start = this.pos;
      if (c === '*' || c === '+' || c === '?' || c === '{') {
        if (!last) throw this.error(`'${c}' has nothing to repeat`);
        seq.length -= last.length;
        const [min, max] = this.parseQuantifier();
        last = this.repeat(name, last, min, max, start);
        seq.push(...last);
        last = undefined; // a quantifier cannot follow a quantifier
      } else {
        last = this.parseTerm(name);
        seq.push(...last);
      }
      this.count(last?.length ?? 0, start);
      this.skipSpace(nested);
    }
    return seq;
  }

  private count(n: number, at: number): void {
    this.elements += n;
    if (this.elements > MAX_GBNF_ELEMENTS) throw this.error(`the grammar expands to more than ${MAX_GBNF_ELEMENTS} elements`, at);
  }

  private parseTerm(name: string): Item {
    const c = this.src[this.pos];
    const start = this.pos;
    if (c === '"') return this.parseLiteral();
    if (c === '[') return [this.parseClass()];
    if (c === '.') {
      this.pos++;
      return [{ kind: 'char', ranges: [0, MAX_CODE_POINT] }];
    }
    if (c === '(') {
      this.pos++;
      this.skipSpace(true);
      const alternatives = this.parseAlternatives(name, true);
      if (this.src[this.pos] !== ')') throw this.error("expected ')' to close the group opened here", start);
      this.pos++;
      return [{ kind: 'ref', rule: this.generatedRule(name, alternatives) }];
    }
    const ref = this.parseName();
    if (ref === '') throw this.error(`unexpected '${c}'`);
    if (this.src.startsWith('::=', this.pos) || /^[ \t]*::=/.test(this.src.slice(this.pos, this.pos + 64))) {
      throw this.error(`missing newline before the definition of '${ref}'`, start);
    }
    const id = this.ruleId(ref);
    if (!this.firstRef.has(id)) this.firstRef.set(id, start);
    return [{ kind: 'ref', rule: id }];
  }

  private parseQuantifier(): [number, number] {
    const c = this.src[this.pos++];
    if (c === '*') return [0, Infinity];
    if (c === '+') return [1, Infinity];
    if (c === '?') return [0, 1];
    const start = this.pos - 1;
    this.skipSpace(false);
    const first = this.parseCount();
    const min = first ?? 0;
    this.skipSpace(false);
    let max = min;
    if (this.src[this.pos] === ',') {
      this.pos++;
      this.skipSpace(false);
      max = this.parseCount() ?? Infinity;
      this.skipSpace(false);
    } else if (first === undefined) throw this.error('expected a number in {m,n}');
    if (this.src[this.pos] !== '}') throw this.error("expected '}' to close the repetition");
    this.pos++;
    if (max < min) throw this.error(`repetition {${min},${max}} has max < min`, start);
    return [min, max];
  }

  private parseCount(): number | undefined {
    const m = /^[0-9]+/.exec(this.src.slice(this.pos, this.pos + 16));
    if (!m) return undefined;
    const n = Number(m[0]);
    if (m[0].length > 7 || n > MAX_GBNF_REPETITION) throw this.error(`repetition count ${m[0]} exceeds the limit ${MAX_GBNF_REPETITION}`);
    this.pos += m[0].length;
    return n;
  }

  /** `item{min,max}` as elements: min copies, then nested optional copies (or a star rule). */
  private repeat(name: string, item: Item, min: number, max: number, at: number): Item {
    const unit: Item = item.length === 1 ? item : [{ kind: 'ref', rule: this.generatedRule(name, [item]) }];
    const out: Item = [];
    for (let i = 0; i < min; i++) out.push(...unit);
    this.count(out.length + (Number.isFinite(max) ? max - min : 1) * 2, at);
    if (max === Infinity) {
      const id = this.generatedRule(name, []);
      this.rules[id].alternatives = [[...unit, { kind: 'ref', rule: id }], []];
      out.push({ kind: 'ref', rule: id });
    } else {
      let tail: number | undefined;
      for (let k = 0; k < max - min; k++) {
        const alt: RawElement[] = tail === undefined ? [...unit] : [...unit, { kind: 'ref', rule: tail }];
        tail = this.generatedRule(name, [alt, []]);
      }
      if (tail !== undefined) out.push({ kind: 'ref', rule: tail });
    }
    return out;
  }

  private parseName(): string {
    const m = /^[A-Za-z0-9_-]+/.exec(this.src.slice(this.pos, this.pos + 256));
    if (!m) return '';
    this.pos += m[0].length;
    return m[0];
  }

  private parseLiteral(): Item {
    const start = this.pos++;
    const out: Item = [];
    for (;;) {
      const c = this.src[this.pos];
      if (c === undefined || c === '\n' || c === '\r') throw this.error('unterminated string literal', start);
      if (c === '"') break;
      const cp = this.parseChar('"');
      out.push({ kind: 'char', ranges: [cp, cp] });
    }
    this.pos++;
    return out;
  }

  private parseClass(): RawElement {
    const start = this.pos++;
    const negated = this.src[this.pos] === '^';
    if (negated) this.pos++;
    const ranges: number[] = [];
    for (;;) {
      const c = this.src[this.pos];
      if (c === undefined || c === '\n' || c === '\r') throw this.error("unterminated character class (missing ']')", start);
      if (c === ']') break;
      const at = this.pos;
      const lo = this.parseChar(']');
      let hi = lo;
      if (this.src[this.pos] === '-' && this.src[this.pos + 1] !== ']' && this.pos + 1 < this.src.length) {
        this.pos++;
        hi = this.parseChar(']');
        if (hi < lo) throw this.error('character range is out of order', at);
      }
      ranges.push(lo, hi);
    }
    this.pos++;
    const merged = normalizeRanges(ranges);
    return { kind: 'char', ranges: negated ? complementRanges(merged) : merged };
  }

  /** One (possibly escaped) character of a literal or class, as a code point. */
  private parseChar(closer: string): number {
    const c = this.src.codePointAt(this.pos) as number;
    if (c !== 0x5c) {
      this.pos += c > 0xffff ? 2 : 1;
      return c;
    }
    const at = this.pos;
    const e = this.src[this.pos + 1];
    this.pos += 2;
    switch (e) {
      case 'n': return 0x0a;
      case 't': return 0x09;
      case 'r': return 0x0d;
      case '\\': case '"': case '[': case ']': case '-': case '^': case '/': case "'": return e.charCodeAt(0);
      case 'x': return this.parseHex(2, at);
      case 'u': return this.parseHex(4, at);
      case 'U': return this.parseHex(8, at);
      default:
        if (e === closer) return e.charCodeAt(0);
        throw this.error(`unknown escape '\\${e ?? ''}'`, at);
    }
  }

  private parseHex(digits: number, at: number): number {
    const s = this.src.slice(this.pos, this.pos + digits);
    if (s.length !== digits || !/^[0-9A-Fa-f]+$/.test(s)) throw this.error(`expected ${digits} hex digits in escape`, at);
    const v = parseInt(s, 16);
    if (v > MAX_CODE_POINT) throw this.error(`code point U+${s} is beyond U+10FFFF`, at);
    this.pos += digits;
    return v;
  }

  /** Skip blanks and comments; newlines only when `newlines` (inside groups, after `|`, between rules). */
  private skipSpace(newlines: boolean): void {
    const s = this.src;
    while (this.pos < s.length) {
      const c = s[this.pos];
      if (c === ' ' || c === '\t') this.pos++;
      else if (c === '#') {
        while (this.pos < s.length && s[this.pos] !== '\n' && s[this.pos] !== '\r') this.pos++;
      } else if (newlines && (c === '\n' || c === '\r')) this.pos++;
      else break;
    }
  }
}

/** Sort and merge inclusive [lo, hi] pairs. */
export function normalizeRanges(ranges: readonly number[]): number[] {
  const pairs: [number, number][] = [];
  for (let i = 0; i < ranges.length; i += 2) pairs.push([ranges[i], ranges[i + 1]]);
  pairs.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [lo, hi] of pairs) {
    const n = out.length;
    if (n > 0 && lo <= out[n - 1] + 1) out[n - 1] = Math.max(out[n - 1], hi);
    else out.push(lo, hi);
  }
  return out;
}

/** The code points in [0, U+10FFFF] not covered by sorted, merged ranges. */
function complementRanges(merged: readonly number[]): number[] {
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < merged.length; i += 2) {
    if (merged[i] > next) out.push(next, merged[i] - 1);
    next = merged[i + 1] + 1;
  }
  if (next <= MAX_CODE_POINT) out.push(next, MAX_CODE_POINT);
  return out;
}
