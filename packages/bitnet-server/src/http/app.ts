import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import cors from 'cors';
import express, { type NextFunction, type Request, type Response } from 'express';
import { pinoHttp } from 'pino-http';
import { abandonTicket } from '../stream/Admission';
import type { StreamSink } from '../stream/ResumableStreams';
import { type StoredRequest, parseEventId } from '../stream/StreamStore';
import { type ServerContext, requestSignal, maxPromptChars, requireJson } from './common';
import { HttpError, sendError } from './HttpError';
import { openApiDocument } from './openapi';
import { registerOpenAiRoutes } from './openai';
import type { Session } from 'better-sse';
import { openSse, sseComment, ssePush } from './sse';
import { parseStreamRequest } from './validation';
import { playgroundRouter } from '../playground/playground';
import { promptCacheHealth } from '../promptCache';

function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The express application: health, metrics, OpenAPI, the playground, the API key check, /v1/stream and the OpenAI routes. */
export function createApp(ctx: ServerContext): express.Express {
  const { options, service, metrics, streams, log } = ctx;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const json = express.json({ limit: options.maxBodyBytes, strict: true, type: () => true });

  // a request id per request (the client's X-Request-Id when it sends a sensible one), echoed in the
  // response and carried by every log line of the request
  app.use(
    pinoHttp({
      logger: log,
      genReqId: (req: IncomingMessage, res: ServerResponse) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      // a finished request is a debug line; server errors are logged where they happen
      customLogLevel: () => 'debug',
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );

  // request counting
  app.use((req, res, next) => {
    res.on('close', () => {
      const route = req.route?.path ?? 'unmatched';
      metrics.requests.inc({ route: String(route), method: req.method, status: String(res.statusCode) });
    });
    next();
  });

  // CORS for the origins given with --cors-origin (none by default): preflights get 204 with the
  // allowed methods and headers; a request from any other origin gets no CORS header at all
  if (options.corsOrigins.length > 0) {
    const allowed = new Set(options.corsOrigins);
    app.use(
      cors({
        origin: (origin, done) => done(null, origin !== undefined && (allowed.has('*') || allowed.has(origin))),
        methods: ['GET', 'POST', 'OPTIONS'],
        allowedHeaders: ['Content-Type', 'Authorization', 'X-API-Key', 'Last-Event-ID', 'X-Request-Id'],
        exposedHeaders: ['X-Stream-Id', 'X-Request-Id', 'Retry-After'],
        maxAge: 600,
        optionsSuccessStatus: 204,
      }),
    );
  }

  app.get('/openapi.json', (_req, res) => void res.json(openApiDocument({ version: ctx.version, apiKey: !!options.apiKey })));

  // health: never behind the API key, answered without touching the engine
  const health = () => {
    const degraded = streams.store.degradedReason();
    return {
      status: service.shuttingDown ? 'shutting_down' : degraded ? 'degraded' : 'ok',
      ...(degraded ? { degraded_reason: degraded } : {}),
      model: ctx.model,
      uptime_seconds: Math.round((Date.now() - ctx.startedAt) / 100) / 10,
      version: ctx.version,
      kernels: ctx.engine.loadInfo.kernels,
      chat_format: ctx.chatFormat,
      // how the output (logits) matrix is held: 'exact' (as in the file), 'q8_0' (--output-q8) or
      // 'screened' (--output-screened), and its type
      output: { type: ctx.engine.loadInfo.outputType, matrix: ctx.engine.loadInfo.outputMatrixType },
      streams: {
        active: service.admission.activeCount,
        queued: service.admission.queuedCount,
        max_concurrent: service.admission.maxConcurrent,
        max_queue: service.admission.maxQueue,
        engine_sequences: ctx.engine.activeSequences,
      },
      // where /v1/stream streams are kept for replay and revival: this process, or Redis shared by the replicas
      stream_store: { kind: streams.store.kind, shared: streams.store.shared, replica: streams.replica },
      // keys and values of earlier prompts kept for reuse (--prompt-cache-mb), as of the last finished generation
      prompt_cache: promptCacheHealth(ctx.engine, ctx.promptCache.mb, ctx.promptCache.source),
    };
  };
  app.get('/health', (_req, res) => void res.status(service.shuttingDown ? 503 : 200).json(health()));
  app.get('/health/live', (_req, res) => void res.json({ status: 'ok' }));
  app.get('/health/ready', (_req, res) => {
    const ready = !service.shuttingDown;
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'shutting_down', model: ctx.model.id });
  });

  if (options.playground !== false) app.use(playgroundRouter()); // the browser page at GET / (open like /health; its API calls send the key)

  // API key for everything else
  if (options.apiKey) {
    const key = options.apiKey;
    app.use((req, _res, next) => {
      const auth = req.get('authorization');
      const given = auth?.match(/^Bearer\s+(.+)$/i)?.[1] ?? req.get('x-api-key');
      if (!given) return next(new HttpError(401, 'authentication_error', 'missing API key: send Authorization: Bearer <key>', { code: 'missing_api_key' }, { 'WWW-Authenticate': 'Bearer' }));
      if (!sameSecret(given.trim(), key)) return next(new HttpError(401, 'authentication_error', 'invalid API key', { code: 'invalid_api_key' }, { 'WWW-Authenticate': 'Bearer error="invalid_token"' }));
      next();
    });
  }

  app.get('/metrics', async (_req, res) => {
    const text = await metrics.render();
    res.set('Content-Type', metrics.contentType).send(text);
  });

  app.get('/v1/models', (_req, res) => {
    res.json({ object: 'list', data: [{ id: ctx.model.id, object: 'model', created: Math.floor(ctx.startedAt / 1000), owned_by: 'bitnet-ts' }] });
  });

  // POST /v1/stream
  app.post('/v1/stream', (req, res, next) => {
    // a reconnect may come without a body, whatever its Content-Type; anything else must be JSON
    const resume = parseEventId(req.get('last-event-id'));
    if (resume && !hasBody(req)) return void reconnect(ctx, req, res, resume).catch(next);
    next();
  }, requireJson, json, async (req, res) => {
    const startedAt = performance.now();
    const resume = parseEventId(req.get('last-event-id'));
    if (resume) return reconnect(ctx, req, res, resume);
    const r = parseStreamRequest(req.body, { maxPromptChars: maxPromptChars(ctx), defaultMaxTokens: options.defaultMaxTokens, tokenTimeoutMs: options.tokenTimeoutMs });
    const promptIds = service.checkPrompt(r.prompt, r.generation);
    const ticket = service.admit();
    const signal = requestSignal(service, res);
    const request: StoredRequest = { promptIds, generation: r.generation, streaming: r.streaming, detailedErrors: r.detailedErrors, createdAt: Date.now() };
    if (r.logprobs !== undefined) request.logprobs = r.logprobs;
    if (r.grammar !== undefined) request.grammar = r.grammar;
    let session: Session;
    let id: string;
    try {
      id = await streams.create(request);
      session = await openSse(req, res, options.keepAliveMs, { 'X-Stream-Id': id });
    } catch (e) {
      abandonTicket(ticket);
      throw e;
    }
    await streams.serve(id, request, 0, [], sinkOf(session), signal, { ticket, startedAt });
    res.end();
  });

  registerOpenAiRoutes(app, ctx, json);

  // unknown routes
  app.use((req, _res, next) => next(new HttpError(404, 'not_found', `no route ${req.method} ${req.path}`, { code: 'not_found' })));

  // every error is JSON, without stack traces
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = toHttpError(err);
    if (e.status >= 500) (req.log ?? log).error({ path: req.path, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) }, 'request failed');
    metrics.errors.inc({ type: e.type });
    if (res.headersSent) {
      res.end();
      return;
    }
    sendError(res, e);
  });
  return app;
}

