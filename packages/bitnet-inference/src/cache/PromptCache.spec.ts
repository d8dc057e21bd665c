/**
 * The prompt cache end to end on the bundled model (256-token context, blocks of 64 positions): an
 * engine with the cache and one without run the same requests, and every id must match, while the
 * cached engine reports the prompt tokens it restored instead of computing.
 */
import { InferenceEngine } from '../engine/InferenceEngine';
import type { GenerationConfig } from '../config/GenerationConfig';
import { promptCacheLayout } from './KvPrefixCache';

let on: InferenceEngine;
let off: InferenceEngine;
let bos: number;

beforeAll(async () => {
  [on, off] = await Promise.all([InferenceEngine.load(undefined, { promptCacheMb: 64 }), InferenceEngine.load()]);
  bos = on.model.special.bos ?? 1;
}, 60_000);

afterAll(async () => {
  await Promise.all([on?.close(), off?.close()]);
});

/** `n` ordinary (non-special) vocabulary ids from a seed. */
function ids(n: number, seed: number): number[] {
  const out: number[] = [];
  let x = seed * 2654435761 + 1;
  while (out.length < n) {
    x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x297a2d39) >>> 0;
    const id = 100 + (x % 3800);
    if (!on.tokenizer.isSpecial(id)) out.push(id);
  }
  return out;
}

const GREEDY: Partial<GenerationConfig> = { temperature: 0, maxNewTokens: 12 };
const SAMPLED: Partial<GenerationConfig> = { temperature: 0.9, seed: 17, maxNewTokens: 12 };

/** The same request on `engine` (with a cache) and on `off`: the same ids and, bit for bit, the same logprobs (so the same logits). */
async function both(prompt: number[], cfg: Partial<GenerationConfig> = GREEDY, engine = on) {
  const [a, b] = await Promise.all([engine.generate(prompt, cfg, { logprobs: 0 }), off.generate(prompt, cfg, { logprobs: 0 })]);
  expect(a.tokenIds).toEqual(b.tokenIds);
  expect(a.pieces.map((p) => p.logprob)).toEqual(b.pieces.map((p) => p.logprob));
  expect(b.timings.cachedPromptTokens).toBe(0);
  return a;
}

