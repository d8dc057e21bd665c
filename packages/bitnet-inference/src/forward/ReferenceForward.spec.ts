/**
 * `bitnet-b1.58` (I2_S, ReLU², per-token int8 activations as bitnet.cpp) against an independent slow
 * reference written here: weights dequantized to float64, activations fake-quantized per token, plain
 * float64 arithmetic with exact RoPE angles, rounding to f16 only where bitnet.cpp stores or feeds f16
 * (K and V in the cache, q before q·k, softmax weights before ·v, the hidden state before the F16
 * output matrix). Same greedy ids, logits cosine ≥ 0.999.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GgufFile, buildSyntheticModel, dequantize, f16ToF32, f32ToF16, readModelConfig, resolveModelTensors, smallByteVocab, ModelConfig } from '@bitnet/models';
import { createKernels } from '@bitnet/kernels';
import { loadBitnetWeights } from '../model/BitnetWeights';
import { KvCache } from '../model/KvCache';
import { argmax } from '../sampling/Sampler';
import { ForwardPass } from './ForwardPass';
import { cosine } from '@bitnet/models/testing';

type Mat = { rows: number; cols: number; w: Float64Array };
const r16 = (v: number): number => f16ToF32(f32ToF16(v));

class Reference {
  private readonly keys: Float64Array[][] = [];
  private readonly values: Float64Array[][] = [];
  constructor(
    private readonly c: ModelConfig,
    private readonly t: Record<string, Mat | Float64Array>,
  ) {
    for (let l = 0; l < c.blockCount; l++) {
      this.keys.push([]);
      this.values.push([]);
    }
  }

  private norm(x: Float64Array, w: Float64Array): Float64Array {
    let ss = 0;
    for (const v of x) ss += v * v;
    const s = 1 / Math.sqrt(ss / x.length + this.c.rmsNormEps);
    return x.map((v, i) => v * s * w[i]);
  }

  /** y = W · fakequant(x): per-token absmax int8, as the I2_S path does. */
  private linear(m: Mat, x: Float64Array): Float64Array {
    let amax = 1e-5;
    for (const v of x) amax = Math.max(amax, Math.abs(v));
    const s = 127 / amax;
    const q = x.map((v) => Math.max(-128, Math.min(127, Math.round(v * s))) / s);
    const y = new Float64Array(m.rows);
    for (let r = 0; r < m.rows; r++) {
      let acc = 0;
      for (let k = 0; k < m.cols; k++) acc += m.w[r * m.cols + k] * q[k];
      y[r] = acc;
    }
    return y;
  }

  private rope(v: Float64Array, heads: number, pos: number): void {
    const d = this.c.headDim;
    const half = this.c.ropeDimensionCount / 2;
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < half; i++) {
        const theta = pos * Math.pow(this.c.ropeFreqBase, (-2 * i) / this.c.ropeDimensionCount);
        const a = v[h * d + i];
        const b = v[h * d + i + half];
        v[h * d + i] = a * Math.cos(theta) - b * Math.sin(theta);
        v[h * d + i + half] = a * Math.sin(theta) + b * Math.cos(theta);
      }
    }
  }

  /** Processes one token at position `pos`; returns its logits. */
  step(token: number, pos: number): Float64Array {
    const c = this.c;
    const D = c.embeddingLength;
    const emb = this.t['token_embd.weight'] as Mat;
    let x = emb.w.slice(token * D, (token + 1) * D);
    for (let l = 0; l < c.blockCount; l++) {
      const g = (n: string) => this.t[`blk.${l}.${n}.weight`];
      const n = this.norm(x, g('attn_norm') as Float64Array);
      const q = this.linear(g('attn_q') as Mat, n);
      const k = this.linear(g('attn_k') as Mat, n);
      const v = this.linear(g('attn_v') as Mat, n);
      this.rope(q, c.headCount, pos);
      this.rope(k, c.headCountKv, pos);
      this.keys[l].push(k.map(r16));
      this.values[l].push(v.map(r16));
      const q16 = q.map(r16);
      const att = new Float64Array(D);
      const hd = c.headDim;
      for (let h = 0; h < c.headCount; h++) {
        const kvh = Math.floor(h / (c.headCount / c.headCountKv));
        const scores = this.keys[l].map((kk) => {
          let s = 0;
          for (let i = 0; i < hd; i++) s += q16[h * hd + i] * kk[kvh * hd + i];
          return s / Math.sqrt(hd);
        });
        const mx = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - mx));
        const sum = e.reduce((a, b) => a + b, 0);
        e.forEach((p, j) => {
          for (let i = 0; i < hd; i++) att[h * hd + i] += r16(p / sum) * this.values[l][j][kvh * hd + i];
        });
      }
      const o = this.linear(g('attn_output') as Mat, this.norm(att, g('attn_sub_norm') as Float64Array));
      x = x.map((v2, i) => v2 + o[i]);
      const m = this.norm(x, g('ffn_norm') as Float64Array);
      const gate = this.linear(g('ffn_gate') as Mat, m);
      const up = this.linear(g('ffn_up') as Mat, m);
      const hdn = gate.map((gv, i) => Math.max(gv, 0) ** 2 * up[i]);
      const dn = this.linear(g('ffn_down') as Mat, this.norm(hdn, g('ffn_sub_norm') as Float64Array));
      x = x.map((v2, i) => v2 + dn[i]);
    }
    const h = this.norm(x, this.t['output_norm.weight'] as Float64Array).map(r16);
    const logits = new Float64Array(emb.rows);
    for (let r = 0; r < emb.rows; r++) {
      let acc = 0;
      for (let i = 0; i < D; i++) acc += emb.w[r * D + i] * h[i];
      logits[r] = acc;
    }
    return logits;
  }
}


