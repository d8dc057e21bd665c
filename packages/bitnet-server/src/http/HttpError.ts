import type { Response } from 'express';

/**
 * An error answered as JSON: `{ "error": { type, message, param?, code?, ...details } }` (the shape
 * OpenAI clients parse, used by every route). Never carries a stack trace.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }

  /** The JSON body sent for this error: `{ error: { type, message, code, ...details } }`. */
  toJSON(): { error: Record<string, unknown> } {
    return { error: { type: this.type, message: this.message, code: this.type, ...this.details } };
  }
}

/** 422: a request field breaks a rule. The message and `param` name the field. */
export function invalidField(field: string, rule: string): HttpError {
  return new HttpError(422, 'invalid_request_error', `${field}: ${rule}`, { param: field, rule, code: 'invalid_field' });
}

export function sendError(res: Response, err: HttpError): void {
  if (res.headersSent) return;
  for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
  res.status(err.status).json(err.toJSON());
}
