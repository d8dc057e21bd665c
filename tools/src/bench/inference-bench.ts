#!/usr/bin/env node
/**
 * `npx nx run bitnet-inference:bench` — our InferenceEngine side by side with llama.cpp
 * (node-llama-cpp) on 2B4T-shaped models in I2_S, TQ2_0 and TQ1_0.
 *
 * Makes the models once into a cache folder, then measures every (engine, file) in its own child
 * process (load, prefill/TTFT of a 256-token prompt, decode of 64 tokens against its bandwidth
 * roofline, aggregate throughput of 4 and 8 concurrent streams, memory peaks split into private and
 * file-backed, event-loop delay, and a sequence filling the 4096-token context) and prints the
 * numbers, the ratios ours/llama.cpp and the issue's targets. Writes tools/bench/results/inference-bench.{md,json,png}.
 * Options: see USAGE (options.ts). Not a test: it takes minutes and needs ~4 GB of disk.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { renderChart } from './inference/chart';
import { machineInfo } from './inference/machine';
import { measureLlama } from './inference/measure-llama';
import { measureOurs } from './inference/measure-ours';
import { BenchModel, ensureModel } from './inference/models';
import { BenchOptions, FULL_WORKLOAD, QUICK_WORKLOAD, USAGE, UsageError, parseBenchArgs } from './inference/options';
import { ReportInput, chatTable, compare, longContextTable, renderMarkdown, resultsTable, roofline, targetsTable } from './inference/report';
import { type ChildRequest, type ChildResult, SETTLE_MS, settle } from './inference/workload';

const RESULT_PREFIX = 'INFERENCE-BENCH-RESULT ';
const CHILD_TIMEOUT_MS = 30 * 60_000;
const RESULTS_DIR = path.resolve(__dirname, '../../bench/results');

const log = (s: string) => process.stderr.write(`[bench] ${s}\n`);

/** Child mode: one measurement, its result as one prefixed JSON line on stdout. */
async function child(requestJson: string): Promise<void> {
  const req = JSON.parse(requestJson) as ChildRequest;
  const result = req.engine === 'llama' ? await measureLlama(req) : await measureOurs(req);
  process.stdout.write(`\n${RESULT_PREFIX}${JSON.stringify(result)}\n`);
}

/** Runs one measurement in a fresh Node process (isolated peak RSS), passing its stderr through. */
function runChild(req: ChildRequest): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, BITNET_THREADS: String(req.threads), BITNET_KERNELS: 'native' };
    const p = spawn(process.execPath, [__filename, '--child', JSON.stringify(req)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.setEncoding('utf8');
    p.stdout.on('data', (d: string) => (out += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    p.on('error', reject);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
      if (code === 0 && line) resolve(JSON.parse(line.slice(RESULT_PREFIX.length)) as ChildResult);
      else reject(new Error(`measurement process ended with ${signal ?? `code ${code}`}${line ? '' : ' and no result'}`));
    });
  });
}

async function main(opts: BenchOptions): Promise<void> {
  const t0 = performance.now();
  const workload = opts.quick ? QUICK_WORKLOAD : FULL_WORKLOAD;
  // the parent probes the bandwidth with our pool: same thread count as the children
  process.env.BITNET_THREADS = String(opts.threads);

  const oursAny = opts.engines.some((e) => e !== 'llama');
  const wanted = opts.types.filter((t) => oursAny || t !== 'i2_s');
  if (opts.engines.includes('llama') && opts.types.includes('i2_s') && !oursAny) log('llama.cpp cannot load I2_S: skipping it');
  const models: BenchModel[] = wanted.map((t) => ensureModel(t, opts.dir, opts.tmpModels, log));

  const machine = machineInfo(models[0]?.file);
  log(`${machine.cpuModel}, ${machine.cores} CPUs, ${machine.kernelIsa}, bandwidth ${machine.bandwidthGBs?.toFixed(1) ?? '?'} GB/s, load ${machine.loadAverage[0].toFixed(2)}`);

  const results: ChildResult[] = [];
  const failures: ReportInput['failures'] = [];
  for (const m of models) {
    for (const engine of opts.engines) {
      if (engine === 'llama' && m.type === 'i2_s') continue; // llama.cpp has no I2_S; ours is compared with its TQ2_0
      const settleMs = opts.quick ? 0 : SETTLE_MS;
      await settle(settleMs);
      const tm = performance.now();
      log(`${engine} ${m.type}: measuring …`);
      try {
        const longContext = opts.longContext === 'all' || (opts.longContext === 'ours' && engine !== 'llama');
        // the multi-turn chat (issue 18) on the exact I2_S engine: the prompt-cache case
        const chat = engine === 'ours' && m.type === 'i2_s';
        const r = await runChild({ engine, type: m.type, file: m.file, threads: opts.threads, computeNice: opts.computeNice, workload, longContext, chat, settleMs });
        results.push(r);
        log(`${engine} ${m.type}: done in ${((performance.now() - tm) / 1000).toFixed(0)} s (decode ${r.decode.tokS.toFixed(1)} tok/s)`);
      } catch (e) {
        failures.push({ engine, type: m.type, error: (e as Error).message });
        log(`${engine} ${m.type}: FAILED: ${(e as Error).message}`);
      }
    }
  }

  const report: ReportInput = {
    machine,
    threads: opts.threads,
    quick: opts.quick,
    workload,
    models: models.map(({ type, arch, file, bytes, source, madeSeconds }) => ({ type, arch, file, bytes, source, madeSeconds })),
    results,
    failures,
    totalSeconds: (performance.now() - t0) / 1000,
  };
  const bandwidth = machine.bandwidthGBs;
  const comparisons = compare(results, bandwidth);
  const long = longContextTable(results);
  const chat = chatTable(results);
  console.log(`\n${resultsTable(results, bandwidth)}\n${long ? `\n${long}\n` : ''}${chat ? `\n${chat}\n` : ''}\n${targetsTable(comparisons)}\n`);
  for (const f of failures) console.log(`FAILED ${f.engine} ${f.type}: ${f.error}`);
  if (opts.output) {
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    const base = path.join(RESULTS_DIR, 'inference-bench');
    fs.writeFileSync(`${base}.md`, renderMarkdown(report));
    const withRoofline = results.map((r) => ({ ...r, roofline: roofline(r, bandwidth) }));
    fs.writeFileSync(`${base}.json`, JSON.stringify({ ...report, results: withRoofline, comparisons }, null, 2) + '\n');
    fs.writeFileSync(`${base}.png`, renderChart(comparisons, { quick: opts.quick, cpu: machine.cpuModel, date: machine.date.slice(0, 10) }));
    console.log(`wrote ${base}.md, .json and .png`);
  }
  if (failures.length) process.exitCode = 1;
}

if (process.argv[2] === '--child') {
  child(process.argv[3]).catch((e) => {
    console.error(`[bench child] ${(e as Error).stack ?? e}`);
    process.exit(1);
  });
} else {
  let opts: BenchOptions | undefined;
  try {
    opts = parseBenchArgs(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`inference-bench: ${e.message}\n${USAGE}`);
    process.exitCode = 2;
  }
  if (opts?.help) console.log(USAGE);
  else if (opts) {
    main(opts).catch((e) => {
      console.error(`inference-bench: ${(e as Error).stack ?? e}`);
      process.exitCode = 1;
    });
  }
}
