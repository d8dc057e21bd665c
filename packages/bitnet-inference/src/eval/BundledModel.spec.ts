/**
 * The bundled default model (models/bitnet-b1.58-kjv-*.gguf, trained by tools/train) judged by what
 * it does: the engine's perplexity on the held-out books equals the trainer's own number, beats a
 * unigram baseline, and greedy text is made of KJV words. Everything needed is committed: the model,
 * and in test-fixtures/kjv the held-out text (Jude + Revelation), the training text's word list and
 * its token counts (all written by tools/train/kjv_data.py).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GgufFile, GgmlType, readModelConfig, resolveModelTensors } from '@bitnet/models';
import { InferenceEngine } from '../engine/InferenceEngine';
import { DEFAULT_MODEL_FILE, defaultModelPath } from '../engine/DefaultModel';
import { PerplexityEvaluator, unigramPerplexity } from './Perplexity';
import { main as perplexityCli } from '../cli/bitnet-perplexity';

const FIXTURES = path.resolve(__dirname, '../../test-fixtures/kjv');
const HELDOUT = path.join(FIXTURES, 'heldout.txt');
const heldout = fs.readFileSync(HELDOUT, 'utf8');
const TQ2_0_MODEL = path.join(path.dirname(defaultModelPath()), DEFAULT_MODEL_FILE.replace('i2_s', 'tq2_0'));

interface Recorded {
  heldoutPpl: number;
  heldoutTokens: number;
  testWindows: number;
  testPpl: number;
  testTokens: number;
}

function recorded(file: string): Recorded {
  const f = GgufFile.open(file);
  try {
    const md = f.metadata;
    return {
      heldoutPpl: md.getNumber('training.eval.heldout_ppl'),
      heldoutTokens: md.getInteger('training.eval.heldout_tokens'),
      testWindows: md.getInteger('training.eval.test_windows'),
      testPpl: md.getNumber('training.eval.test_ppl'),
      testTokens: md.getInteger('training.eval.test_tokens'),
    };
  } finally {
    f.close();
  }
}

const rec = recorded(defaultModelPath());
let evaluator: PerplexityEvaluator;
let heldoutIds: number[];

beforeAll(() => {
  evaluator = PerplexityEvaluator.load(defaultModelPath());
  heldoutIds = evaluator.encode(heldout);
});

describe('bundled KJV model', () => {
  it('is the package default: a bitnet-b1.58 model with I2_S projections and a tied F16 embedding', () => {
    expect(path.basename(defaultModelPath())).toBe(DEFAULT_MODEL_FILE);
    const f = GgufFile.open(defaultModelPath());
    try {
      const config = readModelConfig(f.metadata);
      const tensors = resolveModelTensors(config, f.tensors);
      expect(config.architectureName).toBe('bitnet-b1.58');
      expect(config.ffnActivation).toBe('relu2');
      expect(tensors.layers[0].attnQ.type).toBe(GgmlType.I2_S);
      expect(tensors.tokenEmbedding.type).toBe(GgmlType.F16);
      expect(f.metadata.getString('general.license')).toMatch(/public domain/);
      expect(f.metadata.getString('training.split')).toMatch(/held out: Jude 1:1 \.\. Revelation 22:21/);
    } finally {
      f.close();
    }
    expect(fs.statSync(defaultModelPath()).size).toBeLessThanOrEqual(20 * 1024 * 1024);
  });

  it('tokenizes the held-out text exactly as the trainer did (same token count)', () => {
    expect(heldoutIds.length).toBe(rec.heldoutTokens);
    expect(evaluator.tokenizer.decode(heldoutIds)).toBe(heldout);
  });

  it('engine perplexity on the held-out prefix equals the trainer evaluation within 1%', () => {
    const r = evaluator.evaluateIds(heldoutIds, { maxWindows: rec.testWindows });
    expect(r.tokens).toBe(rec.testTokens);
    expect(Math.abs(r.perplexity / rec.testPpl - 1)).toBeLessThan(0.01);
  });

  it('held-out perplexity is far below the add-one unigram baseline of the training text', () => {
    const counts = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'unigram.json'), 'utf8')).counts as number[];
    expect(counts.length).toBe(evaluator.tokenizer.vocabSize);
    const scored = heldoutIds.slice(0, rec.testTokens);
    const unigram = unigramPerplexity(scored, counts);
    const full = unigramPerplexity(heldoutIds, counts);
    // the model on the same tokens (the trainer's number, checked against the engine above)
    expect(rec.testPpl).toBeLessThan(unigram / 4);
    expect(rec.heldoutPpl).toBeLessThan(full / 4);
  });

  it('greedy continuation of "And God said" is made of KJV words (default model, no path)', async () => {
    const words = new Set(fs.readFileSync(path.join(FIXTURES, 'words.txt'), 'utf8').split('\n').filter(Boolean));
    const engine = await InferenceEngine.load();
    try {
      expect(engine.modelPath).toBe(defaultModelPath());
      const r = await engine.generate('And God said', { maxNewTokens: 48, temperature: 0, repetitionPenalty: 1 });
      expect(r.tokenIds.length).toBe(48);
      const generated = (r.text.match(/[A-Za-z]+/g) ?? []).map((w) => w.toLowerCase());
      expect(generated.length).toBeGreaterThanOrEqual(20);
      const known = generated.filter((w) => words.has(w)).length;
      expect(known / generated.length).toBeGreaterThanOrEqual(0.9);
    } finally {
      await engine.close();
    }
  });

  it('the TQ2_0 export gives the same held-out perplexity within 1% (llama.cpp-style Q8_K activations)', () => {
    const tq = PerplexityEvaluator.load(TQ2_0_MODEL);
    const windows = 2;
    const a = tq.evaluateIds(heldoutIds, { maxWindows: windows });
    const b = evaluator.evaluateIds(heldoutIds, { maxWindows: windows });
    expect(Math.abs(a.perplexity / b.perplexity - 1)).toBeLessThan(0.01);
  });
});

describe('bitnet-perplexity', () => {
  it('prints token count and perplexity as JSON (default model)', async () => {
    let out = '';
    const code = await perplexityCli(['--file', HELDOUT, '--max-windows', '2', '--json'], (s) => (out += s));
    expect(code).toBe(0);
    const j = JSON.parse(out);
    expect(j.tokens).toBe(2 * (evaluator.weights.config.contextLength - 1));
    expect(j.text_tokens).toBe(rec.heldoutTokens);
    expect(j.perplexity).toBeGreaterThan(1);
    expect(j.perplexity).toBeLessThan(rec.heldoutPpl * 3);
  });

  it('--output-q8 scores with the Q8_0 output matrix: reported, and within 1% of the exact perplexity', async () => {
    const run = async (extra: string[]) => {
      let out = '';
      expect(await perplexityCli(['--file', HELDOUT, '--max-windows', '2', '--json', ...extra], (s) => (out += s))).toBe(0);
      return JSON.parse(out);
    };
    const [exact, q8] = [await run([]), await run(['--output-q8'])];
    expect([exact.output_type, q8.output_type]).toEqual(['exact', 'q8_0']);
    expect(q8.tokens).toBe(exact.tokens);
    expect(q8.perplexity).not.toBe(exact.perplexity);
    expect(Math.abs(q8.perplexity / exact.perplexity - 1)).toBeLessThan(0.01);
  });

  it('prints plain text without --json', async () => {
    let out = '';
    await perplexityCli(['--file', HELDOUT, '--max-windows', '1', '--window', '32'], (s) => (out += s));
    expect(out).toMatch(/^tokens: 32 \(of \d+\)\nwindows: 1 of 32 tokens\nperplexity: \d+\.\d{4}\n$/);
  });
});
