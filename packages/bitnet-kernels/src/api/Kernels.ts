/**
 * The kernel contract. The TypeScript fallback (src/ts) and the native addon (native/, one file per
 * ISA behind a dispatch table) implement exactly this; the generic C++ and the TypeScript code are
 * the references every SIMD path is tested against.
 *
 * Conventions
 * - A weight matrix is a ggml tensor with ne[0] = K (input features, contiguous) and ne[1] = N
 *   (output features): row n of the weights holds the K weights of output n, in the file's layout.
 * - Activations are M rows of K values, row-major. Outputs are M rows of N values, row-major:
 *   out[m*N + n] = Σ_k W[n,k] · x[m,k].
 * - f32 rounding is explicit: `fround` below means rounding to the nearest f32 (Math.fround / a C float),
 *   `f16(v)` rounding to the nearest f16 value (ties to even).
 * - `nearestInt(v)` rounds ties to even (ggml's nearest_int, the 1.5·2^23 trick).
 * - Ternary kernels, the activation quantizers and matmulQ8_0Q8_0 are bit-exact between implementations:
 *   integer sums are exact and the float
 *   epilogue is evaluated in the fixed order written here. Float kernels agree within 1e-5 relative.
 * - `fmaf(a, b, c)` is a·b + c rounded once to f32. Where a kernel says "as ggml", it reproduces the
 *   f32 arithmetic of llama.cpp's x86 CPU backend as node-llama-cpp 3.22.1 ships it (the `haswell`
 *   build: AVX2 + FMA + F16C, GCC 11, FMA contraction on), operation for operation — so that TQ models
 *   give llama.cpp's greedy tokens: see ts/GgmlF32.ts (vExpf, hsum8, reduceF16Acc) and the per-kernel notes.
 *   Those kernels are bit-exact between the TS and native implementations too (on glibc systems:
 *   ropeNeox's native cos/sin come from libm).
 * - Arguments are validated in TS before any native call (sizes, types, lengths); a kernel never
 *   reads or writes outside the arrays it is given.
 * - Every array has exactly the length its sizes imply (CheckedKernels rejects anything else). Outputs
 *   do not overlap inputs, except that the element-wise kernels and rmsNorm may write into the very
 *   same array as an input (in place).
 * - "Within 1e-5 relative" for a sum of products (matmulFloat, attention's p·v) is relative to the sum
 *   of the absolute terms, Σ|w·x|: a dot product may cancel to ~0.
 */
import type { AttentionCall, AttentionShape, FloatMatrix, I8Activations, I8rMatrix, KvShape, Q8KActivations, Q8_0Activations, TernaryMatrix } from './KernelOperands';

export type { AttentionCall, AttentionShape, FloatMatrix, I8Activations, I8rMatrix, KvShape, Q8KActivations, Q8_0Activations, TernaryMatrix } from './KernelOperands';

/** The kernel contract, as the conventions above describe it. */
export interface Kernels {
  /** 'native' or 'ts'. */
  readonly name: 'native' | 'ts';
  /** The instruction set in use: 'generic' | 'avx2' | 'avxvnni' | 'avx512' | 'avx512vbmi' for native, 'ts' for the fallback. */
  readonly isa: string;
  /** Threads a kernel call runs on, the calling thread included: the native pool's size, 1 for the TypeScript kernels. */
  readonly threads: number;

  /** x: rows × cols f32 → per-token int8 (see I8Activations). */
  quantizeI8PerToken(x: Float32Array, rows: number, cols: number, out: I8Activations): void;
  /** x: rows × cols f32 (cols % 256 == 0) → Q8_K blocks (see Q8KActivations). */
  quantizeQ8K(x: Float32Array, rows: number, cols: number, out: Q8KActivations): void;
  /** x: rows × cols f32 (cols % 32 == 0) → Q8_0 blocks (see Q8_0Activations). */
  quantizeQ8_0(x: Float32Array, rows: number, cols: number, out: Q8_0Activations): void;

