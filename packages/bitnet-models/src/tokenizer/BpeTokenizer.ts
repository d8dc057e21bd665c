/**
 * Byte-level BPE ('gpt2' tokenizer model), as llama.cpp's llm_tokenizer_bpe_session does it:
 *
 * 1. pre-tokenize each plain-text fragment into words (PreTokenizer);
 * 2. map each word's UTF-8 bytes to GPT-2 characters (ByteLevel);
 * 3. with ignore_merges (LLaMA-3), a word that is itself a token is emitted directly;
 * 4. otherwise start from one symbol per character and repeatedly merge the adjacent pair with the
 *    lowest merge rank, the leftmost pair winning ties;
 * 5. look each final symbol up; one that is not a token (only possible with an inconsistent
 *    vocabulary) is emitted byte by byte as llama.cpp does: single-byte (ASCII) characters that are
 *    tokens are kept, anything else is silently dropped.
 *
 * Results are cached per word, so repeated words cost a map lookup.
 */
import { PriorityQueue } from './PriorityQueue';
import { byteEncode } from './ByteLevel';
import { BYTE_CHAR_LIMIT, MergeTable } from './MergeTable';
import { stringList, type StringList } from './StringTable';
import { preTokenize, type PreTokenizerConfig, type PreTokenizerKind } from './PreTokenizer';
import type { Fragment } from './SpecialTokens';
import { TokenizerBase } from './TokenizerBase';
import type { Vocabulary } from './Vocabulary';

interface Bigram {
  left: number;
  right: number;
  rank: number;
  /** Symbol id of the merged pair. */
  result: number;
  size: number;
}

const byRankThenLeft = (a: Bigram, b: Bigram): boolean => a.rank < b.rank || (a.rank === b.rank && a.left < b.left);

// Words whose ids are remembered; bounded so the cache stays a small part of the heap.
const CACHE_LIMIT = 16_384;

export class BpeTokenizer extends TokenizerBase {
  readonly model = 'gpt2' as const;
  readonly preTokenizer: PreTokenizerKind;
  private readonly merges: MergeTable;
  private readonly ignoreMerges: boolean;
  private readonly cache = new Map<string, readonly number[]>();

  constructor(vocab: Vocabulary, merges: readonly string[] | StringList, config: PreTokenizerConfig) {
    super(vocab, config.cleanSpaces);
    this.preTokenizer = config.kind;
    this.ignoreMerges = config.ignoreMerges;
    this.merges = new MergeTable(vocab, stringList(merges));
  }

  protected encodeFragments(fragments: readonly Fragment[], out: number[]): void {
    for (const fragment of fragments) {
      if (typeof fragment === 'number') {
        out.push(fragment);
        continue;
      }
      for (const word of preTokenize(fragment, this.preTokenizer)) {
        const encoded = byteEncode(word);
        let ids = this.cache.get(encoded);
        if (ids === undefined) {
          ids = this.encodeWord(encoded);
          if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
          this.cache.set(encoded, ids);
        }
        for (const id of ids) out.push(id);
      }
    }
  }

  /** BPE over one byte-encoded word (every character is a single UTF-16 unit). */
  private encodeWord(word: string): number[] {
    const vocab = this.vocab;
    if (this.ignoreMerges) {
      const whole = vocab.tokenId(word);
      if (whole !== undefined) return [whole];
    }
    const merges = this.merges;
    const charIds = merges.charIds;
    const n = word.length;
    // symbol i covers word[i, i + len[i]) (a symbol only ever absorbs its right neighbour) and has
    // symbol id sym[i] (-1: a text no rule or token has); len 0 means merged away
    const len = new Int32Array(n);
    const sym = new Int32Array(n);
    const prev = new Int32Array(n);
    const next = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const code = word.charCodeAt(i);
      len[i] = 1;
      sym[i] = code < BYTE_CHAR_LIMIT ? charIds[code] : -1;
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    const queue = new PriorityQueue<Bigram>(byRankThenLeft);
    const addBigram = (left: number, right: number): void => {
      if (left < 0 || right < 0 || sym[left] < 0 || sym[right] < 0) return;
      const slot = merges.find(sym[left], sym[right]);
      if (slot >= 0) queue.push({ left, right, rank: merges.rank(slot), result: merges.result(slot), size: len[left] + len[right] });
    };
    for (let i = 1; i < n; i++) addBigram(i - 1, i);

    for (let bigram = queue.pop(); bigram !== undefined; bigram = queue.pop()) {
      const { left, right } = bigram;
      // skip pairs that changed since they were queued
      if (len[left] === 0 || len[right] === 0 || len[left] + len[right] !== bigram.size) continue;
      len[left] += len[right];
      len[right] = 0;
      sym[left] = bigram.result;
      next[left] = next[right];
      if (next[right] >= 0) prev[next[right]] = left;
      addBigram(prev[left], left);
      addBigram(left, next[left]);
    }

    const ids: number[] = [];
    for (let i = 0; i >= 0; i = next[i]) {
      const id = sym[i];
      if (id >= 0 && id < vocab.size) {
        ids.push(id);
        continue;
      }
      // not a token: keep the single-byte (ASCII) characters that are tokens, drop the rest
      for (let k = i; k < i + len[i]; k++) {
        const code = word.charCodeAt(k);
        const byteId = code < 0x80 ? charIds[code] : -1;
        if (byteId >= 0 && byteId < vocab.size) ids.push(byteId);
      }
    }
    return ids;
  }
}
