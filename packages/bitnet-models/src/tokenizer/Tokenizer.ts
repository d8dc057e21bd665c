/**
 * Public tokenizer API: createTokenizer(metadata) returns a Tokenizer whose token ids are those
 * llama.cpp produces for the same GGUF file (see BpeTokenizer / SentencePieceTokenizer for the
 * algorithms, and index.ts for the known differences).
 */
import { TokenizerError } from '../errors';
import type { GgufMetadata } from '../gguf/GgufMetadata';
import { BpeTokenizer } from './BpeTokenizer';
import { preTokenizerConfig, type PreTokenizerConfig } from './PreTokenizer';
import { SentencePieceTokenizer } from './SentencePieceTokenizer';
import type { StreamDecoder, StreamDecoderOptions } from './StreamDecoder';
import { TOKENIZER_KEYS, tokenizerDataFromMetadata, type TokenizerData } from './TokenizerData';
import { Vocabulary } from './Vocabulary';

export interface EncodeOptions {
  /** Prepend BOS. Default: the model's add_bos_token. */
  readonly addBos?: boolean;
  /** Append EOS. Default: the model's add_eos_token (false for nearly every model). */
  readonly addEos?: boolean;
  /**
   * Recognise the text of control tokens (e.g. "<|eot_id|>") as those tokens. Default false: such
   * text is tokenized as ordinary text. User-defined tokens are always recognised (as in llama.cpp).
   */
  readonly parseSpecial?: boolean;
}

export interface DecodeOptions {
  /** Render control and unknown tokens as nothing (llama.cpp's special = false). Default false. */
  readonly skipSpecial?: boolean;
  /**
   * Apply llama_detokenize's clean-up of spaces (" ." -> ".", " 's" -> "'s", ...) when the vocabulary
   * asks for it, to match llama_detokenize / node-llama-cpp's detokenize exactly. Default false,
   * which keeps decode(encode(s)) === s.
   */
  readonly cleanSpaces?: boolean;
}

export interface Tokenizer {
  readonly model: 'gpt2' | 'llama';
  /** Pre-tokenizer regex family ('llama3', 'default', 'gpt2'), or 'sentencepiece'. */
  readonly preTokenizer: string;
  readonly vocabSize: number;
  readonly bosId?: number;
  readonly eosId?: number;
  readonly eotId?: number;
  readonly addBos: boolean;
  readonly addEos: boolean;
  /** All ids that end generation (sorted). */
  readonly endOfGenerationIds: readonly number[];
  encode(text: string, options?: EncodeOptions): number[];
  /** Concatenated token bytes as UTF-8 (invalid sequences become U+FFFD). */
  decode(ids: readonly number[], options?: DecodeOptions): string;
  /** The raw bytes a token stands for (special tokens: their text). */
  tokenBytes(id: number): Uint8Array;
  /** The token's string as stored in the vocabulary. */
  tokenText(id: number): string;
  /** The token's GGUF token type (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte). */
  tokenType(id: number): number;
  tokenId(text: string): number | undefined;
  /** Control, user-defined or unknown token (llama.cpp may promote e.g. <|eot_id|> to control). */
  isSpecial(id: number): boolean;
  /** eos, eot (<|eot_id|>), eom and the other end-of-turn tokens llama.cpp stops on. */
  isEndOfGeneration(id: number): boolean;
  createStreamDecoder(options?: StreamDecoderOptions): StreamDecoder;
}

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
export function isLlama3Vocabulary(data: Pick<TokenizerData, 'model' | 'tokens'>): boolean {
  const t = data.tokens;
  return (
    data.model === 'gpt2' &&
    t.length === 128256 &&
    t[128000] === '<|begin_of_text|>' &&
    t[128001] === '<|end_of_text|>' &&
    t[128006] === '<|start_header_id|>' &&
    t[128007] === '<|end_header_id|>' &&
    t[128009] === '<|eot_id|>' &&
    t[0] === '!' &&
    t[220] === '\u0120' // "Ġ", a space
  );
}

function resolvePreTokenizer(data: TokenizerData, options: CreateTokenizerOptions): PreTokenizerConfig {
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

/** Build the tokenizer described by a GGUF file's tokenizer.* metadata. */
export function createTokenizer(md: GgufMetadata, options: CreateTokenizerOptions = {}): Tokenizer {
  return createTokenizerFromData(tokenizerDataFromMetadata(md), options);
}

export function createTokenizerFromData(data: TokenizerData, options: CreateTokenizerOptions = {}): Tokenizer {
  if (data.model === 'llama') {
    return new SentencePieceTokenizer(new Vocabulary(data, { byteLevel: false, addBosDefault: true }));
  }
  const config = resolvePreTokenizer(data, options);
  const vocab = new Vocabulary(data, { byteLevel: true, addBosDefault: config.addBos });
  return new BpeTokenizer(vocab, data.merges ?? [], config);
}
