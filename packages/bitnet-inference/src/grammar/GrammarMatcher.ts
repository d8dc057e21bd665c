/**
 * Incremental matching of UTF-8 bytes against a compiled {@link Grammar}.
 *
 * A {@link GrammarState} is an immutable set of parse stacks, like llama.cpp's llama_grammar stacks:
 * each stack is a persistent linked list of grammar positions whose top is always a character
 * element (the next character it can take); the empty stack (`null`) means the root rule is
 * complete. Rule references are expanded eagerly; a reference that ends its alternative pushes no
 * return frame (tail call), so `x*` loops keep the stack depth constant. Stacks are deduplicated
 * by a structural hash, and the set is bounded (MAX_GRAMMAR_STACKS) so an ambiguous grammar fails
 * with a GrammarError instead of exhausting memory.
 *
 * Bytes of a multi-byte character are kept pending: after a lead byte the state keeps the partial
 * code point and only the stacks whose next character set intersects the code points that still
 * fit; the character is matched when its last byte arrives. Overlong forms, surrogates and
 * bytes beyond U+10FFFF are rejected.
 *
 * States are interned per grammar (equal stack sets and pending character → one object) and
 * memoise their successors per byte, so every path to a state shares its memo: loops such as the
 * characters of a JSON string, and the many vocabulary tokens that reach the same position, cost one
 * array lookup per byte after the first time (this is what makes the token-mask trie walk cheap).
 * A table holds at most MAX_INTERNED_STATES states; past it a fresh table takes the new states and
 * the old one is freed with the last state that uses it, so memory stays bounded.
 */
import { ELEMENT_CHAR, ELEMENT_END, type Grammar } from './Grammar';
import { GrammarError } from './GrammarError';
import { parseGbnf } from './Gbnf';

/** Most parse stacks a state may hold before matching fails with a GrammarError. */
export const MAX_GRAMMAR_STACKS = 4096;
/** Most states one state table holds (a full table is followed by a fresh one). */
export const MAX_INTERNED_STATES = 8192;
/** Most expansion steps one character may take. */
const MAX_EXPANSION_STEPS = 1 << 18;

/** One frame of a parse stack: a grammar position and the frame below it. */
interface Frame {
  readonly pos: number;
  readonly parent: Frame | null;
  readonly hash: number;
}
/** A parse stack; null is the empty stack (the root rule is complete). */
type Stack = Frame | null;

function frame(pos: number, parent: Stack): Frame {
  let h = Math.imul((parent === null ? 0x2545f491 : parent.hash) ^ (pos + 0x9e3779b9), 0x85ebca6b);
  h ^= h >>> 13;
  return { pos, parent, hash: h | 1 };
}

function sameStack(a: Stack, b: Stack): boolean {
  while (a !== b) {
    if (a === null || b === null || a.hash !== b.hash || a.pos !== b.pos) return false;
    a = a.parent;
    b = b.parent;
  }
  return true;
}

const hashOf = (s: Stack): number => (s === null ? 0 : s.hash);

/** Collects expanded stacks without duplicates (linear scan while small, a hash index beyond). */
class StackSet {
  readonly stacks: Stack[] = [];
  private byHash: Map<number, number[]> | undefined;
  steps = 0;

  add(s: Stack): void {
    const h = hashOf(s);
    const stacks = this.stacks;
    if (this.byHash === undefined) {
      for (let i = 0; i < stacks.length; i++) if (hashOf(stacks[i]) === h && sameStack(stacks[i], s)) return;
      stacks.push(s);
      if (stacks.length === 16) {
        this.byHash = new Map();
        stacks.forEach((t, i) => this.index(hashOf(t), i));
      }
      return;
    }
    const bucket = this.byHash.get(h);
    if (bucket) for (const i of bucket) if (sameStack(stacks[i], s)) return;
    this.index(h, stacks.length);
    stacks.push(s);
    if (stacks.length > MAX_GRAMMAR_STACKS) {
      throw new GrammarError(`the grammar is too ambiguous: more than ${MAX_GRAMMAR_STACKS} parse stacks at one position`);
    }
  }

