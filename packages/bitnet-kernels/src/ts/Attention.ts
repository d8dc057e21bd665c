/**
 * Softmax and causal GQA attention over an f16 KV cache, reproducing ggml's non-flash CPU path as
 * llama.cpp runs it (see api/Kernels.ts, `attention`): KQ = mul_mat(K, f16(Q)), soft_max_ext with the
 * scale and the causal mask over a row padded to a multiple of 8 (llama.cpp pads n_kv to 256), then
 * KQV = mul_mat(Vᵀ, f16(P)). The two matmuls are ggml_vec_dot_f16 for a single query token and
 * llamafile's tinyBLAS (8 FMA lanes + hsum) for a batch of ≥ 2 tokens, as in llama.cpp.
 * Cache layout (api/Kernels.ts, KvShape): keys [kvHead][position][headDim], values transposed
 * [kvHead][headDim][position], in one block of `capacity` positions or, paged, in blocks of
 * `blockTokens`; query token t of a call sees positions 0 .. startPos + t, nothing after (those
 * slots are never read). Query head h reads kv head floor(h / (heads / kvHeads)).
 */
import { f16ToF32Table, f32ToF16 } from '@bitnet/models';
import type { AttentionShape, KvShape } from '../api/Kernels';
import { kvBlockElements, kvBlockPositions } from '../api/KvLayout';
import { fmaf, hsum8, reduceF16Acc, vExpf } from './GgmlF32';

const fround = Math.fround;

/**
 * In place on x[o .. o + n): ggml_vec_soft_max_f32 (AVX2) and the normalisation of
 * ggml_compute_forward_soft_max_f32: e_i = v_expf(x_i − max); Σ in a double of hsum8 of each group of
 * 8 (positions 8c .. 8c+7, missing ones count as 0); then x_i = fround(e_i · fround(1 / Σ)).
 */
function softmaxRow(x: Float32Array, o: number, n: number, lanes: Float64Array): void {
  let max = -Infinity;
  for (let i = o; i < o + n; i++) if (x[i] > max) max = x[i];
  let sum = 0;
  for (let c = 0; c < n; c += 8) {
    for (let l = 0; l < 8; l++) {
      const i = c + l;
      if (i < n) {
        const e = vExpf(fround(x[o + i] - max));
        x[o + i] = e;
        lanes[l] = e;
      } else lanes[l] = 0;
    }
    sum += hsum8(lanes);
  }
  const inv = fround(1 / sum);
  for (let i = o; i < o + n; i++) x[i] = fround(x[i] * inv);
}

/** In place, each of `rows` rows of `cols` (ggml_soft_max with scale 1, no mask, row padded to 8 with −∞). */
export function softmax(x: Float32Array, rows: number, cols: number): void {
  const lanes = new Float64Array(8);
  for (let r = 0; r < rows; r++) softmaxRow(x, r * cols, cols, lanes);
}

/** ggml_vec_dot_f16 of a[ao ..] and b[bo ..] (n values, f32 holding f16 values): 32 FMA lanes, tail in double. */
function vecDotF16(a: Float32Array, ao: number, b: Float32Array, bo: number, n: number, acc: Float64Array): number {
  acc.fill(0);
  const np = n & ~31;
  for (let i = 0; i < np; i++) acc[i & 31] = fmaf(a[ao + i], b[bo + i], acc[i & 31]);
  let sum = reduceF16Acc(acc);
  for (let i = np; i < n; i++) sum += fround(a[ao + i] * b[bo + i]);
  return fround(sum);
}

/** tinyBLAS's dot (k % 8 == 0): 8 FMA lanes, lane i mod 8, then hsum8. */
function tinyDot(a: Float32Array, ao: number, b: Float32Array, bo: number, n: number, acc: Float64Array): number {
  acc.fill(0, 0, 8);
  for (let i = 0; i < n; i++) acc[i & 7] = fmaf(a[ao + i], b[bo + i], acc[i & 7]);
  return hsum8(acc);
}

