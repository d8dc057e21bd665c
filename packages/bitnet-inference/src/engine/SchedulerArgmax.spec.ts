/**
 * Which sequences the scheduler lets take argmax-only logits (a screened output matrix): only those
 * whose sampler is a plain argmax and whose logits nothing else reads (no logprobs); a grammar's rows
 * carry its mask along. Fakes only: a forward pass that records the flag of every row it computes.
 */
import { settleMaskedArgmax } from '../forward/MaskedArgmax';
import { argmax } from '../sampling/Sampler';
import type { SequenceMessage, WorkerStartRequest } from './protocol';
import { type ForwardModel, Scheduler } from './Scheduler';
import type { TokenConstraint } from './SchedulerContracts';
import type { LogitMask } from '../forward/MaskedArgmax';

const VOCAB = 16;

interface FakeCache {
  seq: number;
  ids: number[];
}

function setup(mixed: boolean) {
  /** Per sequence: the flag of each of its decode rows. */
  const flags = new Map<number, boolean[]>();
  /** Per sequence: the flag of the prompt's last row, when a stepMany pass computed it. */
  const prefillFlags = new Map<number, boolean>();
  /** Per sequence: whether each argmax-only row came with a mask, and what calling it did. */
  const masks = new Map<number, boolean[]>();
  const maskCalls: number[] = [];
  const messages: SequenceMessage[] = [];
  let opening = 0;
  const logits = (c: FakeCache) => Float32Array.from({ length: VOCAB }, (_, i) => (i === (c.ids.length * 5) % (VOCAB - 1) ? 1 : 0));
  const record = (c: FakeCache, flag: boolean) => flags.set(c.seq, [...(flags.get(c.seq) ?? []), flag]);
  const recordMask = (c: FakeCache, mask: ((l: Float32Array) => void) | undefined) => {
    masks.set(c.seq, [...(masks.get(c.seq) ?? []), mask !== undefined]);
    mask?.(logits(c)); // the constraint below counts its calls
  };
  const forward: ForwardModel<FakeCache> = {
    maxChunkTokens: 8,
    newCache: () => ({ seq: opening, ids: [] }),
    prefill: (cache, ids, last) => (cache.ids.push(...ids), last ? logits(cache) : undefined),
    decodeBatch: (cs, lastIds, argmaxOnly, argmaxMasks) =>
      cs.map((c, i) => {
        record(c, argmaxOnly?.[i] === true);
        if (argmaxOnly?.[i]) recordMask(c, argmaxMasks?.[i]);
        c.ids.push(lastIds[i]);
        return logits(c);
      }),
  };
  if (mixed) {
    forward.stepMany = (parts) =>
      parts.map((p) => {
        const decoding = p.ids.length === 1 && p.cache.ids.length > 0;
        if (decoding && p.wantLogits) record(p.cache, p.wantLogits === 'argmax');
        if (p.wantLogits === 'argmax') recordMask(p.cache, p.argmaxMask);
        if (!decoding && p.wantLogits) prefillFlags.set(p.cache.seq, p.wantLogits === 'argmax');
        p.cache.ids.push(...p.ids);
        return p.wantLogits ? logits(p.cache) : undefined;
      });
  }
  let masking = 0;
  const allowAll = (seq: number): TokenConstraint => ({ mask: () => void maskCalls.push(seq), accept: () => false });
  const scheduler = new Scheduler<FakeCache>({
    forward,
    sampler: (params) => ({
      observe: () => undefined,
      replay: () => undefined,
      sample: (l) => l.indexOf(Math.max(...l)),
      argmaxOnly: params.temperature === 0,
    }),
    constraint: (req) => (req.grammar === undefined ? undefined : allowAll(masking)),
    logprobs: () => ({ logprob: 0, topIds: [], topLogprobs: [] }),
    send: (m) => messages.push(m),
    defer: null,
  });
  const start = (seq: number, extra: Partial<WorkerStartRequest> = {}) => {
    opening = seq;
    masking = seq;
    scheduler.start({
      type: 'start',
      seq,
      promptIds: [1, 2, 3],
      maxNewTokens: 4,
      sampling: { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, seed: 1 },
      stopIds: [[VOCAB - 1, 'eos']],
      maxRetries: 0,
      ...extra,
    });
  };
  const runAll = () => {
    for (let n = 0; scheduler.runRound(); n++) if (n > 200) throw new Error('scheduler did not finish');
  };
  return { flags, prefillFlags, masks, maskCalls, messages, start, runAll };
}