/** Request ids taken from clients: short and printable. */
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

function hasBody(req: Request): boolean {
  return req.get('transfer-encoding') !== undefined || Number(req.get('content-length') ?? 0) > 0;
}

/** body-parser's errors and ours as HttpErrors. */
function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  const e = err as { type?: string; status?: number; message?: string; limit?: number; length?: number };
  switch (e?.type) {
    case 'entity.parse.failed':
      return new HttpError(400, 'invalid_json', `the body is not valid JSON: ${e.message}`, { code: 'invalid_json' });
    case 'entity.too.large':
      return new HttpError(413, 'payload_too_large', `the body has ${e.length ?? 'more than'} bytes; at most ${e.limit} are accepted`, { limit_bytes: e.limit, body_bytes: e.length });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new HttpError(415, 'unsupported_media_type', e.message ?? 'unsupported encoding');
    case 'request.aborted':
      return new HttpError(400, 'request_aborted', 'the client aborted the request');
  }
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) return new HttpError(e.status, 'invalid_request_error', e.message ?? 'bad request');
  return new HttpError(500, 'internal_error', 'internal server error');
}

/** Writes a stream's events and comments to one SSE session. */
function sinkOf(session: Session): StreamSink {
  return { send: (e) => ssePush(session, e.event, e.data, e.id), comment: (t) => sseComment(session, t) };
}

/**
 * Last-Event-ID: the events after the given one (from this replica or, with a shared store, any
 * replica), then the stream followed while its owner generates, or revived here when it has none.
 */
async function reconnect(ctx: ServerContext, req: Request, res: Response, at: { stream: string; seq: number }): Promise<void> {
  const { streams } = ctx;
  const gone = () =>
    new HttpError(410, 'replay_unavailable', `the events after ${at.stream}:${at.seq} are no longer kept; start a new request`, { last_event_id: `${at.stream}:${at.seq}` });
  const request = await streams.store.request(at.stream);
  const missed = request ? await streams.store.read(at.stream, at.seq) : undefined;
  if (!request || !missed) throw gone();
  const signal = requestSignal(ctx.service, res);
  const session = await openSse(req, res, ctx.options.keepAliveMs, { 'X-Stream-Id': at.stream });
  await streams.serve(at.stream, request, at.seq, missed, sinkOf(session), signal);
  res.end();
}
