/**
 * What the BPE and SentencePiece tokenizers share: special-token partitioning, BOS/EOS, decoding to
 * bytes exactly like llama.cpp's token_to_piece / llama_detokenize, and streaming.
 */
import { TokenizerError } from '../errors';
import { partitionSpecialTokens, type Fragment } from './SpecialTokens';
import { StreamDecoder, type StreamDecoderOptions } from './StreamDecoder';
import type { DecodeOptions, EncodeOptions, Tokenizer } from './Tokenizer';
import { toWellFormed } from './UnicodeFlags';
import { SPECIAL_ATTRS, type Vocabulary } from './Vocabulary';

export abstract class TokenizerBase implements Tokenizer {
  abstract readonly model: 'gpt2' | 'llama';
  abstract readonly preTokenizer: string;

  constructor(
    protected readonly vocab: Vocabulary,
    /** llama_detokenize's clean-up of spaces before punctuation (only applied on request). */
    protected readonly cleanSpacesFlag: boolean,
  ) {}

  get vocabSize(): number {
    return this.vocab.size;
  }
  get bosId(): number | undefined {
    return this.vocab.bosId;
  }
  get eosId(): number | undefined {
    return this.vocab.eosId;
  }
  get eotId(): number | undefined {
    return this.vocab.eotId;
  }
  get addBos(): boolean {
    return this.vocab.addBos;
  }
  get addEos(): boolean {
    return this.vocab.addEos;
  }
  get endOfGenerationIds(): readonly number[] {
    return [...this.vocab.eogIds].sort((a, b) => a - b);
  }

  /** Tokenize the plain-text fragments (special tokens already split out) into `out`. */
  protected abstract encodeFragments(fragments: readonly Fragment[], out: number[]): void;

  encode(text: string, options: EncodeOptions = {}): number[] {
    if (typeof text !== 'string') throw new TokenizerError(`encode expects a string, got ${typeof text}`);
    // Lone surrogates cannot be UTF-8 encoded; llama.cpp (through N-API) sees U+FFFD for them.
    const wellFormed = toWellFormed(text);
    const fragments = partitionSpecialTokens(wellFormed, this.vocab, options.parseSpecial ?? false);
    const out: number[] = [];
    if (options.addBos ?? this.vocab.addBos) out.push(this.requireId(this.vocab.bosId, 'BOS'));
    this.encodeFragments(fragments, out);
    if (options.addEos ?? this.vocab.addEos) out.push(this.requireId(this.vocab.eosId, 'EOS'));
    return out;
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const special = !(options.skipSpecial ?? false);
    const vocab = this.vocab;
    let total = 0;
    for (let i = 0; i < ids.length; i++) total += vocab.pieceLength(ids[i], special);
    let bytes: Uint8Array = new Uint8Array(total);
    for (let i = 0, at = 0; i < ids.length; i++) at += vocab.copyPiece(ids[i], special, bytes, at);
    // the leading-space rule of pieceWithLeadingSpaceRule, for the first token
    if (ids.length > 0 && vocab.addSpacePrefix && vocab.pieceLength(ids[0], special) > 0 && bytes[0] === 0x20) bytes = bytes.subarray(1);
    if (options.cleanSpaces && this.cleanSpacesFlag) bytes = cleanSpaces(bytes);
    return new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
  }

  createStreamDecoder(options: StreamDecoderOptions = {}): StreamDecoder {
    return new StreamDecoder(this.vocab, options);
  }

  tokenBytes(id: number): Uint8Array {
    return this.vocab.pieceBytes(id, true).slice();
  }

  tokenText(id: number): string {
    this.vocab.checkId(id);
    return this.vocab.text(id);
  }

  tokenType(id: number): number {
    this.vocab.checkId(id);
    return this.vocab.types[id];
  }

  tokenId(text: string): number | undefined {
    return this.vocab.tokenId(text);
  }

  isSpecial(id: number): boolean {
    this.vocab.checkId(id);
    return (this.vocab.attrs[id] & SPECIAL_ATTRS) !== 0;
  }

  isEndOfGeneration(id: number): boolean {
    return this.vocab.eogIds.has(id);
  }

  private requireId(id: number | undefined, what: string): number {
    if (id === undefined) throw new TokenizerError(`cannot add ${what}: the vocabulary has no ${what} token`);
    return id;
  }
}

const SPACE = 0x20;
const APOSTROPHE = 0x27;

/**
 * llama_detokenize's three clean-up passes for vocabularies with clean_spaces: drop the space in
 * " ?", " !", " .", " ,"; turn " ' " into "'"; and drop the space before "'s", "'m", "'re", "'ve".
 */
export function cleanSpaces(input: Uint8Array): Uint8Array {
  let text = Array.from(input);
  const pass = (step: (out: number[], i: number, t: number[]) => number): void => {
    if (text.length === 0) return;
    const out = [text[0]];
    for (let i = 1; i < text.length; ) i = step(out, i, text);
    text = out;
  };
  pass((out, i, t) => {
    const x = t[i];
    if (t[i - 1] === SPACE && (x === 0x3f || x === 0x21 || x === 0x2e || x === 0x2c)) out.pop();
    out.push(x);
    return i + 1;
  });
  pass((out, i, t) => {
    const x = t[i];
    if (x === APOSTROPHE && i + 1 < t.length && t[i - 1] === SPACE && t[i + 1] === SPACE) {
      out.pop();
      out.push(x);
      // the following space is dropped too; llama.cpp overwrites it with NUL in place, so it no
      // longer counts as a space for the character after it
      t[i + 1] = 0;
      return i + 2;
    }
    out.push(x);
    return i + 1;
  });
  pass((out, i, t) => {
    const x = t[i];
    if (t[i - 1] === SPACE && x === APOSTROPHE && i + 1 < t.length) {
      const a = t[i + 1];
      const b = i + 2 < t.length ? t[i + 2] : -1;
      if (a === 0x73 || a === 0x6d || (b >= 0 && ((a === 0x72 && b === 0x65) || (a === 0x76 && b === 0x65)))) out.pop();
    }
    out.push(x);
    return i + 1;
  });
  return Uint8Array.from(text);
}
