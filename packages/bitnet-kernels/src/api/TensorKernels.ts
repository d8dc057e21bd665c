/**
 * One table of the weight types the kernels multiply, keyed by ggml's own type ids: the TS mirror
 * of the addon's C++ traits table. Each entry says how big a block is, which activation format the
 * type is multiplied with (the one its reference engine uses), and which kernel does the product.
 * Adding a weight type means: an entry here, its kernels (TS and native) and their tests; callers
 * such as the inference package's Linear only look types up.
 */
import { GgmlType, ggmlTypeName } from '@bitnet/models';
import type { ActivationFormat, PreparedActivations } from './ActivationFormats';
import type { FloatMatrix, I8Activations, Kernels, Q8_0Activations, Q8KActivations, TernaryMatrix } from './Kernels';

export interface TensorKernel {
  readonly type: GgmlType;
  readonly name: string;
  /** Elements per block: a matrix row (K) is a whole number of blocks. */
  readonly blockSize: number;
  /** Bytes per block in the file layout (I2_S adds one 32-byte tail per tensor: its scale and padding). */
  readonly blockBytes: number;
  /** Ternary weights (integer kernels) or float / k-quant ones. */
  readonly kind: 'ternary' | 'float';
  readonly activation: ActivationFormat;
  /** Name of the Kernels method that multiplies this type. */
  readonly kernel: keyof Kernels;
  /** out (rows × w.rows) = W · a, with `a` prepared in this type's activation format for `rows` rows. */
  matmul(kernels: Kernels, w: TernaryMatrix | FloatMatrix, a: PreparedActivations, rows: number, out: Float32Array): void;
}

const ternary = (w: TernaryMatrix | FloatMatrix) => w as TernaryMatrix;
const float = (w: TernaryMatrix | FloatMatrix) => w as FloatMatrix;

function floatEntry(type: FloatMatrix['type'], blockSize: number, blockBytes: number, activation: ActivationFormat): TensorKernel {
  return {
    type,
    name: ggmlTypeName(type),
    blockSize,
    blockBytes,
    kind: 'float',
    activation,
    kernel: 'matmulFloat',
    matmul: (k, w, a, rows, out) => k.matmulFloat(float(w), a as Float32Array, rows, out),
  };
}

/** The table, ternary types first, then float ones. */
const ENTRIES: readonly TensorKernel[] = [
  {
    type: GgmlType.I2_S,
    name: 'I2_S',
    blockSize: 128,
    blockBytes: 32,
    kind: 'ternary',
    activation: 'i8',
    kernel: 'matmulI2sI8',
    matmul: (k, w, a, _rows, out) => k.matmulI2sI8(ternary(w), a as I8Activations, out),
  },
  {
    type: GgmlType.TQ1_0,
    name: 'TQ1_0',
    blockSize: 256,
    blockBytes: 54,
    kind: 'ternary',
    activation: 'q8_k',
    kernel: 'matmulTq1_0Q8K',
    matmul: (k, w, a, _rows, out) => k.matmulTq1_0Q8K(ternary(w), a as Q8KActivations, out),
  },
  {
    type: GgmlType.TQ2_0,
    name: 'TQ2_0',
    blockSize: 256,
    blockBytes: 66,
    kind: 'ternary',
    activation: 'q8_k',
    kernel: 'matmulTq2_0Q8K',
    matmul: (k, w, a, _rows, out) => k.matmulTq2_0Q8K(ternary(w), a as Q8KActivations, out),
  },
  floatEntry(GgmlType.F32, 1, 4, 'f32'),
  floatEntry(GgmlType.F16, 1, 2, 'f16'),
  floatEntry(GgmlType.BF16, 1, 2, 'bf16'),
  {
    type: GgmlType.Q8_0,
    name: 'Q8_0',
    blockSize: 32,
    blockBytes: 34,
    kind: 'float',
    activation: 'q8_0',
    kernel: 'matmulQ8_0Q8_0',
    matmul: (k, w, a, _rows, out) => k.matmulQ8_0Q8_0(float(w), a as Q8_0Activations, out),
  },
  floatEntry(GgmlType.Q4_K, 256, 144, 'f32'),
  floatEntry(GgmlType.Q6_K, 256, 210, 'f32'),
];

/** Every weight type the kernels multiply, by ggml type id. */
export const TENSOR_KERNELS: ReadonlyMap<GgmlType, TensorKernel> = new Map(ENTRIES.map((e) => [e.type, e]));

/** The table entry of `type`; a type the kernels cannot multiply is a RangeError naming it. */
export function tensorKernel(type: GgmlType): TensorKernel {
  const entry = TENSOR_KERNELS.get(type);
  if (!entry) {
    const known = [...TENSOR_KERNELS.values()].map((e) => e.name).join(', ');
    throw new RangeError(`no kernel multiplies ${ggmlTypeName(type)} (ggml type ${String(type)}) weights; the kernels take ${known}`);
  }
  return entry;
}

/** The ternary types of the table, in table order. */
export const TERNARY_TYPES: readonly TernaryMatrix['type'][] = [...TENSOR_KERNELS.values()].filter((e) => e.kind === 'ternary').map((e) => e.type as TernaryMatrix['type']);
/** The float and k-quant types of the table, in table order. */
export const FLOAT_TYPES: readonly FloatMatrix['type'][] = [...TENSOR_KERNELS.values()].filter((e) => e.kind === 'float').map((e) => e.type as FloatMatrix['type']);
