#!/usr/bin/env node
/**
 * `npx nx run bitnet-models:bench` — loads a 2B4T-shaped GGUF (≈1.2 GB, made once with the model
 * maker and kept in the OS temp folder) and prints open time, full tensor read time and peak RSS.
 * Each measurement runs in a fresh child process so peak RSS belongs to the load alone.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GgufFile, buildSyntheticModel, llama3Vocab, readModelConfig, resolveModelTensors } from '@bitnet/models';

const SHAPE = { dim: 2560, ff: 6912, layers: 30, heads: 20, kvHeads: 5 };

function modelPath(quant: 'i2_s' | 'tq2_0'): string {
  const file = path.join(os.tmpdir(), `bitnet-ts-bench-2b4t-${quant}.gguf`);
  if (!fs.existsSync(file)) {
    const t0 = Date.now();
    const arch = quant === 'i2_s' ? 'bitnet-b1.58' : 'bitnet';
    buildSyntheticModel({ arch, quant, ...SHAPE, vocab: llama3Vocab({ pre: 'llama-bpe' }), seed: 1, contextLength: 4096 }).writeFile(file + '.part');
    fs.renameSync(file + '.part', file);
    console.error(`made ${file} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  return file;
}

/** Child mode: open, check, read every tensor (holding them all, as an engine would), report. */
function child(file: string): void {
  const t0 = performance.now();
  const f = GgufFile.open(file);
  const tOpen = performance.now() - t0;
  const config = readModelConfig(f.metadata);
  resolveModelTensors(config, f.tensors);
  const held: Uint8Array[] = [];
  let bytes = 0;
  for (const t of f.tensors) {
    const d = f.tensorData(t);
    held.push(d);
    bytes += d.length;
  }
  const tAll = performance.now() - t0;
  f.close();
  const rss = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(JSON.stringify({ tOpen, tAll, bytes, rss, held: held.length }));
}

function main(): void {
  if (process.argv[2] === '--child') return child(process.argv[3]);
  const rows: string[] = [];
  rows.push('| file | size | open (header+metadata) | open + read all tensors | peak RSS | RSS / file size | target |');
  rows.push('|---|---|---|---|---|---|---|');
  for (const quant of ['i2_s', 'tq2_0'] as const) {
    const file = modelPath(quant);
    const size = fs.statSync(file).size;
    const r = JSON.parse(execFileSync(process.execPath, [__filename, '--child', file], { encoding: 'utf8' }));
    rows.push(
      `| 2B4T-shaped ${quant} | ${(size / 1e9).toFixed(2)} GB | ${r.tOpen.toFixed(0)} ms | ${(r.tAll / 1000).toFixed(2)} s | ` +
        `${(r.rss / 1e9).toFixed(2)} GB | ${(r.rss / size).toFixed(2)} | peak RSS ≤ 1.5 GB: ${r.rss <= 1.5e9 ? 'met' : 'MISSED'} |`,
    );
  }
  console.log(rows.join('\n'));
}

main();