export function attention(q: Float32Array, kCache: Uint16Array, vCache: Uint16Array, shape: AttentionShape, out: Float32Array): void {
  const { tokens, heads, kvHeads, headDim: D, startPos } = shape;
  const f16 = f16ToF32Table();
  const scale = fround(shape.scale);
  const group = heads / kvHeads;
  // One block of `capacity` positions unless paged (see KvShape).
  const blocks = shape.blocks;
  const bt = kvBlockPositions(shape);
  const blockElems = kvBlockElements(shape);
  const total = startPos + tokens;
  // llama.cpp hands mul_mat to llamafile's tinyBLAS when a batch has ≥ 2 tokens and the shapes allow
  // (KQ: k = headDim % 8 == 0; KQV: m = headDim % 4 == 0); otherwise ggml_vec_dot_f16.
  const batch = tokens >= 2 && !shape.independentRows;
  const qkTiny = batch && D % 8 === 0;
  const pvTiny = batch && D % 4 === 0;
  // Each kv head's visible keys and values as f32, in the cache's own orders: position-major for K,
  // dimension-major for V.
  const kf = new Float32Array(total * D);
  const vt = new Float32Array(D * total);
  const q16 = new Float32Array(D);
  const p = new Float32Array(total);
  const acc = new Float64Array(32);
  for (let kvh = 0; kvh < kvHeads; kvh++) {
    for (let b0 = 0; b0 < total; b0 += bt) {
      const base = (blocks ? blocks[b0 / bt] : 0) * blockElems;
      const end = Math.min(total, b0 + bt);
      for (let pos = b0; pos < end; pos++) {
        const src = base + (kvh * bt + pos - b0) * D;
        for (let d = 0; d < D; d++) kf[pos * D + d] = f16[kCache[src + d]];
      }
      for (let d = 0; d < D; d++) {
        const src = base + (kvh * D + d) * bt - b0;
        for (let pos = b0; pos < end; pos++) vt[d * total + pos] = f16[vCache[src + pos]];
      }
    }
    for (let hh = 0; hh < group; hh++) {
      const h = kvh * group + hh;
      for (let t = 0; t < tokens; t++) {
        const visible = startPos + t + 1;
        const qo = (t * heads + h) * D;
        // Copied before `out` is written, so out may be q itself.
        for (let d = 0; d < D; d++) q16[d] = f16[f32ToF16(q[qo + d])];
        for (let pos = 0; pos < visible; pos++) {
          const s = qkTiny ? tinyDot(q16, 0, kf, pos * D, D, acc) : vecDotF16(q16, 0, kf, pos * D, D, acc);
          p[pos] = fround(s * scale);
        }
        softmaxRow(p, 0, visible, acc.subarray(0, 8) as Float64Array);
        for (let pos = 0; pos < visible; pos++) p[pos] = f16[f32ToF16(p[pos])];
        // KQV over the positions; positions ≥ visible have weight 0 and add nothing to any lane, so the
        // row is summed as if padded with zeros to llama.cpp's n_kv (a multiple of 256: no scalar tail).
        for (let d = 0; d < D; d++) {
          const vo = d * total;
          let s: number;
          if (pvTiny) s = tinyDot(p, 0, vt, vo, visible, acc);
          else {
            acc.fill(0);
            for (let pos = 0; pos < visible; pos++) acc[pos & 31] = fmaf(p[pos], vt[vo + pos], acc[pos & 31]);
            s = reduceF16Acc(acc);
          }
          out[qo + d] = s;
        }
      }
    }
  }
}

/** The contract's storeKv: rows rounded to f16 (f32ToF16, as toF16) into the cache layout of KvShape. */
export function storeKv(k: Float32Array, v: Float32Array, kCache: Uint16Array, vCache: Uint16Array, shape: KvShape): void {
  const { tokens, kvHeads, headDim: D, startPos } = shape;
  const blocks = shape.blocks;
  const bt = kvBlockPositions(shape);
  const blockElems = kvBlockElements(shape);
  for (let t = 0; t < tokens; t++) {
    const pos = startPos + t;
    const j = blocks ? Math.floor(pos / bt) : 0;
    const base = (blocks ? blocks[j] : 0) * blockElems;
    const off = pos - j * bt; // the position within its block
    for (let h = 0; h < kvHeads; h++) {
      const src = (t * kvHeads + h) * D;
      const kd = base + (h * bt + off) * D;
      for (let d = 0; d < D; d++) {
        kCache[kd + d] = f32ToF16(k[src + d]);
        vCache[base + (h * D + d) * bt + off] = f32ToF16(v[src + d]);
      }
    }
  }
}
