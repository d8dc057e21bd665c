/**
 * A small incremental parser of `text/event-stream` (the WHATWG rules the server's events need):
 * bytes in any chunking (a multi-byte character or a CRLF split between chunks included), lines
 * ended by CRLF, LF or CR, comments skipped, `event`/`data`/`id` fields, a leading BOM dropped.
 */

/** One dispatched server-sent event. */
export interface SseEvent {
  /** The event's type (`message` when the stream named none). */
  event: string;
  /** The event's data lines joined with `\n`. */
  data: string;
  /** The event's `id` field, when it had one. */
  id: string | undefined;
}

/** Feeds chunks of bytes in, gets complete events out. */
export class SseParser {
  private readonly decoder = new TextDecoder('utf-8');
  private buffer = '';
  private first = true;
  private event = '';
  private data: string[] = [];
  private id: string | undefined;

  /** Parses one chunk; returns the events it completed. */
  push(chunk: Uint8Array): SseEvent[] {
    let text = this.decoder.decode(chunk, { stream: true });
    if (this.first && text.length > 0) {
      this.first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    this.buffer += text;
    const out: SseEvent[] = [];
    const re = /\r\n|\r|\n/g;
    let start = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(this.buffer))) {
      // a CR at the very end may be the first half of a CRLF: wait for the next chunk
      if (m[0] === '\r' && m.index === this.buffer.length - 1) break;
      const e = this.line(this.buffer.slice(start, m.index));
      if (e) out.push(e);
      start = m.index + m[0].length;
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }

  private line(l: string): SseEvent | undefined {
    if (l === '') {
      const e = this.data.length ? { event: this.event || 'message', data: this.data.join('\n'), id: this.id } : undefined;
      this.event = '';
      this.data = [];
      this.id = undefined;
      return e;
    }
    if (l.charCodeAt(0) === 0x3a) return undefined; // ':' comment (keep-alive, `: queued`)
    const i = l.indexOf(':');
    const field = i < 0 ? l : l.slice(0, i);
    let value = i < 0 ? '' : l.slice(i + 1);
    if (value.charCodeAt(0) === 0x20) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.id = value;
    return undefined;
  }
}
