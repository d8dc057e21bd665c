/**
 * OpenAI-compatible routes: POST /v1/completions and /v1/chat/completions, streamed (SSE `data:`
 * chunks, `data: [DONE]`, stream_options.include_usage) or not. Extensions beyond OpenAI's fields:
 * top_k, min_p, repetition_penalty in requests; `token_ids` beside each chunk's text.
 */
import { randomBytes } from 'node:crypto';
import type { Express, Request, RequestHandler, Response } from 'express';
import { type GenerationConfig, type InferenceErrorType } from '@bitnet/inference';
import { type ChatMessage, applyChatTemplate } from '@bitnet/models';
import { type GenerationOutcome, SHUTDOWN } from '../stream/GenerationService';
import { type ServerContext, abandon, requestSignal, maxPromptChars, requireJson } from './common';
import { HttpError, invalidField } from './HttpError';
import { openSse, sseData } from './sse';
import { type Body, engineConfigs, optBoolean, optNumber, optStop, randomSeed, requireObject } from './validation';

interface OpenAiRequest {
  prompt: string;
  generation: GenerationConfig;
  stream: boolean;
  includeUsage: boolean;
}

/** Fields OpenAI defines that this server cannot honour unless they have their neutral value. */
function rejectUnsupported(body: Body): void {
  const n = optNumber(body, 'n', { int: true });
  if (n !== undefined && n !== 1) throw invalidField('n', 'only 1 is supported');
  for (const f of ['presence_penalty', 'frequency_penalty']) {
    const v = optNumber(body, f);
    if (v !== undefined && v !== 0) throw invalidField(f, 'only 0 is supported (use repetition_penalty)');
  }
  if (body.logprobs !== undefined && body.logprobs !== null && body.logprobs !== false) throw invalidField('logprobs', 'is not supported');
  if (body.echo !== undefined && body.echo !== false) throw invalidField('echo', 'is not supported');
  if (body.best_of !== undefined && body.best_of !== null && body.best_of !== 1) throw invalidField('best_of', 'only 1 is supported');
  if (body.tools !== undefined && body.tools !== null && !(Array.isArray(body.tools) && body.tools.length === 0)) throw invalidField('tools', 'are not supported');
  if (body.model !== undefined && typeof body.model !== 'string') throw invalidField('model', 'must be a string');
}

function common(body: Body, prompt: string, maxTokens: number | undefined, defaultMaxTokens: number): OpenAiRequest {
  rejectUnsupported(body);
  const stream = optBoolean(body, 'stream') ?? false;
  let includeUsage = false;
  const so = body.stream_options;
  if (so !== undefined && so !== null) {
    if (typeof so !== 'object' || Array.isArray(so)) throw invalidField('stream_options', 'must be an object');
    includeUsage = optBoolean(so as Body, 'include_usage') ?? false;
  }
  const gen: Partial<GenerationConfig> = {
    maxNewTokens: maxTokens ?? defaultMaxTokens,
    temperature: optNumber(body, 'temperature', { min: 0, max: 2 }) ?? 1,
    topP: optNumber(body, 'top_p') ?? 1,
    topK: optNumber(body, 'top_k', { int: true, min: 0 }) ?? 0,
    minP: optNumber(body, 'min_p') ?? 0,
    repetitionPenalty: optNumber(body, 'repetition_penalty') ?? 1,
    seed: optNumber(body, 'seed', { int: true, min: 0, max: 0xffffffff }) ?? randomSeed(),
    stopSequences: optStop(body) ?? [],
  };
  return { prompt, generation: engineConfigs(gen, {}).generation, stream, includeUsage };
}

function parseCompletion(raw: unknown, ctx: ServerContext): OpenAiRequest {
  const body = requireObject(raw);
  let prompt = body.prompt;
  if (Array.isArray(prompt)) {
    if (prompt.length !== 1 || typeof prompt[0] !== 'string') throw invalidField('prompt', 'must be a string or an array of exactly one string');
    prompt = prompt[0];
  }
  if (prompt === undefined || prompt === null) throw invalidField('prompt', 'is required');
  if (typeof prompt !== 'string') throw invalidField('prompt', 'must be a string');
  if (prompt.length === 0) throw invalidField('prompt', 'must not be empty');
  checkChars('prompt', prompt.length, ctx);
  const maxTokens = optNumber(body, 'max_tokens', { int: true, min: 1 });
  return common(body, prompt, maxTokens, 16);
}