describe('bitnet-b1.58 / I2_S against an independent float64 reference', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bitnet-ref-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['GQA 2, head 64', { heads: 4, kvHeads: 2 }],
    ['GQA 4, head 32', { heads: 8, kvHeads: 2 }],
  ])('%s: same greedy ids, cosine ≥ 0.999', (_name, shape) => {
    const vocab = smallByteVocab();
    const file = path.join(dir, `${_name.replace(/\W+/g, '-')}.gguf`);
    buildSyntheticModel({ arch: 'bitnet-b1.58', quant: 'i2_s', dim: 256, ff: 640, layers: 2, vocab, seed: 23, contextLength: 256, ...shape }).writeFile(file);
    const f = GgufFile.open(file);
    const config = readModelConfig(f.metadata);
    const tensors: Record<string, Mat | Float64Array> = {};
    for (const t of f.tensors) {
      const v = Float64Array.from(dequantize(t.type, f.tensorData(t), t.elementCount));
      tensors[t.name] = t.dims.length === 1 ? v : { rows: t.dims[1], cols: t.dims[0], w: v };
    }
    resolveModelTensors(config, f.tensors);
    const weights = loadBitnetWeights(f);
    f.close();
    expect(config.ffnActivation).toBe('relu2');

    const prompt = [vocab.bosId, ...Buffer.from('And God said, Let there be light')];
    const ref = new Reference(config, tensors);
    let refLogits: Float64Array = new Float64Array();
    prompt.forEach((tok, i) => (refLogits = ref.step(tok, i)));
    const fp = new ForwardPass(weights, createKernels());
    const cache = new KvCache(config, prompt.length + 16);
    let logits = fp.run(cache, prompt);
    expect(cosine(logits, refLogits)).toBeGreaterThanOrEqual(0.999);
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let i = 0; i < 16; i++) {
      ours.push(argmax(logits));
      theirs.push(argmax(Float32Array.from(refLogits)));
      expect(cosine(logits, refLogits)).toBeGreaterThanOrEqual(0.999);
      // both continue from the same token, so one near-tie cannot derail the rest of the comparison
      const next = theirs[i];
      logits = fp.run(cache, [next]);
      refLogits = ref.step(next, prompt.length + i);
    }
    expect(ours).toEqual(theirs);
  });
});
