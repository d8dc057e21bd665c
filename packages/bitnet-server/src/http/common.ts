import type { Request, Response, NextFunction } from 'express';
import type { ChatFormat } from '@bitnet/models';
import type { InferenceEngine } from '@bitnet/inference';
import type { Logger } from '../Logger';
import type { ServerOptions } from '../ServerOptions';
import { CLIENT_GONE, type GenerationService } from '../stream/GenerationService';
import type { ResumableStreams } from '../stream/ResumableStreams';
import { HttpError } from './HttpError';
import type { ServerMetrics } from './Metrics';

/** The model as `/health` and `/v1/models` describe it (snake_case, as sent). */
export interface ModelInfo {
  id: string;
  name: string;
  architecture: string;
  quantization: string;
  parameters: number;
  context_length: number;
  vocab_size: number;
  file: string;
}

/** What every route handler shares: the engine, the generation service, metrics, the resumable streams, settings, logger, model. */
export interface ServerContext {
  engine: InferenceEngine;
  service: GenerationService;
  metrics: ServerMetrics;
  streams: ResumableStreams;
  options: ServerOptions;
  log: Logger;
  model: ModelInfo;
  chatFormat: ChatFormat;
  version: string;
  startedAt: number;
  /** The prompt cache the engine was loaded with: megabytes (0 = off) and whether they were given or the default. */
  promptCache: { mb: number; source: 'option' | 'default' };
}


/**
 * The request's abort signal: aborted with CLIENT_GONE when the response closes before it ended,
 * or with SHUTDOWN by the service. Forgotten by the service when the response closes.
 */
export function requestSignal(service: GenerationService, res: Response): AbortSignal {
  const { controller, done } = service.requestController();
  res.on('close', () => {
    if (!res.writableEnded) controller.abort(CLIENT_GONE);
    done();
  });
  return controller.signal;
}

/** 415 unless the request says application/json. */
export function requireJson(req: Request, _res: Response, next: NextFunction): void {
  if (!req.is('application/json')) {
    const got = req.get('content-type');
    return next(
      new HttpError(415, 'unsupported_media_type', got ? `Content-Type ${JSON.stringify(got)} is not supported; send application/json` : 'send the body as JSON with Content-Type: application/json', {
        content_type: got ?? null,
      }),
    );
  }
  next();
}

/** Characters a prompt may have before it is even tokenized (a cheap bound checked before tokenizing; the token count is checked after). */
export function maxPromptChars(ctx: ServerContext): number {
  return Math.max(4096, ctx.model.context_length * 32);
}