  private index(h: number, i: number): void {
    const bucket = (this.byHash as Map<number, number[]>).get(h);
    if (bucket) bucket.push(i);
    else (this.byHash as Map<number, number[]>).set(h, [i]);
  }

  /** The stacks ordered by hash (the canonical order used to compare states). */
  finish(): Stack[] {
    return this.stacks.sort((a, b) => hashOf(a) - hashOf(b));
  }
}

/** Push every way to reach a character element from position `pos` with `parent` below it. */
function expand(g: Grammar, pos: number, parent: Stack, out: StackSet): void {
  if (++out.steps > MAX_EXPANSION_STEPS) throw new GrammarError('the grammar is too ambiguous: expansion exceeded its step bound');
  const kind = g.kinds[pos];
  if (kind === ELEMENT_CHAR) out.add(frame(pos, parent));
  else if (kind === ELEMENT_END) {
    if (parent === null) out.add(null);
    else expand(g, parent.pos, parent.parent, out);
  } else {
    const cont = g.kinds[pos + 1] === ELEMENT_END ? parent : frame(pos + 1, parent);
    for (const start of g.alternatives[g.args[pos]]) expand(g, start, cont, out);
  }
}

/** @internal What the token-mask walk reads of a grammar's state table (see TokenMask.compute). */
export interface SuccessorTable {
  /** memo[id * 256 + byte]: 0 not computed yet, 1 rejected, else successor id + 2 (reallocated as it grows). */
  readonly memo: Int32Array;
  readonly states: readonly GrammarState[];
}

/**
 * The interned states of one grammar, by a hash of their content, with their successor table. A
 * full table is replaced by a fresh one (a new generation) for the states created after it: the
 * older tables stay valid for the states in them and are freed once no matcher holds those states
 * (the first one lives as long as the grammar's start state).
 */
class StateTable implements SuccessorTable {
  private readonly byKey = new Map<number, GrammarState[]>();
  /** Shared by the generations of one grammar: the one new states go to. */
  readonly newest: { table: StateTable };
  /** Interned states by id. */
  readonly states: GrammarState[] = [];
  /** Successors: memo[id * 256 + byte] is 0 when not computed yet, 1 when rejected, else successor id + 2. */
  memo = new Int32Array(256 * 64);

  constructor(newest?: { table: StateTable }) {
    this.newest = newest ?? { table: this };
    this.newest.table = this;
  }

  find(key: number, equal: (t: GrammarState) => boolean): GrammarState | undefined {
    const bucket = this.byKey.get(key);
    if (bucket) for (const t of bucket) if (equal(t)) return t;
    return undefined;
  }

  get full(): boolean {
    return this.states.length >= MAX_INTERNED_STATES;
  }

  /** Interns `s`; returns its id, or -1 when the table is full. */
  add(key: number, s: GrammarState): number {
    const id = this.states.length;
    if (id >= MAX_INTERNED_STATES) return -1;
    const bucket = this.byKey.get(key);
    if (bucket) bucket.push(s);
    else this.byKey.set(key, [s]);
    this.states.push(s);
    if ((id + 1) * 256 > this.memo.length) {
      const grown = new Int32Array(this.memo.length * 2);
      grown.set(this.memo);
      this.memo = grown;
    }
    return id;
  }
}

const DEAD = null;
const UTF8_MIN = [0, 0x80, 0x800, 0x10000];

/** An immutable matcher state; see the module comment. */
export class GrammarState {
  /** Index in the grammar's state table (its successors are memoised there); -1 when not interned. */
  private id = -1;

