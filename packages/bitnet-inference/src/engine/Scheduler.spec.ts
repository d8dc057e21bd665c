/**
 * The scheduler alone: a fake forward pass (no Worker, no model) records every call, and rounds are
 * run by hand (defer: null), so the order of work is asserted exactly.
 */
import type { SequenceMessage, WorkerStartRequest } from './protocol';
import { type FaultInjector, type ForwardModel, PlannedFaults, type PrefixStore, Scheduler } from './Scheduler';

const VOCAB = 50;

interface FakeCache {
  name: string;
  ids: number[];
  capacity: number;
}

type Call = { kind: 'prefill'; name: string; ids: number[] } | { kind: 'decode'; names: string[] } | { kind: 'mixed'; names: string[]; ids: number[] };

/** Next id = a function of the cache's content, returned as one-hot logits (argmax sampling reproduces it). */
function nextId(ids: readonly number[]): number {
  return (ids.reduce((s, x) => s * 31 + x, 7) >>> 0) % (VOCAB - 1); // VOCAB - 1 is never produced: the stop id below
}

function oneHot(id: number): Float32Array {
  const l = new Float32Array(VOCAB);
  l[id] = 1;
  return l;
}

function setup(opts: { maxChunkTokens?: number; faults?: FaultInjector; failDecodes?: number; mixed?: boolean; prefixes?: PrefixStore<FakeCache>; released?: string[] } = {}) {
  const calls: Call[] = [];
  const messages: SequenceMessage[] = [];
  const caches: FakeCache[] = [];
  let failDecodes = opts.failDecodes ?? 0;
  let pendingNames: string[] = [];
  const forward: ForwardModel<FakeCache> = {
    maxChunkTokens: opts.maxChunkTokens ?? 4,
    newCache: (capacity) => {
      const c = { name: pendingNames.shift() ?? `#${caches.length}`, ids: [], capacity };
      caches.push(c);
      return c;
    },
    prefill: (cache, ids, last) => {
      calls.push({ kind: 'prefill', name: cache.name, ids: [...ids] });
      cache.ids.push(...ids);
      return last ? oneHot(nextId(cache.ids)) : undefined;
    },
    decodeBatch: (cs, lastIds) => {
      if (failDecodes > 0) {
        failDecodes--;
        throw new Error('decode step failed');
      }
      calls.push({ kind: 'decode', names: cs.map((c) => c.name) });
      return cs.map((c, i) => {
        c.ids.push(lastIds[i]);
        return oneHot(nextId(c.ids));
      });
    },
  };
  if (opts.released) forward.releaseCache = (cache) => opts.released!.push(cache.name);
  if (opts.mixed) {
    // decode parts (one id each) and the prefill part, in the order given
    forward.stepMany = (parts) => {
      if (parts.reduce((n, p) => n + p.ids.length, 0) > forward.maxChunkTokens) throw new Error('more rows than one pass holds');
      calls.push({ kind: 'mixed', names: parts.map((p) => p.cache.name), ids: parts[parts.length - 1].ids.slice() });
      return parts.map((p) => {
        p.cache.ids.push(...p.ids);
        return p.wantLogits ? oneHot(nextId(p.cache.ids)) : undefined;
      });
    };
  }
  let t = 0;
  const scheduler = new Scheduler<FakeCache>({
    forward,
    sampler: () => ({ observe: () => undefined, replay: () => undefined, sample: (l) => l.indexOf(1) }),
    send: (m) => messages.push(m),
    faults: opts.faults,
    prefixes: opts.prefixes,
    defer: null,
    now: () => t++,
  });
  let nextSeq = 1;
  const start = (name: string, promptLength: number, maxNewTokens: number, extra: Partial<WorkerStartRequest> = {}): number => {
    const seq = nextSeq++;
    pendingNames.push(name);
    scheduler.start({
      type: 'start',
      seq,
      promptIds: Array.from({ length: promptLength }, (_, i) => (i * 7 + seq) % VOCAB),
      maxNewTokens,
      sampling: { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, seed: 1 },
      stopIds: [[VOCAB - 1, 'eos']],
      maxRetries: 3,
      ...extra,
    });
    return seq;
  };
  const runAll = (limit = 1000) => {
    let n = 0;
    while (scheduler.runRound()) if (++n > limit) throw new Error('scheduler did not finish');
  };
  const tokens = (seq: number) => messages.filter((m): m is Extract<SequenceMessage, { type: 'token' }> => m.type === 'token' && m.seq === seq).map((m) => m.id);
  const end = (seq: number) => messages.find((m) => (m.type === 'done' || m.type === 'error') && m.seq === seq);
  return { scheduler, calls, messages, caches, start, runAll, tokens, end };
}

