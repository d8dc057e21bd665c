import { SseParser, type SseEvent } from './sse';

const enc = new TextEncoder();

function parseIn(bytes: Uint8Array, cuts: number[]): SseEvent[] {
  const p = new SseParser();
  const out: SseEvent[] = [];
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    out.push(...p.push(bytes.subarray(at, c)));
    at = c;
  }
  return out;
}

describe('SseParser', () => {
  const text = '\uFEFF: comment\r\nid: s:1\r\nevent: token\r\ndata: {"token":"日本🙂é"}\r\n\r\nid: s:2\nevent: complete\ndata: a\ndata:b\n\nretry: 5\rdata: c\r\r\n';
  const bytes = enc.encode(text);
  const expected: SseEvent[] = [
    { event: 'token', id: 's:1', data: '{"token":"日本🙂é"}' },
    { event: 'complete', id: 's:2', data: 'a\nb' },
    { event: 'message', id: undefined, data: 'c' },
  ];

  it('parses the whole text in one chunk', () => {
    expect(parseIn(bytes, [])).toEqual(expected);
  });

  it('gives the same events whatever single cut splits the bytes (inside characters and CRLFs too)', () => {
    for (let i = 1; i < bytes.length; i++) expect(parseIn(bytes, [i])).toEqual(expected);
  });

  it('gives the same events fed one byte at a time', () => {
    expect(parseIn(bytes, Array.from({ length: bytes.length - 1 }, (_, i) => i + 1))).toEqual(expected);
  });

  it('keeps an event whose blank line has not come yet', () => {
    const p = new SseParser();
    expect(p.push(enc.encode('id: s:1\nevent: token\ndata: {"tok'))).toEqual([]);
    expect(p.push(enc.encode('en":"x"}\n'))).toEqual([]);
    expect(p.push(enc.encode('\n'))).toEqual([{ event: 'token', id: 's:1', data: '{"token":"x"}' }]);
  });
});
