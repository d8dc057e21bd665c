/**
 * OpenAI-compatible routes: POST /v1/completions and /v1/chat/completions, streamed (SSE `data:`
 * chunks, `data: [DONE]`, stream_options.include_usage) or not. Extensions beyond OpenAI's fields:
 * top_k, min_p, repetition_penalty in requests; `token_ids` beside each chunk's text. Every OpenAI
 * request field is either applied or answered with a 422 naming it (see validation.ts).
 * `response_format` (json_object, json_schema) constrains the output (see ./responseFormat.ts).
 * Logprobs (chat `logprobs` + `top_logprobs`, completions `logprobs: N`) come in OpenAI's shapes,
 * per chunk when streamed (see ./logprobs.ts for what a logprob is here).
 */
import { randomBytes } from 'node:crypto';
import type { Express, Request, RequestHandler, Response } from 'express';
import { type GenerationConfig, type InferenceErrorType, OPENAI_SAMPLING_DEFAULTS as D, type TokenPiece } from '@bitnet/inference';
import { type ChatMessage, applyChatTemplate, chatStopStrings } from '@bitnet/models';
import { type GenerationOutcome, SHUTDOWN } from '../stream/GenerationService';
import { abandonTicket } from '../stream/Admission';
import { type ServerContext, requestSignal, maxPromptChars, requireJson } from './common';
import { HttpError, invalidField } from './HttpError';
import { chatLogprob, completionLogprobs } from './logprobs';
import { responseFormatGrammar } from './responseFormat';
import { openSse, sseData } from './sse';
import {
  type ChatBody,
  type CompletionBody,
  chatRequestSchema,
  checkChars,
  completionRequestSchema,
  engineConfigs,
  given,
  logprobsCount,
  parseBody,
  randomSeed,
  stopList,
} from './validation';

interface OpenAiRequest {
  prompt: string;
  generation: GenerationConfig;
  stream: boolean;
  includeUsage: boolean;
  /** Alternatives per token with logprobs; undefined = no logprobs. */
  logprobs?: number;
  /** The GBNF grammar of response_format; undefined = free text. */
  grammar?: string;
}

/** What both routes share: sampling with OpenAI's defaults (OPENAI_SAMPLING_DEFAULTS), stream and stream_options. */
function common(
  body: CompletionBody | ChatBody,
  prompt: string,
  maxTokens: number | undefined,
  defaultMaxTokens: number,
  logprobs: number | undefined,
  formatStops: string[] = [],
): OpenAiRequest {
  const gen: Partial<GenerationConfig> = {
    maxNewTokens: maxTokens ?? defaultMaxTokens,
    temperature: given(body.temperature) ?? D.temperature,
    topP: given(body.top_p) ?? D.topP,
    topK: given(body.top_k) ?? D.topK,
    minP: given(body.min_p) ?? D.minP,
    repetitionPenalty: given(body.repetition_penalty) ?? D.repetitionPenalty,
    presencePenalty: given(body.presence_penalty) ?? D.presencePenalty,
    frequencyPenalty: given(body.frequency_penalty) ?? D.frequencyPenalty,
    logitBias: given(body.logit_bias) ?? D.logitBias,
    seed: given(body.seed) ?? randomSeed(),
    stopSequences: [...(stopList(body.stop) ?? []), ...formatStops],
  };
  const includeUsage = body.stream_options?.include_usage ?? false;
  const generation = engineConfigs(gen, {}).generation;
  const grammar = responseFormatGrammar(body.response_format);
  return { prompt, generation, stream: body.stream ?? false, includeUsage, logprobs, ...(grammar !== undefined ? { grammar } : {}) };
}

function parseCompletion(raw: unknown, ctx: ServerContext): OpenAiRequest {
  const body = parseBody(completionRequestSchema, raw);
  const prompt = typeof body.prompt === 'string' ? body.prompt : body.prompt[0];
  if (prompt.length === 0) throw invalidField('prompt', 'must not be empty');
  checkChars('prompt', prompt.length, maxPromptChars(ctx));
  return common(body, prompt, given(body.max_tokens), 16, given(body.logprobs));
}

