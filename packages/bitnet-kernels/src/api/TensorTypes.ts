/**
 * The rows of the tensor-type table (see TensorKernels.ts), keyed by ggml's own type ids: block
 * geometry, activation format and kernel name of every weight type the kernels multiply. A leaf
 * module: the Kernels contract derives its matrix types from these rows, and TensorKernels adds
 * the calls.
 */
import { GgmlType } from '@bitnet/models';

/** How a type's input rows are prepared before its matmul (see ActivationFormats.ts). */
export type ActivationFormat = 'i8' | 'q8_k' | 'q8_0' | 'f16' | 'bf16' | 'f32';

/** The kernels that multiply a weight matrix: matmulFloat takes (w, x, rows, out), the others (w, a, out). */
export type MatmulKernelName = 'matmulI2sI8' | 'matmulTq2_0Q8K' | 'matmulTq1_0Q8K' | 'matmulQ8_0Q8_0' | 'matmulFloat';

export interface TensorTypeRow {
  readonly type: GgmlType;
  readonly name: string;
  /** Elements per block: a matrix row (K) is a whole number of blocks. */
  readonly blockSize: number;
  /** Bytes per block in the file layout (I2_S adds one 32-byte tail per tensor: its scale and padding). */
  readonly blockBytes: number;
  /** Ternary weights (integer kernels, TernaryMatrix) or float / k-quant ones (FloatMatrix). */
  readonly kind: 'ternary' | 'float';
  readonly activation: ActivationFormat;
  /** The Kernels method that multiplies this type. */
  readonly kernel: MatmulKernelName;
}

/** The table, ternary types first, then float ones. */
export const TENSOR_TYPES = [
  { type: GgmlType.I2_S, name: 'I2_S', blockSize: 128, blockBytes: 32, kind: 'ternary', activation: 'i8', kernel: 'matmulI2sI8' },
  { type: GgmlType.TQ1_0, name: 'TQ1_0', blockSize: 256, blockBytes: 54, kind: 'ternary', activation: 'q8_k', kernel: 'matmulTq1_0Q8K' },
  { type: GgmlType.TQ2_0, name: 'TQ2_0', blockSize: 256, blockBytes: 66, kind: 'ternary', activation: 'q8_k', kernel: 'matmulTq2_0Q8K' },
  { type: GgmlType.F32, name: 'F32', blockSize: 1, blockBytes: 4, kind: 'float', activation: 'f32', kernel: 'matmulFloat' },
  { type: GgmlType.F16, name: 'F16', blockSize: 1, blockBytes: 2, kind: 'float', activation: 'f16', kernel: 'matmulFloat' },
  { type: GgmlType.BF16, name: 'BF16', blockSize: 1, blockBytes: 2, kind: 'float', activation: 'bf16', kernel: 'matmulFloat' },
  { type: GgmlType.Q8_0, name: 'Q8_0', blockSize: 32, blockBytes: 34, kind: 'float', activation: 'q8_0', kernel: 'matmulQ8_0Q8_0' },
  { type: GgmlType.Q4_K, name: 'Q4_K', blockSize: 256, blockBytes: 144, kind: 'float', activation: 'f32', kernel: 'matmulFloat' },
  { type: GgmlType.Q6_K, name: 'Q6_K', blockSize: 256, blockBytes: 210, kind: 'float', activation: 'f32', kernel: 'matmulFloat' },
] as const satisfies readonly TensorTypeRow[];

type Row = (typeof TENSOR_TYPES)[number];
/** The ternary weight types (TernaryMatrix['type']). */
export type TernaryType = Extract<Row, { kind: 'ternary' }>['type'];
/** The float and k-quant weight types (FloatMatrix['type']). */
export type FloatType = Extract<Row, { kind: 'float' }>['type'];

/** The ternary types of the table, in table order. */
export const TERNARY_TYPES: readonly TernaryType[] = TENSOR_TYPES.filter((e): e is Extract<Row, { kind: 'ternary' }> => e.kind === 'ternary').map((e) => e.type);
/** The float and k-quant types of the table, in table order. */
export const FLOAT_TYPES: readonly FloatType[] = TENSOR_TYPES.filter((e): e is Extract<Row, { kind: 'float' }> => e.kind === 'float').map((e) => e.type);
