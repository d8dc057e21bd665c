/**
 * The compiled form of a grammar: every alternative of every rule is laid out in one flat element
 * array, terminated by an END element, so a parse position is a single integer and "the next
 * element" is position + 1. Elements are character sets (sorted inclusive code-point ranges) or
 * rule references. Building drops the alternatives that can never finish (they reference a rule
 * that derives no finite text, or hold an empty character set), so a matcher never walks into a
 * dead end, and refuses a grammar whose root derives nothing; it also checks for left recursion,
 * which a top-down matcher cannot run.
 */
import { GrammarError } from './GrammarError';

/** A parsed element before compilation. */
export type RawElement = { readonly kind: 'char'; readonly ranges: readonly number[] } | { readonly kind: 'ref'; readonly rule: number };

/** A parsed rule: its name and alternatives (sequences of elements; an empty one matches ε). */
export interface RawRule {
  readonly name: string;
  alternatives: RawElement[][];
  /** Made by the parser for a group or quantifier (named `<rule>_<n>`). */
  readonly generated?: boolean;
}

/** Element kinds in {@link Grammar.kinds}. */
export const ELEMENT_END = 0;
export const ELEMENT_CHAR = 1;
export const ELEMENT_REF = 2;

/** A compiled grammar; immutable and shareable between matchers. */
export class Grammar {
  /** Per position: ELEMENT_END, ELEMENT_CHAR or ELEMENT_REF. */
  readonly kinds: Uint8Array;
  /** Per position: the character-set index (CHAR) or rule index (REF). */
  readonly args: Int32Array;
  /** Character sets as sorted inclusive [lo, hi, lo, hi, ...] code-point ranges. */
  readonly charSets: readonly Uint32Array[];
  /** Per rule: the start position of each alternative. */
  readonly alternatives: readonly Int32Array[];
  /** Rule names (generated helper rules are named `<rule>_<n>`). */
  readonly ruleNames: readonly string[];
  /** Index of the `root` rule. */
  readonly root: number;
  /** Per char set and ASCII byte: whether the set contains it (charSet * 128 + byte). */
  readonly ascii: Uint8Array;

  constructor(raw: readonly RawRule[], root: number) {
    const rules = finiteAlternatives(raw, root);
    let size = 0;
    for (const r of rules) for (const a of r.alternatives) size += a.length + 1;
    this.kinds = new Uint8Array(size);
    this.args = new Int32Array(size);
    const sets: Uint32Array[] = [];
    const setIndex = new Map<string, number>();
    const alternatives: Int32Array[] = [];
    let at = 0;
    for (const r of rules) {
      const starts = new Int32Array(r.alternatives.length);
      r.alternatives.forEach((alt, i) => {
        starts[i] = at;
        for (const e of alt) {
          if (e.kind === 'ref') {
            this.kinds[at] = ELEMENT_REF;
            this.args[at] = e.rule;
          } else {
            const key = e.ranges.join(',');
            let s = setIndex.get(key);
            if (s === undefined) {
              s = sets.length;
              sets.push(Uint32Array.from(e.ranges));
              setIndex.set(key, s);
            }
            this.kinds[at] = ELEMENT_CHAR;
            this.args[at] = s;
          }
          at++;
        }
        this.kinds[at++] = ELEMENT_END;
      });
      alternatives.push(starts);
    }
    this.charSets = sets;
    this.alternatives = alternatives;
    this.ruleNames = rules.map((r) => r.name);
    this.root = root;
    this.ascii = new Uint8Array(sets.length * 128);
    sets.forEach((ranges, s) => {
      for (let i = 0; i < ranges.length; i += 2) {
        for (let c = ranges[i]; c <= ranges[i + 1] && c < 128; c++) this.ascii[s * 128 + c] = 1;
      }
    });
    checkLeftRecursion(this);
  }

  /** Whether character set `set` contains code point `cp`. */
  contains(set: number, cp: number): boolean {
    if (cp < 128) return this.ascii[set * 128 + cp] === 1;
    const r = this.charSets[set];
    let lo = 0;
    let hi = (r.length >> 1) - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (cp < r[mid * 2]) hi = mid - 1;
      else if (cp > r[mid * 2 + 1]) lo = mid + 1;
      else return true;
    }
    return false;
  }

  /** Whether character set `set` contains any code point in [lo, hi]. */
  intersects(set: number, lo: number, hi: number): boolean {
    const r = this.charSets[set];
    for (let i = 0; i < r.length; i += 2) if (r[i] <= hi && r[i + 1] >= lo) return true;
    return false;
  }
}

/**
 * The rules with only the alternatives that can derive a finite text. A rule is productive when one
 * of its alternatives holds only non-empty character sets and productive rules (a fixed point).
 * @throws GrammarError when the root rule is not productive (the grammar accepts no text at all).
 */
function finiteAlternatives(rules: readonly RawRule[], root: number): RawRule[] {
  const productive = new Uint8Array(rules.length);
  const finite = (alt: readonly RawElement[]): boolean => alt.every((e) => (e.kind === 'char' ? e.ranges.length > 0 : productive[e.rule] === 1));
  for (let changed = true; changed; ) {
    changed = false;
    rules.forEach((r, i) => {
      if (productive[i] === 0 && r.alternatives.some(finite)) {
        productive[i] = 1;
        changed = true;
      }
    });
  }
  if (productive[root] === 0) throw new GrammarError(`the grammar accepts no finite text: rule '${rules[root].name}' can never end`);
  return rules.map((r) => ({ ...r, alternatives: r.alternatives.filter(finite) }));
}

/**
 * Reject left recursion: a rule that can reach itself again without consuming a character (through
 * leading references whose rules may match the empty string).
 */
function checkLeftRecursion(g: Grammar): void {
  const n = g.alternatives.length;
  const nullable = new Uint8Array(n);
  for (let changed = true; changed; ) {
    changed = false;
    for (let r = 0; r < n; r++) {
      if (nullable[r]) continue;
      for (const start of g.alternatives[r]) {
        let p = start;
        while (g.kinds[p] === ELEMENT_REF && nullable[g.args[p]]) p++;
        if (g.kinds[p] === ELEMENT_END) {
          nullable[r] = 1;
          changed = true;
          break;
        }
      }
    }
  }
  const leading: number[][] = [];
  for (let r = 0; r < n; r++) {
    const out: number[] = [];
    for (const start of g.alternatives[r]) {
      for (let p = start; g.kinds[p] === ELEMENT_REF; p++) {
        out.push(g.args[p]);
        if (!nullable[g.args[p]]) break;
      }
    }
    leading.push(out);
  }
  const state = new Uint8Array(n); // 0 unseen, 1 on the path, 2 done
  const path: number[] = [];
  const visit = (r: number): void => {
    state[r] = 1;
    path.push(r);
    for (const next of leading[r]) {
      if (state[next] === 1) {
        const cycle = path.slice(path.indexOf(next)).concat(next).map((i) => g.ruleNames[i]);
        throw new GrammarError(`left recursion is not supported: ${cycle.join(' -> ')}`);
      }
      if (state[next] === 0) visit(next);
    }
    path.pop();
    state[r] = 2;
  };
  for (let r = 0; r < n; r++) if (state[r] === 0) visit(r);
}