function parseChat(raw: unknown, ctx: ServerContext): OpenAiRequest {
  const body = requireObject(raw);
  const messages = body.messages;
  if (messages === undefined || messages === null) throw invalidField('messages', 'is required');
  if (!Array.isArray(messages) || messages.length === 0) throw invalidField('messages', 'must be a non-empty array');
  const chat: ChatMessage[] = messages.map((m, i) => {
    if (m === null || typeof m !== 'object') throw invalidField(`messages[${i}]`, 'must be an object');
    const role = (m as Body).role;
    if (role !== 'system' && role !== 'user' && role !== 'assistant' && role !== 'developer') {
      throw invalidField(`messages[${i}].role`, "must be 'system', 'developer', 'user' or 'assistant'");
    }
    let content = (m as Body).content;
    if (Array.isArray(content)) {
      // [{ type: 'text', text }] parts
      content = content
        .map((p, j) => {
          if (p === null || typeof p !== 'object' || (p as Body).type !== 'text' || typeof (p as Body).text !== 'string') {
            throw invalidField(`messages[${i}].content[${j}]`, "only { type: 'text', text } parts are supported");
          }
          return (p as Body).text as string;
        })
        .join('');
    }
    if (typeof content !== 'string') throw invalidField(`messages[${i}].content`, 'must be a string or an array of text parts');
    return { role: role === 'developer' ? 'system' : role, content };
  });
  const prompt = applyChatTemplate(chat, ctx.chatFormat);
  checkChars('messages', prompt.length, ctx);
  const maxTokens = optNumber(body, 'max_completion_tokens', { int: true, min: 1 }) ?? optNumber(body, 'max_tokens', { int: true, min: 1 });
  return common(body, prompt, maxTokens, ctx.options.defaultMaxTokens);
}

function checkChars(field: string, n: number, ctx: ServerContext): void {
  const max = maxPromptChars(ctx);
  if (n > max) throw new HttpError(400, 'prompt_too_long', `${field} has ${n} characters; at most ${max} are accepted`, { param: field, prompt_characters: n, max_characters: max });
}

const STATUS_BY_ERROR: Partial<Record<InferenceErrorType, number>> = { token_timeout: 504, overloaded: 503, engine_closed: 503, invalid_config: 422, context_overflow: 400 };

function outcomeError(o: GenerationOutcome): HttpError {
  if (o.error) return new HttpError(STATUS_BY_ERROR[o.error.type] ?? 500, o.error.type, o.error.message, { tokens_before_error: o.generatedTokens });
  return new HttpError(503, o.reason, o.reason === SHUTDOWN ? 'the server is shutting down' : `generation stopped: ${o.reason}`);
}

function finishReason(o: GenerationOutcome): string {
  return o.reason === 'max_tokens' ? 'length' : 'stop';
}

function usage(o: GenerationOutcome) {
  return { prompt_tokens: o.promptTokens, completion_tokens: o.generatedTokens, total_tokens: o.promptTokens + o.generatedTokens };
}

export function registerOpenAiRoutes(app: Express, ctx: ServerContext, json: RequestHandler): void {
  const handler = (kind: 'text' | 'chat') => async (req: Request, res: Response) => {
    const startedAt = performance.now();
    const r = kind === 'chat' ? parseChat(req.body, ctx) : parseCompletion(req.body, ctx);
    const { service, options } = ctx;
    const promptIds = service.checkPrompt(r.prompt, r.generation);
    const ticket = service.admit();
    const signal = requestSignal(service, res);
    const id = `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomBytes(12).toString('base64url')}`;
    const created = Math.floor(Date.now() / 1000);
    const model = ctx.model.id;
    const object = kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
    const streaming = engineConfigs({}, { bufferSize: 1, flushIntervalMs: 50, tokenTimeoutMs: options.tokenTimeoutMs }).streaming;

    if (!r.stream) {
      const o = await service.run(ticket, promptIds, r.generation, streaming, signal, startedAt);
      if (o.error || !o.completedNormally) throw outcomeError(o);
      const choice =
        kind === 'chat'
          ? { index: 0, message: { role: 'assistant', content: o.text, refusal: null }, logprobs: null, finish_reason: finishReason(o), token_ids: o.tokenIds }
          : { index: 0, text: o.text, logprobs: null, finish_reason: finishReason(o), token_ids: o.tokenIds };
      res.json({ id, object: kind === 'chat' ? 'chat.completion' : 'text_completion', created, model, choices: [choice], usage: usage(o) });
      return;
    }

    let session;
    try {
      session = await openSse(req, res, options.keepAliveMs);
    } catch (e) {
      abandon(ticket);
      throw e;
    }
    const s = session;
    const chunk = (choice: Record<string, unknown> | undefined, extra: Record<string, unknown> = {}) => ({
      id,
      object,
      created,
      model,
      choices: choice ? [choice] : [],
      ...(r.includeUsage ? { usage: null } : {}),
      ...extra,
    });
    if (kind === 'chat') sseData(s, chunk({ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }));
    const o = await service.run(ticket, promptIds, r.generation, streaming, signal, startedAt, {
      onToken: (t) =>
        sseData(
          s,
          chunk(
            kind === 'chat'
              ? { index: 0, delta: { content: t.text }, logprobs: null, finish_reason: null, token_ids: [t.id] }
              : { index: 0, text: t.text, logprobs: null, finish_reason: null, token_ids: [t.id] },
          ),
        ),
    });
    if (o.error || !o.completedNormally) {
      sseData(s, outcomeError(o).toJSON());
    } else {
      sseData(s, chunk(kind === 'chat' ? { index: 0, delta: {}, logprobs: null, finish_reason: finishReason(o) } : { index: 0, text: '', logprobs: null, finish_reason: finishReason(o) }));
      if (r.includeUsage) sseData(s, { id, object, created, model, choices: [], usage: usage(o) });
    }
    sseData(s, '[DONE]');
    res.end();
  };
  app.post('/v1/completions', requireJson, json, handler('text'));
  app.post('/v1/chat/completions', requireJson, json, handler('chat'));
}
