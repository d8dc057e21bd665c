import { BitnetModelError, TokenizerError } from '../errors';
import type { GgufMetadata } from '../gguf/GgufMetadata';
import type { StringList } from './StringTable';

/** GGUF token types (tokenizer.ggml.token_type). */
export const TokenType = {
  UNDEFINED: 0,
  NORMAL: 1,
  UNKNOWN: 2,
  CONTROL: 3,
  USER_DEFINED: 4,
  UNUSED: 5,
  BYTE: 6,
} as const;

/** The tokenizer.ggml.* metadata of a model, read and checked but not yet interpreted. */
export interface TokenizerData {
  /** tokenizer.ggml.model: 'gpt2' (byte-level BPE) or 'llama' (SentencePiece). */
  readonly model: 'gpt2' | 'llama';
  /** tokenizer.ggml.pre, when present. */
  readonly pre?: string;
  readonly tokens: readonly string[];
  /** One GGUF token type per token; undefined when the key is absent (llama.cpp then treats all as normal). */
  readonly tokenTypes?: Int32Array;
  /** One score per token (SentencePiece merge priority); undefined when absent (all 0). */
  readonly scores?: Float32Array;
  /** "left right" merge rules in priority order (gpt2 only). */
  readonly merges?: readonly string[];
  readonly bosId?: number;
  readonly eosId?: number;
  readonly eotId?: number;
  readonly eomId?: number;
  readonly unknownId?: number;
  readonly paddingId?: number;
  readonly addBos?: boolean;
  readonly addEos?: boolean;
  readonly addSpacePrefix?: boolean;
  readonly chatTemplate?: string;
}

/**
 * TokenizerData whose token texts and merge rules are read element by element (from the file's
 * packed string arrays), so building a tokenizer never holds them all as JS strings.
 */
export interface TokenizerSource extends Omit<TokenizerData, 'tokens' | 'merges'> {
  readonly tokens: StringList;
  readonly merges?: StringList;
}

/** The GGUF metadata keys a tokenizer is read from. */
export const TOKENIZER_KEYS = {
  model: 'tokenizer.ggml.model',
  pre: 'tokenizer.ggml.pre',
  tokens: 'tokenizer.ggml.tokens',
  tokenType: 'tokenizer.ggml.token_type',
  merges: 'tokenizer.ggml.merges',
  scores: 'tokenizer.ggml.scores',
  bos: 'tokenizer.ggml.bos_token_id',
  eos: 'tokenizer.ggml.eos_token_id',
  eot: 'tokenizer.ggml.eot_token_id',
  eom: 'tokenizer.ggml.eom_token_id',
  unknown: 'tokenizer.ggml.unknown_token_id',
  padding: 'tokenizer.ggml.padding_token_id',
  addBos: 'tokenizer.ggml.add_bos_token',
  addEos: 'tokenizer.ggml.add_eos_token',
  addSpacePrefix: 'tokenizer.ggml.add_space_prefix',
  chatTemplate: 'tokenizer.chat_template',
} as const;

/** Run a metadata accessor, turning its MetadataError into a TokenizerError that names the key. */
function read<T>(key: string, get: () => T): T {
  try {
    return get();
  } catch (err) {
    if (err instanceof BitnetModelError && !(err instanceof TokenizerError)) {
      throw new TokenizerError(`tokenizer metadata '${key}': ${err.message}`);
    }
    throw err;
  }
}

function checkLength(key: string, length: number, nTokens: number): void {
  if (length !== nTokens) {
    throw new TokenizerError(`tokenizer metadata '${key}' has ${length} entries but '${TOKENIZER_KEYS.tokens}' has ${nTokens}`);
  }
}

function optTokenId(md: GgufMetadata, key: string, nTokens: number): number | undefined {
  const id = read(key, () => md.optInteger(key));
  if (id !== undefined && id >= nTokens) {
    throw new TokenizerError(`tokenizer metadata '${key}' = ${id} is out of range (vocabulary has ${nTokens} tokens)`);
  }
  return id;
}

/**
 * Read and validate the tokenizer metadata of a GGUF file. Throws a TokenizerError naming the key
 * when something is missing, has the wrong type, disagrees in length with the token list, or names a
 * token id outside the vocabulary.
 */
export function tokenizerDataFromMetadata(md: GgufMetadata): TokenizerData {
  const source = tokenizerSourceFromMetadata(md);
  const toArray = (list: StringList) => Array.from({ length: list.length }, (_, i) => list.get(i));
  return { ...source, tokens: toArray(source.tokens), merges: source.merges && toArray(source.merges) };
}

/**
 * What tokenizerDataFromMetadata reads, with the same checks and errors, but token texts and merge
 * rules left as lists over the metadata's packed arrays (see GgufMetadata.optStringList).
 */
export function tokenizerSourceFromMetadata(md: GgufMetadata): TokenizerSource {
  const K = TOKENIZER_KEYS;
  const model = read(K.model, () => md.optString(K.model));
  if (model === undefined) throw new TokenizerError(`tokenizer metadata '${K.model}' is missing`);
  if (model !== 'gpt2' && model !== 'llama') {
    throw new TokenizerError(`tokenizer metadata '${K.model}' = '${model}' is not supported (expected 'gpt2' or 'llama')`);
  }

  const tokens = read(K.tokens, () => md.optStringList(K.tokens));
  if (tokens === undefined) throw new TokenizerError(`tokenizer metadata '${K.tokens}' is missing`);
  if (tokens.length === 0) throw new TokenizerError(`tokenizer metadata '${K.tokens}' is empty`);
  const n = tokens.length;

  const typeList = read(K.tokenType, () => md.optNumberArray(K.tokenType));
  let tokenTypes: Int32Array | undefined;
  if (typeList !== undefined) {
    checkLength(K.tokenType, typeList.length, n);
    tokenTypes = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const t = typeList[i];
      if (!Number.isInteger(t)) throw new TokenizerError(`tokenizer metadata '${K.tokenType}'[${i}] = ${t} is not an integer`);
      tokenTypes[i] = t;
    }
  }

  const scoreList = read(K.scores, () => md.optNumberArray(K.scores));
  let scores: Float32Array | undefined;
  if (scoreList !== undefined) {
    checkLength(K.scores, scoreList.length, n);
    scores = Float32Array.from(scoreList);
  }

  const merges = read(K.merges, () => md.optStringList(K.merges));
  if (model === 'gpt2' && merges === undefined) throw new TokenizerError(`tokenizer metadata '${K.merges}' is missing (required for 'gpt2' tokenizers)`);

  const pre = read(K.pre, () => md.optString(K.pre));
  return {
    model,
    pre: pre === '' ? undefined : pre,
    tokens,
    tokenTypes,
    scores,
    merges,
    bosId: optTokenId(md, K.bos, n),
    eosId: optTokenId(md, K.eos, n),
    eotId: optTokenId(md, K.eot, n),
    eomId: optTokenId(md, K.eom, n),
    unknownId: optTokenId(md, K.unknown, n),
    paddingId: optTokenId(md, K.padding, n),
    addBos: read(K.addBos, () => md.optBool(K.addBos)),
    addEos: read(K.addEos, () => md.optBool(K.addEos)),
    addSpacePrefix: read(K.addSpacePrefix, () => md.optBool(K.addSpacePrefix)),
    chatTemplate: read(K.chatTemplate, () => md.optString(K.chatTemplate)),
  };
}
