/**
 * EngineOptions.outputType 'screened' end to end (model thread, scheduler, forward pass): greedy
 * generations give the exact engine's token ids, sampled and logprob generations too (they read
 * the exact matrix), and the screen really ran for the greedy ones.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildSyntheticModel, smallByteVocab } from '@bitnet/models';
import { InferenceEngine } from './InferenceEngine';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bitnet-screened-'));
const modelPath = path.join(dir, 'm.gguf');
let exact: InferenceEngine;
let screened: InferenceEngine;

beforeAll(async () => {
  buildSyntheticModel({ arch: 'bitnet-b1.58', quant: 'i2_s', dim: 256, ff: 512, layers: 2, heads: 4, kvHeads: 2, vocab: smallByteVocab(), seed: 31, contextLength: 256 }).writeFile(modelPath);
  [exact, screened] = await Promise.all([InferenceEngine.load(modelPath, { maxChunkTokens: 16 }), InferenceEngine.load(modelPath, { maxChunkTokens: 16, outputType: 'screened' })]);
});
afterAll(async () => {
  await Promise.all([exact?.close(), screened?.close()]);
  fs.rmSync(dir, { recursive: true, force: true });
});

const prompts = ['In the beginning', 'And God said', 'Let there be light', 'Amen'];

describe("outputType 'screened' in the engine", () => {
  it('reports the screen at load and reads fewer bytes per decode step', () => {
    expect(exact.loadInfo.outputType).toBe('exact');
    expect(screened.loadInfo.outputType).toBe('screened');
    expect(screened.loadInfo.decodeBytesPerToken).toBeLessThan(exact.loadInfo.decodeBytesPerToken);
    expect(exact.outputScreenStats).toBeUndefined();
  });

  it('concurrent greedy, sampled and logprob generations get the exact engine’s ids; the greedy ones are screened', async () => {
    const run = (e: InferenceEngine) =>
      Promise.all([
        ...prompts.map((p) => e.generate(p, { maxNewTokens: 16, temperature: 0 })),
        e.generate('x', { maxNewTokens: 16, temperature: 0.9, seed: 3 }),
        e.generate('Q', { maxNewTokens: 8, temperature: 0 }, { logprobs: 3 }),
      ]);
    const [a, b] = await Promise.all([run(exact), run(screened)]);
    expect(b.map((r) => r.tokenIds)).toEqual(a.map((r) => r.tokenIds));
    expect(b[b.length - 1].pieces).toEqual(a[a.length - 1].pieces); // ids, text and logprobs
    const stats = screened.outputScreenStats!;
    expect(stats.screenedRows).toBeGreaterThanOrEqual(prompts.length * 15 - stats.fullRows);
    expect(stats.screenedRows).toBeGreaterThan(0);
  });

  it('greedy generations under a grammar get the exact engine’s ids, screened after the grammar’s mask', async () => {
    const grammar = 'root ::= [a-z ]+ "."';
    const before = screened.outputScreenStats!;
    const run = (e: InferenceEngine) => Promise.all(prompts.map((p) => e.generate(p, { maxNewTokens: 12, temperature: 0 }, { grammar })));
    // logprobs read the whole row, so these are masked in full before their argmax: the ids a lazy
    // mask (the greedy rows', settled from their largest logits) must match
    const full = (e: InferenceEngine) => Promise.all(prompts.map((p) => e.generate(p, { maxNewTokens: 12, temperature: 0 }, { grammar, logprobs: 1 })));
    const [a, b, c] = await Promise.all([run(exact), run(screened), full(exact)]);
    expect(b.map((r) => r.tokenIds)).toEqual(a.map((r) => r.tokenIds));
    expect(a.map((r) => r.tokenIds)).toEqual(c.map((r) => r.tokenIds));
    expect(a.every((r) => /^[a-z ]*\.?$/.test(r.text))).toBe(true);
    const after = screened.outputScreenStats!;
    const tokens = a.reduce((n, r) => n + r.tokenIds.length, 0);
    expect(after.screenedRows - before.screenedRows + after.fullRows - before.fullRows).toBeGreaterThanOrEqual(tokens);
    expect(after.screenedRows - before.screenedRows).toBeGreaterThan(0);
  });

  it("rejects an unknown outputType with the accepted ones", async () => {
    await expect(InferenceEngine.load(modelPath, { outputType: 'fast' as never })).rejects.toThrow(/'exact', 'q8_0' or 'screened'/);
  });
});
