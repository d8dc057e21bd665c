/**
 * GenerateOptions.logprobs end to end: the engine (model thread, TypeScript kernels) reports for
 * each piece the log-softmax of the logits its token was chosen from. A separate ForwardPass over
 * the same file and the same ids, with the same Sampler adjusting the logits, gives the reference;
 * chosen logprob and top-5 (ids and values) agree within 1e-4.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createKernels } from '@bitnet/kernels';
import { GgufFile, buildSyntheticModel, smallByteVocab } from '@bitnet/models';
import type { GenerationConfig } from '../config/GenerationConfig';
import { ConfigError } from '../errors/InferenceError';
import { ForwardPass } from '../forward/ForwardPass';
import { loadBitnetWeights } from '../model/BitnetWeights';
import { KvCache } from '../model/KvCache';
import { Sampler } from '../sampling/Sampler';
import { collectGeneration } from './Generation';
import { InferenceEngine } from './InferenceEngine';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bitnet-logprobs-'));
const modelPath = path.join(dir, 'tiny.gguf');
const PROMPT = 'In the beginning — café: ';
let engine: InferenceEngine;
let fp: ForwardPass;

beforeAll(async () => {
  buildSyntheticModel({ arch: 'bitnet-b1.58', quant: 'i2_s', dim: 256, ff: 512, layers: 2, heads: 4, kvHeads: 2, vocab: smallByteVocab(), seed: 9, contextLength: 512 }).writeFile(modelPath);
  engine = await InferenceEngine.load(modelPath, { kernels: 'ts', maxChunkTokens: 16 });
  const f = GgufFile.open(modelPath);
  try {
    fp = new ForwardPass(loadBitnetWeights(f), createKernels({ mode: 'ts' }), { maxChunkTokens: 16 });
  } finally {
    f.close();
  }
}, 60_000);
afterAll(async () => {
  await engine?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Log-softmax of every logit in float64, most likely first. */
function logSoftmax(logits: Float32Array): Array<{ id: number; logprob: number }> {
  let max = -Infinity;
  for (const x of logits) max = Math.max(max, x);
  let sum = 0;
  for (const x of logits) sum += Math.exp(x - max);
  const lse = max + Math.log(sum);
  return Array.from(logits, (x, id) => ({ id, logprob: x - lse })).sort((a, b) => b.logprob - a.logprob || a.id - b.id);
}

/** Replays `ids` through the reference pass: each step's adjusted logits' log-softmax. */
function referenceSteps(promptIds: number[], ids: number[], config: Partial<GenerationConfig>): Array<Array<{ id: number; logprob: number }>> {
  const cache = new KvCache(fp.weights.config, promptIds.length + ids.length);
  const sampler = new Sampler({ temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, seed: 1, ...config });
  sampler.observe(promptIds);
  let logits = fp.run(cache, promptIds);
  const out: Array<Array<{ id: number; logprob: number }>> = [];
  for (const id of ids) {
    const chosen = sampler.sample(logits); // adjusts the logits in place, as on the model thread
    expect(chosen).toBe(id); // greedy: the same choice
    out.push(logSoftmax(logits));
    logits = fp.run(cache, [id]);
  }
  return out;
}

