/**
 * Softmax and causal GQA attention over an f16 KV cache, emulating ggml's non-flash path:
 *   score = fround(fround(scale) · Σ f16(q)·k)   (f16 × f16 products are exact; the sum is rounded once)
 *   p     = softmax over the visible positions in f32 (exp(x − max) rounded to f32, Σ in a double)
 *   out   = Σ f16(p)·v                            (rounded once)
 * Cache layout: [position][kvHead][headDim]; query token t of a call sees positions 0 .. startPos + t,
 * nothing after (those slots are never read). Query head h reads kv head floor(h / (heads / kvHeads)).
 */
import { f16ToF32Table, f32ToF16 } from '@bitnet/models';
import type { AttentionShape } from '../api/Kernels';

const fround = Math.fround;

/** In place on x[o .. o + n): exp(x − max) / Σ, with the f32 roundings of ggml_soft_max. */
function softmaxRow(x: Float32Array, o: number, n: number): void {
  let max = -Infinity;
  for (let i = o; i < o + n; i++) if (x[i] > max) max = x[i];
  let sum = 0;
  for (let i = o; i < o + n; i++) {
    const e = fround(Math.exp(fround(x[i] - max)));
    x[i] = e;
    sum += e;
  }
  const inv = fround(1 / sum);
  for (let i = o; i < o + n; i++) x[i] = x[i] * inv;
}

/** In place, each of `rows` rows of `cols`. */
export function softmax(x: Float32Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) softmaxRow(x, r * cols, cols);
}

export function attention(q: Float32Array, kCache: Uint16Array, vCache: Uint16Array, shape: AttentionShape, out: Float32Array): void {
  const { tokens, heads, kvHeads, headDim: D, startPos } = shape;
  const f16 = f16ToF32Table();
  const scale = fround(shape.scale);
  const group = heads / kvHeads;
  const posStride = kvHeads * D;
  const q16 = new Float32Array(D);
  const p = new Float32Array(startPos + tokens);
  const acc = new Float64Array(D);
  for (let t = 0; t < tokens; t++) {
    const visible = startPos + t + 1;
    for (let h = 0; h < heads; h++) {
      const qo = (t * heads + h) * D;
      const kvo = Math.floor(h / group) * D;
      // Copied before `out` is written, so out may be q itself.
      for (let d = 0; d < D; d++) q16[d] = f16[f32ToF16(q[qo + d])];
      for (let pos = 0; pos < visible; pos++) {
        const ko = pos * posStride + kvo;
        let s = 0;
        for (let d = 0; d < D; d++) s += q16[d] * f16[kCache[ko + d]];
        p[pos] = scale * fround(s);
      }
      softmaxRow(p, 0, visible);
      acc.fill(0);
      for (let pos = 0; pos < visible; pos++) {
        const w = f16[f32ToF16(p[pos])];
        const vo = pos * posStride + kvo;
        for (let d = 0; d < D; d++) acc[d] += w * f16[vCache[vo + d]];
      }
      for (let d = 0; d < D; d++) out[qo + d] = acc[d];
    }
  }
}
