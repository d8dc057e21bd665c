import { BitnetModelError } from '../errors';
import { gguf } from '../gguf/GgufMetadata';
import { GgufWriter } from '../gguf/GgufWriter';
import { GgmlType } from '../tensor/GgmlType';
import { quantize, quantizeTernary } from '../tensor/TensorCodec';
import { ARCHITECTURE_ALIASES } from '../model/ModelConfig';
import { LAYER_MATMULS } from '../model/ModelTensors';
import { SeededRandom } from './Random';
import { SyntheticVocab } from './SyntheticVocab';

/** The ternary types a synthetic model's projections can be written in. */
export type TernaryQuant = 'i2_s' | 'tq1_0' | 'tq2_0';

/** The shape, quantization, vocabulary and seed of a synthetic model. */
export interface SyntheticModelOptions {
  /** `bitnet-b1.58` (ReLU², I2_S-style, bitnet.cpp) or `bitnet` (SiLU, `.scale` tensors, llama.cpp). */
  arch: 'bitnet-b1.58' | 'bitnet-25' | 'bitnet';
  quant: TernaryQuant;
  dim: number;
  ff: number;
  layers: number;
  heads: number;
  kvHeads: number;
  vocab: SyntheticVocab;
  seed: number;
  contextLength?: number;
  ropeFreqBase?: number;
  rmsNormEps?: number;
  /** Type of `token_embd.weight` (default F16, as in the 2B4T file). */
  embeddingType?: GgmlType;
  /** Write a separate `output.weight` of this type instead of tying it to the embedding. */
  outputType?: GgmlType;
  /** Write `blk.N.<matmul>.scale` tensors (default: true for `bitnet`, false otherwise). */
  scales?: boolean;
  name?: string;
}

const QUANT_TYPES: Record<TernaryQuant, GgmlType> = { i2_s: GgmlType.I2_S, tq1_0: GgmlType.TQ1_0, tq2_0: GgmlType.TQ2_0 };

/**
 * Builds a complete BitNet GGUF with seeded random ternary weights and the given vocabulary.
 * Tensor data are produced lazily while the file is written, so large shapes (2B4T) never sit in
 * memory all at once. The same options always give the same bytes.
 */
export function buildSyntheticModel(o: SyntheticModelOptions): GgufWriter {
  validate(o);
  const arch = o.arch;
  const family = ARCHITECTURE_ALIASES[arch];
  const wtype = QUANT_TYPES[o.quant];
  const headDim = o.dim / o.heads;
  const kvDim = headDim * o.kvHeads;
  const vocabSize = o.vocab.tokens.length;
  const w = new GgufWriter();
  w.set('general.architecture', gguf.str(arch));
  w.set('general.name', gguf.str(o.name ?? `synthetic-${arch}-${o.quant}-${o.dim}x${o.layers}`));
  w.set('general.description', gguf.str(`Synthetic BitNet model with seeded random ternary weights (seed ${o.seed}); not trained`));
  // llama.cpp's file-type ids for "mostly TQ1_0 / TQ2_0" (display only); I2_S has none upstream.
  if (o.quant !== 'i2_s') w.set('general.file_type', gguf.u32(o.quant === 'tq1_0' ? 36 : 37));
  w.set('general.quantization_version', gguf.u32(2));
  w.set(`${arch}.context_length`, gguf.u32(o.contextLength ?? 2048));
  w.set(`${arch}.embedding_length`, gguf.u32(o.dim));
  w.set(`${arch}.block_count`, gguf.u32(o.layers));
  w.set(`${arch}.feed_forward_length`, gguf.u32(o.ff));
  w.set(`${arch}.attention.head_count`, gguf.u32(o.heads));
  w.set(`${arch}.attention.head_count_kv`, gguf.u32(o.kvHeads));
  w.set(`${arch}.rope.freq_base`, gguf.f32(o.ropeFreqBase ?? 500000));
  w.set(`${arch}.rope.dimension_count`, gguf.u32(headDim));
  w.set(`${arch}.attention.layer_norm_rms_epsilon`, gguf.f32(o.rmsNormEps ?? 1e-5));
  w.set(`${arch}.vocab_size`, gguf.u32(vocabSize));
  writeVocab(w, o.vocab);

  // Every tensor draws from its own stream, seeded by the model seed and the tensor's name.
  const rng = (tensor: string) => new SeededRandom(hashName(o.seed, tensor));
  const embType = o.embeddingType ?? GgmlType.F16;
  const embStd = 2 / Math.sqrt(o.dim); // logits of a unit-RMS hidden state come out with std ≈ 2
  w.addTensor('token_embd.weight', [o.dim, vocabSize], embType, () => quantize(embType, gaussian(rng('token_embd.weight'), o.dim * vocabSize, embStd), o.dim));
  w.addTensor('output_norm.weight', [o.dim], GgmlType.F32, () => f32Bytes(normWeights(rng('output_norm.weight'), o.dim)));
  if (o.outputType !== undefined) {
    const t = o.outputType;
    w.addTensor('output.weight', [o.dim, vocabSize], t, () => quantize(t, gaussian(rng('output.weight'), o.dim * vocabSize, embStd), o.dim));
  }
  const shapes: Record<(typeof LAYER_MATMULS)[number], [number, number]> = {
    attn_q: [o.dim, o.dim],
    attn_k: [o.dim, kvDim],
    attn_v: [o.dim, kvDim],
    attn_output: [o.dim, o.dim],
    ffn_gate: [o.dim, o.ff],
    ffn_up: [o.dim, o.ff],
    ffn_down: [o.ff, o.dim],
  };
  const withScales = o.scales ?? family === 'bitnet';
  for (let i = 0; i < o.layers; i++) {
    const b = `blk.${i}.`;
    for (const [norm, n] of [['attn_norm', o.dim], ['attn_sub_norm', o.dim], ['ffn_norm', o.dim], ['ffn_sub_norm', o.ff]] as const) {
      const name = `${b}${norm}.weight`;
      w.addTensor(name, [n], GgmlType.F32, () => f32Bytes(normWeights(rng(name), n)));
    }
    for (const mm of LAYER_MATMULS) {
      const [cols, rows] = shapes[mm];
      const name = `${b}${mm}.weight`;
      // Scale so a unit-variance input gives roughly unit-variance output (2/3 of weights are non-zero).
      const scale = Math.fround(1 / Math.sqrt((2 / 3) * cols));
      w.addTensor(name, [cols, rows], wtype, () => quantizeTernary(wtype as never, randomTrits(rng(name), cols * rows), scale, cols));
      if (withScales) {
        const s = Math.fround(0.75 + 0.5 * rng(`${b}${mm}.scale`).next());
        w.addTensor(`${b}${mm}.scale`, [1], GgmlType.F32, f32Bytes(Float32Array.of(s)));
      }
    }
  }
  return w;
}

