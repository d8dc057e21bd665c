/**
 * The arrays and shapes the kernels take (see Kernels.ts for the contract they follow): activations in
 * each quantized format, weight matrices in their file layouts, and the KV cache and attention shapes.
 */
import type { FloatType, TernaryType } from './TensorTypes';

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

/**
 * ggml Q8_0 activations for Q8_0 weights (block_q8_0 as llama.cpp's x86 quantize_row_q8_0 writes it):
 * blocks of 32 per row, each with its own scale. For each block, with amax = max |x| over its 32 values:
 *   d = f16(fround(amax / 127)),  id = amax > 0 ? fround(127 / amax) : 0,  q = nearestInt(fround(x · id)).
 * For finite x every q is in [−127, 127] (|x · id| ≤ 127 up to one f32 rounding); non-finite x give
 * unspecified q and d. Note that q is rounded with id, not with 1/d: d is the f16 of the exact scale.
 */
export interface Q8_0Activations {
  rows: number;
  cols: number; // multiple of 32
  /** rows × cols int8. */
  qs: Int8Array;
  /** rows × cols/32 block scales d: f16 values, held as f32. */
  d: Float32Array;
}

/** A ternary weight matrix in its file layout. */
export interface TernaryMatrix {
  /** A ternary type of the tensor-type table (TensorKernels.ts): I2_S, TQ1_0, TQ2_0. */
  type: TernaryType;
  /** The tensor's bytes exactly as in the GGUF (for I2_S including the f32 scale and padding after the packed codes). */
  data: Uint8Array;
  /** N: output features (ne[1]). */
  rows: number;
  /** K: input features (ne[0]); a multiple of 128 (I2_S) or 256 (TQ). */
  cols: number;
}

/**
 * A matrix held as int8 values with one f32 scale per row: not a GGUF type, but the screened output's
 * copy of an F32/F16/BF16 matrix (encodeI8rRows). Row n, column k stands for (c − 128) · scales[n]
 * with c = codes[n · cols + k]: the value q = c − 128 is stored offset by 128 so that a VNNI
 * `vpdpbusd` takes the codes as its unsigned operand.
 */
export interface I8rMatrix {
  rows: number;
  /** K: a multiple of 32, at most 32768 (matmulI8rI8's integer sums then fit an int32). */
  cols: number;
  /** rows × cols bytes; any byte is allowed (q = c − 128 ∈ [−128, 127]). */
  codes: Uint8Array;
  /** rows f32 row scales. */
  scales: Float32Array;
}

/** A float or k-quant matrix (output projection, embeddings). */
export interface FloatMatrix {
  /** A float or k-quant type of the tensor-type table (TensorKernels.ts): F32, F16, BF16, Q8_0, Q4_K, Q6_K. */
  type: FloatType;
  data: Uint8Array;
  rows: number;
  cols: number;
}

/** One call of attentionMany: attention's arguments, and optionally the keys and values to store first. */
export interface AttentionCall {
  q: Float32Array;
  kCache: Uint16Array;
  vCache: Uint16Array;
  shape: AttentionShape;
  out: Float32Array;
  /**
   * Keys and values of the call's tokens (tokens × kvHeads × headDim f32 each), stored into kCache and
   * vCache at positions startPos.. exactly as `storeKv(k, v, kCache, vCache, shape)` stores them, before
   * the call attends: a batched step stores and attends in one call instead of a storeKv per sequence.
   */
  store?: { k: Float32Array; v: Float32Array };
}

/**
 * Where `tokens` rows go in a KV cache of `capacity` positions. The cache layout (one Uint16Array of f16
 * bits each for keys and values, capacity × kvHeads × headDim elements):
 * - keys: [kvHead][position][headDim]: a kv head's keys are one run of positions, each row contiguous;
 * - values: [kvHead][headDim][position]: transposed, one run of positions per dimension, as
 *   llama.cpp's non-flash path keeps V (so p·v sums along contiguous memory).
 * `keyIndex` / `valueIndex` (api/KvLayout.ts) give the element index of (kv head, position, dimension).
 * Paged (`blocks`, `blockTokens`): the arrays are an arena of blocks, each laid out as above with
 * `blockTokens` positions, and a sequence's positions go block by block through `blocks`, so
 * sequences can share prefix blocks in place. Every kernel gives bit for bit the same results in
 * either layout: blocks hold a multiple of 32 positions, so the kernels' chunks of positions never
 * straddle two blocks and only their addresses change.
 */
export interface KvShape {
  /** Rows (tokens) in this call. */
  tokens: number;
  kvHeads: number;
  headDim: number;
  /** Position of the first row. */
  startPos: number;
  /**
   * Positions the caller may reach (startPos + tokens <= capacity). Without `blocks`: the positions the
   * cache holds, the stride between kv heads (keys) and between dimensions (values).
   */
  capacity: number;
  /** Paged layout: the cache arrays hold blocks of `blockTokens` positions — keys [block][kvHead][blockTokens][headDim],
   *  values [block][kvHead][headDim][blockTokens] — and blocks[j] is the block holding positions [j·blockTokens, (j+1)·blockTokens).
   *  Absent: the cache is one block of `capacity` positions (today's layout, unchanged). */
  blocks?: Int32Array;
  /** Positions per block (a multiple of 32) when `blocks` is given. */
  blockTokens?: number;
}

export interface AttentionShape extends KvShape {
  /** tokens: query tokens in this call (1 for decode, the prompt chunk for prefill). */
  heads: number; // heads % kvHeads == 0; query head h reads kv head floor(h / (heads / kvHeads))
  /** startPos: absolute position of the first query token; query t sees cache positions 0 .. startPos + t. */
  /** Multiplier of q·k, normally 1/√headDim. */
  scale: number;
  /**
   * Every query row is computed with the one-token arithmetic (ggml_vec_dot_f16 for both products),
   * exactly as if it were decoded alone at its position: a row's output then does not depend on the
   * other rows of the call. Default false: a call of ≥ 2 tokens uses the batch arithmetic (see
   * `attention`), as llama.cpp evaluates a prompt.
   */
  independentRows?: boolean;
}