  /**
   * I2_S × per-token int8. With codes c ∈ {0,1,2} (weight = c − 1) and ws the tensor's f32 scale:
   *   dot = Σ_k c[n,k]·q[m,k] (exact int), out[m,n] = fround(fround(fround(dot − sums[m]) / scales[m]) · ws).
   * Codes are used as stored: a 2-bit code 3 (no quantizer writes one) counts as c = 3, i.e. weight +2,
   * as the dequantizers and ggml read it. The same holds for TQ2_0's q.
   *
   * `scale` (this and the other integer matmuls): an optional output scale, a finite number. Given and
   * not 1, every output is then multiplied by it exactly as `scale` does (out = out · fround(scale), one
   * f32 multiply of the rounded f32 result, never fused into the epilogue's FMAs), so the call gives
   * bit for bit the matmul followed by `scale(out, scale, out)`, in one call. Absent or 1: no multiply.
   */
  matmulI2sI8(w: TernaryMatrix, a: I8Activations, out: Float32Array, scale?: number): void;
  /**
   * TQ2_0 / TQ1_0 × Q8_K, as ggml_vec_dot_tq2_0_q8_K / ggml_vec_dot_tq1_0_q8_K (AVX2). With q_e the
   * stored code of element e of a 256-block (0..2; a TQ2_0 code 3 counts as 3) and a_e the int8
   * activation, each block b gives 8 exact integer lanes, k = 0..7:
   *   L_{b,k} = Σ_{e : (e mod 32) >> 2 == k} q_e·a_e  −  Σ_{e = 32k}^{32k+31} a_e
   * (ggml: 16-bit lane sums of vpmaddubsw over the 8 groups of 32, minus bsums[2k], bsums[2k+1],
   * widened by vpmaddwd; the lanes add up to Σ (q_e − 1)·a_e). Then, with d_b = fround(da_b · dw_b):
   *   acc_k = 0; for b in order: acc_k = fmaf(L_{b,k}, d_b, acc_k);
   *   out[m,n] = ((acc0 + acc4) + (acc2 + acc6)) + ((acc1 + acc5) + (acc3 + acc7))   (hsum_float_8, each + in f32).
   */
  matmulTq2_0Q8K(w: TernaryMatrix, a: Q8KActivations, out: Float32Array, scale?: number): void;
  /** out = w × a for a TQ1_0 ternary matrix and Q8_K activations (then times `scale`, as matmulI2sI8). */
  matmulTq1_0Q8K(w: TernaryMatrix, a: Q8KActivations, out: Float32Array, scale?: number): void;
  /**
   * Several matrices of one ternary type and width times the same activations, in one call:
   * outs[j] = ws[j] × a (times scales[j] when given), each bit for bit what that type's single
   * call (matmulI2sI8 with I8 activations, matmulTq2_0Q8K / matmulTq1_0Q8K with Q8_K ones) gives.
   * Decoding multiplies a layer's Q, K and V (and its gate and up) by the same rows; the native
   * backend splits all their rows over its threads in one pass, so a small matrix (K, V: 0.4 MB of
   * I2_S) does not pay a pass of its own. outs must not overlap each other or the inputs.
   */
  matmulTernaryMany(ws: readonly TernaryMatrix[], a: I8Activations | Q8KActivations, outs: readonly Float32Array[], scales?: readonly number[]): void;
  /**
   * Q8_0 weights × Q8_0 activations, as ggml_vec_dot_q8_0_q8_0 (AVX2). With qw_e / qa_e the int8 weight /
   * activation of element e of a 32-block b, dw_b the block's f16 weight scale and da_b = a.d[m, b], each
   * block gives 8 exact integer lanes, k = 0..7:
   *   L_{b,k} = Σ_{e = 4k}^{4k+3} qw_e·qa_e
   * (ggml: vpmaddubsw of |qw| and sign(qw)·qa, widened by vpmaddwd). Then, with d_b = fround(dw_b · da_b):
   *   acc_k = 0; for b in order: acc_k = fmaf(L_{b,k}, d_b, acc_k);
   *   out[m,n] = ((acc0 + acc4) + (acc2 + acc6)) + ((acc1 + acc5) + (acc3 + acc7))   (hsum_float_8, each + in f32).
   * Bit-exact between implementations. Weight quants may be any int8; activation quants must be in
   * [−127, 127], as quantizeQ8_0 writes them for finite x (a −128 activation makes the result
   * unspecified: the sign trick negates it to itself). `scale`: an optional output scale, as matmulI2sI8's.
   */
  matmulQ8_0Q8_0(w: FloatMatrix, a: Q8_0Activations, out: Float32Array, scale?: number): void;
  /**
   * I8r weights × per-token int8 activations (the screened output's approximate logits). With
   * c[n,k] the weight codes (value c − 128) and q, scales, sums the activations' (as quantizeI8PerToken
   * writes them, sums used as given):
   *   dot = Σ_k c[n,k]·q[m,k] − 128·sums[m]   (exact int: Σ (c − 128)·q, |dot| ≤ 2^31 − 1 for cols ≤ 32768)
   *   out[m,n] = fround(fround(fround(dot) / a.scales[m]) · w.scales[n])
   * Bit-exact between implementations.
   */
  matmulI8rI8(w: I8rMatrix, a: I8Activations, out: Float32Array): void;

