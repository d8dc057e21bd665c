#!/usr/bin/env node
/**
 * Writes a synthetic BitNet GGUF of any shape with seeded random ternary weights and a real vocabulary.
 *
 *   npx nx run tools:make-model -- --arch bitnet --quant tq2_0 --dim 256 --ff 512 --layers 2 \
 *       --heads 4 --kv-heads 2 --vocab llama3 --seed 1 --out /tmp/tiny.gguf
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { GgmlType, buildSyntheticModel, llama3Vocab, smallByteVocab } from '@bitnet/models';

const USAGE = `usage: make-model --arch bitnet|bitnet-b1.58 --quant i2_s|tq1_0|tq2_0 --dim N --ff N --layers N --heads N
                  --kv-heads N --vocab llama3|small --seed N --out FILE.gguf [--ctx N] [--embedding f16|f32|bf16|q8_0|q4_k|q6_k]
                  [--output f16|q8_0|q6_k|...] [--no-pre] [--name NAME]`;

const TYPES: Record<string, GgmlType> = {
  f32: GgmlType.F32, f16: GgmlType.F16, bf16: GgmlType.BF16, q8_0: GgmlType.Q8_0, q4_k: GgmlType.Q4_K, q6_k: GgmlType.Q6_K,
};

function int(name: string, v: string | undefined, fallback?: number): number {
  if (v === undefined) {
    if (fallback !== undefined) return fallback;
    throw new Error(`--${name} is required`);
  }
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got '${v}'`);
  return n;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      arch: { type: 'string' }, quant: { type: 'string' }, dim: { type: 'string' }, ff: { type: 'string' },
      layers: { type: 'string' }, heads: { type: 'string' }, 'kv-heads': { type: 'string' }, vocab: { type: 'string', default: 'small' },
      seed: { type: 'string', default: '1' }, out: { type: 'string' }, ctx: { type: 'string' }, embedding: { type: 'string', default: 'f16' },
      output: { type: 'string' }, 'no-pre': { type: 'boolean' }, name: { type: 'string' }, help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!values.out) throw new Error('--out is required');
  const arch = values.arch ?? 'bitnet-b1.58';
  if (arch !== 'bitnet' && arch !== 'bitnet-b1.58' && arch !== 'bitnet-25') throw new Error(`--arch must be bitnet or bitnet-b1.58, got '${arch}'`);
  const quant = values.quant ?? (arch === 'bitnet' ? 'tq2_0' : 'i2_s');
  if (quant !== 'i2_s' && quant !== 'tq1_0' && quant !== 'tq2_0') throw new Error(`--quant must be i2_s, tq1_0 or tq2_0, got '${quant}'`);
  const vocab = values.vocab === 'llama3' ? llama3Vocab({ pre: values['no-pre'] ? undefined : 'llama-bpe' }) : values.vocab === 'small' ? smallByteVocab() : undefined;
  if (!vocab) throw new Error(`--vocab must be llama3 or small, got '${values.vocab}'`);
  const typeOf = (flag: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const t = TYPES[v.toLowerCase()];
    if (t === undefined) throw new Error(`--${flag} must be one of ${Object.keys(TYPES).join(', ')}, got '${v}'`);
    return t;
  };
  const heads = int('heads', values.heads);
  const writer = buildSyntheticModel({
    arch,
    quant,
    dim: int('dim', values.dim),
    ff: int('ff', values.ff),
    layers: int('layers', values.layers),
    heads,
    kvHeads: int('kv-heads', values['kv-heads'], heads),
    vocab,
    seed: int('seed', values.seed),
    contextLength: values.ctx === undefined ? undefined : int('ctx', values.ctx),
    embeddingType: typeOf('embedding', values.embedding),
    outputType: typeOf('output', values.output),
    name: values.name,
  });
  const out = path.resolve(values.out);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const t0 = Date.now();
  writer.writeFile(out);
  console.log(`wrote ${out} (${(fs.statSync(out).size / 1e6).toFixed(2)} MB) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

try {
  main();
} catch (e) {
  console.error(`make-model: ${(e as Error).message}\n${USAGE}`);
  process.exitCode = 2;
}
