/**
 * GET /openapi.json: an OpenAPI 3.1 description of every route, its request bodies generated from
 * the same zod schemas that validate them (z.toJSONSchema, JSON Schema 2020-12, which OpenAPI 3.1
 * uses as is).
 */
import { z } from 'zod';
import { chatRequestSchema, completionRequestSchema, streamRequestSchema } from './validation';

type Json = Record<string, unknown>;

/** A request schema as an OpenAPI component (the `$schema` key is the document's business, not the component's). */
function component(schema: z.ZodType): Json {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as Json;
  return rest;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const jsonBody = (name: string) => ({ required: true, content: { 'application/json': { schema: ref(name) } } });
const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: ref('Error') } } });
const jsonResponse = (description: string, schema: Json = { type: 'object' }) => ({ description, content: { 'application/json': { schema } } });

/** The errors every JSON-body route may answer. */
const bodyErrors = {
  '400': errorResponse('Unparsable JSON, a body that is not an object, or a prompt too long for the model'),
  '401': errorResponse('Missing or wrong API key (with --api-key)'),
  '413': errorResponse('Body over --max-body-bytes'),
  '415': errorResponse('Content-Type is not application/json'),
  '422': errorResponse('A field breaks a rule, or is unknown: `param` names it'),
  '429': errorResponse('Every slot and queue place is taken (Retry-After says when to retry)'),
  '503': errorResponse('Shutting down'),
};

/** The OpenAPI 3.1 document of this server's routes, request bodies from the zod schemas (served at /openapi.json). */
export function openApiDocument(o: { version: string; apiKey: boolean }): Json {
  const secured = o.apiKey ? [{ bearer: [] }, { apiKey: [] }] : [];
  const open = { security: [] };
  const probe = (summary: string) => ({ get: { summary, ...open, responses: { '200': jsonResponse(summary), '503': jsonResponse('Shutting down') } } });
  return {
    openapi: '3.1.0',
    info: {
      title: 'bitnet-server',
      version: o.version,
      description: 'BitNet b1.58 generation over HTTP: server-sent events with token ids, and OpenAI-compatible routes.',
    },
    servers: [{ url: '/' }],
    security: secured,
    paths: {
      '/': { get: { summary: 'The browser playground', ...open, responses: { '200': { description: 'The playground page', content: { 'text/html': { schema: { type: 'string' } } } } } } },
      '/v1/stream': {
        post: {
          summary: 'Generate, streamed as token / complete / error events (Last-Event-ID resumes a stream: the missed events, then the rest, revived when its generation stopped)',
          parameters: [{ name: 'Last-Event-ID', in: 'header', required: false, schema: { type: 'string' }, description: '`<stream>:<n>`: resend the events after n, then follow or revive the stream (the body may be absent, whatever the Content-Type)' }],
          // optional: a reconnect with Last-Event-ID needs none
          requestBody: { ...jsonBody('StreamRequest'), required: false },
          responses: {
            '200': { description: 'An event stream (with logprobs: true, token events add logprob, bytes and top_logprobs); the complete event has cached_prompt_tokens: prompt tokens the prompt cache restored', headers: { 'X-Stream-Id': { schema: { type: 'string' } } }, content: { 'text/event-stream': { schema: { type: 'string' } } } },
            '410': errorResponse('The events to resend are no longer kept'),
            ...bodyErrors,
          },
        },
      },
      '/v1/completions': {
        post: {
          summary: 'OpenAI-compatible text completion (streamed with stream: true)',
          requestBody: jsonBody('CompletionRequest'),
          responses: { '200': { description: 'A completion, or an event stream of chunks; usage.prompt_tokens_details.cached_tokens counts prompt tokens the prompt cache restored', content: { 'application/json': { schema: { type: 'object' } }, 'text/event-stream': { schema: { type: 'string' } } } }, ...bodyErrors },
        },
      },
      '/v1/chat/completions': {
        post: {
          summary: 'OpenAI-compatible chat completion (streamed with stream: true)',
          requestBody: jsonBody('ChatCompletionRequest'),
          responses: { '200': { description: 'A chat completion, or an event stream of chunks; usage.prompt_tokens_details.cached_tokens counts prompt tokens the prompt cache restored', content: { 'application/json': { schema: { type: 'object' } }, 'text/event-stream': { schema: { type: 'string' } } } }, ...bodyErrors },
        },
      },
      '/v1/models': { get: { summary: 'The served model, as OpenAI lists models', responses: { '200': jsonResponse('The model list'), '401': errorResponse('Missing or wrong API key') } } },
      '/health': probe('Status, model, kernels, streams, prompt cache'),
      '/health/live': { get: { summary: 'Liveness', ...open, responses: { '200': jsonResponse('Alive') } } },
      '/health/ready': probe('Readiness'),
      '/metrics': {
        get: {
          summary: 'Prometheus metrics (text format 0.0.4)',
          responses: { '200': { description: 'Metrics', content: { 'text/plain': { schema: { type: 'string' } } } }, '401': errorResponse('Missing or wrong API key') },
        },
      },
      '/openapi.json': { get: { summary: 'This document', ...open, responses: { '200': jsonResponse('OpenAPI 3.1') } } },
    },
    components: {
      schemas: {
        StreamRequest: component(streamRequestSchema),
        CompletionRequest: component(completionRequestSchema),
        ChatCompletionRequest: component(chatRequestSchema),
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['type', 'message'],
              properties: { type: { type: 'string' }, message: { type: 'string' }, param: { type: 'string' }, code: { type: 'string' }, rule: { type: 'string' } },
            },
          },
        },
      },
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      },
    },
  };
}
