/**
 * SentencePiece-style tokenizer ('llama' tokenizer model), as llama.cpp's llm_tokenizer_spm_session
 * does it:
 *
 * - a plain-text fragment at the start of the input or right after a special token gets a leading
 *   space when add_space_prefix is on; every space becomes '▁' (U+2581);
 * - start from one symbol per character and repeatedly merge the adjacent pair whose concatenation
 *   is a token with the highest score (ties: leftmost pair first);
 * - a final symbol that is not a token is written as byte tokens <0xNN> (byte fallback), or as the
 *   one-character token for that byte; a byte with neither is an error (llama.cpp throws too).
 *
 * The unknown token is never produced by tokenization, matching llama.cpp.
 */
import { TokenizerError } from '../errors';
import { PriorityQueue } from './PriorityQueue';
import type { Fragment } from './SpecialTokens';
import { TokenizerBase } from './TokenizerBase';
import type { Vocabulary } from './Vocabulary';

interface Bigram {
  left: number;
  right: number;
  score: number;
  size: number;
}

const byScoreThenLeft = (a: Bigram, b: Bigram): boolean => a.score > b.score || (a.score === b.score && a.left < b.left);

const utf8 = new TextEncoder();

export class SentencePieceTokenizer extends TokenizerBase {
  readonly model = 'llama' as const;
  readonly preTokenizer = 'sentencepiece';
  private readonly byteTokens = new Int32Array(256).fill(-2); // -2 = not looked up yet, -1 = none

  constructor(vocab: Vocabulary) {
    super(vocab, false);
  }

  protected encodeFragments(fragments: readonly Fragment[], out: number[]): void {
    let afterSpecial = true; // the start of the input counts as "after a special token"
    for (const fragment of fragments) {
      if (typeof fragment === 'number') {
        out.push(fragment);
        afterSpecial = true;
        continue;
      }
      const text = (this.vocab.addSpacePrefix && afterSpecial ? ' ' : '') + fragment;
      this.encodeText(text.replaceAll(' ', '\u2581'), out);
      afterSpecial = false;
    }
  }

  private encodeText(text: string, out: number[]): void {
    // one symbol per code point: [start, start + len) in UTF-16 units; len 0 = merged away
    const starts: number[] = [];
    for (let i = 0; i < text.length; i += (text.codePointAt(i) as number) > 0xffff ? 2 : 1) starts.push(i);
    const n = starts.length;
    if (n === 0) return;
    const start = Int32Array.from(starts);
    const len = new Int32Array(n);
    const prev = new Int32Array(n);
    const next = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      len[i] = (i + 1 < n ? start[i + 1] : text.length) - start[i];
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    const queue = new PriorityQueue<Bigram>(byScoreThenLeft);
    const addBigram = (left: number, right: number): void => {
      if (left < 0 || right < 0) return;
      const size = len[left] + len[right];
      const id = this.vocab.tokenId(text, start[left], start[left] + size);
      if (id !== undefined) queue.push({ left, right, score: this.vocab.scores[id], size });
    };
    for (let i = 1; i < n; i++) addBigram(i - 1, i);

    for (let bigram = queue.pop(); bigram !== undefined; bigram = queue.pop()) {
      const { left, right } = bigram;
      if (len[left] === 0 || len[right] === 0 || len[left] + len[right] !== bigram.size) continue;
      len[left] += len[right];
      len[right] = 0;
      next[left] = next[right];
      if (next[right] >= 0) prev[next[right]] = left;
      addBigram(prev[left], left);
      addBigram(left, next[left]);
    }

    for (let i = 0; i >= 0; i = next[i]) {
      const id = this.vocab.tokenId(text, start[i], start[i] + len[i]);
      if (id !== undefined) out.push(id);
      else for (const byte of utf8.encode(text.substr(start[i], len[i]))) out.push(this.byteToken(byte));
    }
  }

  /** llama.cpp's byte_to_token: "<0xNN>" (upper-case hex), else the one-character token for that byte. */
  private byteToken(byte: number): number {
    let id = this.byteTokens[byte];
    if (id === -2) {
      const hex = byte.toString(16).toUpperCase().padStart(2, '0');
      id = this.vocab.tokenId(`<0x${hex}>`) ?? (byte < 0x80 ? this.vocab.tokenId(String.fromCharCode(byte)) : undefined) ?? -1;
      this.byteTokens[byte] = id;
    }
    if (id < 0) {
      throw new TokenizerError(`cannot tokenize byte 0x${byte.toString(16).padStart(2, '0')}: the vocabulary has no byte-fallback token for it`);
    }
    return id;
  }
}
