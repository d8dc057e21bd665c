/**
 * Which sequences the scheduler lets take argmax-only logits (a screened output matrix): only those
 * whose sampler is a plain argmax and whose logits nothing else reads (no grammar mask, no
 * logprobs). Fakes only: a forward pass that records the flag of every row it computes.
 */
import type { SequenceMessage, WorkerStartRequest } from './protocol';
import { type ForwardModel, Scheduler } from './Scheduler';
import type { TokenConstraint } from './SchedulerContracts';

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
  const messages: SequenceMessage[] = [];
  let opening = 0;
  const logits = (c: FakeCache) => Float32Array.from({ length: VOCAB }, (_, i) => (i === (c.ids.length * 5) % (VOCAB - 1) ? 1 : 0));
  const record = (c: FakeCache, flag: boolean) => flags.set(c.seq, [...(flags.get(c.seq) ?? []), flag]);
  const forward: ForwardModel<FakeCache> = {
    maxChunkTokens: 8,
    newCache: () => ({ seq: opening, ids: [] }),
    prefill: (cache, ids, last) => (cache.ids.push(...ids), last ? logits(cache) : undefined),
    decodeBatch: (cs, lastIds, argmaxOnly) =>
      cs.map((c, i) => {
        record(c, argmaxOnly?.[i] === true);
        c.ids.push(lastIds[i]);
        return logits(c);
      }),
  };
  if (mixed) {
    forward.stepMany = (parts) =>
      parts.map((p) => {
        const decoding = p.ids.length === 1 && p.cache.ids.length > 0;
        if (decoding && p.wantLogits) record(p.cache, p.wantLogits === 'argmax');
        if (!decoding && p.wantLogits) prefillFlags.set(p.cache.seq, p.wantLogits === 'argmax');
        p.cache.ids.push(...p.ids);
        return p.wantLogits ? logits(p.cache) : undefined;
      });
  }
  const allowAll: TokenConstraint = { mask: () => undefined, accept: () => false };
  const scheduler = new Scheduler<FakeCache>({
    forward,
    sampler: (params) => ({
      observe: () => undefined,
      replay: () => undefined,
      sample: (l) => l.indexOf(Math.max(...l)),
      argmaxOnly: params.temperature === 0,
    }),
    constraint: (req) => (req.grammar === undefined ? undefined : allowAll),
    logprobs: () => ({ logprob: 0, topIds: [], topLogprobs: [] }),
    send: (m) => messages.push(m),
    defer: null,
  });
  const start = (seq: number, extra: Partial<WorkerStartRequest> = {}) => {
    opening = seq;
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
  return { flags, prefillFlags, messages, start, runAll };
}

describe('Scheduler: argmax-only rows', () => {
  it.each([false, true])('flags greedy rows only when nothing but the argmax reads them (stepMany: %s)', (mixed) => {
    const s = setup(mixed);
    s.start(1); // greedy, nothing else: argmax only
    s.start(2, { logprobs: 2 }); // logprobs read the whole row
    s.start(3, { grammar: 'root ::= "a"' }); // a grammar masks it first
    s.start(4, { sampling: { temperature: 0.7, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, seed: 1 } }); // a draw reads every logit
    s.runAll();
    expect(s.messages.filter((m) => m.type === 'error')).toEqual([]);
    expect(s.flags.get(1)?.length).toBeGreaterThan(0);
    expect(new Set(s.flags.get(1))).toEqual(new Set([true]));
    for (const seq of [2, 3, 4]) {
      expect(s.flags.get(seq)?.length).toBeGreaterThan(0);
      expect(new Set(s.flags.get(seq))).toEqual(new Set([false]));
    }
    // a prompt read in a stepMany pass: its last row is argmax-only exactly when its decode rows are
    if (mixed) {
      expect(s.prefillFlags.get(1)).toBe(true);
      expect(s.prefillFlags.size).toBeGreaterThan(1);
      for (const [seq, flag] of s.prefillFlags) if (seq !== 1) expect(flag).toBe(false);
    }
  });
});
