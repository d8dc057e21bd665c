#!/usr/bin/env node
/**
 * `node tools/dist/bench/isa-decode.js model.gguf [--isas avx512,avx512vbmi] [--rounds 8] [--steps 32] [--batch 1]`:
 * the engine's decode on two (or more) kernel tables, measured in one process on the same weights.
 *
 * Each round decodes `steps` greedy tokens after an 8-token prompt (with --batch N, N sequences in
 * batched steps) once per table, the tables switched between runs with the addon's test hook
 * (setIsaForTests), the order alternating from round to round. The weights stay mapped and in the page
 * cache, so the machine's bandwidth drift (tens of percent within minutes on the VMs we run on) falls on
 * every table alike; the ratio column is the median of each round's tok/s over the first table's in the
 * same round. A bandwidth probe before and after says which kind of minute it was. Every table gives
 * the same tokens (the tables are bit-exact with each other); the tool checks that too.
 */
import { createKernels, kernelBackend } from '@bitnet/kernels';
import { defaultModeAddon } from '@bitnet/kernels/testing';
import type { NativeIsa } from '@bitnet/kernels';
import { ForwardPass, KvCache, WEIGHTS_ONLY_READ, loadBitnetWeights, openWeightsFile } from '@bitnet/inference';

interface Options {
  file: string;
  isas: NativeIsa[];
  rounds: number;
  steps: number;
  batch: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { file: '', isas: [], rounds: 8, steps: 32, batch: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--isas') o.isas = value().split(',') as NativeIsa[];
    else if (a === '--rounds') o.rounds = Number(value());
    else if (a === '--steps') o.steps = Number(value());
    else if (a === '--batch') o.batch = Number(value());
    else if (!a.startsWith('--') && !o.file) o.file = a;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!o.file) throw new Error('usage: isa-decode model.gguf [--isas avx512,avx512vbmi] [--rounds 8] [--steps 32] [--batch 1]');
  if (![o.rounds, o.steps, o.batch].every((v) => Number.isInteger(v) && v >= 1)) throw new Error('rounds, steps, batch: integers ≥ 1');
  return o;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const argmax = (x: Float32Array) => {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
};

function main(): void {
  const o = parseArgs(process.argv.slice(2));
  const addon = defaultModeAddon();
  if (kernelBackend().name !== 'native' || !addon) throw new Error('isa-decode needs the native kernels (the addon is not built)');
  const available = addon.availableIsas();
  const isas = o.isas.length > 0 ? o.isas : available.slice(-2);
  const missing = isas.filter((isa) => !available.includes(isa));
  if (missing.length > 0) throw new Error(`not available on this CPU: ${missing.join(', ')} (available: ${available.join(', ')})`);

  const file = openWeightsFile(o.file, 'native', WEIGHTS_ONLY_READ);
  const kernels = createKernels({ mode: 'native' });
  const weights = loadBitnetWeights(file, { kernels });
  file.close();
  const fp = new ForwardPass(weights, kernels, { reuseLogits: true });
  const prompt = (s: number) => Array.from({ length: 8 }, (_, i) => 1000 + ((i * 7919 + s * 104729) % 100000));

  /** tok/s of one run on the current table, and the tokens it produced (to compare the tables). */
  const run = (): { tokS: number; tokens: number[] } => {
    const caches = Array.from({ length: o.batch }, (_, i) => {
      const c = new KvCache(weights.config, 8 + o.steps + 1);
      fp.run(c, prompt(i));
      return c;
    });
    let last = caches.map((_, i) => 500 + i);
    const tokens: number[] = [];
    const t0 = performance.now();
    for (let s = 0; s < o.steps; s++) {
      if (o.batch === 1) last = [argmax(fp.run(caches[0], last))];
      else last = fp.decodeBatch(caches, last).map(argmax);
      tokens.push(...last);
    }
    const tokS = (o.steps * o.batch) / ((performance.now() - t0) / 1000);
    for (const c of caches) c.release();
    return { tokS, tokens };
  };

  const bwBefore = addon.readBandwidth(1 << 30, 1);
  const rates = new Map<string, number[]>(isas.map((isa) => [isa, []]));
  const ratios = new Map<string, number[]>(isas.map((isa) => [isa, []]));
  let reference: number[] | undefined;
  for (let r = 0; r < o.rounds; r++) {
    const order = r % 2 === 0 ? isas : [...isas].reverse();
    const round = new Map<string, number>();
    for (const isa of order) {
      const prev = addon.setIsaForTests(isa);
      try {
        const { tokS, tokens } = run();
        if (reference === undefined) reference = tokens;
        else if (tokens.join() !== reference.join()) throw new Error(`${isa} produced other tokens than ${isas[0]}: the tables are not bit-exact`);
        round.set(isa, tokS);
      } finally {
        addon.setIsaForTests(prev);
      }
    }
    for (const isa of isas) {
      rates.get(isa)!.push(round.get(isa)!);
      ratios.get(isa)!.push(round.get(isa)! / round.get(isas[0])!);
    }
  }
  const bwAfter = addon.readBandwidth(1 << 30, 1);

  console.log(
    `${o.file}: ${o.rounds} rounds × ${o.steps} greedy decode steps of ${o.batch} sequence(s), ${kernels.threads} threads; ` +
      `bandwidth probe ${bwBefore.toFixed(1)} GB/s before, ${bwAfter.toFixed(1)} after\n`,
  );
  console.log(`| table | tok/s median (min–max) | vs ${isas[0]}, median of per-round ratios (min–max) |`);
  console.log('|---|---|---|');
  for (const isa of isas) {
    const t = rates.get(isa)!;
    const q = ratios.get(isa)!;
    console.log(
      `| ${isa} | ${median(t).toFixed(2)} (${Math.min(...t).toFixed(2)}–${Math.max(...t).toFixed(2)}) | ` +
        `×${median(q).toFixed(3)} (${Math.min(...q).toFixed(3)}–${Math.max(...q).toFixed(3)}) |`,
    );
  }
}

main();