  /**
   * out[m,n] = Σ_k dequant(W)[n,k] · x[m,k] for F32/F16/BF16/Q8_0/Q4_K/Q6_K weights (f32 accumulate; within 1e-5 rel).
   * F16 is exact, as ggml_vec_dot_f16 (AVX2) on x as given (callers round x to f16 as ggml does): 32 lanes,
   * acc[k mod 32] = fmaf(w_k, x_k, acc[k mod 32]) for k < K & ~31; s_l = (acc[l] + acc[16+l]) + (acc[8+l] + acc[24+l]),
   * t_l = s_l + s_{l+4}, r = (t0 + t1) + (t2 + t3); then in a double r + Σ_{k ≥ K & ~31} fround(w_k·x_k), rounded to f32.
   */
  matmulFloat(w: FloatMatrix, x: Float32Array, xRows: number, out: Float32Array): void;
  /**
   * Chosen elements of matmulFloat's result: out[j] = the value matmulFloat(w, x, xRows, full) writes at
   * full[xRow[j] * w.rows + wRow[j]], bit for bit (each element is computed with matmulFloat's own
   * per-element arithmetic, which does not depend on how many rows are in the call). For a caller that
   * needs a few hundred or thousand logits of a 128256-row output matrix, not all of them.
   * wRow, xRow: Int32Array of the same length P (P ≥ 0; picks may repeat, in any order);
   * 0 <= wRow[j] < w.rows, 0 <= xRow[j] < xRows; out: P floats.
   */
  matmulFloatPicked(w: FloatMatrix, x: Float32Array, xRows: number, wRow: Int32Array, xRow: Int32Array, out: Float32Array): void;
  /** Embedding gather: out[i*cols .. ] = dequant(row ids[i]) for any FloatMatrix or ternary type. */
  getRows(w: FloatMatrix | TernaryMatrix, ids: Int32Array, out: Float32Array): void;

