import { rng } from '@bitnet/models/testing';
import { ConfigError } from '../errors/InferenceError';
import { StopSequenceMatcher } from './StopSequenceMatcher';
import { firstStop } from '../testing/firstStop';

const LONE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;


/** Feed `pieces` one by one; returns every emitted piece, the matched stop and the flushed rest. */
function run(stops: readonly string[], pieces: readonly string[]): { emitted: string[]; stop?: string; rest: string } {
  const m = new StopSequenceMatcher(stops);
  const emitted: string[] = [];
  let stop: string | undefined;
  for (const p of pieces) {
    const r = m.push(p);
    emitted.push(r.text);
    if (r.stop !== undefined) {
      expect(stop).toBeUndefined();
      stop = r.stop;
    }
  }
  return { emitted, stop, rest: m.flush() };
}

function randomSplit(s: string, next: () => number, maxPiece: number): string[] {
  const pieces: string[] = [];
  let i = 0;
  while (i < s.length) {
    const n = Math.min(s.length - i, Math.floor(next() * (maxPiece + 1)));
    pieces.push(s.slice(i, i + n)); // empty pieces and pieces that split surrogate pairs included
    i += n;
  }
  return pieces;
}

describe('StopSequenceMatcher', () => {
  it('passes text through when there are no stop strings', () => {
    expect(run([], ['Hello', ', ', 'world'])).toEqual({ emitted: ['Hello', ', ', 'world'], stop: undefined, rest: '' });
  });

  it('finds a stop string inside one push and drops it and everything after', () => {
    expect(run(['STOP'], ['abcSTOPdef', 'more'])).toEqual({ emitted: ['abc', ''], stop: 'STOP', rest: '' });
  });

  it('holds back a possible start of a stop string and never emits a stop string spanning pushes', () => {
    const m = new StopSequenceMatcher(['\n\nUser:']);
    expect(m.push('Sure.\n')).toEqual({ text: 'Sure.' });
    expect(m.pending).toBe('\n');
    expect(m.push('\nUs')).toEqual({ text: '' });
    expect(m.pending).toBe('\n\nUs');
    expect(m.push('er')).toEqual({ text: '' });
    expect(m.push(': and more')).toEqual({ text: '', stop: '\n\nUser:' });
    expect(m.matched).toBe('\n\nUser:');
    expect(m.push('anything')).toEqual({ text: '' });
    expect(m.flush()).toBe('');
  });

  it('releases a partial match as soon as it fails', () => {
    const m = new StopSequenceMatcher(['\n\nUser:']);
    expect(m.push('a\n\nUse')).toEqual({ text: 'a' });
    expect(m.push(' the force')).toEqual({ text: '\n\nUse the force' });
    expect(m.pending).toBe('');
    // a failed partial match that itself contains a new possible start
    expect(m.push('\n\n')).toEqual({ text: '' });
    expect(m.push('\n\nU')).toEqual({ text: '\n\n' });
    expect(m.pending).toBe('\n\nU');
    expect(m.flush()).toBe('\n\nU');
    expect(m.matched).toBeUndefined();
  });

  it('handles self-overlapping stop strings', () => {
    expect(run(['abab'], ['a', 'b', 'a', 'a', 'b', 'a', 'b', 'x'])).toEqual({ emitted: ['', '', '', 'aba', '', '', '', ''], stop: 'abab', rest: '' });
    const r = run(['abab'], ['abaabab']);
    expect(r).toEqual({ emitted: ['aba'], stop: 'abab', rest: '' });
  });

  it('chooses the stop string that completes first, whatever the split', () => {
    // "bc" completes before "abcd" does
    expect(run(['abcd', 'bc'], ['abcd']).emitted.join('')).toBe('a');
    expect(run(['abcd', 'bc'], ['a', 'b', 'c', 'd']).emitted.join('')).toBe('a');
    // same end: the earlier start (longer) wins
    expect(run(['xyz', 'yz'], ['x', 'yz'])).toMatchObject({ stop: 'xyz' });
    expect(run(['yz', 'xyz'], ['xyz'])).toMatchObject({ stop: 'xyz' });
  });

  it('never splits a surrogate pair', () => {
    const m = new StopSequenceMatcher(['🙂!']);
    // the pushed text ends in half a pair: hold it
    expect(m.push('a\ud83d')).toEqual({ text: 'a' });
    expect(m.push('\ude42')).toEqual({ text: '' }); // "🙂" may start "🙂!"
    expect(m.push('?')).toEqual({ text: '🙂?' });
    expect(m.push('x🙂')).toEqual({ text: 'x' });
    expect(m.push('!')).toEqual({ text: '', stop: '🙂!' });
    // a stop string starting with an astral character whose high surrogate equals the text's
    const m2 = new StopSequenceMatcher(['😀']); // \ud83d\ude00
    expect(m2.push('🙂')).toEqual({ text: '🙂' });
    expect(m2.push('\ud83d')).toEqual({ text: '' });
    expect(m2.push('\ude42 ok')).toEqual({ text: '🙂 ok' });
    // no stop strings: a trailing high surrogate is still held
    const m3 = new StopSequenceMatcher([]);
    expect(m3.push('ab\ud83d')).toEqual({ text: 'ab' });
    expect(m3.push('\ude42')).toEqual({ text: '🙂' });
    expect(m3.push('\ud83d')).toEqual({ text: '' });
    expect(m3.flush()).toBe('\ud83d'); // the input's own lone surrogate comes out at the end
  });

  it('rejects empty stop strings and lone surrogates', () => {
    expect(() => new StopSequenceMatcher([''])).toThrow(ConfigError);
    expect(() => new StopSequenceMatcher(['a\ud83d'])).toThrow(/lone surrogate/);
    expect(() => new StopSequenceMatcher(['\ude00b'])).toThrow(ConfigError);
    expect(new StopSequenceMatcher(['x', 'x', 'yy']).stopSequences).toEqual(['x', 'yy']);
  });

  it('gives the one-shot result for random texts, stops and splits (emitted pieces whole code points)', () => {
    const next = rng(7);
    const alphabet = ['a', 'b', 'c', ' ', '\n', '🙂', '😀', 'é', '中'];
    const pick = () => alphabet[Math.floor(next() * alphabet.length)];
    const word = (max: number) => Array.from({ length: 1 + Math.floor(next() * max) }, pick).join('');
    let matched = 0;
    let held = 0;
    for (let n = 0; n < 1500; n++) {
      const text = word(40);
      const stops = Array.from({ length: Math.floor(next() * 4) }, () => (next() < 0.5 ? word(4) : text.slice(Math.floor(next() * text.length)).slice(0, 1 + Math.floor(next() * 5))))
        .filter((s) => s.length > 0 && !LONE.test(s));
      const expected = firstStop(text, stops);
      if (expected.stop !== undefined) matched++;
      for (let k = 0; k < 4; k++) {
        const r = run(stops, randomSplit(text, next, 6));
        if (r.emitted.some((p, i, a) => p === '' && i < a.length - 1)) held++;
        const out = r.emitted.join('') + (r.stop === undefined ? r.rest : '');
        const ok = out === expected.text && r.stop === expected.stop && (r.stop === undefined || r.rest === '') && !r.emitted.some((p) => LONE.test(p));
        if (!ok) expect({ text, stops, emitted: r.emitted, stop: r.stop, rest: r.rest }).toEqual({ text, stops, expected });
      }
    }
    expect(matched).toBeGreaterThan(300);
    expect(held).toBeGreaterThan(100);
  });
});
