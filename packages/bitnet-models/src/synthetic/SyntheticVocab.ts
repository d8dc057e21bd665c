import { byteToChar } from '../tokenizer/ByteLevel';

/** Token type ids of `tokenizer.ggml.token_type`. */
export const TOKEN_TYPE = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

/** A vocabulary ready to be written as `tokenizer.ggml.*` metadata. */
export interface SyntheticVocab {
  model: 'gpt2' | 'llama';
  tokens: string[];
  tokenTypes: number[];
  merges?: string[];
  scores?: number[];
  bosId: number;
  eosId: number;
  eotId?: number;
  /** `tokenizer.ggml.pre`; omit to leave the key out. */
  pre?: string;
  addBos?: boolean;
  chatTemplate?: string;
}

/**
 * A small byte-level BPE vocabulary: the 256 byte tokens, merges for frequent English pieces, and
 * the control tokens a chat model needs. Enough for a model whose text decodes; used where the
 * 128k LLaMA-3 vocabulary would make a test model needlessly large.
 */
export function smallByteVocab(): SyntheticVocab {
  const tokens: string[] = [];
  const tokenTypes: number[] = [];
  for (let b = 0; b < 256; b++) {
    tokens.push(byteToChar(b));
    tokenTypes.push(TOKEN_TYPE.NORMAL);
  }
  const sp = byteToChar(0x20);
  const nl = byteToChar(0x0a);
  const pieces: Array<[string, string]> = [
    [sp, 't'], ['h', 'e'], [sp, 'a'], ['i', 'n'], [sp + 't', 'he'], ['e', 'r'], ['o', 'n'], [sp, 's'], ['r', 'e'], ['a', 'n'],
    [sp, 'w'], ['o', 'u'], ['e', 'n'], [sp, 'o'], ['i', 's'], ['a', 't'], [sp, 'b'], ['n', 'd'], [sp, 'c'], [sp, 'f'],
    [sp + 'a', 'nd'], ['i', 't'], [sp, 'h'], ['o', 'r'], [sp, 'm'], [sp, 'p'], ['e', 's'], ['in', 'g'], [sp, 'd'], ['l', 'l'],
    [sp + 'o', 'f'], [sp, 'G'], [sp + 'G', 'o'], [sp + 'Go', 'd'], [sp, 'L'], [sp + 'L', 'o'], [sp + 'Lo', 'r'], [sp + 'Lor', 'd'],
    [sp + 's', 'a'], [sp + 'sa', 'i'], [sp + 'sai', 'd'], [sp, sp], [nl, nl], ['e', 'd'], [sp + 't', 'o'], [sp, 'i'], [sp + 'i', 'n'],
  ];
  const merges: string[] = [];
  const have = new Set(tokens);
  for (const [a, b] of pieces) {
    merges.push(`${a} ${b}`);
    if (!have.has(a + b)) {
      have.add(a + b);
      tokens.push(a + b);
      tokenTypes.push(TOKEN_TYPE.NORMAL);
    }
  }
  const specials = ['<|begin_of_text|>', '<|end_of_text|>', '<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>'];
  const firstSpecial = tokens.length;
  for (const s of specials) {
    tokens.push(s);
    tokenTypes.push(TOKEN_TYPE.CONTROL);
  }
  return {
    model: 'gpt2',
    tokens,
    tokenTypes,
    merges,
    bosId: firstSpecial,
    eosId: firstSpecial + 1,
    eotId: firstSpecial + 4,
    pre: 'default',
    addBos: true,
  };
}
