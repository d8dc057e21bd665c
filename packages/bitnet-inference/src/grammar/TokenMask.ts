/**
 * The set of vocabulary tokens that keep generated text a valid prefix of a grammar.
 *
 * Built once per vocabulary: the tokens' byte strings are sorted and laid out as a byte trie in
 * preorder (node i's subtree is the range [i + 1, end[i]), its first child is i + 1 and the next
 * sibling of child c is end[c]). {@link TokenMask.compute} walks that trie depth-first from a
 * matcher state, advancing the state by one byte per edge and skipping a whole subtree as soon as
 * its byte is rejected, so the cost is the number of trie nodes whose prefix is still valid, not
 * vocabulary × token length. Successor states are memoised inside the states, which makes repeated
 * structures (string characters, digits, whitespace) nearly free.
 *
 * Tokens without bytes (special / control tokens such as BOS or <|eot_id|>) never match grammar
 * text; the end-of-generation ones are allowed exactly when the grammar can end.
 */
import type { Tokenizer } from '@bitnet/models';
import { GrammarError } from './GrammarError';
import { GrammarMatcher, GrammarState } from './GrammarMatcher';

/** The tokens allowed at one state. */
export interface TokenMaskResult {
  /** Per token id: 1 when the token may be sampled (end-of-generation tokens included when `endAllowed`). */
  readonly allowed: Uint8Array;
  /** Number of allowed token ids. */
  readonly count: number;
  /** Whether generation may stop here (the grammar can end; end-of-generation tokens are allowed). */
  readonly endAllowed: boolean;
  /** Trie nodes visited (a cost measure). */
  readonly visited: number;
}

/** Options of {@link TokenMask}. */
export interface TokenMaskOptions {
  /**
   * How many recent states keep their mask (default 8; 0 disables). States are immutable and a
   * loop such as the characters of a string returns to the same state object, so consecutive
   * tokens inside one string reuse one mask.
   */
  readonly cacheSize?: number;
}

/** The token-id → bytes view of a tokenizer that TokenMask needs. */
export type MaskTokenizer = Pick<Tokenizer, 'vocabSize' | 'tokenBytes' | 'isSpecial' | 'endOfGenerationIds'>;

/** Per token id the bytes grammar text sees: its bytes, or null for a special token (it matches no text). */
export function grammarTokenBytes(tokenizer: MaskTokenizer): (Uint8Array | null)[] {
  const tokens: (Uint8Array | null)[] = [];
  for (let id = 0; id < tokenizer.vocabSize; id++) tokens.push(tokenizer.isSpecial(id) ? null : tokenizer.tokenBytes(id));
  return tokens;
}

/** A per-vocabulary byte trie that computes grammar token masks; see the module comment. */
export class TokenMask {
  /** Number of token ids. */
  readonly vocabSize: number;
  /** Trie node count. */
  readonly nodeCount: number;
  private readonly bytes: Uint8Array;
  private readonly end: Int32Array;
  private readonly first: Int32Array;
  private readonly count: Int32Array;
  private readonly tokenIds: Int32Array;
  private readonly eog: Int32Array;
  private readonly cacheSize: number;
  private readonly cache = new Map<GrammarState, TokenMaskResult>();
  /** The walk's stack (one entry per trie depth, i.e. per byte of the longest token). */
  private readonly nextNode: Int32Array;
  private readonly rangeEnd: Int32Array;
  private readonly stateIds: Int32Array;
  private readonly uninterned: (GrammarState | undefined)[];

