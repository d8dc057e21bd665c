/**
 * The activation formats of the tensor-type table (TensorKernels.ts): how f32 input rows become
 * what a weight type's kernel takes, with a reusable buffer per (rows, cols).
 */
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '@bitnet/models';
import { allocI8Activations, allocQ8_0Activations, allocQ8KActivations } from './Activations';
import type { I8Activations, Kernels, Q8_0Activations, Q8KActivations } from './Kernels';
import type { ActivationFormat } from './TensorTypes';

/**
 * How the f32 input rows are prepared for a type's kernel:
 * - 'i8': per-token int8 (bitnet.cpp's quantize_row_i8_s), for I2_S;
 * - 'q8_k': llama.cpp's Q8_K blocks of 256, for TQ1_0 / TQ2_0;
 * - 'q8_0': ggml's Q8_0 blocks of 32, for Q8_0 weights;
 * - 'f16' / 'bf16': x rounded to f16 / bf16 values (held as f32), as ggml's vec_dot types do;
 * - 'f32': x as it is.
 */
export type { ActivationFormat };

/** What a kernel takes as its right-hand side: quantized activations, or f32 rows. */
export type PreparedActivations = I8Activations | Q8KActivations | Q8_0Activations | Float32Array;

/** How one activation format lays out its blocks. */
export interface ActivationFormatSpec {
  readonly format: ActivationFormat;
  /** A reusable buffer for `rows` × `cols` activations, or undefined when x is used as it is. */
  alloc(rows: number, cols: number): PreparedActivations | undefined;
  /** Converts x (rows × cols) into `buffer` (from alloc with the same sizes) and returns what the kernel takes. */
  prepare(kernels: Kernels, x: Float32Array, rows: number, cols: number, buffer: PreparedActivations | undefined): PreparedActivations;
}

function rounded(round: (v: number) => number): Pick<ActivationFormatSpec, 'alloc' | 'prepare'> {
  return {
    alloc: (rows, cols) => new Float32Array(rows * cols),
    prepare: (_k, x, rows, cols, buffer) => {
      const out = buffer as Float32Array;
      for (let i = 0; i < rows * cols; i++) out[i] = round(x[i]);
      return out;
    },
  };
}

/** The layout of each activation format (block size and bytes). */
export const ACTIVATION_FORMATS: { readonly [F in ActivationFormat]: ActivationFormatSpec } = {
  i8: {
    format: 'i8',
    alloc: allocI8Activations,
    prepare: (k, x, rows, cols, b) => (k.quantizeI8PerToken(x, rows, cols, b as I8Activations), b as I8Activations),
  },
  q8_k: {
    format: 'q8_k',
    alloc: allocQ8KActivations,
    prepare: (k, x, rows, cols, b) => (k.quantizeQ8K(x, rows, cols, b as Q8KActivations), b as Q8KActivations),
  },
  q8_0: {
    format: 'q8_0',
    alloc: allocQ8_0Activations,
    prepare: (k, x, rows, cols, b) => (k.quantizeQ8_0(x, rows, cols, b as Q8_0Activations), b as Q8_0Activations),
  },
  f16: { format: 'f16', ...rounded((v) => f16ToF32(f32ToF16(v))) },
  bf16: { format: 'bf16', ...rounded((v) => bf16ToF32(f32ToBf16(v))) },
  f32: { format: 'f32', alloc: () => undefined, prepare: (_k, x) => x },
};