  private constructor(
    readonly grammar: Grammar,
    private readonly table: StateTable,
    private readonly stacks: readonly Stack[],
    /** Bytes still missing from the pending character (0 when none). */
    private readonly need: number,
    /** The bits of the pending character seen so far. */
    private readonly value: number,
    /** Total length of the pending character in bytes. */
    private readonly length: number,
    /** The state before the pending character's lead byte. */
    private readonly origin: GrammarState | undefined,
  ) {}

  /** The state before any input (each call starts a fresh intern table). */
  static initial(grammar: Grammar): GrammarState {
    const out = new StackSet();
    for (const start of grammar.alternatives[grammar.root]) expand(grammar, start, null, out);
    return GrammarState.make(grammar, new StateTable(), out.finish(), 0, 0, 0, undefined);
  }

  /** The interned state with this content, from the grammar's newest table (a new one when unseen; a new table when full). */
  private static make(g: Grammar, from: StateTable, stacks: readonly Stack[], need: number, value: number, length: number, origin: GrammarState | undefined): GrammarState {
    let key = Math.imul(need * 0x3c6ef372 + value * 0x1b873593 + length, 0x9e3779b1) | 0;
    for (const st of stacks) key = (Math.imul(key ^ hashOf(st), 0x85ebca6b) + 0x2545f491) | 0;
    let table = from.newest.table;
    const found = table.find(key, (t) => t.need === need && t.value === value && t.length === length && sameStacks(t.stacks, stacks));
    if (found) return found;
    if (table.full) table = new StateTable(table.newest);
    const s = new GrammarState(g, table, stacks, need, value, length, origin);
    s.id = table.add(key, s);
    return s;
  }

  /** @internal This state's index in `successorTable`. */
  get stateId(): number {
    return this.id;
  }

  /** @internal The table of interned states and memoised successors this state belongs to. */
  get successorTable(): SuccessorTable {
    return this.table;
  }

  /** Whether the input so far is a complete sentence of the grammar (no character pending). */
  get canEnd(): boolean {
    return this.need === 0 && this.stacks.includes(null);
  }

  /** Whether some continuation exists (a character can still be taken). */
  get canContinue(): boolean {
    return this.stacks.some((s) => s !== null);
  }

  /** Whether a multi-byte character has been started but not finished. */
  get isPending(): boolean {
    return this.need > 0;
  }

  /** Number of parse stacks (for diagnostics). */
  get stackCount(): number {
    return this.stacks.length;
  }

  /** The state after one more byte, or null when the byte cannot continue a valid prefix. */
  advance(byte: number): GrammarState | null {
    const id = this.id;
    if (id < 0) return this.compute(byte & 0xff);
    const t = this.table;
    const at = id * 256 + (byte & 0xff);
    const m = t.memo[at];
    if (m > 1) return t.states[m - 2];
    if (m === 1) return DEAD;
    const next = this.compute(byte & 0xff);
    // (compute may have grown the table: index it afresh) a successor in another generation's table is not memoised
    if (next === null) t.memo[at] = 1;
    else if (next.table === t) t.memo[at] = next.id + 2;
    return next;
  }