describe('prompt cache', () => {
  it('multi-turn chats: the same ids with the cache on and off; later turns restore the history', async () => {
    for (const cfg of [GREEDY, SAMPLED]) {
      let prompt = [bos, ...ids(70, cfg === GREEDY ? 1 : 2)];
      for (let turn = 1; turn <= 3; turn++) {
        const r = await both(prompt, cfg);
        // later turns restore whole blocks of the history; any turn may also reuse the first positions
        // of a cached block it matches partly (the BOS of an earlier chat: copied, then written)
        if (turn > 1) expect(r.timings.cachedPromptTokens).toBeGreaterThanOrEqual(64);
        else expect(r.timings.cachedPromptTokens).toBeLessThan(64);
        expect(r.timings.cachedPromptTokens).toBeLessThan(prompt.length);
        prompt = [...prompt, ...r.tokenIds, ...ids(30, 10 * turn + (cfg === GREEDY ? 0 : 5))];
      }
    }
  }, 60_000);

  it('8 concurrent clients sharing a system prompt: each restores it and gets the ids it gets without the cache', async () => {
    const system = [bos, ...ids(130, 3)];
    await both([...system, ...ids(8, 4)]);
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => both([...system, ...ids(10 + i, 40 + i)], { ...SAMPLED, seed: 100 + i })));
    for (const r of results) expect(r.timings.cachedPromptTokens).toBe(128);
  }, 60_000);

  it('a prompt diverging inside a block shares the blocks before it and reuses the matching positions of the next; so does a prefix of a cached prompt', async () => {
    const base = [bos, ...ids(160, 5)];
    await both(base);
    const diverged = [...base.slice(0, 100), ...ids(40, 6)]; // differs from position 100, inside [64, 128)
    // block [0, 64) is shared; block [64, 128) is copied (others read it) and its first 36 positions reused
    expect((await both(diverged)).timings.cachedPromptTokens).toBe(100);
    expect((await both(base.slice(0, 100))).timings.cachedPromptTokens).toBe(99); // never the whole prompt: its last id is computed
    expect((await both(base.slice(0, 130))).timings.cachedPromptTokens).toBe(128);
    expect((await both(base.slice(0, 128))).timings.cachedPromptTokens).toBe(127);
    expect((await both(base.slice(0, 65))).timings.cachedPromptTokens).toBe(64);
  }, 60_000);

  it('a prefill cancelled half-way leaves only whole, valid blocks, which the next request reuses exactly', async () => {
    const small = await InferenceEngine.load(undefined, { promptCacheMb: 64, maxChunkTokens: 16 });
    try {
      const prompt = [bos, ...ids(200, 7)];
      const ac = new AbortController();
      const cancelled = await small.generate(prompt, GREEDY, { signal: ac.signal, onPromptProgress: (done) => done >= 96 && ac.abort() });
      expect(cancelled.finishReason).toBe('cancelled');
      const r = await both(prompt, GREEDY, small);
      expect(r.timings.cachedPromptTokens).toBeGreaterThanOrEqual(64);
      expect(r.timings.cachedPromptTokens % 64).toBe(0);
    } finally {
      await small.close();
    }
  }, 60_000);

  it('churns 200 distinct prompts through a cache of a few blocks: memory stays under the limit, old blocks are evicted, ids stay exact', async () => {
    const c = on.model.config;
    const blockBytes = c.blockCount * 2 * c.headCountKv * 64 * c.headDim * 2;
    const tiny = await InferenceEngine.load(undefined, { promptCacheMb: (6.5 * blockBytes) / (1 << 20) });
    try {
      const repeated = [bos, ...ids(100, 8)];
      for (let i = 0; i < 200; i++) {
        const prompt = i % 25 === 0 ? repeated : [bos, ...ids(66 + (i % 70), 1000 + i)];
        const r = i % 25 === 0 ? await both(prompt, { ...GREEDY, maxNewTokens: 2 }, tiny) : await tiny.generate(prompt, { ...GREEDY, maxNewTokens: 1 });
        const s = tiny.promptCacheStats!;
        expect(s.limitBytes).toBe(6 * blockBytes);
        expect(s.bytes).toBeLessThanOrEqual(s.limitBytes);
        expect(s.cachedBlocks).toBeLessThanOrEqual(6);
        expect(r.timings.cachedPromptTokens).toBeLessThan(prompt.length);
      }
      expect(tiny.promptCacheStats!.evictedBlocks).toBeGreaterThan(0);
    } finally {
      await tiny.close();
    }
  }, 120_000);

  it('one KV limit: a request whose blocks are held by a running one waits, then runs exactly; the pool never grows past its limit', async () => {
    // asked for 1 byte: the pool is one whole context, 256 positions = 4 blocks of the bundled model
    const one = await InferenceEngine.load(undefined, { promptCacheMb: 1 / (1 << 20) });
    try {
      const order: string[] = [];
      const run = async (name: string, prompt: number[], cfg: Partial<GenerationConfig>) => {
        const got: number[] = [];
        for await (const r of one.generateStream(prompt, cfg)) {
          if (got.length === 0 && r.tokenIds.length > 0) order.push(`${name} first token`);
          got.push(...r.tokenIds);
        }
        order.push(`${name} done`);
        return got;
      };
      const a = [bos, ...ids(99, 20)];
      const b = [bos, ...ids(49, 21)];
      const noStop = GREEDY;
      // a: 100 + 100 positions = all 4 blocks; b (50 + 20: 2 blocks) can only start once a has ended
      const [ga, gb] = await Promise.all([run('a', a, { ...noStop, maxNewTokens: 100 }), run('b', b, { ...noStop, maxNewTokens: 20 })]);
      expect(order.indexOf('b first token')).toBeGreaterThan(order.indexOf('a done'));
      const [ra, rb] = await Promise.all([off.generate(a, { ...noStop, maxNewTokens: 100 }), off.generate(b, { ...noStop, maxNewTokens: 20 })]);
      expect(ga).toEqual(ra.tokenIds);
      expect(gb).toEqual(rb.tokenIds);
      const st = one.promptCacheStats!;
      expect(st.limitBytes).toBe(4 * promptCacheLayout(one.model.config, 1).blockBytes);
      expect(st.bytes).toBeLessThanOrEqual(st.limitBytes);
      expect(st.usedBlocks).toBeLessThanOrEqual(4);
    } finally {
      await one.close();
    }
  }, 60_000);

  it('a sequence cancelled while decoding leaves its reply\'s blocks, which the next turn restores exactly', async () => {
    const prompt = [bos, ...ids(60, 12)];
    const ac = new AbortController();
    let n = 0;
    const stream = on.generateStream(prompt, { ...GREEDY, maxNewTokens: 100 }, { signal: ac.signal });
    const got: number[] = [];
    for await (const r of stream) {
      got.push(...r.tokenIds);
      if ((n += r.tokenIds.length) >= 40) ac.abort();
    }
    expect(got.length).toBeGreaterThanOrEqual(40);
    // the next turn: the prompt, the reply so far, a new message; positions up to 64 and beyond come from the cache
    const next = [...prompt, ...got, ...ids(20, 13)];
    const r = await both(next);
    expect(r.timings.cachedPromptTokens).toBeGreaterThanOrEqual(64);
  }, 60_000);

  it('works with resume and with constrained decoding: the same ids as without the cache', async () => {
    const prompt = [bos, ...ids(90, 14)];
    await both(prompt);
    const first = await off.generate(prompt, SAMPLED);
    const resume = first.tokenIds.slice(0, 5);
    const [a, b] = await Promise.all([on.generate(prompt, SAMPLED, { resume }), off.generate(prompt, SAMPLED, { resume })]);
    expect(a.tokenIds).toEqual(b.tokenIds);
    expect(a.tokenIds).toEqual(first.tokenIds.slice(5));
    expect(a.timings.cachedPromptTokens).toBe(64);
    const grammar = 'root ::= [a-z]{3,8} (" " [a-z]{3,8}){2}';
    const [c, d] = await Promise.all([on.generate(prompt, SAMPLED, { grammar }), off.generate(prompt, SAMPLED, { grammar })]);
    expect(c.tokenIds).toEqual(d.tokenIds);
    expect(c.finishReason).toBe('grammar_complete');
    expect(c.timings.cachedPromptTokens).toBe(64);
  }, 60_000);

  it('reports its counters and is off by default', async () => {
    const s = on.promptCacheStats!;
    expect(s.blockTokens).toBe(64);
    expect(s.reusedTokens).toBeGreaterThan(0);
    expect(s.limitBytes).toBeLessThanOrEqual(64 * (1 << 20));
    expect(off.promptCacheStats).toBeUndefined();
    await expect(InferenceEngine.load(undefined, { promptCacheMb: -1 })).rejects.toMatchObject({ name: 'ConfigError' });
  });
});
