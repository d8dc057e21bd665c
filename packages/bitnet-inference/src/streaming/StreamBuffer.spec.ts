import { byteToChar, createTokenizer, type Tokenizer } from '@bitnet/models';
import { llama3Metadata, rng, tokenizerCorpus } from '@bitnet/models/testing';
import { ConfigError, InferenceError } from '../errors/InferenceError';
import { configureLogging } from '../logging/Logger';
import { StreamBuffer, type FinishReason, type StopInfo, type StreamBufferOptions, type StreamResponse } from './StreamBuffer';
import { firstStop } from '../testing/firstStop';

/** Real LLaMA-3 ids (checked against the tokenizer below). */
const SMILE = [9468, 19044]; // "🙂" = F0 9F | 99 82
const DRAGON = [84012, 246]; // "龘" = E9 BE | 98
const CJK_ASTRAL = [172, 254, 250, 236]; // "𠜎" (U+2070E, a surrogate pair in JS) = F0 | A0 | 9C | 8E
const EOT = 128009; // <|eot_id|>
const START_HEADER = 128006; // <|start_header_id|>

const LONE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

let tok: Tokenizer;
beforeAll(() => {
  tok = createTokenizer(llama3Metadata({ pre: 'llama-bpe' }));
});

interface Harness {
  buffer: StreamBuffer;
  responses: StreamResponse[];
  stops: StopInfo[];
  errors: InferenceError[];
  text(): string;
  ids(): number[];
}

function harness(options: Partial<Omit<StreamBufferOptions, 'onResponse'>> = {}): Harness {
  const responses: StreamResponse[] = [];
  const stops: StopInfo[] = [];
  const errors: InferenceError[] = [];
  const buffer = new StreamBuffer({
    tokenizer: tok,
    ...options,
    onResponse: (r) => responses.push(r),
    onStop: (s) => stops.push(s),
    onError: (e) => errors.push(e),
  });
  return {
    buffer,
    responses,
    stops,
    errors,
    text: () => responses.map((r) => r.text).join(''),
    ids: () => responses.flatMap((r) => r.tokenIds),
  };
}

const enc = (s: string) => tok.encode(s, { addBos: false });
/** Pieces of ids that each decode to whole characters: every id's text is its own decoding. */
const own = (ids: number[]) => ids.map((id) => ({ id, text: tok.decode([id]) }));
const byteIds = (s: string) => [...new TextEncoder().encode(s)].map((b) => tok.tokenId(byteToChar(b)) as number);

