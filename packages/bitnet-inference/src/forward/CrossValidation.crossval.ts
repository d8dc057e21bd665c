/**
 * Cross-validation against llama.cpp (node-llama-cpp in a child process): models from the project's
 * model maker, architecture `bitnet`, TQ2_0 and TQ1_0, the LLaMA-3 vocabulary, GQA ratios 1/2/4 and
 * head sizes 64/128, 2 layers, 10 prompts each.
 * Asserted (issue 4): the greedy ids of 64 tokens are identical on ≥ 9 of 10 prompts per model, and the
 * last prompt position's logits have cosine ≥ 0.999 on every prompt. The kernels reproduce the f32
 * arithmetic of ggml's x86 CPU backend (the `haswell` build node-llama-cpp loads on AVX2 machines)
 * operation for operation — see @bitnet/kernels' Kernels.ts — so the decode steps' arithmetic is
 * llama.cpp's bit for bit. The prompt is not: ForwardPass runs attention one query row at a time (the
 * kernel's single-token formula) so that chunking never changes a row's bits, where llama.cpp uses its
 * batch formula (tinyBLAS) for a prompt of ≥ 2 tokens, so the logits may differ from llama.cpp's in
 * the last bits (the ids and cosine asserted here allow for that). A machine where llama.cpp loads another CPU variant (AVX-512: different vector
 * widths and reductions) would need that variant's arithmetic.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GgufFile, SyntheticModelOptions, Tokenizer, createTokenizer } from '@bitnet/models';
import { cosine, runLlamaCpp } from '@bitnet/models/testing';
import { createKernels } from '@bitnet/kernels';
import { loadBitnetWeights } from '../model/BitnetWeights';
import { KvCache } from '../model/KvCache';
import { argmax } from '../sampling/Sampler';
import { ForwardPass } from './ForwardPass';

const PROMPTS = [
  'In the beginning God created the heaven and the earth.',
  'The quick brown fox jumps over the lazy dog',
  'function add(a, b) { return a + b; }',
  'Once upon a time, in a land far away,',
  'BitNet b1.58 uses ternary weights: -1, 0 and +1.',
  'Le soleil se lève à l’est et se couche à l’ouest.',
  '1, 2, 3, 5, 8, 13, 21,',
  'Q: What is the capital of France?\nA:',
  '東京は日本の首都です。',
  '<|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|>',
];
/**
 * Writes a synthetic model (LLaMA-3 vocabulary) from a plain Node process with @bitnet/models' build
 * output: the seeded Gaussian embedding (128256 × dim values) takes ~20× longer inside jest's VM
 * context than outside it (minutes per model instead of seconds).
 */