  private compute(byte: number): GrammarState | null {
    if (this.need === 0) {
      if (byte < 0x80) return this.step(byte, this);
      let need: number;
      if (byte >= 0xc2 && byte <= 0xdf) need = 1;
      else if (byte >= 0xe0 && byte <= 0xef) need = 2;
      else if (byte >= 0xf0 && byte <= 0xf4) need = 3;
      else return DEAD;
      const bits = byte & (0x3f >> need);
      return this.pending(need, bits, need + 1, this);
    }
    if ((byte & 0xc0) !== 0x80) return DEAD;
    const value = (this.value << 6) | (byte & 0x3f);
    if (this.need > 1) return this.pending(this.need - 1, value, this.length, this.origin as GrammarState);
    if (value < UTF8_MIN[this.length - 1] || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff)) return DEAD;
    return this.step(value, this.origin as GrammarState);
  }

  /** Keep the stacks whose next character can still start with the bits seen so far. */
  private pending(need: number, value: number, length: number, origin: GrammarState): GrammarState | null {
    const shift = 6 * need;
    const lo = Math.max(value * 2 ** shift, UTF8_MIN[length - 1]);
    const hi = Math.min(value * 2 ** shift + 2 ** shift - 1, 0x10ffff);
    if (lo > hi || (lo >= 0xd800 && hi <= 0xdfff)) return DEAD;
    const g = this.grammar;
    const kept = this.stacks.filter((s) => s !== null && g.intersects(g.args[s.pos], lo, hi));
    return kept.length === 0 ? DEAD : GrammarState.make(g, this.table, kept, need, value, length, origin);
  }

  /** Match one complete character; `origin` is returned instead of an equal new state. */
  private step(cp: number, origin: GrammarState): GrammarState | null {
    const g = this.grammar;
    const out = new StackSet();
    for (const s of this.stacks) {
      if (s !== null && g.contains(g.args[s.pos], cp)) expand(g, s.pos + 1, s.parent, out);
    }
    if (out.stacks.length === 0) return DEAD;
    const stacks = out.finish();
    if (origin.need === 0 && sameStacks(stacks, origin.stacks)) return origin;
    return GrammarState.make(g, this.table, stacks, 0, 0, 0, undefined);
  }
}

function sameStacks(a: readonly Stack[], b: readonly Stack[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!sameStack(a[i], b[i])) return false;
  return true;
}

/**
 * A mutable cursor over {@link GrammarState}s: feed it bytes of generated text and ask whether the
 * text is still a valid prefix and whether it may end here. Cloning is O(1) (states are shared).
 */
export class GrammarMatcher {
  private current: GrammarState;

  /** A matcher at the start of `grammar` (a compiled grammar or GBNF text). */
  constructor(grammar: Grammar | string, state?: GrammarState) {
    const g = typeof grammar === 'string' ? parseGbnf(grammar) : grammar;
    this.current = state ?? GrammarState.initial(g);
  }

  /** The current immutable state (for {@link TokenMask} or to restore later with `reset`). */
  get state(): GrammarState {
    return this.current;
  }

  get grammar(): Grammar {
    return this.current.grammar;
  }

  /** Whether the text so far is a complete sentence of the grammar. */
  get canEnd(): boolean {
    return this.current.canEnd;
  }

  /** Whether more text can follow. */
  get canContinue(): boolean {
    return this.current.canContinue;
  }

  /** Whether a multi-byte character is half-way through. */
  get isPending(): boolean {
    return this.current.isPending;
  }

  /** Take one byte; returns false (and keeps the state) when it would leave the grammar. */
  accept(byte: number): boolean {
    const next = this.current.advance(byte);
    if (next === null) return false;
    this.current = next;
    return true;
  }

  /** Take all bytes or none; returns whether they were taken. */
  acceptBytes(bytes: ArrayLike<number>): boolean {
    return this.firstRejected(bytes, true) < 0;
  }

  /** Take the UTF-8 bytes of `text`, all or none. */
  acceptText(text: string): boolean {
    return this.acceptBytes(new TextEncoder().encode(text));
  }

  /**
   * The index of the first byte of `bytes` that the grammar rejects, or -1 when all fit.
   * With `commit` the state moves past all bytes when they all fit; otherwise it is unchanged.
   */
  firstRejected(bytes: ArrayLike<number>, commit = false): number {
    let s: GrammarState | null = this.current;
    for (let i = 0; i < bytes.length; i++) {
      s = s.advance(bytes[i]);
      if (s === null) return i;
    }
    if (commit) this.current = s;
    return -1;
  }

  /** Go back to an earlier state of the same grammar. */
  reset(state: GrammarState): void {
    if (state.grammar !== this.current.grammar) throw new GrammarError('reset: the state belongs to another grammar');
    this.current = state;
  }

  /** An independent matcher at the same position. */
  clone(): GrammarMatcher {
    return new GrammarMatcher(this.current.grammar, this.current);
  }
}
