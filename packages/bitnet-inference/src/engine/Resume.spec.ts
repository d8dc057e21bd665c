/**
 * GenerateOptions.resume: a generation resumed from the ids of the first k pieces of an
 * uninterrupted run yields exactly that run's pieces k.. (ids and texts) and its finishReason — with
 * sampling (temperature, top-k, top-p, repetition penalty, a seed), a stop string that truncates the
 * run, a multi-byte character split across tokens at the resume point, and prefill chunks of 4 and
 * 64 (the resumed ids are prefilled, while the original run decoded them one at a time).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildSyntheticModel, smallByteVocab } from '@bitnet/models';
import type { GenerationConfig } from '../config/GenerationConfig';
import { ConfigError } from '../errors/InferenceError';
import type { TokenPiece } from '../streaming/TokenPieces';
import { type GenerationResult, collectGeneration } from './Generation';
import { InferenceEngine } from './InferenceEngine';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bitnet-resume-'));
const modelPath = path.join(dir, 'tiny.gguf');
const PROMPT = 'In the beginning — café, naïve: ';
const SAMPLED: Partial<GenerationConfig> = { maxNewTokens: 64, temperature: 0.8, topK: 40, topP: 0.95, repetitionPenalty: 1.1 };
const engines: Array<[string, InferenceEngine]> = [];

beforeAll(async () => {
  // the server tests' tiny model: a byte-level vocabulary, so multi-byte characters span tokens
  buildSyntheticModel({ arch: 'bitnet-b1.58', quant: 'i2_s', dim: 256, ff: 512, layers: 2, heads: 4, kvHeads: 2, vocab: smallByteVocab(), seed: 9, contextLength: 512 }).writeFile(modelPath);
  for (const chunk of [4, 64]) engines.push([`chunks of ${chunk}`, await InferenceEngine.load(modelPath, { maxChunkTokens: chunk })]);
}, 60_000);
afterAll(async () => {
  for (const [, e] of engines) await e.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A small buffer, so responses group pieces differently in the two runs (only the pieces matter). */
function run(engine: InferenceEngine, config: Partial<GenerationConfig>, resume?: number[]): Promise<GenerationResult> {
  return collectGeneration(engine.generateStreamWithConfig(PROMPT, config, { bufferSize: 3 }, resume ? { resume } : {}));
}

/** Indices i where piece i - 1 only began a character ('') and piece i completes a real (non-ASCII, not U+FFFD) one. */
function splitPoints(pieces: readonly TokenPiece[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < pieces.length; i++) {
    const c = pieces[i].text.codePointAt(0);
    if (pieces[i - 1].text === '' && c !== undefined && c > 127 && c !== 0xfffd) out.push(i);
  }
  return out;
}

/** Every k: resuming from pieces [0, k) yields pieces [k, n) and the same finishReason. */
async function expectEveryResumeExact(engine: InferenceEngine, config: Partial<GenerationConfig>, full: GenerationResult): Promise<void> {
  const n = full.pieces.length;
  for (let k = 0; k < n; k++) {
    const ids = full.pieces.slice(0, k).map((p) => p.id);
    const r = await run(engine, config, ids);
    const context = `resumed at k=${k} of ${n}`;
    expect({ context, pieces: r.pieces }).toEqual({ context, pieces: full.pieces.slice(k) });
    expect({ context, finishReason: r.finishReason }).toEqual({ context, finishReason: full.finishReason });
    expect(r.tokenIds).toEqual(full.tokenIds.slice(k));
    expect(r.promptIds).toEqual(full.promptIds);
    expect(r.timings.generatedTokens).toBe(n - k);
    expect(r.timings.promptTokens).toBe(full.promptIds.length);
  }
}

/**
 * A seed whose run (without stop strings) has a real split character, and a stop string taken from
 * its text after the split, 3 characters from the start of a later piece (its first occurrence).
 */
async function pickCase(engine: InferenceEngine): Promise<{ config: Partial<GenerationConfig>; stop: string }> {
  for (let seed = 1; seed <= 40; seed++) {
    const r = await run(engine, { ...SAMPLED, seed });
    const split = splitPoints(r.pieces)[0];
    if (split === undefined) continue;
    let offset = 0;
    for (let j = 0; j < r.pieces.length; j++) {
      const stop = r.text.slice(offset, offset + 3);
      if (j > split + 2 && j < r.pieces.length - 4 && stop.length === 3 && r.text.indexOf(stop) === offset && !/[\ud800-\udfff\ufffd]/.test(stop)) {
        return { config: { ...SAMPLED, seed, stopSequences: [stop] }, stop };
      }
      offset += r.pieces[j].text.length;
    }
  }
  throw new Error('no seed gives a split character and a stop string');
}

