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
 * - Ternary kernels are bit-exact between implementations: integer sums are exact and the float
 *   epilogue is evaluated in the fixed order written here. Float kernels agree within 1e-5 relative.
 * - Arguments are validated in TS before any native call (sizes, types, lengths); a kernel never
 *   reads or writes outside the arrays it is given.
 * - Every array has exactly the length its sizes imply (CheckedKernels rejects anything else). Outputs
 *   do not overlap inputs, except that the element-wise kernels and rmsNorm may write into the very
 *   same array as an input (in place).
 * - "Within 1e-5 relative" for a sum of products (matmulFloat, attention's p·v) is relative to the sum
 *   of the absolute terms, Σ|w·x|: a dot product may cancel to ~0.
 */
import type { GgmlType } from '@bitnet/models';

/** Per-token int8 activations for I2_S (bitnet.cpp's quantize_row_i8_s). */
export interface I8Activations {
  rows: number;
  cols: number;
  /** rows × cols: q = clamp(nearestInt(fround(x · s)), −128, 127). */
  qs: Int8Array;
  /** rows: s = fround(127 / max(1e-5, max|x|)) (the max taken exactly, the division in double). */
  scales: Float32Array;
  /** rows: Σ q over the row. matmulI2sI8 uses scales and sums as given (it does not recompute them). */
  sums: Int32Array;
}

/** llama.cpp Q8_K activations for TQ1_0 / TQ2_0: blocks of 256 per row. */
export interface Q8KActivations {
  rows: number;
  cols: number; // multiple of 256
  /** rows × cols int8. For each block: amax = the value of largest |x| (first one on ties), with its sign;
   *  if amax == 0 then d = 0 and q = 0; else iscale = fround(−127 / amax), q = min(127, nearestInt(fround(iscale · x))),
   *  d = fround(1 / iscale). */
  qs: Int8Array;
  /** rows × cols/256 block scales d. */
  d: Float32Array;
  /** rows × cols/16: sum of each 16 consecutive q (0 for a zero block). Kernels may rely on it. */
  bsums: Int16Array;
}

/** A ternary weight matrix in its file layout. */
export interface TernaryMatrix {
  type: GgmlType.I2_S | GgmlType.TQ1_0 | GgmlType.TQ2_0;
  /** The tensor's bytes exactly as in the GGUF (for I2_S including the f32 scale and padding after the packed codes). */
  data: Uint8Array;
  /** N: output features (ne[1]). */
  rows: number;
  /** K: input features (ne[0]); a multiple of 128 (I2_S) or 256 (TQ). */
  cols: number;
}

/** A float or k-quant matrix (output projection, embeddings). */
export interface FloatMatrix {
  type: GgmlType.F32 | GgmlType.F16 | GgmlType.BF16 | GgmlType.Q8_0 | GgmlType.Q4_K | GgmlType.Q6_K;
  data: Uint8Array;
  rows: number;
  cols: number;
}

export interface AttentionShape {
  /** Query tokens in this call (1 for decode, the prompt chunk for prefill). */
  tokens: number;
  heads: number;
  kvHeads: number; // heads % kvHeads == 0; query head h reads kv head floor(h / (heads / kvHeads))
  headDim: number;
  /** Absolute position of the first query token; query t sees cache positions 0 .. startPos + t. */
  startPos: number;
  /** Positions the cache can hold (stride of nothing: layout is [position][kvHead][headDim]). */
  capacity: number;
  /** Multiplier of q·k, normally 1/√headDim. */
  scale: number;
}

export interface Kernels {
  /** 'native' or 'ts'. */
  readonly name: 'native' | 'ts';
  /** The instruction set in use: 'generic' | 'avx2' | 'avx512' for native, 'ts' for the fallback. */
  readonly isa: string;

  /** x: rows × cols f32 → per-token int8 (see I8Activations). */
  quantizeI8PerToken(x: Float32Array, rows: number, cols: number, out: I8Activations): void;
  /** x: rows × cols f32 (cols % 256 == 0) → Q8_K blocks (see Q8KActivations). */
  quantizeQ8K(x: Float32Array, rows: number, cols: number, out: Q8KActivations): void;

  /**
   * I2_S × per-token int8. With codes c ∈ {0,1,2} (weight = c − 1) and ws the tensor's f32 scale:
   *   dot = Σ_k c[n,k]·q[m,k] (exact int), out[m,n] = fround(fround(fround(dot − sums[m]) / scales[m]) · ws).
   * Codes are used as stored: a 2-bit code 3 (no quantizer writes one) counts as c = 3, i.e. weight +2,
   * as the dequantizers and ggml read it. The same holds for TQ2_0's q.
   */
  matmulI2sI8(w: TernaryMatrix, a: I8Activations, out: Float32Array): void;
  /**
   * TQ2_0 / TQ1_0 × Q8_K. Per 256-block b: isum_b = Σ_j (q_j − 1)·a_j (exact int),
   *   acc = 0; for b in order: acc = fround(acc + fround(isum_b · fround(dw_b · da_b)));  out[m,n] = acc.
   */
  matmulTq2_0Q8K(w: TernaryMatrix, a: Q8KActivations, out: Float32Array): void;
  matmulTq1_0Q8K(w: TernaryMatrix, a: Q8KActivations, out: Float32Array): void;

  /** out[m,n] = Σ_k dequant(W)[n,k] · x[m,k] for F32/F16/BF16/Q8_0/Q4_K/Q6_K weights (f32 accumulate; within 1e-5 rel). */
  matmulFloat(w: FloatMatrix, x: Float32Array, xRows: number, out: Float32Array): void;
  /** Embedding gather: out[i*cols .. ] = dequant(row ids[i]) for any FloatMatrix or ternary type. */
  getRows(w: FloatMatrix | TernaryMatrix, ids: Int32Array, out: Float32Array): void;

  /** out[r,:] = x[r,:] / sqrt(mean(x[r,:]²) + eps) · weight  (sum of squares in f32 or wider). */
  rmsNorm(x: Float32Array, rows: number, cols: number, weight: Float32Array, eps: number, out: Float32Array): void;
  /**
   * NEOX RoPE in place on x: tokens × heads × headDim. For token t at position p = positions[t], pair
   * (i, i + ropeDim/2) for i < ropeDim/2 rotates by θ_i; dims ≥ ropeDim are untouched. θ follows ggml
   * exactly, in f32: s = f32(base^(−2/ropeDim)), θ_0 = f32(p), θ_{i+1} = f32(θ_i · s); cos/sin = f32 of
   * the double cos/sin of θ_i; out = f32(f32(x0·c) − f32(x1·s)), f32(f32(x0·s) + f32(x1·c)). (The exact
   * p·base^(−2i/ropeDim) drifts from this by ~i·p·2^−24 rad, enough to flip an f16 rounding of K.)
   */
  ropeNeox(x: Float32Array, tokens: number, heads: number, headDim: number, ropeDim: number, positions: Int32Array, freqBase: number): void;
  /** In place, each of `rows` rows of `cols`: exp(x − max) / Σ. */
  softmax(x: Float32Array, rows: number, cols: number): void;
  /**
   * Causal GQA attention. q: tokens × heads × headDim f32. kCache, vCache: f16 bits, [capacity][kvHeads][headDim],
   * positions 0 .. startPos+tokens−1 filled. Emulates ggml's non-flash path: score = scale · Σ f16(q)·k (f32
   * accumulate), softmax over visible positions in f32, then out = Σ f16(p)·v. out: tokens × heads × headDim.
   * `scale` is used as an f32 (as ggml's op parameter is). Slots at positions ≥ startPos + tokens are never
   * read. A weight p within ~1e-5 relative of an f16 rounding boundary may round to either f16 neighbour
   * in different implementations; comparisons allow that step (see ts/Attention.spec.ts).
   */
  attention(q: Float32Array, kCache: Uint16Array, vCache: Uint16Array, shape: AttentionShape, out: Float32Array): void;
  /** out = max(gate, 0)² · up. */
  reluSqrMul(gate: Float32Array, up: Float32Array, out: Float32Array): void;
  /** out = gate / (1 + exp(−gate)) · up. */
  siluMul(gate: Float32Array, up: Float32Array, out: Float32Array): void;
  /** out = a + b. */
  add(a: Float32Array, b: Float32Array, out: Float32Array): void;
}
