/**
 * The scheduler with token constraints (fakes only: a forward pass whose logits are a fixed ramp, an
 * argmax sampler and a constraint that allows a set of ids per step). What is asserted: the mask is
 * applied to the logits before sampling (so logprobs see it), the chosen ids are followed, a complete
 * constraint ends the sequence with 'grammar_complete', resumed ids are replayed through it, and a
 * failing constraint ends its own sequence with a grammar error — not a retry, and never another
 * sequence of the same batch.
 */
import type { SequenceMessage, WorkerStartRequest } from './protocol';
import { type ForwardModel, Scheduler, type TokenConstraint } from './Scheduler';

const VOCAB = 16;

/** Logits rising with the id: an unconstrained argmax always picks VOCAB - 1. */
const ramp = (): Float32Array => Float32Array.from({ length: VOCAB }, (_, i) => i);

/** Allows only `script[k]` at step k (or everything past the script); complete after the script when `ends`. */
class ScriptedConstraint implements TokenConstraint {
  readonly accepted: number[] = [];
  readonly seen: Float32Array[] = [];
  constructor(
    private readonly script: number[],
    private readonly opts: { ends?: boolean; failAt?: number } = {},
  ) {}
  mask(logits: Float32Array): void {
    const k = this.accepted.length;
    if (k === this.opts.failAt) throw new Error('grammar: no token can continue the text');
    if (k < this.script.length) for (let i = 0; i < logits.length; i++) if (i !== this.script[k]) logits[i] = -Infinity;
    this.seen.push(logits.slice());
  }
  accept(id: number): boolean {
    if (this.accepted.length < this.script.length && id !== this.script[this.accepted.length]) throw new Error(`grammar: token ${id} does not fit`);
    this.accepted.push(id);
    return this.opts.ends === true && this.accepted.length === this.script.length;
  }
}

function setup(constraints: Map<number, ScriptedConstraint>, opts: { createThrows?: boolean } = {}) {
  const messages: SequenceMessage[] = [];
  const forward: ForwardModel<number[]> = {
    maxChunkTokens: 4,
    newCache: () => [],
    prefill: (c, ids, last) => (c.push(...ids), last ? ramp() : undefined),
    decodeBatch: (cs, lastIds) => cs.map((c, i) => (c.push(lastIds[i]), ramp())),
  };
  const scheduler = new Scheduler<number[]>({
    forward,
    sampler: () => ({ observe: () => undefined, replay: () => undefined, sample: (l) => l.indexOf(Math.max(...l)) }),
    constraint: (req) => {
      if (opts.createThrows && req.grammar !== undefined) throw new Error('grammar: bad grammar');
      return req.grammar === undefined ? undefined : constraints.get(req.seq);
    },
    send: (m) => messages.push(m),
    defer: null,
  });
  const start = (seq: number, extra: Partial<WorkerStartRequest> = {}) =>
    scheduler.start({ type: 'start', seq, promptIds: [1, 2, 3], maxNewTokens: 6, sampling: { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, seed: 1 }, stopIds: [[0, 'eos']], maxRetries: 3, ...extra });
  const runAll = () => {
    for (let n = 0; scheduler.runRound(); n++) if (n > 100) throw new Error('scheduler did not finish');
  };
  const tokens = (seq: number) => messages.filter((m): m is Extract<SequenceMessage, { type: 'token' }> => m.type === 'token' && m.seq === seq);
  const end = (seq: number) => messages.find((m) => (m.type === 'done' || m.type === 'error') && m.seq === seq);
  return { start, runAll, tokens, end };
}

describe('Scheduler with a token constraint', () => {
  it('masks before sampling, follows the chosen ids and ends with grammar_complete', () => {
    const c = new ScriptedConstraint([3, 5, 2], { ends: true });
    const s = setup(new Map([[1, c]]));
    s.start(1, { grammar: 'x', logprobs: 2 });
    s.start(2); // unconstrained in the same batches
    s.runAll();
    expect(s.tokens(1).map((t) => t.id)).toEqual([3, 5, 2]);
    expect(c.accepted).toEqual([3, 5, 2]);
    expect(s.end(1)).toMatchObject({ type: 'done', reason: 'grammar_complete' });
    expect((s.end(1) as { maskMs?: number }).maskMs).toBeGreaterThanOrEqual(0);
    // logprobs are those of the masked logits: the only allowed id has probability 1
    for (const t of s.tokens(1)) {
      expect(t.logprob).toBe(0);
      expect(t.topIds).toEqual([t.id]);
    }
    expect(s.tokens(2).map((t) => t.id)).toEqual(Array(6).fill(VOCAB - 1));
    expect(s.end(2)).toMatchObject({ type: 'done', reason: 'max_tokens' });
    expect((s.end(2) as { maskMs?: number }).maskMs).toBeUndefined();
  });

  it('stops on an end-of-generation id the constraint allows', () => {
    const s = setup(new Map([[1, new ScriptedConstraint([4, 0])]]));
    s.start(1, { grammar: 'x' });
    s.runAll();
    expect(s.tokens(1).map((t) => t.id)).toEqual([4, 0]);
    expect(s.end(1)).toMatchObject({ type: 'done', reason: 'eos' });
  });

  it('replays resumed ids through the constraint before the first step', () => {
    const c = new ScriptedConstraint([7, 8, 9], { ends: true });
    const s = setup(new Map([[1, c]]));
    s.start(1, { grammar: 'x', promptIds: [1, 2, 3, 7, 8], resumed: 2 });
    s.runAll();
    expect(c.accepted).toEqual([7, 8, 9]);
    expect(s.tokens(1).map((t) => t.id)).toEqual([9]);
    expect(s.end(1)).toMatchObject({ reason: 'grammar_complete' });
  });

  it('ends only the failing sequence with a grammar error, without retries', () => {
    const s = setup(new Map([[1, new ScriptedConstraint([3, 3, 3], { failAt: 2 })]]));
    s.start(1, { grammar: 'x' });
    s.start(2);
    s.runAll();
    expect(s.tokens(1).map((t) => t.id)).toEqual([3, 3]);
    expect(s.end(1)).toMatchObject({ type: 'error', kind: 'grammar', retries: 0 });
    expect(s.end(2)).toMatchObject({ type: 'done', reason: 'max_tokens' });
    expect(s.tokens(2)).toHaveLength(6);
  });

  it('refuses a sequence whose constraint cannot be built, or whose resumed ids do not fit', () => {
    const s = setup(new Map(), { createThrows: true });
    s.start(1, { grammar: 'x' });
    expect(s.end(1)).toMatchObject({ type: 'error', kind: 'grammar', message: 'grammar: bad grammar' });
    const r = setup(new Map([[1, new ScriptedConstraint([7, 8])]]));
    r.start(1, { grammar: 'x', promptIds: [1, 2, 9], resumed: 1 });
    expect(r.end(1)).toMatchObject({ type: 'error', kind: 'grammar' });
    r.runAll();
    expect(r.tokens(1)).toHaveLength(0);
  });
});
