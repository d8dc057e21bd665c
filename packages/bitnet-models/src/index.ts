export * from './errors';
export * from './gguf';
export * from './tensor';
export * from './model';
export * from './tokenizer';
export * from './chat';
export * from './synthetic';
export { describeGguf, formatGgufInfo, type GgufInfo, type GgufInfoOptions, type ShortenedArray } from './cli/GgufInfo';
export { describeValue, MAX_DESCRIBED_CHARS } from './describeValue';
