#!/usr/bin/env node
/**
 * `node tools/dist/bench/decode-profile.js model.gguf [--read-ahead 0,1024] [--rounds 8] [--steps 33]`:
 * where a single-stream decode step's time goes, and what the pool's read-ahead (BITNET_READ_AHEAD_KB)
 * changes, measured in one process.
 *
 * Each round decodes `steps` tokens after an 8-token prompt (the shape of the inference bench's
 * roofline rounds) once per read-ahead budget, the budgets in turn, so that the machine's bandwidth
 * drift (tens of percent within minutes on the VMs we run on) falls on every budget alike; the ratio
 * column is the median of each round's step time over the first budget's in the same round. Every
 * kernel call is timed (a wrapper around the kernels): the matmuls, the small kernels between them
 * (norms, attention, quantization...) and the rest (JavaScript, the wrapper itself).
 */
import type { Kernels } from '@bitnet/kernels';
import { readAheadForTests } from '@bitnet/kernels/testing';
import { ForwardPass, KvCache } from '@bitnet/inference';
import { loadNative, median, positiveInt, readBenchArgs } from './benchCli';

const USAGE = 'decode-profile model.gguf [--read-ahead 0,1024] [--rounds 8] [--steps 33]';

function parseArgs(argv: string[]) {
  const { file, values } = readBenchArgs(argv, ['--read-ahead', '--rounds', '--steps'], USAGE);
  const budgets = (values.get('--read-ahead') ?? '0,1024').split(',').map(Number);
  if (budgets.some((b) => !Number.isInteger(b) || b < 0)) throw new Error('--read-ahead: KB budgets, integers ≥ 0');
  return { file, budgets, rounds: positiveInt(values, '--rounds', 8), steps: positiveInt(values, '--steps', 33) };
}

const MATMULS = new Set(['matmulFloat', 'matmulTernaryMany', 'matmulI2sI8', 'matmulTq2_0Q8K', 'matmulTq1_0Q8K', 'matmulQ8_0Q8_0']);

/** The kernels with every call's time added to `times` (ms by kernel name). */
function timedKernels(k: Kernels, times: Map<string, number>): Kernels {
  return new Proxy(k, {
    get(target, name: string) {
      const v = Reflect.get(target, name) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        const t0 = performance.now();
        const r = (v as (...a: unknown[]) => unknown).apply(target, args);
        times.set(name, (times.get(name) ?? 0) + performance.now() - t0);
        return r;
      };
    },
  });
}

function main(): void {
  const o = parseArgs(process.argv.slice(2));
  const { kernels: raw, weights } = loadNative(o.file, 'decode-profile');
  const times = new Map<string, number>();
  const fp = new ForwardPass(weights, timedKernels(raw, times), { reuseLogits: true });
  const prompt = (r: number) => [1, 2, 3, 4, 5, 6, 7, 8 + r];
  const warm = new KvCache(weights.config, 64);
  fp.run(warm, prompt(100));
  for (let s = 0; s < 8; s++) fp.run(warm, [500 + s]);

  const saved = readAheadForTests().budgetKb;
  const rows = new Map(o.budgets.map((b) => [b, [] as Array<{ step: number; kernels: Map<string, number> }>]));
  try {
    for (let r = 0; r < o.rounds; r++)
      for (const b of o.budgets) {
        readAheadForTests(b);
        const cache = new KvCache(weights.config, 8 + o.steps + 1);
        fp.run(cache, prompt(r));
        times.clear();
        const t0 = performance.now();
        for (let s = 0; s < o.steps; s++) fp.run(cache, [500 + s]);
        const step = (performance.now() - t0) / o.steps;
        rows.get(b)!.push({ step, kernels: new Map([...times].map(([k, v]) => [k, v / o.steps])) });
      }
  } finally {
    readAheadForTests(saved);
  }

  const first = rows.get(o.budgets[0])!;
  console.log(`${o.file}: ${o.rounds} rounds × ${o.steps} decode steps, ${raw.isa}, ${raw.threads} threads (ms per step, medians over rounds)\n`);
  console.log('| read-ahead KB | step | vs first | matmuls | small kernels | rest (JS) | largest small kernels |');
  console.log('|---|---|---|---|---|---|---|');
  for (const b of o.budgets) {
    const rs = rows.get(b)!;
    const part = (pick: (k: string) => boolean) => median(rs.map((x) => [...x.kernels].filter(([k]) => pick(k)).reduce((s, [, v]) => s + v, 0)));
    const mm = part((k) => MATMULS.has(k));
    const small = part((k) => !MATMULS.has(k));
    const names = [...new Set(rs.flatMap((x) => [...x.kernels.keys()]))].filter((k) => !MATMULS.has(k));
    const top = names
      .map((k) => [k, median(rs.map((x) => x.kernels.get(k) ?? 0))] as const)
      .sort((a, c) => c[1] - a[1])
      .slice(0, 4)
      .map(([k, v]) => `${k} ${v.toFixed(2)}`)
      .join(', ');
    const step = median(rs.map((x) => x.step));
    const ratio = median(rs.map((x, i) => x.step / first[i].step));
    console.log(`| ${b} | ${step.toFixed(2)} | ${ratio.toFixed(3)} | ${mm.toFixed(2)} | ${small.toFixed(2)} | ${(step - mm - small).toFixed(2)} | ${top} |`);
  }
}

main();
