import { formatSseEvent } from './SseEvent';

describe('formatSseEvent', () => {
  it('writes id, event and one data field per line', () => {
    expect(formatSseEvent({ id: 7, event: 'token', data: '{"token":"a\\nb"}' })).toBe('id: 7\nevent: token\ndata: {"token":"a\\nb"}\n\n');
    expect(formatSseEvent({ data: 'x\ny\r\nz' })).toBe('data: x\ndata: y\ndata: z\n\n');
  });

  it('refuses fields that would break the framing', () => {
    expect(() => formatSseEvent({ id: 'a\nb', data: '' })).toThrow(/id/);
    expect(() => formatSseEvent({ event: 'a\nb', data: '' })).toThrow(/event/);
  });
});
