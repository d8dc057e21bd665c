/**
 * Tokenizers for GGUF models, matching llama.cpp token for token.
 *
 * Known, deliberate differences from llama.cpp:
 * - A GGUF without tokenizer.ggml.pre but with LLaMA-3's vocabulary (BitNet b1.58 2B4T) uses the
 *   LLaMA-3 pre-tokenizer by default; llama.cpp/bitnet.cpp use their 'default' one there. Pass
 *   `{ detectLlama3: false }` to createTokenizer to get llama.cpp's ids for such files.
 * - decode() concatenates token bytes (token_to_piece); llama_detokenize additionally cleans up
 *   spaces before punctuation for most BPE vocabularies: ask for that with `{ cleanSpaces: true }`.
 * - Malformed metadata llama.cpp tolerates with a warning (out-of-range special ids, token lists of
 *   different lengths) is rejected with a TokenizerError.
 * - Special tokens of equal byte length are matched in id order (llama.cpp's order is unspecified).
 * - lstrip/rstrip attributes llama.cpp sets for a few model families by name (phi-3, jina, modern-bert)
 *   are not applied; FIM token ids from tokenizer.ggml.fim_* keys are not read.
 */
export type { DecodeOptions, EncodeOptions, Tokenizer } from './Tokenizer';
export { createTokenizer, createTokenizerFromData, isLlama3Vocabulary, type CreateTokenizerOptions } from './createTokenizer';
export type { TokenizerData } from './TokenizerData';
export { TOKENIZER_KEYS, TokenType, tokenizerDataFromMetadata } from './TokenizerData';
export { StreamDecoder, type StreamDecoderOptions } from './StreamDecoder';
export { preTokenize, preTokenizerConfig, type PreTokenizerConfig, type PreTokenizerKind } from './PreTokenizer';
export { byteDecode, byteEncode, byteToChar, charToByte } from './ByteLevel';
