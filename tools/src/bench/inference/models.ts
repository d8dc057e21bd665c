/**
 * The 2B4T-shaped models the inference bench runs: made with the model maker's building block
 * (buildSyntheticModel) into a cache folder and reused while their maker arguments still match
 * (a `<file>.json` sidecar beside each GGUF records them).
 *
 * Architecture: llama.cpp only knows `bitnet` (its name for the SiLU BitNet graph with per-matrix
 * scale tensors); it refuses `bitnet-b1.58` ("unknown model architecture"). So the TQ2_0 and TQ1_0
 * files, which both engines load, are `bitnet`; the I2_S file, which only ours loads, is
 * `bitnet-b1.58` as the real 2B4T I2_S file is. Same shape and vocabulary everywhere.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GgmlType, GgufFile, buildSyntheticModel, llama3Vocab, readModelConfig } from '@bitnet/models';
import type { ModelType } from './options';

/** The shape of BitNet b1.58 2B4T. */
export const SHAPE_2B4T = { dim: 2560, ff: 6912, layers: 30, heads: 20, kvHeads: 5 } as const;
const SEED = 1;
const CONTEXT = 4096;
const VOCAB_SIZE = 128256;

/** Everything that decides a model file's bytes (written to the sidecar and compared on reuse). */
export interface MakerArgs {
  arch: 'bitnet-b1.58' | 'bitnet';
  quant: ModelType;
  dim: number;
  ff: number;
  layers: number;
  heads: number;
  kvHeads: number;
  vocab: 'llama3';
  pre: 'llama-bpe';
  seed: number;
  contextLength: number;
  embedding: 'f16';
  output: 'tied';
}

export function makerArgs(quant: ModelType): MakerArgs {
  return {
    arch: quant === 'i2_s' ? 'bitnet-b1.58' : 'bitnet',
    quant,
    ...SHAPE_2B4T,
    vocab: 'llama3',
    pre: 'llama-bpe',
    seed: SEED,
    contextLength: CONTEXT,
    embedding: 'f16',
    output: 'tied',
  };
}

export interface BenchModel {
  type: ModelType;
  file: string;
  bytes: number;
  arch: string;
  /** Seconds spent making it in this run (0 when reused). */
  madeSeconds: number;
  source: 'made' | 'cache' | 'tmp';
}

const sameArgs = (a: unknown, b: MakerArgs) => JSON.stringify(a) === JSON.stringify(b);

function readSidecar(file: string): { args?: unknown; bytes?: number } | undefined {
  try {
    return JSON.parse(fs.readFileSync(`${file}.json`, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Whether a file without a sidecar (the older models bench's /tmp files) has this shape: checks
 * the header only (architecture, dimensions, vocabulary, type of a layer matrix).
 */
function headerMatches(file: string, args: MakerArgs): boolean {
  let f: GgufFile | undefined;
  try {
    f = GgufFile.open(file);
    const c = readModelConfig(f.metadata);
    const t = f.tensors.find((x) => x.name === 'blk.0.ffn_up.weight');
    const want = { i2_s: GgmlType.I2_S, tq2_0: GgmlType.TQ2_0, tq1_0: GgmlType.TQ1_0 }[args.quant];
    return (
      c.architectureName === args.arch &&
      c.embeddingLength === args.dim &&
      c.feedForwardLength === args.ff &&
      c.blockCount === args.layers &&
      c.headCount === args.heads &&
      c.headCountKv === args.kvHeads &&
      c.vocabSize === VOCAB_SIZE &&
      c.contextLength >= 512 &&
      t?.type === want
    );
  } catch {
    return false;
  } finally {
    f?.close();
  }
}

/** The models bench's older files (made with the same arguments; no sidecar). */
export function tmpModelPath(type: ModelType): string {
  return path.join('/tmp', `bitnet-ts-bench-2b4t-${type}.gguf`);
}

/** Returns the model of this type, making it (≈1.2 GB, about a minute) unless a matching file exists. */
export function ensureModel(type: ModelType, dir: string, useTmp: boolean, log: (s: string) => void): BenchModel {
  const args = makerArgs(type);
  if (useTmp) {
    const tmp = tmpModelPath(type);
    if (fs.existsSync(tmp) && headerMatches(tmp, args)) {
      return { type, file: tmp, bytes: fs.statSync(tmp).size, arch: args.arch, madeSeconds: 0, source: 'tmp' };
    }
    if (fs.existsSync(tmp)) log(`${tmp} does not have the bench's shape; using ${dir}`);
  }
  const file = path.join(dir, `2b4t-${type}.gguf`);
  const side = readSidecar(file);
  if (side && sameArgs(side.args, args) && fs.existsSync(file) && fs.statSync(file).size === side.bytes) {
    return { type, file, bytes: side.bytes, arch: args.arch, madeSeconds: 0, source: 'cache' };
  }
  fs.mkdirSync(dir, { recursive: true });
  log(`making ${file} (${args.arch}, ${type.toUpperCase()}, 2B4T shape; ≈1.2 GB) …`);
  const t0 = performance.now();
  const writer = buildSyntheticModel({
    arch: args.arch,
    quant: type,
    dim: args.dim,
    ff: args.ff,
    layers: args.layers,
    heads: args.heads,
    kvHeads: args.kvHeads,
    vocab: llama3Vocab({ pre: args.pre }),
    seed: args.seed,
    contextLength: args.contextLength,
    embeddingType: GgmlType.F16,
  });
  fs.rmSync(`${file}.json`, { force: true });
  writer.writeFile(`${file}.part`);
  fs.renameSync(`${file}.part`, file);
  const bytes = fs.statSync(file).size;
  fs.writeFileSync(`${file}.json`, JSON.stringify({ args, bytes, madeAt: new Date().toISOString() }, null, 2) + '\n');
  const madeSeconds = (performance.now() - t0) / 1000;
  log(`made ${file} (${(bytes / 1e9).toFixed(2)} GB) in ${madeSeconds.toFixed(1)} s`);
  return { type, file, bytes, arch: args.arch, madeSeconds, source: 'made' };
}
