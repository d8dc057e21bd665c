/**
 * Wires a StreamBuffer to a TokenStream — what an engine's generateStream returns.
 *
 * ```ts
 * const { stream, buffer } = createTokenStream({
 *   tokenizer, generation: config, streaming: streamingConfig, signal,
 *   onCancel: () => sequence.abort(),  // stop work (within one step)
 *   onStop: () => sequence.abort(),    // a stop string completed
 * });
 * runInBackground(async () => {
 *   try {
 *     await prefill();                               // check buffer.closed after each awaited step
 *     for (let i = 0; i < config.maxNewTokens; i++) {
 *       const id = await step();
 *       if (buffer.closed || !buffer.push(id)) return; // cancelled / stop string: stop
 *       if (tokenizer.isEndOfGeneration(id)) return buffer.finish(id === tokenizer.eosId ? 'eos' : 'end_of_turn');
 *       if (config.stopTokenIds.includes(id)) return buffer.finish('stop_token');
 *     }
 *     buffer.finish('max_tokens');
 *   } catch (e) {
 *     buffer.fail(e);                                // InferenceError, or wrapped as generation_failed
 *   }
 * });
 * return stream;
 * ```
 *
 * cancel()/abort first finishes the buffer with 'cancelled' (its pending ids and held text become
 * the final response, so no accepted id is lost), then calls onCancel. From then on push() returns
 * false: an id computed after the cancel is not part of the stream.
 */
import type { GenerationConfig } from '../config/GenerationConfig';
import type { StreamingConfig } from '../config/StreamingConfig';
import { StreamBuffer, type StopInfo, type StreamTokenizer } from './StreamBuffer';
import { TokenStream } from './TokenStream';

/** What `createTokenStream` needs: the tokenizer, the stop rules and the streaming settings. */
export interface CreateTokenStreamOptions {
  tokenizer: StreamTokenizer;
  /** stopSequences (default none) and skipSpecialTokens (default true). */
  generation?: Partial<Pick<GenerationConfig, 'stopSequences' | 'skipSpecialTokens'>>;
  /** bufferSize, flushIntervalMs, cancellable (defaults 10, 50, true). */
  streaming?: Partial<Pick<StreamingConfig, 'bufferSize' | 'flushIntervalMs' | 'cancellable'>>;
  signal?: AbortSignal;
  /** The stream was cancelled (cancel(), abort, or break out of for-await): stop generating. */
  onCancel?: (reason: unknown) => void;
  /** A stop string completed (the stream has already ended): stop generating. */
  onStop?: (info: StopInfo) => void;
  /** Ids an earlier run already delivered (a resumed generation): see StreamBufferOptions.resumeIds. */
  resumeIds?: readonly number[];
}

/** A buffer to push ids into and the stream that delivers its responses. */
export interface TokenStreamPipeline {
  /** Give this to the consumer. */
  stream: TokenStream;
  /** The engine pushes ids here, then finish(reason) or fail(error). */
  buffer: StreamBuffer;
}

/** Wires a `StreamBuffer` to a `TokenStream`: the producer pushes ids, the consumer iterates responses. */
export function createTokenStream(options: CreateTokenStreamOptions): TokenStreamPipeline {
  let buffer: StreamBuffer | undefined;
  const stream = new TokenStream({
    cancellable: options.streaming?.cancellable ?? true,
    onCancel: (reason) => {
      buffer?.finish('cancelled');
      options.onCancel?.(reason);
    },
  });
  buffer = new StreamBuffer({
    tokenizer: options.tokenizer,
    streaming: options.streaming,
    stopSequences: options.generation?.stopSequences,
    skipSpecialTokens: options.generation?.skipSpecialTokens,
    onResponse: (r) => stream.enqueue(r),
    onError: (e) => stream.fail(e),
    onStop: options.onStop,
    resumeIds: options.resumeIds,
  });
  if (options.signal !== undefined) stream.attachSignal(options.signal);
  return { stream, buffer };
}
