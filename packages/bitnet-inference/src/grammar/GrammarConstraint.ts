/**
 * Constrained decoding on the model thread: a {@link GrammarVocabulary} (each token's bytes and one
 * shared {@link TokenMask}, built once per model) and a {@link GrammarConstraint} per sequence (its
 * matcher). Before each sample the constraint sets the logits of every token that would leave the
 * grammar to −Infinity; after it, the chosen token's bytes advance the matcher. Nothing here runs on
 * the caller's thread: the engine sends the grammar text and the worker builds all of this.
 */
import { GgufFile, type Tokenizer, createTokenizer } from '@bitnet/models';
import { parseGbnf } from './Gbnf';
import type { Grammar } from './Grammar';
import { GrammarError } from './GrammarError';
import { GrammarMatcher, GrammarState } from './GrammarMatcher';
import { type MaskTokenizer, TokenMask, type TokenMaskOptions, grammarTokenBytes } from './TokenMask';

/** How many compiled grammars a vocabulary keeps (each holds at most MAX_INTERNED_STATES states). */
export const GRAMMAR_CACHE_SIZE = 8;

/** The vocabulary of one model as constrained decoding sees it. */
export class GrammarVocabulary {
  /** The mask over the vocabulary (shared by every sequence; its state cache spans them). */
  readonly mask: TokenMask;
  /** Reused mask buffer: masks are computed and applied synchronously, one at a time. */
  readonly scratch: Uint8Array;
  private readonly bytes: (Uint8Array | null)[];
  private readonly endIds: ReadonlySet<number>;
  /** Compiled grammars by their text, most recently used last (see `initialState`). */
  private readonly grammars = new Map<string, GrammarState>();

  constructor(tokenizer: MaskTokenizer, options: TokenMaskOptions = {}) {
    this.bytes = grammarTokenBytes(tokenizer);
    this.endIds = new Set(tokenizer.endOfGenerationIds);
    this.mask = new TokenMask(this.bytes, tokenizer.endOfGenerationIds, options);
    this.scratch = new Uint8Array(tokenizer.vocabSize);
  }

  /** Reads the tokenizer of a GGUF file (its metadata only) and builds the vocabulary. */
  static fromFile(path: string, options: TokenMaskOptions = {}): GrammarVocabulary {
    const file = GgufFile.open(path);
    let tokenizer: Tokenizer;
    try {
      tokenizer = createTokenizer(file.metadata);
    } finally {
      file.close();
    }
    return new GrammarVocabulary(tokenizer, options);
  }

  /**
   * The start state of a grammar given as GBNF text. The last GRAMMAR_CACHE_SIZE texts stay compiled, so
   * sequences with the same grammar or schema (a server's clients, the turns of a chat) share its state
   * table: states, successors and masks computed for one are there for the next.
   * @throws GrammarError when the text is not a valid grammar.
   */
  initialState(text: string): GrammarState {
    let s = this.grammars.get(text);
    if (s) this.grammars.delete(text);
    else s = GrammarState.initial(parseGbnf(text));
    this.grammars.set(text, s);
    if (this.grammars.size > GRAMMAR_CACHE_SIZE) this.grammars.delete(this.grammars.keys().next().value as string);
    return s;
  }

  /** Number of token ids. */
  get vocabSize(): number {
    return this.bytes.length;
  }

  /** A token's bytes; null for special tokens (they carry no grammar text). */
  tokenBytes(id: number): Uint8Array | null {
    return this.bytes[id] ?? null;
  }

  /** Whether `id` ends a generation (allowed only where the grammar may end). */
  isEndOfGeneration(id: number): boolean {
    return this.endIds.has(id);
  }
}

/** What one masking step found. */
export interface GrammarMaskInfo {
  /** Tokens left (end-of-generation ids included when the text may end). */
  readonly allowed: number;
  /** Trie nodes walked (0 when the state's mask was cached). */
  readonly visited: number;
}

/** The grammar of one sequence: masks its logits and follows the tokens chosen. */
export class GrammarConstraint {
  private readonly matcher: GrammarMatcher;

  /** @param grammar compiled, or GBNF text (compiled once per vocabulary, see initialState; GrammarError when invalid) */
  constructor(
    grammar: Grammar | string,
    private readonly vocab: GrammarVocabulary,
  ) {
    const start = typeof grammar === 'string' ? vocab.initialState(grammar) : GrammarState.initial(grammar);
    this.matcher = new GrammarMatcher(start.grammar, start);
  }

  /** Whether the text so far is complete and nothing may follow it. */
  get complete(): boolean {
    return this.matcher.canEnd && !this.matcher.canContinue;
  }

  /**
   * Sets the logits of the tokens that would leave the grammar to −Infinity (in place).
   * @throws GrammarError when no token is allowed (a dead end) or the grammar is too ambiguous.
   */
  mask(logits: Float32Array): GrammarMaskInfo {
    if (logits.length !== this.vocab.vocabSize) throw new GrammarError(`the logits have ${logits.length} entries, the vocabulary ${this.vocab.vocabSize}`);
    const r = this.vocab.mask.compute(this.matcher.state, this.vocab.scratch);
    if (r.count === 0) throw new GrammarError('no token can continue the text: the grammar reached a dead end');
    const allowed = r.allowed;
    for (let i = 0; i < logits.length; i++) if (allowed[i] === 0) logits[i] = -Infinity;
    return { allowed: r.count, visited: r.visited };
  }

  /**
   * Whether `id` may come next: true exactly when mask() leaves its logit as it is (its bytes fit the
   * grammar from here, or it ends generation and the text may end). One walk of the token's bytes, no
   * mask: the scheduler checks a greedy row's largest logits this way before masking the whole row.
   * @throws GrammarError when the grammar is too ambiguous along the token's bytes (as mask() would)
   */
  allows(id: number): boolean {
    const bytes = this.vocab.tokenBytes(id);
    if (bytes !== null && bytes.length > 0 && this.matcher.firstRejected(bytes) < 0) return true;
    return this.vocab.isEndOfGeneration(id) && this.matcher.canEnd;
  }

  /**
   * Follows a chosen (or resumed) token. Returns true when the text is now complete and nothing may
   * follow (the generation ends there).
   * @throws GrammarError when the token does not fit the grammar at this point.
   */
  accept(id: number): boolean {
    const bytes = this.vocab.tokenBytes(id);
    if (bytes === null) {
      if (this.vocab.isEndOfGeneration(id) && this.matcher.canEnd) return true;
      throw new GrammarError(`token ${id} (a special token) does not fit the grammar here`);
    }
    if (!this.matcher.acceptBytes(bytes)) throw new GrammarError(`token ${id} does not fit the grammar here`);
    return this.complete;
  }
}
