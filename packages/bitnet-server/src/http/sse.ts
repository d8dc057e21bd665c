import type { Request, Response } from 'express';
import { type Session, createEventBuffer, createSession } from 'better-sse';

/** The response of each session: writing stops when it has ended, whatever better-sse believes. */
const responses = new WeakMap<Session, Response>();

function open(session: Session): boolean {
  const res = responses.get(session);
  return session.isConnected && !!res && !res.writableEnded && !res.destroyed;
}

/** Strings go out as they are (`[DONE]`), anything else as JSON. */
const serializer = (data: unknown): string => (typeof data === 'string' ? data : JSON.stringify(data));

/**
 * Opens an SSE response with better-sse: text/event-stream, no caching, `X-Accel-Buffering: no`
 * (so nginx does not buffer), keep-alive comments every `keepAliveMs` until the response closes.
 * (The keep-alive timer is ours: better-sse's own interval outlives responses that end normally.)
 */
export async function openSse(req: Request, res: Response, keepAliveMs: number, headers: Record<string, string> = {}): Promise<Session> {
  const session = await createSession(req, res, { keepAlive: null, serializer, headers: { 'X-Accel-Buffering': 'no', ...headers } });
  const timer = setInterval(() => {
    if (!open(session)) return stop();
    void session.batch(createEventBuffer({ serializer }).comment().dispatch());
  }, keepAliveMs);
  const stop = () => clearInterval(timer);
  responses.set(session, res);
  res.once('close', stop);
  res.once('finish', stop);
  if (res.writableEnded || res.destroyed) stop();
  return session;
}

/** Sends a comment line (`: text`), which clients ignore: shows the connection is alive. */
export function sseComment(session: Session, text: string): void {
  if (!open(session)) return;
  void session.batch(createEventBuffer({ serializer }).comment(text).dispatch());
}

/** Pushes a named event with an id; a disconnected session is skipped (the caller logs the event). */
export function ssePush(session: Session, event: string, data: unknown, id: string): void {
  if (!open(session)) return;
  try {
    session.push(data, event, id);
  } catch {
    // disconnected between the check and the write: the event stays in the replay log
  }
}

/** Pushes a `data:`-only event (OpenAI's form, no event name, no id). */
export function sseData(session: Session, data: unknown): void {
  if (!open(session)) return;
  void session.batch(createEventBuffer({ serializer }).data(data).dispatch());
}