function writeVocab(w: GgufWriter, v: SyntheticVocab): void {
  w.set('tokenizer.ggml.model', gguf.str(v.model));
  if (v.pre !== undefined) w.set('tokenizer.ggml.pre', gguf.str(v.pre));
  w.set('tokenizer.ggml.tokens', gguf.strings(v.tokens));
  w.set('tokenizer.ggml.token_type', gguf.i32s(v.tokenTypes));
  if (v.scores) w.set('tokenizer.ggml.scores', gguf.f32s(v.scores));
  if (v.merges) w.set('tokenizer.ggml.merges', gguf.strings(v.merges));
  w.set('tokenizer.ggml.bos_token_id', gguf.u32(v.bosId));
  w.set('tokenizer.ggml.eos_token_id', gguf.u32(v.eosId));
  if (v.eotId !== undefined) w.set('tokenizer.ggml.eot_token_id', gguf.u32(v.eotId));
  w.set('tokenizer.ggml.add_bos_token', gguf.bool(v.addBos ?? true));
  if (v.chatTemplate !== undefined) w.set('tokenizer.chat_template', gguf.str(v.chatTemplate));
}

function validate(o: SyntheticModelOptions): void {
  const bad = (msg: string) => new BitnetModelError('BAD_ARGUMENT', msg);
  if (!(o.arch in ARCHITECTURE_ALIASES)) throw bad(`arch must be one of ${Object.keys(ARCHITECTURE_ALIASES).join(', ')}`);
  if (!(o.quant in QUANT_TYPES)) throw bad(`quant must be one of ${Object.keys(QUANT_TYPES).join(', ')}`);
  for (const k of ['dim', 'ff', 'layers', 'heads', 'kvHeads', 'seed'] as const) {
    if (!Number.isInteger(o[k]) || o[k] < (k === 'seed' ? 0 : 1)) throw bad(`${k} must be a positive integer, got ${o[k]}`);
  }
  const block = o.quant === 'i2_s' ? 128 : 256;
  if (o.dim % block !== 0 || o.ff % block !== 0) throw bad(`dim and ff must be multiples of ${block} for ${o.quant}`);
  if (o.dim % o.heads !== 0 || o.heads % o.kvHeads !== 0) throw bad(`heads must divide dim, and kvHeads must divide heads`);
  if ((o.dim / o.heads) % 2 !== 0) throw bad(`the head size dim/heads must be even for RoPE`);
}

/** FNV-1a over the name, mixed with the seed. */
function hashName(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

function randomTrits(r: SeededRandom, n: number): Int8Array {
  const t = new Int8Array(n);
  for (let i = 0; i < n; i++) t[i] = (r.nextU32() % 3) - 1;
  return t;
}

function gaussian(r: SeededRandom, n: number, std: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = r.normal() * std;
  return out;
}

function normWeights(r: SeededRandom, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = 1 + 0.1 * (r.next() - 0.5);
  return out;
}

function f32Bytes(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