  /**
   * @param tokens per token id its bytes; null, undefined or empty for special tokens
   * @param endOfGeneration ids that end generation (allowed when the grammar can end)
   */
  constructor(tokens: readonly (Uint8Array | null | undefined)[], endOfGeneration: readonly number[] = [], options: TokenMaskOptions = {}) {
    this.vocabSize = tokens.length;
    const cacheSize = options.cacheSize ?? 8;
    if (!Number.isInteger(cacheSize) || cacheSize < 0 || cacheSize > 1024) throw new GrammarError(`cacheSize must be an integer in [0, 1024], got ${cacheSize}`);
    this.cacheSize = cacheSize;
    for (const id of endOfGeneration) {
      if (!Number.isInteger(id) || id < 0 || id >= tokens.length) throw new GrammarError(`end-of-generation id ${id} is outside the vocabulary`);
    }
    this.eog = Int32Array.from(endOfGeneration);
    const ids: number[] = [];
    let total = 0;
    for (let id = 0; id < tokens.length; id++) {
      const b = tokens[id];
      if (b && b.length > 0) {
        ids.push(id);
        total += b.length;
      }
    }
    const views = new Map<number, Buffer>();
    for (const id of ids) {
      const b = tokens[id] as Uint8Array;
      views.set(id, Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    }
    ids.sort((a, b) => Buffer.compare(views.get(a) as Buffer, views.get(b) as Buffer) || a - b);
    // preorder trie: a node per distinct non-empty prefix; at most `total` nodes
    const bytes = new Uint8Array(total);
    const end = new Int32Array(total);
    const first = new Int32Array(total).fill(-1); // index into the sorted ids of the first token ending here
    const count = new Int32Array(total); // tokens ending here (several when byte strings repeat)
    const path: number[] = []; // node index per depth on the current path
    let n = 0;
    let prev: Uint8Array = new Uint8Array(0);
    for (let k = 0; k < ids.length; k++) {
      const b = tokens[ids[k]] as Uint8Array;
      let lcp = 0;
      while (lcp < b.length && lcp < prev.length && b[lcp] === prev[lcp]) lcp++;
      while (path.length > lcp) end[path.pop() as number] = n;
      for (let d = lcp; d < b.length; d++) {
        bytes[n] = b[d];
        path.push(n++);
      }
      const leaf = path[b.length - 1];
      if (first[leaf] < 0) first[leaf] = k;
      count[leaf]++;
      prev = b;
    }
    while (path.length > 0) end[path.pop() as number] = n;
    this.nodeCount = n;
    this.bytes = bytes.slice(0, n);
    this.end = end.slice(0, n);
    this.first = first.slice(0, n);
    this.count = count.slice(0, n);
    this.tokenIds = Int32Array.from(ids);
    let longest = 0;
    for (const id of ids) longest = Math.max(longest, (tokens[id] as Uint8Array).length);
    this.nextNode = new Int32Array(longest + 1);
    this.rangeEnd = new Int32Array(longest + 1);
    this.stateIds = new Int32Array(longest + 1);
    this.uninterned = new Array<GrammarState | undefined>(longest + 1).fill(undefined);
  }

  /** A mask for a tokenizer's vocabulary: special tokens carry no bytes; its end-of-generation ids end. */
  static fromTokenizer(tokenizer: MaskTokenizer, options: TokenMaskOptions = {}): TokenMask {
    return new TokenMask(grammarTokenBytes(tokenizer), tokenizer.endOfGenerationIds, options);
  }

  /**
   * The tokens allowed at `state`. `out` (length vocabSize) is reused when given.
   * Throws GrammarError when the grammar's stack bound is exceeded along the way.
   */
  compute(state: GrammarState | GrammarMatcher, out?: Uint8Array): TokenMaskResult {
    const root = state instanceof GrammarMatcher ? state.state : state;
    const allowed = out ?? new Uint8Array(this.vocabSize);
    if (allowed.length !== this.vocabSize) throw new GrammarError(`mask buffer has length ${allowed.length}, expected ${this.vocabSize}`);
    const hit = this.cache.get(root);
    if (hit) {
      this.cache.delete(root); // most recently used goes last
      this.cache.set(root, hit);
      allowed.set(hit.allowed);
      return { allowed, count: hit.count, endAllowed: hit.endAllowed, visited: 0 };
    }
    allowed.fill(0);
    const { bytes, end, first, tokenIds } = this;
    const counts = this.count;
    let count = 0;
    let visited = 0;
    // depth-first over the trie with an explicit stack: per depth the next sibling to try, the end of
    // the sibling range, and the id of the grammar state before that depth's byte. Successors are read
    // from the grammar's memo table (typed arrays only); a successor not computed yet is computed once
    // through GrammarState.advance, which memoises it. States of another table generation (a full table
    // is followed by a fresh one) take the same walk through advance alone.
    const { nextNode, rangeEnd, stateIds } = this;
    const table = root.successorTable;
    const states = table.states;
    const uninterned: (GrammarState | undefined)[] = this.uninterned;
    let memo = table.memo;
    let depth = 0;
    nextNode[0] = 0;
    rangeEnd[0] = this.nodeCount;
    stateIds[0] = root.stateId;
    uninterned[0] = undefined;
    while (depth >= 0) {
      const i = nextNode[depth];
      if (i >= rangeEnd[depth]) {
        uninterned[depth--] = undefined;
        continue;
      }
      const subtreeEnd = end[i];
      nextNode[depth] = subtreeEnd;
      visited++;
      const sid = stateIds[depth];
      let nextId: number;
      let nextState: GrammarState | undefined;
      const m = sid >= 0 ? memo[sid * 256 + bytes[i]] : 0;
      if (m > 1) nextId = m - 2;
      else if (m === 1) continue;
      else {
        const next = (sid >= 0 ? states[sid] : (uninterned[depth] as GrammarState)).advance(bytes[i]);
        memo = table.memo;
        if (next === null) continue;
        if (next.successorTable === table) nextId = next.stateId;
        else {
          nextId = -1; // a state of a newer table generation: walked through advance alone
          nextState = next;
        }
      }
      const c = counts[i];
      if (c > 0) {
        for (let k = first[i]; k < first[i] + c; k++) allowed[tokenIds[k]] = 1;
        count += c;
      }
      if (subtreeEnd > i + 1) {
        depth++;
        nextNode[depth] = i + 1;
        rangeEnd[depth] = subtreeEnd;
        stateIds[depth] = nextId;
        uninterned[depth] = nextState;
      }
    }
    const endAllowed = root.canEnd;
    if (endAllowed) {
      for (const id of this.eog) {
        if (allowed[id] === 0) count++;
        allowed[id] = 1;
      }
    }
    if (this.cacheSize > 0) {
      if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value as GrammarState);
      this.cache.set(root, { allowed: allowed.slice(), count, endAllowed, visited });
    }
    return { allowed, count, endAllowed, visited };
  }
}