describe('GenerateOptions.logprobs', () => {
  it.each([
    ['no penalty', { repetitionPenalty: 1 }],
    ['after the repetition penalty', { repetitionPenalty: 1.3 }],
  ])('equal the log-softmax of the forward pass logits within 1e-4 (%s)', async (_name, extra) => {
    const config: Partial<GenerationConfig> = { temperature: 0, maxNewTokens: 24, ...extra };
    const r = await engine.generate(PROMPT, config, { logprobs: 5 });
    expect(r.pieces.length).toBe(r.tokenIds.length);
    const ref = referenceSteps(r.promptIds, r.tokenIds, config);
    r.pieces.forEach((p, i) => {
      const want = ref[i];
      expect(p.logprob).toBeCloseTo(want.find((x) => x.id === p.id)!.logprob, 4);
      expect(p.topLogprobs!.map((a) => a.id)).toEqual(want.slice(0, 5).map((x) => x.id));
      p.topLogprobs!.forEach((a, j) => expect(Math.abs(a.logprob - want[j].logprob)).toBeLessThan(1e-4));
      // sorted, a sub-distribution, the greedy choice first
      for (let j = 1; j < 5; j++) expect(p.topLogprobs![j].logprob).toBeLessThanOrEqual(p.topLogprobs![j - 1].logprob);
      expect(p.topLogprobs!.reduce((s, a) => s + Math.exp(a.logprob), 0)).toBeLessThanOrEqual(1 + 1e-9);
      expect(p.topLogprobs![0].id).toBe(p.id);
      expect(p.topLogprobs![0].logprob).toBe(p.logprob);
      expect(p.bytes).toEqual(Array.from(engine.tokenizer.tokenBytes(p.id)));
      for (const a of p.topLogprobs!) {
        expect(a.bytes).toEqual(Array.from(engine.tokenizer.tokenBytes(a.id)));
        expect(a.text).toBe(engine.tokenizer.decode([a.id]));
      }
    });
  }, 60_000);

  it('with sampling, the chosen token is among the alternatives whenever it is among the N most likely', async () => {
    const r = await engine.generate(PROMPT, { temperature: 1.2, topK: 0, topP: 1, minP: 0, seed: 3, maxNewTokens: 32 }, { logprobs: 3 });
    for (const p of r.pieces) {
      const alt = p.topLogprobs!;
      expect(alt).toHaveLength(3);
      const at = alt.findIndex((a) => a.id === p.id);
      if (p.logprob! >= alt[2].logprob) expect(at).toBeGreaterThanOrEqual(0);
      if (at >= 0) expect(alt[at].logprob).toBe(p.logprob);
    }
  }, 60_000);

  it('are absent unless asked for; 0 gives the chosen token only', async () => {
    const config = { temperature: 0, maxNewTokens: 6 };
    const off = await engine.generate(PROMPT, config);
    for (const p of off.pieces) expect(Object.keys(p).sort()).toEqual(['id', 'text']);
    const zero = await engine.generate(PROMPT, config, { logprobs: 0 });
    expect(zero.tokenIds).toEqual(off.tokenIds);
    for (const p of zero.pieces) {
      expect(p.topLogprobs).toEqual([]);
      expect(p.logprob).toBeLessThanOrEqual(0);
    }
  }, 60_000);

  it('survive resume: the new pieces carry the same logprobs as the uninterrupted run', async () => {
    const config = { temperature: 0.8, topK: 40, topP: 0.95, repetitionPenalty: 1.1, seed: 5, maxNewTokens: 20 };
    const full = await engine.generate(PROMPT, config, { logprobs: 4 });
    const k = 7;
    const resumed = await engine.generate(PROMPT, config, { logprobs: 4, resume: full.pieces.slice(0, k).map((p) => p.id) });
    expect(resumed.pieces.map((p) => p.id)).toEqual(full.pieces.slice(k).map((p) => p.id));
    resumed.pieces.forEach((p, i) => {
      const q = full.pieces[k + i];
      expect(Math.abs(p.logprob! - q.logprob!)).toBeLessThan(1e-4);
      expect(p.topLogprobs!.map((a) => a.id)).toEqual(q.topLogprobs!.map((a) => a.id));
    });
  }, 60_000);

  it('rejects a bad count with ConfigError(logprobs)', () => {
    for (const bad of [-1, 21, 1.5]) {
      expect(() => engine.generateStream(PROMPT, {}, { logprobs: bad })).toThrow(ConfigError);
    }
  });

  it('travel on streamed pieces too', async () => {
    const stream = engine.generateStreamWithConfig(PROMPT, { temperature: 0, maxNewTokens: 8 }, { bufferSize: 2 }, { logprobs: 2 });
    const r = await collectGeneration(stream);
    expect(r.pieces).toHaveLength(8);
    for (const p of r.pieces) expect(p.topLogprobs).toHaveLength(2);
  }, 60_000);
});
