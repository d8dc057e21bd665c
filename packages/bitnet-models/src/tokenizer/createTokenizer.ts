/**
 * Builds the tokenizer a GGUF file describes (BPE or SentencePiece, with the pre-tokenizer its
 * metadata names). Kept apart from the Tokenizer contract so that the implementations can import
 * the contract without a cycle.
 */
import { TokenizerError } from '../errors';
import type { GgufMetadata } from '../gguf/GgufMetadata';
import { BpeTokenizer } from './BpeTokenizer';
import { preTokenizerConfig, type PreTokenizerConfig } from './PreTokenizer';
import { SentencePieceTokenizer } from './SentencePieceTokenizer';
import type { Tokenizer } from './Tokenizer';
import { stringList, type StringList } from './StringTable';
import { TOKENIZER_KEYS, tokenizerSourceFromMetadata, type TokenizerData, type TokenizerSource } from './TokenizerData';
import { Vocabulary } from './Vocabulary';

/** Options of `createTokenizer`. */
export interface CreateTokenizerOptions {
  /**
   * Use this pre-tokenizer instead of tokenizer.ggml.pre (like llama.cpp's
   * `--override-kv tokenizer.ggml.pre=str:llama-bpe`).
   */
  readonly preTokenizer?: string;
  /**
   * When tokenizer.ggml.pre is absent and the vocabulary is LLaMA-3's (BitNet b1.58 2B4T's released
   * GGUF), use the LLaMA-3 pre-tokenizer the model was trained with. Default true. Set false to
   * reproduce llama.cpp / bitnet.cpp exactly, which fall back to their 'default' pre-tokenizer.
   */
  readonly detectLlama3?: boolean;
}

/** LLaMA-3's vocabulary: 128000 BPE tokens then 256 specials starting with <|begin_of_text|>. */
export function isLlama3Vocabulary(data: Pick<TokenizerData, 'model' | 'tokens'> | Pick<TokenizerSource, 'model' | 'tokens'>): boolean {
  const t: StringList = stringList(data.tokens);
  return (
    data.model === 'gpt2' &&
    t.length === 128256 &&
    t.get(128000) === '<|begin_of_text|>' &&
    t.get(128001) === '<|end_of_text|>' &&
    t.get(128006) === '<|start_header_id|>' &&
    t.get(128007) === '<|end_header_id|>' &&
    t.get(128009) === '<|eot_id|>' &&
    t.get(0) === '!' &&
    t.get(220) === '\u0120' // "Ġ", a space
  );
}

function resolvePreTokenizer(data: TokenizerSource, options: CreateTokenizerOptions): PreTokenizerConfig {
  const name = options.preTokenizer ?? data.pre;
  if (name === undefined) {
    const detect = options.detectLlama3 ?? true;
    return preTokenizerConfig(detect && isLlama3Vocabulary(data) ? 'llama-bpe' : 'default') as PreTokenizerConfig;
  }
  const config = preTokenizerConfig(name);
  if (config === undefined) {
    const where = options.preTokenizer !== undefined ? 'option preTokenizer' : `tokenizer metadata '${TOKENIZER_KEYS.pre}'`;
    throw new TokenizerError(`${where} = '${name}' is not a supported pre-tokenizer`);
  }
  return config;
}

/**
 * Build the tokenizer described by a GGUF file's tokenizer.* metadata. Token texts and merge rules
 * go from the metadata's packed string arrays into the tokenizer's tables one at a time, never all
 * as JS strings at once.
 */
export function createTokenizer(md: GgufMetadata, options: CreateTokenizerOptions = {}): Tokenizer {
  return createTokenizerFromSource(tokenizerSourceFromMetadata(md), options);
}

/** A tokenizer from vocabulary data already read from metadata. */
export function createTokenizerFromData(data: TokenizerData, options: CreateTokenizerOptions = {}): Tokenizer {
  return createTokenizerFromSource({ ...data, tokens: stringList(data.tokens), merges: data.merges && stringList(data.merges) }, options);
}

function createTokenizerFromSource(data: TokenizerSource, options: CreateTokenizerOptions): Tokenizer {
  if (data.model === 'llama') {
    return new SentencePieceTokenizer(new Vocabulary(data, { byteLevel: false, addBosDefault: true }));
  }
  const config = resolvePreTokenizer(data, options);
  const vocab = new Vocabulary(data, { byteLevel: true, addBosDefault: config.addBos });
  return new BpeTokenizer(vocab, data.merges ?? [], config);
}