describe('StreamBuffer', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('uses real LLaMA-3 ids whose bytes span tokens', () => {
    expect(enc('🙂')).toEqual(SMILE);
    expect(enc('龘')).toEqual(DRAGON);
    expect(enc('𠜎')).toEqual(CJK_ASTRAL);
    expect(tok.tokenText(EOT)).toBe('<|eot_id|>');
    expect(tok.isSpecial(START_HEADER)).toBe(true);
  });

  describe('flushing', () => {
    it('flushes when bufferSize ids are pending, and not before', () => {
      const h = harness({ streaming: { bufferSize: 3, flushIntervalMs: 50 } });
      const ids = enc('one two three four five six seven');
      h.buffer.push(ids[0]);
      h.buffer.push(ids[1]);
      expect(h.responses).toEqual([]);
      h.buffer.push(ids[2]);
      expect(h.responses).toEqual([{ text: tok.decode(ids.slice(0, 3)), tokenIds: ids.slice(0, 3), pieces: own(ids.slice(0, 3)) }]);
      // the size flush cleared the timer: nothing more comes by time alone
      jest.advanceTimersByTime(1000);
      expect(h.responses).toHaveLength(1);
      expect(h.buffer.pendingCount).toBe(0);
    });

    it('flushes by a timer flushIntervalMs after the first pending id, with no further id', () => {
      const h = harness({ streaming: { bufferSize: 10, flushIntervalMs: 50 } });
      const [a, b] = enc(' hello world');
      h.buffer.push(a);
      jest.advanceTimersByTime(30);
      h.buffer.push(b); // does not restart the interval
      jest.advanceTimersByTime(19);
      expect(h.responses).toEqual([]);
      jest.advanceTimersByTime(1);
      expect(h.responses).toEqual([{ text: ' hello world', tokenIds: [a, b], pieces: own([a, b]) }]);
      jest.advanceTimersByTime(500);
      expect(h.responses).toHaveLength(1); // no empty responses while idle
    });

    it('starts a fresh interval with the first id after a flush', () => {
      const h = harness({ streaming: { bufferSize: 2, flushIntervalMs: 50 } });
      const ids = enc(' a b c d');
      h.buffer.push(ids[0]);
      jest.advanceTimersByTime(40);
      h.buffer.push(ids[1]); // size flush at t=40
      expect(h.responses).toHaveLength(1);
      jest.advanceTimersByTime(20); // t=60: the old timer (due t=50) must not fire on the next id
      h.buffer.push(ids[2]);
      jest.advanceTimersByTime(49); // t=109
      expect(h.responses).toHaveLength(1);
      jest.advanceTimersByTime(1); // t=110 = 60 + 50
      expect(h.responses).toEqual([
        { text: ' a b', tokenIds: ids.slice(0, 2), pieces: own(ids.slice(0, 2)) },
        { text: ' c', tokenIds: [ids[2]], pieces: own([ids[2]]) },
      ]);
      // timer flush, then a new id: again 50 ms from that id
      jest.advanceTimersByTime(5);
      h.buffer.push(ids[3]);
      jest.advanceTimersByTime(49);
      expect(h.responses).toHaveLength(2);
      jest.advanceTimersByTime(1);
      expect(h.responses[2]).toEqual({ text: ' d', tokenIds: [ids[3]], pieces: own([ids[3]]) });
    });

    it('finish delivers what is pending with the finish reason, and clears the timer', () => {
      const h = harness({ streaming: { bufferSize: 10, flushIntervalMs: 50 } });
      const ids = enc('The end.');
      ids.forEach((id) => h.buffer.push(id));
      h.buffer.finish('max_tokens');
      expect(h.responses).toEqual([{ text: 'The end.', tokenIds: ids, pieces: own(ids), finishReason: 'max_tokens' }]);
      jest.advanceTimersByTime(1000);
      expect(h.responses).toHaveLength(1);
      expect(h.buffer.closed).toBe(true);
      expect(h.buffer.finishReason).toBe('max_tokens');
    });

    it('the final response may be empty; push and finish after the end are ignored', () => {
      const h = harness({ streaming: { bufferSize: 1, flushIntervalMs: 50 } });
      const [id] = enc('x');
      expect(h.buffer.push(id)).toBe(true);
      h.buffer.finish('eos');
      expect(h.responses).toEqual([
        { text: 'x', tokenIds: [id], pieces: [{ id, text: 'x' }] },
        { text: '', tokenIds: [], pieces: [], finishReason: 'eos' },
      ]);
      expect(h.buffer.push(id)).toBe(false);
      h.buffer.finish('max_tokens');
      h.buffer.fail(new Error('late'));
      expect(h.responses).toHaveLength(2);
      expect(h.errors).toEqual([]);
      expect(h.buffer.tokenCount).toBe(1);
    });

    it('validates its settings and ids', () => {
      expect(() => harness({ streaming: { bufferSize: 0 } })).toThrow(ConfigError);
      expect(() => harness({ streaming: { flushIntervalMs: 0 } })).toThrow(/flushIntervalMs/);
      const h = harness();
      expect(() => h.buffer.push(-1)).toThrow(TypeError);
      expect(() => h.buffer.push(128256)).toThrow();
      expect(h.buffer.tokenCount).toBe(0);
      h.buffer.finish('eos');
      expect(h.responses).toEqual([{ text: '', tokenIds: [], pieces: [], finishReason: 'eos' }]);
      expect(() => harness({ stopSequences: [''] })).toThrow(ConfigError);
    });
  });

  describe('multi-byte characters split across tokens', () => {
    it.each([
      ['🙂', SMILE],
      ['龘', DRAGON],
      ['𠜎', CJK_ASTRAL],
    ])('%s: ids are reported at once, the text only when the character is complete', (ch, ids) => {
      const h = harness({ streaming: { bufferSize: 1, flushIntervalMs: 50 } });
      ids.forEach((id) => h.buffer.push(id));
      // the ids before the last get '' and the one completing the character gets it; each piece waits
      // for the next id (the last id could yet get the U+FFFD of an unfinished character)
      const last = ids.length - 1;
      const pieces = (i: number) => [...(i > 0 ? [{ id: ids[i - 1], text: '' }] : []), ...(i === last ? [{ id: ids[i], text: ch }] : [])];
      expect(h.responses).toEqual(ids.map((id, i) => ({ text: i === last ? ch : '', tokenIds: [id], pieces: pieces(i) })));
    });

    it('a timer flush inside a character reports the ids without text', () => {
      const h = harness({ streaming: { bufferSize: 10, flushIntervalMs: 50 } });
      const hi = enc(' hi');
      [...hi, SMILE[0]].forEach((id) => h.buffer.push(id));
      jest.advanceTimersByTime(50);
      h.buffer.push(SMILE[1]);
      jest.advanceTimersByTime(50);
      expect(h.responses).toEqual([
        { text: ' hi', tokenIds: [...hi, SMILE[0]], pieces: own(hi) },
        { text: '🙂', tokenIds: [SMILE[1]], pieces: [{ id: SMILE[0], text: '' }, { id: SMILE[1], text: '🙂' }] },
      ]);
    });

    it('an unfinished character at the end becomes U+FFFD, as decode() gives it', () => {
      const h = harness({ streaming: { bufferSize: 10, flushIntervalMs: 50 } });
      h.buffer.push(CJK_ASTRAL[0]);
      h.buffer.push(CJK_ASTRAL[1]);
      h.buffer.finish('max_tokens');
      expect(tok.decode(CJK_ASTRAL.slice(0, 2))).toBe('\ufffd');
      expect(h.responses).toEqual([
        { text: '\ufffd', tokenIds: CJK_ASTRAL.slice(0, 2), pieces: [{ id: CJK_ASTRAL[0], text: '' }, { id: CJK_ASTRAL[1], text: '\ufffd' }], finishReason: 'max_tokens' },
      ]);
    });
  });

  describe('stop sequences', () => {
    it('a stop string spanning several tokens is never emitted; the stream stops at the token completing it', () => {
      const text = 'Sure, here it is.\n\nUser: what next?';
      const ids = enc(text);
      const h = harness({ streaming: { bufferSize: 1, flushIntervalMs: 50 }, stopSequences: ['\n\nUser:'] });
      let accepted = 0;
      for (const id of ids) {
        if (!h.buffer.push(id)) break;
        accepted++;
        jest.advanceTimersByTime(100);
      }
      // the stop string is 3 tokens: '\n\n' 'User' ':'
      const stopEnd = ids.findIndex((_, i) => tok.decode(ids.slice(0, i + 1)).includes('\n\nUser:'));
      const stopStart = ids.findIndex((_, i) => tok.decode(ids.slice(0, i + 1)).endsWith('.\n\n'));
      expect(stopEnd - stopStart).toBe(2);
      expect(accepted).toBe(stopEnd + 1);
      expect(h.text()).toBe('Sure, here it is.');
      expect(h.ids()).toEqual(ids.slice(0, stopEnd + 1)); // the ids of the stop string are reported
      expect(h.responses.every((r) => !r.text.includes('\n'))).toBe(true); // not even its beginning
      // the ids of the stop string get their share of the text before it: '.' of '.\n\n', then nothing
      expect(tok.decode([ids[stopStart]])).toBe('.\n\n');
      const held = ids.slice(stopStart, stopEnd + 1).map((id, i) => ({ id, text: i === 0 ? '.' : '' }));
      expect(h.responses.at(-1)).toEqual({ text: '', tokenIds: [ids[stopEnd]], pieces: held, finishReason: 'stop_sequence' });
      expect(h.responses.flatMap((r) => r.pieces)).toEqual([...own(ids.slice(0, stopStart)), ...held]);
      expect(h.responses.filter((r) => r.finishReason)).toHaveLength(1);
      expect(h.stops).toEqual([{ sequence: '\n\nUser:', tokenId: ids[stopEnd] }]);
      expect(h.buffer.finishReason).toBe('stop_sequence');
      h.buffer.finish('max_tokens'); // the engine's own finish after onStop is a no-op
      expect(h.responses.at(-1)?.finishReason).toBe('stop_sequence');
    });

    it('releases a partial match when it fails', () => {
      const text = 'Sure.\n\nUse the force.';
      const ids = enc(text);
      const h = harness({ streaming: { bufferSize: 1, flushIntervalMs: 50 }, stopSequences: ['\n\nUser:'] });
      ids.forEach((id) => h.buffer.push(id));
      expect(ids.map((id) => tok.decode([id]))).toEqual(['Sure', '.\n\n', 'Use', ' the', ' force', '.']);
      // '\n\n' and then '\n\nUse' are held back; ' the' rules the stop string out and releases them
      expect(h.responses.map((r) => r.text)).toEqual(['Sure', '.', '', '\n\nUse the', ' force', '.']);
      // '.\n\n' and 'Use' wait until their text is out, then each gets its own
      expect(h.responses.map((r) => r.pieces)).toEqual([own(ids.slice(0, 1)), [], [], own(ids.slice(1, 4)), own([ids[4]]), own([ids[5]])]);
      h.buffer.finish('eos');
      expect(h.text()).toBe(text);
      expect(h.stops).toEqual([]);
      expect(h.responses.at(-1)?.finishReason).toBe('eos');
    });

    it('held-back text of a partial match is released at finish', () => {
      const h = harness({ streaming: { bufferSize: 1, flushIntervalMs: 50 }, stopSequences: ['###END'] });
      const ids = enc('done ###');
      ids.forEach((id) => h.buffer.push(id));
      expect(h.text()).toBe('done ');
      expect(h.responses.at(-1)).toEqual({ text: ' ', tokenIds: [ids.at(-1)], pieces: [] }); // ' ###' is one token: '###' is held
      h.buffer.finish('max_tokens');
      expect(h.responses.at(-1)?.pieces).toEqual([{ id: ids.at(-1), text: ' ###' }]);
      expect(h.responses.flatMap((r) => r.pieces)).toEqual(own(ids));
      expect(h.text()).toBe('done ###');
      expect(h.ids()).toEqual(ids);
    });

    it('a stop string inside one token, text before it in the same token', () => {
      const h = harness({ streaming: { bufferSize: 4, flushIntervalMs: 50 }, stopSequences: ['ST'] });
      const ids = enc('xx STOP yy');
      expect(ids.map((i) => tok.decode([i]))).toContain(' STOP');
      for (const id of ids) if (!h.buffer.push(id)) break;
      expect(h.text()).toBe('xx ');
      expect(h.responses.at(-1)?.finishReason).toBe('stop_sequence');
      // ' STOP' keeps its ' ', the text before the stop string
      const pieces = h.responses.flatMap((r) => r.pieces);
      expect(pieces.map((p) => p.id)).toEqual(h.ids());
      expect(pieces.at(-1)).toEqual({ id: h.ids().at(-1), text: ' ' });
    });

    it('matches a stop string made of multi-byte characters split across tokens', () => {
      const h = harness({ streaming: { bufferSize: 1, flushIntervalMs: 50 }, stopSequences: ['🙂龘'] });
      const ids = [...enc('ok '), ...SMILE, ...DRAGON, ...enc(' after')];
      for (const id of ids) if (!h.buffer.push(id)) break;
      expect(h.text()).toBe('ok ');
      expect(h.ids()).toEqual([...enc('ok '), ...SMILE, ...DRAGON]);
      expect(h.responses.flatMap((r) => r.pieces)).toEqual([...own(enc('ok ')), ...[...SMILE, ...DRAGON].map((id) => ({ id, text: '' }))]);
    });
  });

  describe('skipSpecialTokens', () => {
    const ids = () => [START_HEADER, ...enc('assistant'), 128007, ...enc('Hi!'), EOT];

    it('true (the default): special tokens have no text but their ids are reported', () => {
      const h = harness({ streaming: { bufferSize: 1, flushIntervalMs: 50 } });
      ids().forEach((id) => h.buffer.push(id));
      h.buffer.finish('end_of_turn');
      expect(h.text()).toBe('assistantHi!');
      expect(h.ids()).toEqual(ids());
      expect(h.responses[0]).toEqual({ text: '', tokenIds: [START_HEADER], pieces: [{ id: START_HEADER, text: '' }] });
    });

    it('false: their text is streamed too (and can match a stop string)', () => {
      const h = harness({ streaming: { bufferSize: 1, flushIntervalMs: 50 }, skipSpecialTokens: false });
      ids().forEach((id) => h.buffer.push(id));
      h.buffer.finish('end_of_turn');
      expect(h.text()).toBe('<|start_header_id|>assistant<|end_header_id|>Hi!<|eot_id|>');
      const s = harness({ skipSpecialTokens: false, stopSequences: ['<|eot_id|>'] });
      ids().forEach((id) => s.buffer.push(id));
      expect(s.text()).toBe('<|start_header_id|>assistant<|end_header_id|>Hi!');
      expect(s.ids()).toEqual(ids());
    });
  });

  describe('errors', () => {
    it('fail delivers the pending ids in a final error response, then the error', () => {
      const h = harness({ streaming: { bufferSize: 10, flushIntervalMs: 50 } });
      const ids = [...enc('partial'), SMILE[0]];
      ids.forEach((id) => h.buffer.push(id));
      const err = new InferenceError('token_timeout', 'step took too long', ['raise tokenTimeoutMs']);
      h.buffer.fail(err);
      expect(h.responses).toEqual([{ text: 'partial\ufffd', tokenIds: ids, pieces: [...own(enc('partial')), { id: SMILE[0], text: '\ufffd' }], finishReason: 'error' }]);
      expect(h.errors).toEqual([err]);
      expect(h.errors[0]).toBe(err);
      expect(h.buffer.push(1)).toBe(false);
      jest.advanceTimersByTime(100);
      expect(h.responses).toHaveLength(1);
    });

    it('wraps other errors as generation_failed, keeping the cause', () => {
      const h = harness();
      const cause = new RangeError('kernel exploded');
      h.buffer.fail(cause);
      expect(h.errors[0]).toBeInstanceOf(InferenceError);
      expect(h.errors[0]).toMatchObject({ type: 'generation_failed', cause });
      expect(h.errors[0].message).toContain('kernel exploded');
      expect(h.errors[0].recoveryHints.length).toBeGreaterThan(0);
    });
  });

  it('logs flushes under bitnet_inference::streaming when BITNET_LOG asks for it', () => {
    const lines: string[] = [];
    configureLogging({ spec: 'bitnet_inference::streaming=debug', sink: (l) => void lines.push(l) });
    try {
      const h = harness({ streaming: { bufferSize: 2, flushIntervalMs: 50 } });
      SMILE.forEach((id) => h.buffer.push(id));
      h.buffer.finish('eos');
      expect(lines).toEqual([
        '[DEBUG] bitnet_inference::streaming: flush {"why":"size","ids":2,"chars":2,"response":1}',
        '[DEBUG] bitnet_inference::streaming: flush {"why":"end","ids":0,"chars":0,"finishReason":"eos","response":2}',
      ]);
      lines.length = 0;
      configureLogging({ spec: 'bitnet_inference=info', sink: (l) => void lines.push(l) });
      harness().buffer.push(SMILE[0]);
      expect(lines).toEqual([]);
    } finally {
      configureLogging({ spec: '', sink: () => undefined });
    }
  });

  describe('invariants over random splits of real text', () => {
    const BUFFER_SIZES = [1, 2, 3, 5, 10, 64];
    const FLUSH_MS = 50;
    const SPECIALS = [EOT, START_HEADER, 128007, 128000];

    /** A random id sequence for `text`: pieces encoded normally or as raw byte tokens, so characters split anywhere. */
    function randomIds(text: string, next: () => number): number[] {
      const cps = Array.from(text);
      const ids: number[] = [];
      let i = 0;
      while (i < cps.length) {
        const n = 1 + Math.floor(next() * 12);
        const piece = cps.slice(i, i + n).join('');
        i += n;
        if (next() < 0.3) ids.push(...byteIds(piece));
        else ids.push(...enc(piece));
        if (next() < 0.05) ids.push(SPECIALS[Math.floor(next() * SPECIALS.length)]);
      }
      return ids;
    }

    /** Stop strings taken from the decoded text (so they match, often across tokens), or that never occur. */
    function randomStops(decoded: string, next: () => number): string[] {
      const cps = Array.from(decoded);
      const stops: string[] = [];
      if (cps.length > 4 && next() < 0.8) {
        const at = Math.floor(next() * cps.length);
        const s = cps.slice(at, at + 2 + Math.floor(next() * 6)).join('');
        if (!LONE.test(s)) stops.push(s);
      }
      stops.push(next() < 0.5 ? '\u0000never\u0000' : 'zzqx');
      return stops;
    }


    it('ids, text, whole characters, flush timing — every bufferSize, skipSpecial on/off, with/without stop strings', () => {
      const next = rng(2024);
      const corpus = tokenizerCorpus().filter((s) => s.length > 0 && s.length < 2000);
      const stats = { runs: 0, stopMatched: 0, stopSpanningTokens: 0, heldIdsWithoutText: 0, timerFlushes: 0, sizeFlushes: 0 };
      const failures: unknown[] = [];
      for (const bufferSize of BUFFER_SIZES) {
        for (let n = 0; n < 48; n++) {
          const text = Array.from({ length: 1 + Math.floor(next() * 3) }, () => corpus[Math.floor(next() * corpus.length)]).join(' ');
          const ids = randomIds(text, next);
          const skipSpecial = next() < 0.5;
          const decoded = tok.decode(ids, { skipSpecial });
          const stops = next() < 0.5 ? randomStops(decoded, next) : [];
          const expected = firstStop(decoded, stops);

          const responses: StreamResponse[] = [];
          const deliveredAt: number[] = [];
          const pushedAt: number[] = [];
          const stopInfos: StopInfo[] = [];
          const buffer = new StreamBuffer({
            tokenizer: tok,
            streaming: { bufferSize, flushIntervalMs: FLUSH_MS },
            stopSequences: stops,
            skipSpecialTokens: skipSpecial,
            onResponse: (r) => (responses.push(r), deliveredAt.push(Date.now())),
            onStop: (s) => stopInfos.push(s),
          });
          const accepted: number[] = [];
          for (const id of ids) {
            const r = next();
            jest.advanceTimersByTime(r < 0.5 ? 0 : r < 0.8 ? Math.floor(next() * 20) : Math.floor(next() * 3 * FLUSH_MS));
            pushedAt.push(Date.now());
            if (!buffer.push(id)) break;
            accepted.push(id);
          }
          const reasons: FinishReason[] = ['eos', 'max_tokens', 'end_of_turn'];
          buffer.finish(reasons[n % reasons.length]);
          stats.runs++;

          const got = {
            ids: responses.flatMap((r) => r.tokenIds),
            text: responses.map((r) => r.text).join(''),
            pieceIds: responses.flatMap((r) => r.pieces.map((p) => p.id)),
            pieceText: responses.flatMap((r) => r.pieces.map((p) => p.text)).join(''),
            finishReasons: responses.map((r) => r.finishReason).filter((x) => x !== undefined),
          };
          const want = {
            ids: expected.stop === undefined ? ids : accepted,
            text: expected.text,
            pieceIds: expected.stop === undefined ? ids : accepted,
            pieceText: expected.text,
            finishReasons: [expected.stop === undefined ? reasons[n % reasons.length] : 'stop_sequence'],
          };
          const problems: string[] = [];
          if (JSON.stringify(got) !== JSON.stringify(want)) problems.push('ids/text/finishReason');
          if (responses.at(-1)?.finishReason === undefined) problems.push('last response has no finishReason');
          if (expected.stop !== undefined) {
            stats.stopMatched++;
            // the stop is completed by the last accepted id, and not before
            if (accepted.length === 0 || firstStop(tok.decode(accepted.slice(0, -1), { skipSpecial }), stops).stop !== undefined) problems.push('stopped late');
            if (stopInfos.length !== 1 || stopInfos[0].sequence !== expected.stop || stopInfos[0].tokenId !== accepted.at(-1)) problems.push('onStop');
            // part of the stop string was already there before its last token
            const before = tok.decode(accepted.slice(0, -1), { skipSpecial }).replace(/\ufffd+$/, '');
            if (before.length > expected.text.length) stats.stopSpanningTokens++;
          } else if (stopInfos.length > 0) problems.push('onStop without a match');
          responses.forEach((r, i) => {
            if (LONE.test(r.text)) problems.push(`response ${i} has half a surrogate pair`);
            if (r.tokenIds.length > bufferSize) problems.push(`response ${i} has more than bufferSize ids`);
            if (r.text === '' && r.tokenIds.length > 0 && r.finishReason === undefined) stats.heldIdsWithoutText++;
            if (r.finishReason !== undefined) return;
            // flush timing: at bufferSize ids (when the last one was pushed), else exactly flushIntervalMs after the first one
            const first = responses.slice(0, i).reduce((k, x) => k + x.tokenIds.length, 0);
            const firstAt = pushedAt[first];
            const lastAt = pushedAt[first + r.tokenIds.length - 1];
            if (r.tokenIds.length === bufferSize && deliveredAt[i] === lastAt) stats.sizeFlushes++;
            else if (r.tokenIds.length < bufferSize && r.tokenIds.length > 0 && deliveredAt[i] === firstAt + FLUSH_MS) stats.timerFlushes++;
            else problems.push(`response ${i} flushed at ${deliveredAt[i]} with ${r.tokenIds.length} ids, first pushed at ${firstAt}`);
          });
          if (problems.length > 0 && failures.length < 3) failures.push({ bufferSize, skipSpecial, stops, text, ids, problems, got, want });
        }
      }
      expect(failures).toEqual([]);
      // the random cases do exercise what they are meant to
      expect(stats.runs).toBe(BUFFER_SIZES.length * 48);
      expect(stats.stopMatched).toBeGreaterThan(60);
      expect(stats.stopSpanningTokens).toBeGreaterThan(10);
      expect(stats.heldIdsWithoutText).toBeGreaterThan(100);
      expect(stats.timerFlushes).toBeGreaterThan(100);
      expect(stats.sizeFlushes).toBeGreaterThan(100);
    });
  });
});