/** Ids one sequence gets when it runs alone. */
function solo(promptLength: number, maxNewTokens: number, seqNo = 1): number[] {
  const s = setup();
  for (let i = 1; i < seqNo; i++) s.start(`pad${i}`, 1, 1); // same seq number, same prompt
  s.runAll();
  const seq = s.start('solo', promptLength, maxNewTokens);
  s.runAll();
  return s.tokens(seq);
}

describe('Scheduler', () => {
  it('runs one sequence as prefill chunks, then one decode step per token, then done', () => {
    const s = setup({ maxChunkTokens: 4 });
    const seq = s.start('a', 10, 3);
    s.runAll();
    expect(s.calls.map((c) => (c.kind === 'prefill' ? `prefill ${c.ids.length}` : `decode ${c.names.length}`))).toEqual(['prefill 4', 'prefill 4', 'prefill 2', 'decode 1', 'decode 1']);
    expect(s.messages.map((m) => m.type)).toEqual(['progress', 'progress', 'token', 'token', 'token', 'done']);
    expect(s.messages.slice(0, 2)).toEqual([
      { type: 'progress', seq, done: 4, total: 10 },
      { type: 'progress', seq, done: 8, total: 10 },
    ]);
    const batches = s.messages.filter((m) => m.type === 'token').map((m) => (m as { batch: number }).batch);
    expect(batches).toEqual([0, 1, 1]); // the first token comes from prefill
    expect(s.end(seq)).toMatchObject({ type: 'done', reason: 'max_tokens', retries: 0 });
    expect(s.caches[0].ids.length).toBe(10 + 2); // the last token is never fed back
    expect(s.scheduler.size).toBe(0);
    expect(s.scheduler.runRound()).toBe(false);
  });

  it('resumes a sequence: prompt and resumed ids in one prefill, the sampler replays them, and they count towards maxNewTokens', () => {
    const full = setup({ maxChunkTokens: 4 });
    const a = full.start('full', 6, 7);
    full.runAll();
    const ids = full.tokens(a);
    expect(ids).toHaveLength(7);
    const s = setup({ maxChunkTokens: 4 });
    const replayed: number[][] = [];
    const observed: number[][] = [];
    const sch = new Scheduler<FakeCache>({
      forward: (s.scheduler as unknown as { forward: ForwardModel<FakeCache> }).forward,
      sampler: () => ({ observe: (x) => void observed.push([...x]), replay: (x) => void replayed.push([...x]), sample: (l) => l.indexOf(1) }),
      send: (m) => s.messages.push(m),
      defer: null,
    });
    const prompt = Array.from({ length: 6 }, (_, i) => (i * 7 + 1) % VOCAB);
    sch.start({ type: 'start', seq: 1, promptIds: [...prompt, ...ids.slice(0, 3)], resumed: 3, maxNewTokens: 7, sampling: { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, seed: 1 }, stopIds: [[VOCAB - 1, 'eos']], maxRetries: 0 });
    while (sch.runRound());
    expect(s.tokens(1)).toEqual(ids.slice(3));
    expect(observed).toEqual([prompt]);
    expect(replayed).toEqual([ids.slice(0, 3)]);
    expect(s.caches[0].capacity).toBe(6 + 7);
    expect(s.calls.map((c) => (c.kind === 'prefill' ? `prefill ${c.ids.length}` : 'decode'))).toEqual(['prefill 4', 'prefill 4', 'prefill 1', 'decode', 'decode', 'decode']);
    expect(s.end(1)).toMatchObject({ reason: 'max_tokens' });
  });

  it('ends a sequence on a stop id with its reason', () => {
    const s = setup();
    const seq = s.start('a', 3, 5, { stopIds: [[nextId([1, 8, 15]), 'end_of_turn']] });
    s.runAll();
    expect(s.tokens(seq)).toHaveLength(1);
    expect(s.end(seq)).toMatchObject({ reason: 'end_of_turn' });
  });

  it('alternates a long prompt\'s prefill chunks with the running streams\' decode steps', () => {
    const s = setup({ maxChunkTokens: 4 });
    const a = s.start('a', 2, 40);
    const b = s.start('b', 3, 40);
    for (let i = 0; i < 4; i++) s.scheduler.runRound(); // both prompts in, both decoding
    const before = s.calls.length;
    const long = s.start('long', 4 * 6, 2); // six prefill chunks
    for (let i = 0; i < 12; i++) s.scheduler.runRound();
    const kinds = s.calls.slice(before).map((c) => (c.kind === 'prefill' ? `P:${c.name}` : `D:${c.names.join('+')}`));
    expect(kinds).toEqual(['P:long', 'D:a+b', 'P:long', 'D:a+b', 'P:long', 'D:a+b', 'P:long', 'D:a+b', 'P:long', 'D:a+b', 'P:long', 'D:a+b+long']);
    // the streams kept getting a token every other round, and the long prompt's first token came in time
    expect(s.tokens(a).length).toBeGreaterThanOrEqual(7);
    expect(s.tokens(long).length).toBe(2);
    s.runAll();
    // batching changed nothing in what each sequence generates
    expect(s.tokens(a)).toEqual(solo(2, 40, 1));
    expect(s.tokens(b)).toEqual(solo(3, 40, 2));
  });

  it('with stepMany, runs the decode batch and a prefill chunk filling the other rows in one pass; ids as alone', () => {
    const s = setup({ maxChunkTokens: 4, mixed: true });
    const a = s.start('a', 2, 12);
    const b = s.start('b', 3, 12);
    for (let i = 0; i < 4; i++) s.scheduler.runRound(); // a prefills, then a decodes with b's whole prompt (3 rows) in the same pass, then both decode
    const before = s.calls.length;
    const long = s.start('long', 9, 3);
    for (let i = 0; i < 5; i++) s.scheduler.runRound();
    const kinds = s.calls.slice(before).map((c) => (c.kind === 'mixed' ? `M:${c.names.join('+')}:${c.ids.length}` : c.kind === 'prefill' ? `P:${c.name}` : `D:${c.names.join('+')}`));
    // two decoders leave two rows for the prompt: 9 = 2 + 2 + 2 + 2 + 1, then all three decode
    expect(kinds).toEqual(['M:a+b+long:2', 'M:a+b+long:2', 'M:a+b+long:2', 'M:a+b+long:2', 'M:a+b+long:1']);
    expect(s.tokens(long)).toHaveLength(1); // the last chunk's logits gave its first token
    s.runAll();
    expect(s.tokens(a)).toEqual(solo(2, 12, 1));
    expect(s.tokens(b)).toEqual(solo(3, 12, 2));
    expect(s.tokens(long)).toEqual(solo(9, 3, 3));
    // a pass never held more rows than maxChunkTokens (the fake throws), and every sequence ended normally
    for (const seq of [a, b, long]) expect(s.end(seq)).toMatchObject({ type: 'done' });
  });

  it('with stepMany, packs the prompts that arrive together into one pass, round robin; ids as alone', () => {
    const s = setup({ maxChunkTokens: 8, mixed: true });
    const a = s.start('a', 3, 4);
    const b = s.start('b', 3, 4);
    const c = s.start('c', 5, 4);
    s.scheduler.runRound();
    s.scheduler.runRound();
    const kinds = s.calls.map((k) => (k.kind === 'mixed' ? `M:${k.names.join('+')}` : k.kind));
    // a and b whole and the first 2 of c's 5; then a and b decode beside c's last 3
    expect(kinds).toEqual(['M:a+b+c', 'M:a+b+c']);
    expect(s.tokens(a)).toHaveLength(2);
    expect(s.tokens(c)).toHaveLength(1);
    s.runAll();
    expect(s.tokens(a)).toEqual(solo(3, 4, 1));
    expect(s.tokens(b)).toEqual(solo(3, 4, 2));
    expect(s.tokens(c)).toEqual(solo(5, 4, 3));
  });

  it('with stepMany, a prefill chunk whose step fails is retried while the decode batch goes on; ids as alone', () => {
    const s = setup({ maxChunkTokens: 4, mixed: true, faults: new PlannedFaults() });
    const a = s.start('a', 1, 6);
    for (let i = 0; i < 2; i++) s.scheduler.runRound();
    const b = s.start('b', 5, 2, { faults: { failSteps: [0] } }); // b's first step (a mixed pass) fails once
    s.runAll();
    expect(s.tokens(a)).toEqual(solo(1, 6, 1));
    expect(s.tokens(b)).toEqual(solo(5, 2, 2));
    expect(s.end(b)).toMatchObject({ type: 'done', retries: 1 });
    expect(s.end(a)).toMatchObject({ type: 'done', retries: 0 });
  });

  it('with a prompt cache: prefill starts after the restored prefix, and every pass offers the ids of the cache positions', () => {
    const saved: Array<{ name: string; length: number; ids: number[] }> = [];
    const closed: string[] = [];
    const opened: FakeCache[] = [];
    let made = 0;
    const prefixes: PrefixStore<FakeCache> = {
      fits: () => true,
      // restores a fixed 5 positions: the fake cache takes them as if computed
      open: (ids, capacity) => {
        opened.push({ name: `#${made++}`, ids: ids.slice(0, 5), capacity });
        return { cache: opened[opened.length - 1], cachedTokens: 5 };
      },
      save: (cache, ids) => saved.push({ name: cache.name, length: cache.ids.length, ids: ids.slice(0, cache.ids.length) }),
      close: (cache) => closed.push(cache.name),
    };
    const s = setup({ maxChunkTokens: 4, prefixes });
    const seq = s.start('a', 11, 3);
    s.runAll();
    // 6 prompt ids left: chunks of 4 and 2, then two decode steps
    expect(s.calls.map((c) => (c.kind === 'prefill' ? c.ids.length : c.kind))).toEqual([4, 2, 'decode', 'decode']);
    expect(s.end(seq)).toMatchObject({ type: 'done', cachedTokens: 5 });
    expect(saved.map((x) => x.length)).toEqual([9, 11, 12, 13]);
    // the ids offered are exactly the ids of the cache's positions: the prompt, then the generated ones fed back
    const last = saved[saved.length - 1];
    expect(last.ids).toEqual(opened[0].ids);
    expect(s.tokens(seq)).toEqual(solo(11, 3, 1)); // same ids as without the cache
    expect(closed).toEqual(['#0']); // its memory was given back when it ended
  });

  /** A store of `budget` positions: a cache takes its capacity's worth until closed. */
  function budgetStore(budget: number) {
    let free = budget;
    let made = 0;
    const log: string[] = [];
    const store: PrefixStore<FakeCache> = {
      fits: (capacity) => capacity <= budget,
      open: (_ids, capacity) => {
        if (capacity > free) return undefined;
        free -= capacity;
        log.push(`open ${capacity}`);
        return { cache: { name: `#${made++}`, ids: [], capacity }, cachedTokens: 0 };
      },
      save: () => undefined,
      close: (cache) => {
        free += cache.capacity;
        log.push(`close ${cache.capacity}`);
      },
    };
    return { store, log, free: () => free };
  }

  it('with a prompt cache: a sequence whose memory is taken waits in the queue, in order, and starts when memory is given back', () => {
    const b = budgetStore(20);
    const s = setup({ maxChunkTokens: 4, prefixes: b.store });
    const a = s.start('a', 6, 6); // 12 positions
    const c = s.start('c', 6, 6); // 12 more: must wait for a
    const d = s.start('d', 2, 2); // 4 would fit, but it comes after c
    expect(s.scheduler.waitingCount).toBe(2);
    expect(s.scheduler.size).toBe(3);
    s.runAll();
    expect(b.log.slice(0, 4)).toEqual(['open 12', 'close 12', 'open 12', 'open 4']);
    expect(b.log.slice(4).sort()).toEqual(['close 12', 'close 4']);
    expect(b.free()).toBe(20);
    // each gets exactly the ids it gets alone
    expect(s.tokens(a)).toEqual(solo(6, 6, 1));
    expect(s.tokens(c)).toEqual(solo(6, 6, 2));
    expect(s.tokens(d)).toEqual(solo(2, 2, 3));
  });

  it('with a prompt cache: a waiting sequence can be cancelled; one that can never fit is an error at once', () => {
    const b = budgetStore(20);
    const s = setup({ maxChunkTokens: 4, prefixes: b.store });
    const a = s.start('a', 6, 6);
    const c = s.start('c', 6, 6);
    const big = s.start('big', 15, 6);
    expect(s.end(big)).toMatchObject({ type: 'error' });
    s.scheduler.cancel(c);
    expect(s.end(c)).toMatchObject({ type: 'done', reason: 'cancelled' });
    s.runAll();
    expect(s.tokens(a)).toEqual(solo(6, 6, 1));
    expect(s.tokens(c)).toEqual([]);
    expect(b.log).toEqual(['open 12', 'close 12']);
  });

  it('gives each cache back when its sequence ends: done, cancelled, failed, and at close', () => {
    const released: string[] = [];
    const s = setup({ maxChunkTokens: 4, failDecodes: 10, released });
    const a = s.start('a', 3, 2, { maxRetries: 0 }); // its first decode step fails: an error
    const b = s.start('b', 30, 2); // cancelled mid-prefill
    s.scheduler.runRound();
    s.scheduler.cancel(b);
    s.runAll();
    expect(s.end(a)).toMatchObject({ type: 'error' });
    expect(s.end(b)).toMatchObject({ type: 'done', reason: 'cancelled' });
    const okReleased: string[] = [];
    const ok = setup({ maxChunkTokens: 4, released: okReleased });
    ok.start('c', 3, 2);
    ok.start('d', 3, 50);
    for (let i = 0; i < 4; i++) ok.scheduler.runRound();
    ok.scheduler.close();
    expect(released.sort()).toEqual(['a', 'b']);
    expect(okReleased.sort()).toEqual(['c', 'd']);
  });

  it('shares prefill between several prompts round robin', () => {
    const s = setup({ maxChunkTokens: 2 });
    s.start('x', 6, 1);
    s.start('y', 6, 1);
    for (let i = 0; i < 4; i++) s.scheduler.runRound();
    expect(s.calls.map((c) => (c as { name: string }).name)).toEqual(['x', 'y', 'x', 'y']);
  });

  it('cancels a sequence in the middle of its prefill: no token, no further work', () => {
    const s = setup({ maxChunkTokens: 4 });
    const seq = s.start('long', 40, 5);
    s.scheduler.runRound();
    s.scheduler.runRound();
    s.scheduler.cancel(seq);
    s.runAll();
    expect(s.calls).toHaveLength(2);
    expect(s.tokens(seq)).toEqual([]);
    expect(s.end(seq)).toMatchObject({ type: 'done', reason: 'cancelled', decodeMs: 0 });
    s.scheduler.cancel(seq); // a second cancel is a no-op
    expect(s.messages.filter((m) => m.type === 'done')).toHaveLength(1);
  });

  it('retries a failing step: the sequence goes on with the same tokens and reports the retry', () => {
    const clean = solo(9, 6);
    const s = setup({ faults: new PlannedFaults() });
    const seq = s.start('a', 9, 6, { faults: { failSteps: [1, 4] } }); // a prefill chunk and a decode step
    s.runAll();
    expect(s.tokens(seq)).toEqual(clean);
    expect(s.end(seq)).toMatchObject({ type: 'done', reason: 'max_tokens', retries: 2 });
  });

  it('retries a failed batched decode step for every sequence in it', () => {
    const s = setup({ failDecodes: 2 });
    const a = s.start('a', 2, 4);
    const b = s.start('b', 2, 4);
    s.runAll();
    expect(s.tokens(a)).toEqual(solo(2, 4, 1));
    expect(s.tokens(b)).toEqual(solo(2, 4, 2));
    // round 2 decodes a alone (fails), round 4 decodes a+b (fails for both), then all goes well
    expect(s.end(a)).toMatchObject({ reason: 'max_tokens', retries: 2 });
    expect(s.end(b)).toMatchObject({ reason: 'max_tokens', retries: 1 });
  });

  it('gives up after maxRetries failures of one step in a row, and the others go on', () => {
    const always: FaultInjector = {
      beforeStep: (req, step) => {
        if (req.seq === 1 && step === 2) throw new Error('step 2 is broken');
      },
    };
    const s = setup({ faults: always });
    const bad = s.start('bad', 3, 8, { maxRetries: 2 });
    const good = s.start('good', 3, 8);
    s.runAll();
    expect(s.end(bad)).toEqual({ type: 'error', seq: bad, message: 'step 2 is broken', retries: 3 });
    expect(s.tokens(bad)).toHaveLength(2); // steps 0 (prefill) and 1 ran
    expect(s.end(good)).toMatchObject({ type: 'done', reason: 'max_tokens' });
    expect(s.tokens(good)).toEqual(solo(3, 8, 2));
  });

  it('lets sequences join the batch when their prompt is in and leave when they end', () => {
    const s = setup({ maxChunkTokens: 4 });
    s.start('a', 2, 3);
    s.start('b', 2, 6);
    s.runAll();
    s.start('c', 2, 2);
    const decodes = () => s.calls.filter((c): c is Extract<Call, { kind: 'decode' }> => c.kind === 'decode').map((c) => c.names.join('+'));
    // a decoded alone while b's prompt went in (rounds alternate), then a+b; a left after its 3
    // tokens (1 from prefill, 2 decoded), b went on alone
    expect(decodes()).toEqual(['a', 'a+b', 'b', 'b', 'b', 'b']);
    const s2 = setup({ maxChunkTokens: 4 });
    s2.start('a', 2, 5);
    s2.scheduler.runRound(); // a's prefill
    s2.scheduler.runRound(); // a decodes alone
    s2.start('b', 2, 2);
    s2.runAll();
    const d2 = s2.calls.filter((c): c is Extract<Call, { kind: 'decode' }> => c.kind === 'decode').map((c) => c.names.join('+'));
    expect(d2).toEqual(['a', 'a+b', 'a', 'a']); // b joined after its prefill, left after its 2 tokens
  });

  it('rotates the decode batch when more sequences decode than one step takes', () => {
    const s = setup({ maxChunkTokens: 2 });
    const seqs = ['a', 'b', 'c'].map((n) => s.start(n, 1, 8));
    s.runAll();
    const d = s.calls.filter((c): c is Extract<Call, { kind: 'decode' }> => c.kind === 'decode').map((c) => c.names.join('+'));
    expect(d.every((x) => x.split('+').length <= 2)).toBe(true);
    // once all three decode, each step takes the next two in turn: every sequence waits at most one step
    expect(d.slice(2, 8)).toEqual(['a+b', 'c+a', 'b+c', 'a+b', 'c+a', 'b+c']);
    seqs.forEach((seq, i) => expect(s.tokens(seq)).toEqual(solo(1, 8, i + 1)));
  });

  it('close() ends every sequence in flight as cancelled and refuses new ones', () => {
    const s = setup();
    const a = s.start('a', 3, 10);
    const b = s.start('b', 30, 10);
    s.scheduler.runRound();
    s.scheduler.runRound();
    s.scheduler.close();
    expect(s.end(a)).toMatchObject({ type: 'done', reason: 'cancelled' });
    expect(s.end(b)).toMatchObject({ type: 'done', reason: 'cancelled' });
    expect(s.scheduler.runRound()).toBe(false);
    const c = s.start('c', 2, 2);
    expect(s.end(c)).toMatchObject({ type: 'error' });
  });

  it('runs by itself with the default deferral (setImmediate)', async () => {
    const messages: SequenceMessage[] = [];
    const done = new Promise<void>((resolve) => {
      const sch = new Scheduler<number[]>({
        forward: { maxChunkTokens: 4, newCache: () => [], prefill: (_c, _ids, last) => (last ? oneHot(3) : undefined), decodeBatch: (cs) => cs.map(() => oneHot(3)) },
        sampler: () => ({ observe: () => undefined, replay: () => undefined, sample: (l) => l.indexOf(1) }),
        send: (m) => {
          messages.push(m);
          if (m.type === 'done') resolve();
        },
      });
      sch.start({ type: 'start', seq: 1, promptIds: [1, 2, 3, 4, 5], maxNewTokens: 3, sampling: { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, seed: 1 }, stopIds: [], maxRetries: 0 });
    });
    await done;
    expect(messages.map((m) => m.type)).toEqual(['progress', 'token', 'token', 'token', 'done']);
  });
});
