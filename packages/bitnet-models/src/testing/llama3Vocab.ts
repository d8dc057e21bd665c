/**
 * Test fixture: GGUF tokenizer metadata for the real LLaMA-3 vocabulary (128256 tokens, 280147
 * merges), the vocabulary of BitNet b1.58 2B4T, taken from the dev dependency llama3-tokenizer-js.
 *
 * The result is a pure function of the options; the big arrays are built once and shared (treat
 * them as read-only). Types follow llama.cpp's converter: 1 (normal) for ordinary tokens, 3
 * (control) for the 256 "<|...|>" specials from id 128000 on.
 */
import { GgufMetadata, gguf } from '../gguf/GgufMetadata';
import { llama3Vocab } from '../synthetic/Llama3Vocab';

export interface Llama3MetadataOptions {
  /** tokenizer.ggml.pre; undefined (the default) leaves the key out, as in the released 2B4T GGUF. */
  readonly pre?: string;
  /** tokenizer.ggml.eos_token_id: 128001 <|end_of_text|> (default) or 128009 <|eot_id|>. */
  readonly eosId?: number;
  /** tokenizer.ggml.eot_token_id; absent by default (llama.cpp then finds <|eot_id|> by its text). */
  readonly eotId?: number;
  /** tokenizer.ggml.add_bos_token; default true (as in the 2B4T GGUF). null leaves the key out. */
  readonly addBos?: boolean | null;
  /** tokenizer.chat_template; absent by default. */
  readonly chatTemplate?: string;
  /** general.architecture; default 'bitnet-b1.58'. */
  readonly architecture?: string;
}

export const LLAMA3_BOS_ID = 128000;
export const LLAMA3_EOS_ID = 128001;
export const LLAMA3_EOT_ID = 128009;

interface Llama3TokenizerJs {
  vocabById: string[];
  merges: Map<string, number>;
  encode(text: string, options?: { bos?: boolean; eos?: boolean; specialTokenRegex?: RegExp }): number[];
  decode(ids: number[]): string;
}

let library: Llama3TokenizerJs | undefined;

/** The llama3-tokenizer-js tokenizer object (CommonJS bundle with the vocabulary baked in). */
export function llama3TokenizerJs(): Llama3TokenizerJs {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  library ??= require('llama3-tokenizer-js/bundle/commonjs-llama3-tokenizer-with-baked-data.cjs').llama3Tokenizer as Llama3TokenizerJs;
  return library;
}

/** tokens, token types and merges (in priority order, "a b") of LLaMA-3. Shared: do not modify. */
export function llama3VocabArrays(): { readonly tokens: readonly string[]; readonly types: readonly number[]; readonly merges: readonly string[] } {
  const v = llama3Vocab();
  return { tokens: v.tokens, types: v.tokenTypes, merges: v.merges ?? [] };
}

/** GGUF metadata (tokenizer.* plus general.architecture) describing LLaMA-3's tokenizer. */
export function llama3Metadata(options: Llama3MetadataOptions = {}): GgufMetadata {
  const { tokens, types, merges } = llama3VocabArrays();
  const md = new GgufMetadata();
  md.set('general.architecture', gguf.str(options.architecture ?? 'bitnet-b1.58'));
  md.set('tokenizer.ggml.model', gguf.str('gpt2'));
  if (options.pre !== undefined) md.set('tokenizer.ggml.pre', gguf.str(options.pre));
  md.set('tokenizer.ggml.tokens', gguf.strings(tokens as string[]));
  md.set('tokenizer.ggml.token_type', gguf.i32s(types as number[]));
  md.set('tokenizer.ggml.merges', gguf.strings(merges as string[]));
  md.set('tokenizer.ggml.bos_token_id', gguf.u32(LLAMA3_BOS_ID));
  md.set('tokenizer.ggml.eos_token_id', gguf.u32(options.eosId ?? LLAMA3_EOS_ID));
  if (options.eotId !== undefined) md.set('tokenizer.ggml.eot_token_id', gguf.u32(options.eotId));
  if (options.addBos !== null) md.set('tokenizer.ggml.add_bos_token', gguf.bool(options.addBos ?? true));
  if (options.chatTemplate !== undefined) md.set('tokenizer.chat_template', gguf.str(options.chatTemplate));
  return md;
}
