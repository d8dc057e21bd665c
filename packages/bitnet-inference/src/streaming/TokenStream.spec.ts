import { createTokenizer, type Tokenizer } from '@bitnet/models';
import { llama3Metadata } from '@bitnet/models/testing';
import { InferenceError } from '../errors/InferenceError';
import { createTokenStream } from './createTokenStream';
import type { StreamResponse } from './StreamBuffer';
import { TokenStream } from './TokenStream';

/** A response whose last id carries all the text (TokenStream only passes responses through). */
const r = (text: string, ids: number[], finishReason?: StreamResponse['finishReason']): StreamResponse => {
  const pieces = ids.map((id, i) => ({ id, text: i === ids.length - 1 ? text : '' }));
  return finishReason === undefined ? { text, tokenIds: ids, pieces } : { text, tokenIds: ids, pieces, finishReason };
};

async function collect(stream: AsyncIterable<StreamResponse>): Promise<{ responses: StreamResponse[]; error?: unknown }> {
  const responses: StreamResponse[] = [];
  try {
    for await (const x of stream) responses.push(x);
  } catch (error) {
    return { responses, error };
  }
  return { responses };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('TokenStream', () => {
  it('delivers queued responses in order and ends after the final one', async () => {
    const s = new TokenStream();
    s.enqueue(r('a', [1]));
    s.enqueue(r('b', [2]));
    s.enqueue(r('', [], 'eos'));
    s.enqueue(r('late', [3])); // after the end: dropped
    expect(s.ended).toBe(true);
    expect(s.finishReason).toBe('eos');
    expect(await collect(s)).toEqual({ responses: [r('a', [1]), r('b', [2]), r('', [], 'eos')] });
    expect(await s.next()).toEqual({ done: true, value: undefined });
  });

  it('a waiting next() resolves when a response arrives', async () => {
    const s = new TokenStream();
    const it = s[Symbol.asyncIterator]();
    const p = it.next();
    let settled = false;
    void p.then(() => (settled = true));
    await tick();
    expect(settled).toBe(false);
    s.enqueue(r('x', [7]));
    expect(await p).toEqual({ done: false, value: r('x', [7]) });
    const end = it.next();
    s.enqueue(r('', [], 'max_tokens'));
    expect(await end).toEqual({ done: false, value: r('', [], 'max_tokens') });
    expect(await it.next()).toEqual({ done: true, value: undefined });
  });

  it('has no backpressure: responses queue up until read', async () => {
    const s = new TokenStream();
    for (let i = 0; i < 10_000; i++) s.enqueue(r(String(i % 10), [i]));
    s.enqueue(r('', [], 'max_tokens'));
    expect(s.queued).toBe(10_001);
    const { responses } = await collect(s);
    expect(responses.flatMap((x) => x.tokenIds)).toEqual(Array.from({ length: 10_000 }, (_, i) => i));
  });

  it('rejects next() with the error after the queued responses', async () => {
    const s = new TokenStream();
    const err = new InferenceError('token_timeout', 'too slow', ['raise tokenTimeoutMs']);
    s.enqueue(r('a', [1]));
    s.enqueue(r('b', [2]));
    s.fail(err);
    s.fail(new Error('second')); // ignored
    const { responses, error } = await collect(s);
    expect(responses).toEqual([r('a', [1]), r('b', [2])]);
    expect(error).toBe(err);
    expect(await s.next()).toEqual({ done: true, value: undefined });
  });

  it('rejects a waiting next() when the error arrives; wraps non-InferenceErrors', async () => {
    const s = new TokenStream();
    const p = s.next();
    s.fail(new Error('worker died'));
    await expect(p).rejects.toMatchObject({ name: 'InferenceError', type: 'generation_failed' });
  });

  it('an error response is followed by the error', async () => {
    const s = new TokenStream();
    const err = new InferenceError('generation_failed', 'boom');
    s.enqueue(r('partial', [5], 'error'));
    expect(s.ended).toBe(false);
    s.fail(err);
    expect(await collect(s)).toEqual({ responses: [r('partial', [5], 'error')], error: err });
  });

  it('can be iterated only once; one next() at a time', async () => {
    const s = new TokenStream();
    s[Symbol.asyncIterator]();
    expect(() => s[Symbol.asyncIterator]()).toThrow(/only once/);
    const first = s.next();
    await expect(s.next()).rejects.toThrow(/pending/);
    s.enqueue(r('', [], 'eos'));
    await expect(first).resolves.toMatchObject({ done: false });
  });

  describe('cancellation', () => {
    it('cancel() calls onCancel and ends with a final cancelled response after the queued ones', async () => {
      const onCancel = jest.fn();
      const s = new TokenStream({ onCancel });
      s.enqueue(r('a', [1]));
      expect(s.cancel('user')).toBe(true);
      expect(onCancel).toHaveBeenCalledWith('user');
      expect(s.cancel()).toBe(false);
      s.enqueue(r('b', [2])); // the engine's late response is dropped
      expect(onCancel).toHaveBeenCalledTimes(1);
      expect(s.cancelled).toBe(true);
      expect(await collect(s)).toEqual({ responses: [r('a', [1]), r('', [], 'cancelled')] });
    });

    it('cancel() resolves a waiting next() with the cancelled response', async () => {
      const s = new TokenStream();
      const p = s.next();
      s.cancel();
      expect(await p).toEqual({ done: false, value: r('', [], 'cancelled') });
      expect(await s.next()).toEqual({ done: true, value: undefined });
    });

    it('cancel() after the end does nothing', async () => {
      const onCancel = jest.fn();
      const s = new TokenStream({ onCancel });
      s.enqueue(r('', [], 'eos'));
      expect(s.cancel()).toBe(false);
      const f = new TokenStream({ onCancel });
      f.fail(new Error('x'));
      expect(f.cancel()).toBe(false);
      expect(onCancel).not.toHaveBeenCalled();
      expect(await collect(s)).toEqual({ responses: [r('', [], 'eos')] });
    });

    it('an AbortSignal cancels, with its reason; an already-aborted signal cancels at once', async () => {
      const ac = new AbortController();
      const onCancel = jest.fn();
      const s = new TokenStream({ signal: ac.signal, onCancel });
      s.enqueue(r('a', [1]));
      ac.abort('stop please');
      expect(onCancel).toHaveBeenCalledWith('stop please');
      expect(await collect(s)).toEqual({ responses: [r('a', [1]), r('', [], 'cancelled')] });

      const pre = new AbortController();
      pre.abort();
      const onCancel2 = jest.fn();
      const s2 = new TokenStream({ signal: pre.signal, onCancel: onCancel2 });
      expect(onCancel2).toHaveBeenCalledTimes(1);
      expect(s2.cancelled).toBe(true);
    });

    it('an abort after the end does nothing (the listener is removed)', () => {
      const ac = new AbortController();
      const onCancel = jest.fn();
      const remove = jest.spyOn(ac.signal, 'removeEventListener');
      const s = new TokenStream({ signal: ac.signal, onCancel });
      s.enqueue(r('', [], 'eos'));
      expect(remove).toHaveBeenCalledWith('abort', expect.any(Function));
      ac.abort();
      expect(onCancel).not.toHaveBeenCalled();
      expect(s.cancelled).toBe(false);
    });

    it('break out of for-await cancels', async () => {
      const onCancel = jest.fn();
      const s = new TokenStream({ onCancel });
      s.enqueue(r('a', [1]));
      s.enqueue(r('b', [2]));
      const seen: StreamResponse[] = [];
      for await (const x of s) {
        seen.push(x);
        break;
      }
      expect(seen).toEqual([r('a', [1])]);
      expect(onCancel).toHaveBeenCalledTimes(1);
      expect(s.cancelled).toBe(true);
      expect(await s.next()).toEqual({ done: true, value: undefined });
    });

    it('cancellable: false ignores cancel() and abort; break ends only the iteration', async () => {
      const ac = new AbortController();
      const onCancel = jest.fn();
      const s = new TokenStream({ cancellable: false, signal: ac.signal, onCancel });
      s.enqueue(r('a', [1]));
      expect(s.cancel()).toBe(false);
      ac.abort();
      s.enqueue(r('b', [2], 'max_tokens'));
      expect(onCancel).not.toHaveBeenCalled();
      expect(await collect(s)).toEqual({ responses: [r('a', [1]), r('b', [2], 'max_tokens')] });

      const t = new TokenStream({ cancellable: false, onCancel });
      t.enqueue(r('a', [1]));
      for await (const _ of t) break;
      expect(onCancel).not.toHaveBeenCalled();
      expect(t.cancelled).toBe(false);
      t.enqueue(r('b', [2])); // the engine goes on; its responses are dropped
      expect(t.queued).toBe(0);
      expect(await t.next()).toEqual({ done: true, value: undefined });
    });
  });
});

describe('createTokenStream (StreamBuffer → TokenStream)', () => {
  let tok: Tokenizer;
  beforeAll(() => {
    tok = createTokenizer(llama3Metadata({ pre: 'llama-bpe' }));
  });
  afterEach(() => jest.useRealTimers());

  /** A fake engine: pushes ids on a timer until told to stop, then finishes. */
  function engine(ids: number[], stepMs: number, push: (id: number) => boolean, finish: () => void): { stopped: () => boolean; stop: () => void } {
    let stopped = false;
    let i = 0;
    const step = () => {
      if (stopped) return;
      if (i === ids.length) return finish();
      if (!push(ids[i++])) return;
      setTimeout(step, stepMs);
    };
    setTimeout(step, stepMs);
    return { stopped: () => stopped, stop: () => void (stopped = true) };
  }

  it('streams real tokens, flushed by the timer, ending with the finish reason', async () => {
    jest.useFakeTimers();
    const ids = tok.encode('Hello 🙂 world, 龘!', { addBos: false });
    const { stream, buffer } = createTokenStream({ tokenizer: tok, streaming: { bufferSize: 3, flushIntervalMs: 25 } });
    engine(ids, 15, (id) => buffer.push(id), () => buffer.finish('max_tokens')); // 2 ids per 25 ms
    const done = collect(stream);
    await jest.runAllTimersAsync();
    const { responses, error } = await done;
    expect(error).toBeUndefined();
    expect(responses.flatMap((x) => x.tokenIds)).toEqual(ids);
    expect(responses.map((x) => x.text).join('')).toBe('Hello 🙂 world, 龘!');
    expect(responses.at(-1)?.finishReason).toBe('max_tokens');
    expect(responses.slice(0, -1).map((x) => x.tokenIds.length)).toEqual(responses.slice(0, -1).map(() => 2)); // all by the timer
  });

  it('cancel() flushes the pending ids into the final cancelled response and stops the engine', async () => {
    jest.useFakeTimers();
    const ids = tok.encode(' one two three four five six seven eight nine ten', { addBos: false });
    const onCancel = jest.fn(() => fake.stop());
    const { stream, buffer } = createTokenStream({ tokenizer: tok, streaming: { bufferSize: 64, flushIntervalMs: 1000 }, onCancel });
    const fake = engine(ids, 10, (id) => buffer.push(id), () => buffer.finish('max_tokens'));
    const done = collect(stream);
    await jest.advanceTimersByTimeAsync(35); // 3 ids pushed, none flushed yet
    expect(stream.cancel('enough')).toBe(true);
    expect(onCancel).toHaveBeenCalledWith('enough');
    expect(fake.stopped()).toBe(true);
    expect(buffer.closed).toBe(true);
    expect(buffer.push(ids[3])).toBe(false);
    await jest.runAllTimersAsync();
    const { responses } = await done;
    const own = (xs: number[]) => xs.map((id) => ({ id, text: tok.decode([id]) }));
    expect(responses).toEqual([{ text: ' one two three', tokenIds: ids.slice(0, 3), pieces: own(ids.slice(0, 3)), finishReason: 'cancelled' }]);
  });

  it('abort and break cancel through the same path; cancellable false does not', async () => {
    const ac = new AbortController();
    const onCancel = jest.fn();
    const a = createTokenStream({ tokenizer: tok, signal: ac.signal, onCancel });
    a.buffer.push(tok.encode('x', { addBos: false })[0]);
    ac.abort();
    expect(onCancel).toHaveBeenCalledTimes(1);
    const x = tok.encode('x', { addBos: false })[0];
    expect((await collect(a.stream)).responses).toEqual([{ text: 'x', tokenIds: [x], pieces: [{ id: x, text: 'x' }], finishReason: 'cancelled' }]);

    const pre = new AbortController();
    pre.abort();
    const b = createTokenStream({ tokenizer: tok, signal: pre.signal, onCancel });
    expect(b.buffer.closed).toBe(true);
    expect(b.buffer.push(1)).toBe(false);
    expect(onCancel).toHaveBeenCalledTimes(2);

    const c = createTokenStream({ tokenizer: tok, streaming: { bufferSize: 1 }, onCancel });
    c.buffer.push(1);
    c.buffer.push(2);
    for await (const _ of c.stream) break;
    expect(onCancel).toHaveBeenCalledTimes(3);
    expect(c.buffer.push(3)).toBe(false);

    const d = createTokenStream({ tokenizer: tok, streaming: { cancellable: false }, signal: ac.signal, onCancel });
    expect(d.stream.cancel()).toBe(false);
    expect(d.buffer.push(1)).toBe(true);
    d.buffer.finish('eos');
    expect(onCancel).toHaveBeenCalledTimes(3);
  });

  it('a stop string ends the stream and calls onStop', async () => {
    const onStop = jest.fn();
    const { stream, buffer } = createTokenStream({ tokenizer: tok, generation: { stopSequences: ['\n\nUser:'] }, streaming: { bufferSize: 1 }, onStop });
    const ids = tok.encode('Done.\n\nUser: more', { addBos: false });
    let pushed = 0;
    for (const id of ids) {
      if (!buffer.push(id)) break;
      pushed++;
    }
    expect(pushed).toBeLessThan(ids.length);
    expect(onStop).toHaveBeenCalledWith({ sequence: '\n\nUser:', tokenId: ids[pushed - 1] });
    const { responses } = await collect(stream);
    expect(responses.map((x) => x.text).join('')).toBe('Done.');
    expect(responses.flatMap((x) => x.tokenIds)).toEqual(ids.slice(0, pushed));
    expect(responses.at(-1)?.finishReason).toBe('stop_sequence');
    expect(responses.flatMap((x) => x.pieces).map((p) => p.id)).toEqual(ids.slice(0, pushed));
    expect(responses.flatMap((x) => x.pieces).map((p) => p.text).join('')).toBe('Done.');
    expect(stream.cancel()).toBe(false);
  });

  it('an engine error arrives after the responses, as the InferenceError', async () => {
    const { stream, buffer } = createTokenStream({ tokenizer: tok, streaming: { bufferSize: 2 } });
    const ids = tok.encode(' a b c', { addBos: false });
    ids.forEach((id) => buffer.push(id));
    const err = new InferenceError('token_timeout', 'step exceeded 5000 ms', ['raise tokenTimeoutMs']);
    buffer.fail(err);
    const { responses, error } = await collect(stream);
    expect(error).toBe(err);
    expect(responses).toEqual([
      { text: ' a b', tokenIds: ids.slice(0, 2), pieces: ids.slice(0, 2).map((id) => ({ id, text: tok.decode([id]) })) },
      { text: ' c', tokenIds: ids.slice(2), pieces: [{ id: ids[2], text: ' c' }], finishReason: 'error' },
    ]);
  });
});