function parseChat(raw: unknown, ctx: ServerContext): OpenAiRequest {
  const body = parseBody(chatRequestSchema, raw);
  const chat: ChatMessage[] = body.messages.map((m) => ({
    role: m.role === 'developer' ? 'system' : m.role,
    content: typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join(''),
  }));
  const prompt = applyChatTemplate(chat, ctx.chatFormat);
  checkChars('messages', prompt.length, maxPromptChars(ctx));
  // the plain fallback format has no end-of-turn token: its next "User:" line ends the reply
  const logprobs = logprobsCount(body);
  return common(body, prompt, given(body.max_completion_tokens) ?? given(body.max_tokens), ctx.options.defaultMaxTokens, logprobs, chatStopStrings(ctx.chatFormat));
}

const STATUS_BY_ERROR: Partial<Record<InferenceErrorType, number>> = { token_timeout: 504, overloaded: 503, engine_closed: 503, invalid_config: 422, context_overflow: 400 };

function outcomeError(o: GenerationOutcome): HttpError {
  if (o.error) return new HttpError(STATUS_BY_ERROR[o.error.type] ?? 500, o.error.type, o.error.message, { tokens_before_error: o.generatedTokens });
  return new HttpError(503, o.reason, o.reason === SHUTDOWN ? 'the server is shutting down' : `generation stopped: ${o.reason}`);
}

/** OpenAI's finish_reason: a completed response_format value ('grammar_complete') is a 'stop'. */
function finishReason(o: GenerationOutcome): string {
  return o.reason === 'max_tokens' ? 'length' : 'stop';
}

/** OpenAI's usage, with prompt_tokens_details.cached_tokens: prompt tokens the prompt cache restored. */
function usage(o: GenerationOutcome) {
  return {
    prompt_tokens: o.promptTokens,
    completion_tokens: o.generatedTokens,
    total_tokens: o.promptTokens + o.generatedTokens,
    prompt_tokens_details: { cached_tokens: o.cachedPromptTokens },
  };
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
    const wantLogprobs = r.logprobs !== undefined;
    const runOptions = { ...(wantLogprobs ? { logprobs: r.logprobs } : {}), ...(r.grammar !== undefined ? { grammar: r.grammar } : {}) };
    const tokenizer = service.engine.tokenizer;
    const tokenText = (tokenId: number) => tokenizer.decode([tokenId]);
    /** The choice's logprobs for these pieces (text starting at `offset`), or null when not asked. */
    const logprobsOf = (pieces: readonly TokenPiece[], offset: number) =>
      !wantLogprobs ? null : kind === 'chat' ? { content: pieces.map((t) => chatLogprob(t, tokenText)), refusal: null } : completionLogprobs(pieces, offset, tokenText);

    if (!r.stream) {
      const pieces: TokenPiece[] = [];
      const o = await service.run(ticket, promptIds, r.generation, streaming, signal, startedAt, wantLogprobs ? { onToken: (t) => void pieces.push(t) } : {}, runOptions);
      if (o.error || !o.completedNormally) throw outcomeError(o);
      const logprobs = logprobsOf(pieces, 0);
      const choice =
        kind === 'chat'
          ? { index: 0, message: { role: 'assistant', content: o.text, refusal: null }, logprobs, finish_reason: finishReason(o), token_ids: o.tokenIds }
          : { index: 0, text: o.text, logprobs, finish_reason: finishReason(o), token_ids: o.tokenIds };
      res.json({ id, object: kind === 'chat' ? 'chat.completion' : 'text_completion', created, model, choices: [choice], usage: usage(o) });
      return;
    }

    let session;
    try {
      session = await openSse(req, res, options.keepAliveMs);
    } catch (e) {
      abandonTicket(ticket);
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
    let offset = 0;
    const o = await service.run(
      ticket,
      promptIds,
      r.generation,
      streaming,
      signal,
      startedAt,
      {
        onToken: (t) => {
          const logprobs = logprobsOf([t], offset);
          offset += t.text.length;
          sseData(
            s,
            chunk(
              kind === 'chat'
                ? { index: 0, delta: { content: t.text }, logprobs, finish_reason: null, token_ids: [t.id] }
                : { index: 0, text: t.text, logprobs, finish_reason: null, token_ids: [t.id] },
            ),
          );
        },
      },
      runOptions,
    );
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