function writeModel(file: string, options: Omit<SyntheticModelOptions, 'vocab'>): void {
  const script =
    "const m = require('@bitnet/models');" +
    "m.buildSyntheticModel({ ...JSON.parse(process.argv[1]), vocab: m.llama3Vocab({ pre: 'llama-bpe' }) }).writeFile(process.argv[2]);";
  const r = spawnSync(process.execPath, ['-e', script, JSON.stringify(options), file], { cwd: path.resolve(__dirname, '../../../..'), stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`writing ${file} failed (exit ${r.status}); is @bitnet/models built (nx run bitnet-models:build)?`);
}

const NEW_TOKENS = 64;
const LAYERS = 2;
/** BITNET_CROSSVAL_PROMPTS=0,3,7 runs only those prompts (while iterating; the assertions need all 10). */
const PROMPT_SUBSET = process.env.BITNET_CROSSVAL_PROMPTS?.split(',').map(Number);


// Part of the default test run with the native kernels. The TypeScript kernels compute the same bits
// (the kernel tests compare them with the native ones bit for bit) but would take far longer here:
// with BITNET_KERNELS=ts this runs only when BITNET_CROSSVAL=1 asks for it.
const RUN = createKernels().name === 'native' || process.env.BITNET_CROSSVAL === '1';
/**
 * The kernels follow the arithmetic of ggml's `haswell` CPU build, the one node-llama-cpp loads on
 * x86 machines with AVX2 but without AVX-512. On an AVX-512 machine it loads another build (16-lane
 * reductions), whose last bits differ: there the ids are compared and reported but only the logits'
 * cosine is asserted.
 */
const ORACLE_IS_HASWELL_BUILD = !(fs.existsSync('/proc/cpuinfo') && /\bavx512f\b/.test(fs.readFileSync('/proc/cpuinfo', 'utf8'))) && process.arch === 'x64';
const TIMEOUT_MS = 900_000;

(RUN ? describe : describe.skip)('cross-validation against llama.cpp (bitnet arch, LLaMA-3 vocabulary)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bitnet-crossval-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const models: Array<[string, Partial<SyntheticModelOptions>]> = [
    ['TQ2_0 GQA 1 head 64', { quant: 'tq2_0', dim: 256, heads: 4, kvHeads: 4, ff: 512 }],
    ['TQ1_0 GQA 2 head 64', { quant: 'tq1_0', dim: 256, heads: 4, kvHeads: 2, ff: 768 }],
    ['TQ2_0 GQA 4 head 128', { quant: 'tq2_0', dim: 512, heads: 4, kvHeads: 1, ff: 768 }],
    ['TQ1_0 GQA 2 head 128', { quant: 'tq1_0', dim: 512, heads: 4, kvHeads: 2, ff: 512 }],
  ];

  it.each(models)('%s', (name, opts) => {
    const t0 = Date.now();
    const file = path.join(dir, `${name.replace(/\W+/g, '-')}.gguf`);
    writeModel(file, { arch: 'bitnet', quant: 'tq2_0', dim: 256, ff: 512, heads: 4, kvHeads: 2, seed: 17, contextLength: 512, layers: LAYERS, ...opts });
    const f = GgufFile.open(file);
    const tokenizer: Tokenizer = createTokenizer(f.metadata);
    const weights = loadBitnetWeights(f);
    f.close();
    const prompts = PROMPTS.filter((_, i) => !PROMPT_SUBSET || PROMPT_SUBSET.includes(i)).map((p) =>
      tokenizer.encode(p, { addBos: true, parseSpecial: true }),
    );
    const t1 = Date.now();
    const theirs = runLlamaCpp<{ runs: Array<{ ids: number[]; logits: number[] }> }>({ op: 'crossval', model: file, prompts, maxTokens: NEW_TOKENS }).runs;
    const t2 = Date.now();

    const fp = new ForwardPass(weights, createKernels());
    let identical = 0;
    let firstSame = 0;
    let minCos = 1;
    const report: string[] = [];
    prompts.forEach((prompt, i) => {
      const cache = new KvCache(weights.config, prompt.length + NEW_TOKENS);
      let logits = fp.run(cache, prompt);
      const cos = cosine(logits, theirs[i].logits);
      minCos = Math.min(minCos, cos);
      let maxDiff = 0;
      for (let j = 0; j < logits.length; j++) maxDiff = Math.max(maxDiff, Math.abs(logits[j] - theirs[i].logits[j]));
      expect({ prompt: i, cosineAtLeast0999: cos >= 0.999 }).toEqual({ prompt: i, cosineAtLeast0999: true });
      const ids: number[] = [];
      for (;;) {
        const next = argmax(logits);
        ids.push(next);
        if (ids.length >= NEW_TOKENS || tokenizer.isEndOfGeneration(next)) break;
        logits = fp.run(cache, [next]);
      }
      const same = ids.join() === theirs[i].ids.join();
      if (ids[0] === theirs[i].ids[0]) firstSame++;
      if (same) identical++;
      report.push(
        `prompt ${i}: cosine ${cos.toFixed(6)}, max |Δlogit| ${maxDiff.toExponential(2)}, ids ${same ? 'identical' : `differ at ${ids.findIndex((x, j) => x !== theirs[i].ids[j])}`}`,
      );
    });
    const secs = (a: number, b: number) => ((b - a) / 1000).toFixed(1);
    console.log(
      `${name}: ${identical}/${prompts.length} identical for ${NEW_TOKENS} tokens, min cosine ${minCos.toFixed(6)} ` +
        `(model ${secs(t0, t1)} s, llama.cpp ${secs(t1, t2)} s, ours ${secs(t2, Date.now())} s)\n  ${report.join('\n  ')}`,
    );
    if (!ORACLE_IS_HASWELL_BUILD) {
      console.log(`${name}: llama.cpp runs a non-haswell CPU build here; ids are reported above, not asserted`);
      return;
    }
    expect(firstSame).toBeGreaterThanOrEqual(Math.min(9, prompts.length));
    expect(identical).toBeGreaterThanOrEqual(Math.min(9, prompts.length));
  }, TIMEOUT_MS);
});
