/**
 * The tokenizer contract: what every tokenizer (BpeTokenizer, SentencePieceTokenizer) offers.
 * createTokenizer.ts builds one from a GGUF file's metadata; its token ids are those llama.cpp
 * produces for the same file (index.ts lists the known differences).
 */
import type { StreamDecoder, StreamDecoderOptions } from './StreamDecoder';

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
  /** The token ids of a text. */
  encode(text: string, options?: EncodeOptions): number[];
  /** Concatenated token bytes as UTF-8 (invalid sequences become U+FFFD). */
  decode(ids: readonly number[], options?: DecodeOptions): string;
  /** The raw bytes a token stands for (special tokens: their text). */
  tokenBytes(id: number): Uint8Array;
  /** The token's string as stored in the vocabulary. */
  tokenText(id: number): string;
  /** The token's GGUF token type (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte). */
  tokenType(id: number): number;
  /** The id of the vocabulary entry with exactly this text, or undefined. */
  tokenId(text: string): number | undefined;
  /** Control, user-defined or unknown token (llama.cpp may promote e.g. <|eot_id|> to control). */
  isSpecial(id: number): boolean;
  /** eos, eot (<|eot_id|>), eom and the other end-of-turn tokens llama.cpp stops on. */
  isEndOfGeneration(id: number): boolean;
  /** A decoder for ids that arrive one at a time. */
  createStreamDecoder(options?: StreamDecoderOptions): StreamDecoder;
}
