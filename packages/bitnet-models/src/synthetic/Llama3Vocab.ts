import { BitnetModelError } from '../errors';
import { SyntheticVocab, TOKEN_TYPE } from './SyntheticVocab';

/** Options of the LLaMA-3 vocabulary for synthetic models. */
export interface Llama3VocabOptions {
  /** `tokenizer.ggml.pre` to write; undefined leaves the key out, as in the released 2B4T file. */
  pre?: string;
  /** End-of-sequence id: 128001 `<|end_of_text|>` (default) or 128009 `<|eot_id|>`. */
  eosId?: number;
  chatTemplate?: string;
}

interface Llama3TokenizerJs {
  vocabById: string[];
  merges: Map<string, number>;
}

let cached: { tokens: string[]; tokenTypes: number[]; merges: string[] } | undefined;

/**
 * The real LLaMA-3 vocabulary (128256 tokens, 280147 merges, as used by BitNet 2B4T), taken from the
 * npm package `llama3-tokenizer-js` (a development dependency: tools and tests only).
 */
export function llama3Vocab(options: Llama3VocabOptions = {}): SyntheticVocab {
  if (!cached) {
    let lib: Llama3TokenizerJs;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      lib = require('llama3-tokenizer-js/bundle/commonjs-llama3-tokenizer-with-baked-data.cjs').llama3Tokenizer;
    } catch (cause) {
      throw new BitnetModelError('MISSING_DEPENDENCY', `the LLaMA-3 vocabulary needs the npm package 'llama3-tokenizer-js' (npm i -D llama3-tokenizer-js)`, { cause });
    }
    const tokens = lib.vocabById.slice();
    const tokenTypes = tokens.map((t, id) => (id >= 128000 && /^<\|.*\|>$/.test(t) ? TOKEN_TYPE.CONTROL : TOKEN_TYPE.NORMAL));
    // The package keys merges "a b" by priority (lower merges first).
    const merges = [...lib.merges.entries()].sort((a, b) => a[1] - b[1]).map(([pair]) => pair);
    cached = { tokens, tokenTypes, merges };
  }
  return {
    model: 'gpt2',
    tokens: cached.tokens,
    tokenTypes: cached.tokenTypes,
    merges: cached.merges,
    bosId: 128000,
    eosId: options.eosId ?? 128001,
    eotId: 128009,
    pre: options.pre,
    addBos: true,
    chatTemplate: options.chatTemplate,
  };
}
