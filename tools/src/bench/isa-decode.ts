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
import { type NativeIsa, argmax } from '@bitnet/kernels';
import { defaultModeAddon } from '@bitnet/kernels/testing';
import { ForwardPass, KvCache } from '@bitnet/inference';
import { loadNative, median, positiveInt, readBenchArgs } from './benchCli';

const USAGE = 'isa-decode model.gguf [--isas avx512,avx512vbmi] [--rounds 8] [--steps 32] [--batch 1]';

function parseArgs(argv: string[]) {
  const { file, values } = readBenchArgs(argv, ['--isas', '--rounds', '--steps', '--batch'], USAGE);
  return {
    file,
    isas: (values.get('--isas')?.split(',') ?? []) as NativeIsa[],
    rounds: positiveInt(values, '--rounds', 8),
    steps: positiveInt(values, '--steps', 32),
    batch: positiveInt(values, '--batch', 1),
  };
}


function main(): void {
  const o = parseArgs(process.argv.slice(2));
  const { kernels, weights } = loadNative(o.file, 'isa-decode');
  const addon = defaultModeAddon();
  if (!addon) throw new Error('isa-decode needs the native addon');
  const available = addon.availableIsas();
  const isas = o.isas.length > 0 ? o.isas : available.slice(-2);
  const missing = isas.filter((isa) => !available.includes(isa));
  if (missing.length > 0) throw new Error(`not available on this CPU: ${missing.join(', ')} (available: ${available.join(', ')})`);

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
