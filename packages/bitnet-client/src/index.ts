/**
 * `@bitnet/client`: a typed client of bitnet-server for Node 20+ and browsers. `BitnetClient.stream`
 * reads `POST /v1/stream` as an async iterable of token pieces and resumes a dropped connection with
 * `Last-Event-ID`; `health()` and `models()` are the small JSON calls.
 */
export {
  BitnetClient,
  BitnetStream,
  DEFAULT_RETRY,
  type BitnetClientOptions,
  type ReconnectInfo,
  type RetryOptions,
  type StreamOpener,
  type StreamOptions,
  type StreamPiece,
} from './BitnetClient';
export { BitnetError, BitnetHttpError, BitnetStreamError, BitnetConnectionError } from './errors';
export { SseParser, type SseEvent } from './sse';
export type { StreamRequest, TokenEvent, TopLogprob, CompleteEvent, CompletionReason, ErrorEvent, HealthResponse, ModelEntry, ModelList } from './types';
