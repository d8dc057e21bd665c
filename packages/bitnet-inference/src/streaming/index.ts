export { StopSequenceMatcher, type StopMatch } from './StopSequenceMatcher';
export {
  FINISH_REASONS,
  StreamBuffer,
  toInferenceError,
  type FinishReason,
  type StopInfo,
  type StreamBufferOptions,
  type StreamResponse,
  type StreamTokenizer,
} from './StreamBuffer';
export { type PieceLogprobs, type TokenAlternative, type TokenPiece } from './TokenPieces';
export { TokenStream, type TokenStreamOptions } from './TokenStream';
export { createTokenStream, type CreateTokenStreamOptions, type TokenStreamPipeline } from './createTokenStream';
