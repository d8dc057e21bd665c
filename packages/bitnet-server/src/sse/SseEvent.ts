/** One Server-Sent Event as written on the wire. */
export interface SseEvent {
  id?: string | number;
  event?: string;
  data: string;
  retry?: number;
}

/**
 * Serializes an event: each line of `data` becomes its own `data:` field (so payloads that contain
 * newlines survive), and fields that would break framing are rejected.
 */
export function formatSseEvent(e: SseEvent): string {
  let out = '';
  if (e.id !== undefined) {
    const id = String(e.id);
    if (/[\r\n\0]/.test(id)) throw new Error('an SSE id cannot contain newlines or NUL');
    out += `id: ${id}\n`;
  }
  if (e.event !== undefined) {
    if (/[\r\n]/.test(e.event)) throw new Error('an SSE event name cannot contain newlines');
    out += `event: ${e.event}\n`;
  }
  if (e.retry !== undefined) out += `retry: ${Math.max(0, Math.floor(e.retry))}\n`;
  for (const line of e.data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return out + '\n';
}
