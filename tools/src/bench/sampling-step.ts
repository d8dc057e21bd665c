#!/usr/bin/env node
/**
 * `node tools/dist/bench/sampling-step.js model.gguf [--batch 8] [--rounds 6] [--steps 12]`: what the
 * sampler costs in a batched decode step, with the samplers' kernels native (as the engine gives them)
 * and in TypeScript, measured in one process.
 *
 * Each round prefills `batch` sequences (32 ids each), then runs `steps` decode steps of all of them,
 * each followed by every sequence's draw, once with samplers built with the native kernels and once
 * without (the TypeScript argmax / weighLogits), for greedy and for OpenAI's sampling (temperature 1,
 * top-k off, top-p 1): the settings alternate within a round, so the machine's bandwidth drift falls on
 * all of them alike; the ratio column is the median of each round's step time over the TypeScript one's.
 */
import { ForwardPass, KvCache, Sampler, type SamplerSettings } from '@bitnet/inference';
import { loadNative, median, positiveInt, readBenchArgs } from './benchCli';

const USAGE = 'sampling-step model.gguf [--batch 8] [--rounds 6] [--steps 12]';

function parseArgs(argv: string[]) {
  const { file, values } = readBenchArgs(argv, ['--batch', '--rounds', '--steps'], USAGE);
  return { file, batch: positiveInt(values, '--batch', 8), rounds: positiveInt(values, '--rounds', 6), steps: positiveInt(values, '--steps', 12) };
}

const SETTINGS: Record<string, Omit<SamplerSettings, 'seed'>> = {
  greedy: { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1 },
  'OpenAI (T 1, top-k off)': { temperature: 1, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1 },
};

function main(): void {
  const o = parseArgs(process.argv.slice(2));
  const { kernels, weights } = loadNative(o.file, 'sampling-step');
  const fp = new ForwardPass(weights, kernels, { reuseLogits: true });
  const prompt = (s: number) => Array.from({ length: 32 }, (_, i) => 1000 + ((i * 7919 + s * 104729) % 100000));
  const times = new Map<string, number[]>();
  for (let r = 0; r < o.rounds; r++)
    for (const [name, settings] of Object.entries(SETTINGS))
      for (const native of [false, true]) {
        const caches = Array.from({ length: o.batch }, (_, i) => {
          const c = new KvCache(weights.config, 32 + o.steps + 1);
          fp.run(c, prompt(r * o.batch + i));
          return c;
        });
        const samplers = caches.map((_, i) => new Sampler({ ...settings, seed: i + 1 }, native ? { kernels } : {}));
        let last = caches.map((_, i) => 500 + i);
        const t0 = performance.now();
        for (let s = 0; s < o.steps; s++) {
          const logits = fp.decodeBatch(caches, last);
          last = samplers.map((sampler, i) => sampler.sample(logits[i]));
        }
        const key = `${name}|${native ? 'native' : 'TypeScript'}`;
        times.set(key, [...(times.get(key) ?? []), (performance.now() - t0) / o.steps]);
        for (const c of caches) c.release();
      }
  console.log(`${o.file}: ${o.rounds} rounds × ${o.steps} decode steps of ${o.batch} sequences, ${kernels.isa}, ${kernels.threads} threads (ms per step with every sequence's draw, medians over rounds)\n`);
  console.log('| sampling | samplers\' kernels | step ms | vs TypeScript |');
  console.log('|---|---|---|---|');
  for (const name of Object.keys(SETTINGS)) {
    const ts = times.get(`${name}|TypeScript`)!;
    for (const kind of ['TypeScript', 'native']) {
      const t = times.get(`${name}|${kind}`)!;
      console.log(`| ${name} | ${kind} | ${median(t).toFixed(1)} | ${median(t.map((x, i) => x / ts[i])).toFixed(3)} |`);
    }
  }
}

main();
