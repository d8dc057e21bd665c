/**
 * Test fixture: a tiny hand-made SentencePiece ('llama' tokenizer model) vocabulary with byte
 * fallback, so that expected token ids can be worked out by hand.
 *
 * Ids: 0 <unk>, 1 <s>, 2 </s>, 3..258 the byte tokens <0x00>..<0xFF>, then the pieces below in
 * order (259 = "▁"), then a user-defined and a control token.
 */
import { GgufMetadata, gguf } from '../gguf/GgufMetadata';

/** [piece, score]: higher scores merge first. */
export const SPM_PIECES: readonly (readonly [string, number])[] = [
  ['▁', -1], // 259
  ['a', -2], // 260
  ['b', -2], // 261
  ['c', -2], // 262
  ['ab', -3], // 263
  ['bc', -3], // 264: same score as "ab" -> the leftmost pair wins
  ['abc', -4], // 265
  ['▁a', -5], // 266
  ['▁ab', -6], // 267
  ['h', -2], // 268
  ['e', -2], // 269
  ['l', -2], // 270
  ['o', -2], // 271
  ['he', -3], // 272
  ['ll', -1.5], // 273: merges before "he"
  ['llo', -3.5], // 274
  ['hello', -4], // 275
  ['▁hello', -4.5], // 276
  ['w', -2], // 277
  ['r', -2], // 278
  ['d', -2], // 279
  ['or', -3], // 280
  ['▁w', -3], // 281
  ['▁wor', -3.5], // 282
  ['ld', -3], // 283
  ['▁world', -4], // 284
  ['é', -2], // 285
  ['▁▁', -2.5], // 286
];

export const SPM_USER_DEFINED = '<|user|>';
export const SPM_CONTROL = '[CTRL]';

export interface SpmMetadataOptions {
  readonly addSpacePrefix?: boolean;
  readonly addBos?: boolean;
}

/** Token strings, GGUF types and scores of the fixture vocabulary. */
export function spmVocabArrays(): { tokens: string[]; types: number[]; scores: number[] } {
  const tokens = ['<unk>', '<s>', '</s>'];
  const types = [2, 3, 3];
  const scores = [0, 0, 0];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(6);
    scores.push(0);
  }
  for (const [piece, score] of SPM_PIECES) {
    tokens.push(piece);
    types.push(1);
    scores.push(score);
  }
  tokens.push(SPM_USER_DEFINED, SPM_CONTROL);
  types.push(4, 3);
  scores.push(0, 0);
  return { tokens, types, scores };
}

export function spmMetadata(options: SpmMetadataOptions = {}): GgufMetadata {
  const { tokens, types, scores } = spmVocabArrays();
  const md = new GgufMetadata();
  md.set('general.architecture', gguf.str('llama'));
  md.set('tokenizer.ggml.model', gguf.str('llama'));
  md.set('tokenizer.ggml.tokens', gguf.strings(tokens));
  md.set('tokenizer.ggml.token_type', gguf.i32s(types));
  md.set('tokenizer.ggml.scores', gguf.f32s(scores));
  md.set('tokenizer.ggml.bos_token_id', gguf.u32(1));
  md.set('tokenizer.ggml.eos_token_id', gguf.u32(2));
  md.set('tokenizer.ggml.unknown_token_id', gguf.u32(0));
  if (options.addSpacePrefix !== undefined) md.set('tokenizer.ggml.add_space_prefix', gguf.bool(options.addSpacePrefix));
  if (options.addBos !== undefined) md.set('tokenizer.ggml.add_bos_token', gguf.bool(options.addBos));
  return md;
}

/** Strings the golden file records llama.cpp's SentencePiece ids for. */
export const SPM_SAMPLES: readonly string[] = [
  '',
  'a',
  'abc',
  'ab c',
  'abcabc',
  'hello world',
  'hello  world',
  ' hello',
  'hellow',
  'héllo',
  'x',
  '日本',
  '🙂',
  'a\nb',
  'hello<|user|>world',
  'hello [CTRL] world',
  '[CTRL]hello',
  '<s>hello</s>',
  '<unk>',
  'lone \ud800 surrogate',
];