describe('Scheduler: argmax-only rows', () => {
  it.each([false, true])('flags greedy rows only when nothing but the argmax reads them (stepMany: %s)', (mixed) => {
    const s = setup(mixed);
    s.start(1); // greedy, nothing else: argmax only
    s.start(2, { logprobs: 2 }); // logprobs read the whole row
    s.start(3, { grammar: 'root ::= "a"' }); // greedy after a grammar's mask: argmax only, with the mask
    s.start(4, { sampling: { temperature: 0.7, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, seed: 1 } }); // a draw reads every logit
    s.runAll();
    expect(s.messages.filter((m) => m.type === 'error')).toEqual([]);
    for (const seq of [1, 3]) {
      expect(s.flags.get(seq)?.length).toBeGreaterThan(0);
      expect(new Set(s.flags.get(seq))).toEqual(new Set([true]));
    }
    // the grammar's rows, and only they, carry its mask, and the mask given is the sequence's own
    expect(new Set(s.masks.get(3))).toEqual(new Set([true]));
    expect(new Set(s.masks.get(1))).toEqual(new Set([false]));
    expect(new Set(s.maskCalls)).toEqual(new Set([3]));
    for (const seq of [2, 4]) {
      expect(s.flags.get(seq)?.length).toBeGreaterThan(0);
      expect(new Set(s.flags.get(seq))).toEqual(new Set([false]));
    }
    // a prompt read in a stepMany pass: its last row is argmax-only exactly when its decode rows are
    if (mixed) {
      expect(s.prefillFlags.get(1)).toBe(true);
      expect(s.prefillFlags.size).toBeGreaterThan(1);
      for (const [seq, flag] of s.prefillFlags) if (seq !== 1 && seq !== 3) expect(flag).toBe(false);
    }
  });
});

describe('Scheduler: a grammar mask handed to the forward pass', () => {
  /**
   * One greedy sequence under a constraint that bans token `banned` (the fake's largest logit every
   * step): `forwardMasks` decides whether the fake forward pass applies the mask it is given to the row
   * it returns (as ForwardPass does) or ignores it (as an older forward model might).
   */
  function run(forwardMasks: boolean, throwAt?: number, lazy = false) {
    const banned = 7;
    let calls = 0;
    let checks = 0;
    const messages: SequenceMessage[] = [];
    const row = () => Float32Array.from({ length: VOCAB }, (_, i) => (i === banned ? 2 : i === 3 ? 1 : 0));
    // as ForwardPass settles a row: a lazy mask through settleMaskedArgmax
    const apply = (l: Float32Array, mask: LogitMask | undefined) => (forwardMasks && mask ? settleMaskedArgmax(l, mask, argmax) : undefined, l);
    const forward: ForwardModel<FakeCache> = {
      maxChunkTokens: 8,
      newCache: () => ({ seq: 1, ids: [] }),
      prefill: (cache, ids, last) => (cache.ids.push(...ids), last ? row() : undefined),
      decodeBatch: (cs, lastIds, _argmaxOnly, masks) => cs.map((c, i) => (c.ids.push(lastIds[i]), apply(row(), masks?.[i]))),
    };
    const constraint: TokenConstraint = {
      mask: (l) => {
        calls++;
        if (calls === throwAt) throw new Error('grammar state lost');
        l[banned] = -Infinity;
      },
      accept: () => false,
    };
    if (lazy) constraint.allows = (id) => (checks++, id !== banned);
    const scheduler = new Scheduler<FakeCache>({
      forward,
      sampler: () => ({ observe: () => undefined, replay: () => undefined, sample: (l) => l.indexOf(Math.max(...l)), argmaxOnly: true }),
      constraint: () => constraint,
      logprobs: () => ({ logprob: 0, topIds: [], topLogprobs: [] }),
      send: (m) => messages.push(m),
      defer: null,
    });
    scheduler.start({
      type: 'start',
      seq: 1,
      promptIds: [1, 2, 3],
      maxNewTokens: 4,
      sampling: { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, seed: 1 },
      stopIds: [],
      maxRetries: 0,
      grammar: 'root ::= [a-z]+',
    });
    for (let n = 0; scheduler.runRound(); n++) if (n > 50) throw new Error('scheduler did not finish');
    const ids = messages.flatMap((m) => (m.type === 'token' ? [m.id] : []));
    return { ids, calls, checks, messages };
  }

  it.each([true, false])('masks each row exactly once, whoever applies it (forward applies it: %s)', (forwardMasks) => {
    const r = run(forwardMasks);
    expect(r.ids).toEqual([3, 3, 3, 3]); // the banned largest logit is never taken
    expect(r.calls).toBe(4); // the first token's row comes from prefill, which takes no mask: emit masks it
  });

  it.each([true, false])('with allows, settles each row without the mask (forward settles it: %s)', (forwardMasks) => {
    const r = run(forwardMasks, undefined, true);
    expect(r.ids).toEqual([3, 3, 3, 3]);
    expect(r.calls).toBe(0);
    // the banned largest logit, then the allowed one, per row; again in emit for the rows the forward settled
    expect(r.checks).toBe(forwardMasks ? 4 * 2 + 3 : 4 * 2);
  });

  it('a mask that throws inside the forward pass ends the sequence with its error, without masking again', () => {
    const r = run(true, 2); // the first decode row's mask throws
    expect(r.ids).toEqual([3]);
    expect(r.calls).toBe(2);
    expect(r.messages.at(-1)).toMatchObject({ type: 'error', seq: 1, kind: 'grammar', message: 'grammar state lost' });
  });
});