describe('GenerateOptions.resume', () => {
  it('sampled, with a stop string and a character split at the resume point: every k resumes exactly (chunks of 4 and 64)', async () => {
    const { config, stop } = await pickCase(engines[0][1]);
    const runs = await Promise.all(engines.map(([, e]) => run(e, config)));
    // the chunking does not change the run
    expect(runs[1].pieces).toEqual(runs[0].pieces);
    const full = runs[0];
    expect(full.finishReason).toBe('stop_sequence');
    expect(full.text).not.toContain(stop);
    // the case is covered: some k resumes right after a piece that only began a character
    expect(splitPoints(full.pieces).length).toBeGreaterThan(0);
    for (const [, engine] of engines) await expectEveryResumeExact(engine, config, full);
  }, 300_000);

  it('greedy (temperature 0), to max_tokens: every k resumes exactly, and max_tokens counts the resumed ids', async () => {
    const config: Partial<GenerationConfig> = { maxNewTokens: 40, temperature: 0, repetitionPenalty: 1.1 };
    const full = await run(engines[0][1], config);
    expect(full.finishReason).toBe('max_tokens');
    expect(full.pieces).toHaveLength(40);
    for (const [, engine] of engines) await expectEveryResumeExact(engine, config, full);
  }, 300_000);

  it('sampled with presence/frequency penalties and a logit bias: every k resumes exactly (the counts are replayed)', async () => {
    const plain: Partial<GenerationConfig> = { ...SAMPLED, repetitionPenalty: 1, maxNewTokens: 24, seed: 11 };
    const config: Partial<GenerationConfig> = { ...plain, presencePenalty: 0.8, frequencyPenalty: 0.6, logitBias: { 70: 2, 71: -100 } };
    const full = await run(engines[0][1], config);
    expect(full.seed).toBe(11);
    expect(full.tokenIds).not.toContain(71);
    // the penalties and bias act: the same seed without them chooses differently
    expect((await run(engines[0][1], plain)).tokenIds).not.toEqual(full.tokenIds);
    for (const [, engine] of engines) await expectEveryResumeExact(engine, config, full);
  }, 300_000);

  it('no seed: each run draws its own and reports it; passing it back (with resume) continues that run', async () => {
    const config: Partial<GenerationConfig> = { ...SAMPLED, maxNewTokens: 12 };
    const a = await run(engines[0][1], config);
    const b = await run(engines[0][1], config);
    expect(a.seed).not.toBe(b.seed);
    const rest = await run(engines[0][1], { ...config, seed: a.seed }, a.tokenIds.slice(0, 5));
    expect(rest.tokenIds).toEqual(a.tokenIds.slice(5));
  }, 60_000);

  it('prefills the resumed ids with the prompt, and reports progress over both', async () => {
    const engine = engines[0][1];
    const full = await run(engine, { ...SAMPLED, seed: 3, maxNewTokens: 12 });
    const resume = full.tokenIds.slice(0, 5);
    const progress: Array<[number, number]> = [];
    const stream = engine.generateStreamWithConfig(PROMPT, { ...SAMPLED, seed: 3, maxNewTokens: 12 }, {}, { resume, onPromptProgress: (d, t) => progress.push([d, t]) });
    const r = await collectGeneration(stream);
    const total = full.promptIds.length + 5;
    expect(progress[0]).toEqual([0, total]);
    expect(progress[progress.length - 1]).toEqual([total, total]);
    expect(stream.generatedIds).toEqual(full.tokenIds.slice(5));
    expect(r.tokenIds).toEqual(full.tokenIds.slice(5));
  });

  it('rejects resume ids that are not in the vocabulary, end the generation, or reach maxNewTokens', () => {
    const engine = engines[0][1];
    const t = engine.tokenizer;
    const bad: Array<[unknown, Partial<GenerationConfig>]> = [
      [[1, 2.5], {}],
      [[-1], {}],
      [[t.vocabSize], {}],
      ['abc', {}],
      [[1, 2, 3], { maxNewTokens: 3 }],
      [[65, t.eosId!], {}],
      [[65, 66], { stopTokenIds: [66] }],
      [[...Buffer.from('xyz')], { stopSequences: ['yz'] }],
    ];
    for (const [resume, config] of bad) {
      let error: unknown;
      try {
        engine.generateStream(PROMPT, { maxNewTokens: 8, ...config }, { resume: resume as number[] });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).field).toBe('resume');
    }
    expect(engine.activeSequences).toBe(0);
  });

  it('checks the context for the prompt plus maxNewTokens, as without resume', () => {
    const engine = engines[0][1];
    const prompt = engine.encodePrompt(PROMPT);
    const fits = 512 - prompt.length;
    expect(() => engine.generateStream(PROMPT, { maxNewTokens: fits + 1 }, { resume: [65] })).toThrow(/context/);
    const s = engine.generateStream(PROMPT, { maxNewTokens: fits }, { resume: [65, 66] });
    s.cancel();
  });
});