  /** out[r,:] = x[r,:] / sqrt(mean(x[r,:]²) + eps) · weight  (sum of squares in f32 or wider). */
  rmsNorm(x: Float32Array, rows: number, cols: number, weight: Float32Array, eps: number, out: Float32Array): void;
  /**
   * NEOX RoPE in place on x: tokens × heads × headDim. For token t at position p = positions[t], pair
   * (i, i + ropeDim/2) for i < ropeDim/2 rotates by θ_i; dims ≥ ropeDim are untouched. θ follows ggml
   * exactly, in f32: s = f32(base^(−2/ropeDim)), θ_0 = f32(p), θ_{i+1} = f32(θ_i · s); (c, s) = cos/sin of θ_i
   * in f32; out0 = fmaf(x0, c, −f32(x1·s)), out1 = fmaf(x0, s, f32(x1·c)) (ggml's rotate_pairs as GCC
   * contracts it). (The exact p·base^(−2i/ropeDim) drifts from this θ by ~i·p·2^−24 rad, enough to flip an
   * f16 rounding of K.) cos/sin are glibc's sincosf (ggml calls it; it is not correctly rounded: ~2% of angles
   * differ by an ulp from the rounded exact values): the native kernels call libm's sincosf/powf, the TS
   * kernels reproduce glibc 2.36's FMA sincosf (ts/GgmlF32.sincosfGlibc) and round the double pow.
   */
  ropeNeox(x: Float32Array, tokens: number, heads: number, headDim: number, ropeDim: number, positions: Int32Array, freqBase: number): void;
  /**
   * In place, each of `rows` rows of `cols`: exp(x − max) / Σ as ggml_soft_max (AVX2): e_i = vExpf(x_i − max);
   * Σ in a double of hsum8 over each group of 8 (i = 8c .. 8c+7; positions past the row count as 0, as
   * −∞-masked ones do in ggml); x_i = fround(e_i · fround(1 / Σ)).
   */
  softmax(x: Float32Array, rows: number, cols: number): void;
  /**
   * Causal GQA attention. q: tokens × heads × headDim f32. kCache, vCache: f16 bits in the layout of
   * `KvShape` (keys [kvHead][position][headDim], values [kvHead][headDim][position]), positions
   * 0 .. startPos+tokens−1 filled. out: tokens × heads × headDim. Slots at positions ≥ startPos + tokens
   * are never read. Exactly llama.cpp's non-flash path on the CPU (llama-graph build_attn_mha):
   *   score_p = fround(dot(f16(q), k_p) · scale)   (`scale` used as an f32, as ggml's op parameter)
   *   w = softmax over the visible positions (the `softmax` kernel's arithmetic), rounded to f16
   *   out_d = dot over positions of (w_p, v_{p,d})
   * where dot is, as ggml's mul_mat picks it: for tokens == 1, ggml_vec_dot_f16 (matmulFloat's F16 formula;
   * over positions the row is padded with zero weights to llama.cpp's n_kv, a multiple of 256, so no tail);
   * for tokens ≥ 2 (a batch: llamafile's tinyBLAS sgemm, used for KQ when headDim % 8 == 0 and for KQV when
   * headDim % 4 == 0), 8 lanes acc[i mod 8] = fmaf(a_i, b_i, acc[i mod 8]) then hsum8. So a prompt must be
   * passed in one call, as llama.cpp evaluates it in one ubatch, to reproduce its numbers.
   */
  attention(q: Float32Array, kCache: Uint16Array, vCache: Uint16Array, shape: AttentionShape, out: Float32Array): void;
  /**
   * Stores rows k, v (tokens × kvHeads × headDim f32) at positions startPos .. startPos+tokens−1 of the
   * cache, rounded to f16 as `toF16` rounds, in the layout of `KvShape`. Nothing else of the cache changes.
   */
  storeKv(k: Float32Array, v: Float32Array, kCache: Uint16Array, vCache: Uint16Array, shape: KvShape): void;
  /**
   * Several `attention` calls at once (a batched step's sequences, each over its own cache): each call's
   * out is bit for bit what its own `attention` call would write. The native kernels run all of them in
   * one pass over the thread pool instead of one pass per sequence. No call's out may overlap another
   * call's q or out.
   */
  attentionMany(calls: readonly AttentionCall[]): void;
  /** out = max(gate, 0)² · up. */
  reluSqrMul(gate: Float32Array, up: Float32Array, out: Float32Array): void;
  /** out = gate / (1 + exp(−gate)) · up, as ggml_vec_swiglu_f32 (AVX2): fround(fround(g / fround(1 + vExpf(0 − g))) · up). */
  siluMul(gate: Float32Array, up: Float32Array, out: Float32Array): void;
  /** out = a + b. */
  add(a: Float32Array, b: Float32Array, out: Float32Array): void;
  /** out = x · fround(s), one f32 multiply per element (ggml_mul by a one-element tensor). */
  scale(x: Float32Array, s: number, out: Float32Array): void;
  /**
   * out[i] = the f16 bits of x[i] rounded to nearest, ties to even (as F16C and ggml's f32→f16 store
   * into a KV cache): overflow gives ±Inf, small values f16 subnormals or ±0; a NaN gives a NaN.
   */
  toF16(x: Float32Array, out: Uint16Array): void;
  /**
   * Load-time conversion: the TQ1_0 blocks of `src` rewritten as TQ2_0 blocks into `dst` (66 bytes per
   * block; src holds at least 54 per block): the same trits and the same f16 scale bytes, exactly
   * as @bitnet/models' repackTq1_0AsTq2_0.
   */
  repackTq1_0AsTq2_0(src: Uint8Array, dst: Uint8Array): void;
  /**
   * Load-time conversion: `x` (a multiple of 32 values) as Q8_0 blocks in the file layout (34 bytes per
   * 32 values: f16 d, then 32 int8), exactly as @bitnet/models' encodeQ8_0Blocks (ggml's
   * quantize_row_q8_0_ref): amax = max |x|, d = fround(amax / 127), id = d ≠ 0 ? fround(1 / d) : 0,
   * q = round half away from zero (fround(x · id)); d is stored as f16 (nearest, ties to even).
   * Finite x only (a NaN block gives unspecified bytes).
   */
  encodeQ8_0Blocks(x: Float32Array, out: Uint8Array): void;
  /**
   * Load-time conversion: every row of an F32, F16 or BF16 matrix as Q8_0 blocks (cols % 32 = 0; out
   * holds rows · cols / 32 · 34 bytes), the bytes encodeQ8_0Blocks gives for the matrix's values. The
   * native kernels read each row once and encode it on the thread pool (no f32 copy of the matrix).
   * Finite values only, as encodeQ8_0Blocks.
   */
  encodeQ8_0Rows(w: FloatMatrix, out: Uint8Array): void;
  /**
   * Load-time conversion: every row n of an F32, F16 or BF16 matrix w (cols % 32 = 0, cols ≤ 32768) as
   * an I8r row: amax = max_k |w[n,k]| (exact), d = fround(amax / 127), id = d ≠ 0 ? fround(1 / d) : 0,
   * q = clamp(round half away from zero (fround(w · id)), −127, 127), codes = q + 128, scales[n] = d.
   * Bit-exact between implementations. Finite values only: a row holding NaN or ±Infinity gets
   * unspecified codes and scale (screenBoundsI8r then gives that row non-finite bounds). A row whose
   * largest magnitude is below ~2e−38 gets a subnormal d whose 1/d is +Infinity: its zeros then give
   * NaN and store code 0 (q = −128), outside the ±127 range; screenBoundsI8r bounds what is stored, so
   * the screen stays exact for such a row (its bounds are just loose).
   */
  encodeI8rRows(w: FloatMatrix, out: I8rMatrix): void;
  /**
   * Bounds for screening logits with an I8r copy q of an F32/F16/BF16 matrix w (same rows and cols; q
   * any codes and scales, not only w's own encoding). With ŵ[n,k] = (c[n,k] − 128) · q.scales[n] (the
   * real product), for every row n:
   *   out[2n]   ≥ ‖w_n − ŵ_n‖₂ = sqrt(Σ_k (w[n,k] − ŵ[n,k])²)
   *   out[2n+1] ≥ ‖ŵ_n‖₂
   * each at most 2^−20 relative above the exact value. Computed in doubles: ŵ = (c − 128) · scale
   * (exact), e_k = w − ŵ (one rounding), then 8 lanes — lane l adds e_k·e_k (resp. ŵ_k·ŵ_k, products
   * rounded, never fused) for k ≡ l (mod 8) in order — combined as ((s0 + s4) + (s2 + s6)) + ((s1 + s5)
   * + (s3 + s7)); then S' = S · (1 + (cols + 8) · 2^−52), r = sqrt(S') · (1 + 2^−52), and out = the
   * smallest f32 ≥ r. Bit-exact between implementations. A non-finite weight or scale in row n makes
   * out[2n] non-finite (NaN or +Infinity), never a crash.
   */
  screenBoundsI8r(w: FloatMatrix, q: I8rMatrix, out: Float32Array): void;
  /**
   * The screen's candidate selection over one row of approximate logits a (length V ≥ 1) with per-token
   * bounds (bounds: 2V floats, as screenBoundsI8r writes them) and the row's coefficients c0, c1
   * (finite, ≥ 0). In doubles, each operation rounded, none fused:
   *   b_n = bounds[2n]·c0 + bounds[2n+1]·c1,  lo_n = a_n − b_n,  up_n = a_n + b_n
   *   floor = max_n lo_n,  reach = floor − 1e−12 · (1 + |floor|)
   * Returns −1 if any lo_n is NaN or floor is not finite; otherwise the number C of ids n with
   * up_n ≥ reach, written ascending to ids[0 .. C) — or −2 (ids unspecified past its length) when C
   * exceeds ids.length. Bit-exact between implementations.
   */
  screenCandidates(a: Float32Array, bounds: Float32Array, c0: number, c1: number, ids: Int32Array): number;
  /**
   * The sampler's pass over a whole vocabulary (top-k off): every id's weight and its band, how far its
   * logit lies below the largest. With n = logits.length, B = bandWeight.length (1 .. 256), in doubles:
   *   w_i = expWeight((l_i − max) / temperature)   (ts/SamplingWeights.ts: a fixed polynomial, not Math.exp;
   *        x < −708 gives 0, NaN gives NaN)
   *   d_i = (max − l_i) · bandScale, band_i = trunc(d_i) for 1 ≤ d_i < B − 1, 0 below 1, B − 1 from there (NaN, ∞ too)
   * Writes weights[i] = w_i, bandWeight[b] = Σ w_i over band_i = b (added in id order), start[b] = the
   * number of ids in bands below b (start[B] = n) and ids[start[b] .. start[b+1]) = band b's ids,
   * ascending; returns Σ w_i added in id order. Bit-exact between implementations. `max` should be
   * the largest logit (a larger one only moves weights below 1; a smaller one puts the logits above it
   * in band 0). temperature > 0 and bandScale ≥ 0, both finite.
   */
  weighLogits(logits: Float32Array, max: number, temperature: number, bandScale: number, weights: Float64Array, ids: Int32Array, bandWeight: Float64Array, start: Int32Array): number;
  /**
   * The greedy choice: the index of the largest value of x (length ≥ 1), the first one on ties (−0 and
   * +0 tie), exactly what `best = 0; for (i = 1; i < n; i++) if (x[i] > x[best]) best = i` returns: a
   * NaN is never chosen, except that a NaN x[0] gives 0 (nothing compares greater than it).
   */
  argmax(x: Float32Array): number;
  /**
   * The logprobs' normaliser: Σ expWeight(x_i − max) over the x_i > −∞ (−∞ and NaN add nothing), in
   * doubles, summed in 8 lanes — lane l adds the x_i with i ≡ l (mod 8) in order — then combined as
   * ((s0 + s4) + (s2 + s6)) + ((s1 + s5) + (s3 + s7)). Bit-exact between implementations. `max` (finite)
   * should be the largest x_i, so that every term is at most 1.
   */
  sumExp(x: Float32Array, max: number): number;
}
