/**
 * What the kernel argument table (argumentShapes.ts) is made of: the shape types checkKernelArgs reads,
 * and the builders for shapes many kernels share (a matrix of some ggml types, a block-quantized
 * activation set, a quantizer, an integer matmul, an element-wise op, the paged KV layout).
 */
import { GgmlType, ggmlTensorByteSize, ggmlTypeName } from '@bitnet/models';
import { checkNoOverlap, fail, type TypedArrayName } from './argumentChecks';
import type { Kernels } from './Kernels';
import { FLOAT_TYPES, TENSOR_KERNELS, TERNARY_TYPES } from './TensorKernels';

/** The integers of a call (and each matrix's type id, as '<matrix>.type'), by name. */
export type Sizes = Readonly<Record<string, number>>;

export interface ArrayShape {
  kind: TypedArrayName;
  /** The exact length, from the integers; absent (or undefined for these sizes): any length. */
  length?: (s: Sizes) => number | undefined;
  /** The argument may be absent (undefined). */
  optional?: boolean;
  /** A minimum length instead (an input that may hold more than is read). */
  atLeast?: (s: Sizes) => number;
  /** The problem to report for a wrong length, when the generic wording is not clear enough. */
  problem?: (got: number, want: number, s: Sizes) => string;
}

export interface SizeRule {
  /** The argument blamed when the rule does not hold. */
  arg: string;
  holds: (s: Sizes) => boolean;
  problem: (s: Sizes) => string;
}

export interface ElementRule {
  array: string;
  /** undefined when element v is fine, else what is wrong with it. */
  problem: (v: number, s: Sizes) => string | undefined;
}

export interface KernelArgShape {
  /** Arguments that must be objects, with what they are. */
  objects?: Record<string, string>;
  /** Matrix arguments and the ggml types each accepts. */
  matrices?: Record<string, readonly GgmlType[]>;
  /** Integers in check order, with their minimum. */
  sizes?: Record<string, number>;
  /** Sizes that may be absent (undefined): they count as 0 then, so their minimum must be >= 1. */
  optional?: readonly string[];
  rules?: SizeRule[];
  /** Finite numbers, with an optional lower bound (inclusive unless `above`); `optional`: may be absent (undefined). */
  numbers?: Record<string, { min?: number; above?: boolean; optional?: boolean }>;
  arrays?: Record<string, ArrayShape>;
  elements?: ElementRule[];
  /** What the table cannot declare, after the elements: each throws (with `fail`) on a violation. */
  checks?: Array<(args: Record<string, unknown>, s: Sizes) => void>;
  /** [output, input, the very same array allowed (in place)] pairs that must not share memory. */
  disjoint?: Array<[string, string, boolean?]>;
}

/** Every kernel of the contract. */
/** The kernels with a row in the shape table (matmulTernaryMany and attentionMany are checked part by part against their single call: CheckedKernels). */
export type KernelName = Exclude<keyof Kernels, 'name' | 'isa' | 'threads' | 'matmulTernaryMany' | 'attentionMany'>;

// ---- building blocks ----------------------------------------------------------------------------------

export function merge(...parts: KernelArgShape[]): KernelArgShape {
  const out: Required<KernelArgShape> = { objects: {}, matrices: {}, sizes: {}, optional: [], rules: [], numbers: {}, arrays: {}, elements: [], checks: [], disjoint: [] };
  for (const p of parts) {
    out.optional = [...out.optional, ...(p.optional ?? [])];
    out.checks.push(...(p.checks ?? []));
    Object.assign(out.objects, p.objects);
    Object.assign(out.matrices, p.matrices);
    Object.assign(out.sizes, p.sizes);
    Object.assign(out.numbers, p.numbers);
    Object.assign(out.arrays, p.arrays);
    out.rules.push(...(p.rules ?? []));
    out.elements.push(...(p.elements ?? []));
    out.disjoint.push(...(p.disjoint ?? []));
  }
  return out;
}

export const multipleOf = (arg: string, n: number, what: string): SizeRule => ({
  arg,
  holds: (s) => s[arg] % n === 0,
  problem: (s) => `${s[arg]} is not a multiple of ${what} ${n}`,
});

/** `arg` must equal `other` (`named`: the message names `other`, a size of another argument). */
export const equals = (arg: string, other: string, named = false): SizeRule => ({
  arg,
  holds: (s) => s[arg] === s[other],
  problem: (s) => (named ? `is ${s[arg]}, ${other} is ${s[other]}: they must be equal` : `is ${s[arg]}, ${s[other]} expected`),
});

/** Every element of `array` an index below the size `n`, into `what`. */
export const indices = (array: string, n: string, what: string): ElementRule => ({
  array,
  problem: (v, s) => (v < 0 || v >= s[n] ? `is ${v}, outside ${what} 0..${s[n] - 1}` : undefined),
});

export const f32 = (length?: (s: Sizes) => number): ArrayShape => ({ kind: 'Float32Array', length });

/** A matrix argument: one of `types`, whole blocks per row, data exactly the tensor's byte size. */
export function matrix(name: string, types: readonly GgmlType[]): KernelArgShape {
  const rows = `${name}.rows`;
  const cols = `${name}.cols`;
  const type = `${name}.type`;
  const bytes = (s: Sizes) => ggmlTensorByteSize(s[type], [s[cols], s[rows]]) ?? -1;
  return {
    objects: { [name]: 'a matrix object' },
    matrices: { [name]: types },
    sizes: { [rows]: 1, [cols]: 1 },
    rules: [
      {
        arg: cols,
        holds: (s) => s[cols] % TENSOR_KERNELS.get(s[type])!.blockSize === 0,
        problem: (s) => `${s[cols]} is not a multiple of the ${ggmlTypeName(s[type])} block size ${TENSOR_KERNELS.get(s[type])!.blockSize}`,
      },
    ],
    arrays: {
      [`${name}.data`]: {
        kind: 'Uint8Array',
        length: bytes,
        problem: (got, want, s) => `has ${got} bytes; a ${ggmlTypeName(s[type])} matrix of ${s[rows]} rows × ${s[cols]} cols takes ${want}`,
      },
    },
  };
}

/** Activations object `name` (I8, Q8_K or Q8_0), its rows and cols and arrays; `block` the block size of `blockName` (1: none). */
export function activations(name: string, what: string, blockName: string, block: number, arrays: Record<string, (rows: number, cols: number) => number>): KernelArgShape {
  const rows = `${name}.rows`;
  const cols = `${name}.cols`;
  const arrayShapes: Record<string, ArrayShape> = {};
  for (const [field, len] of Object.entries(arrays)) {
    const kind: TypedArrayName = field === 'qs' ? 'Int8Array' : field === 'sums' ? 'Int32Array' : field === 'bsums' ? 'Int16Array' : 'Float32Array';
    arrayShapes[`${name}.${field}`] = { kind, length: (s) => len(s[rows], s[cols]) };
  }
  return {
    objects: { [name]: `a ${what} object` },
    sizes: { [rows]: 1, [cols]: 1 },
    rules: block > 1 ? [multipleOf(cols, block, `the ${blockName} block size`)] : [],
    arrays: arrayShapes,
  };
}

/** An I8rMatrix argument: rows ≥ 1, cols a multiple of 32 and at most 32768, codes rows × cols bytes, one f32 scale per row. */
export function i8rMatrix(name: string): KernelArgShape {
  const rows = `${name}.rows`;
  const cols = `${name}.cols`;
  return {
    objects: { [name]: 'an I8rMatrix object' },
    sizes: { [rows]: 1, [cols]: 1 },
    rules: [multipleOf(cols, 32, 'the I8r granule'), { arg: cols, holds: (s) => s[cols] <= 32768, problem: (s) => `${s[cols]} is above 32768 (the int32 sums' range)` }],
    arrays: { [`${name}.codes`]: { kind: 'Uint8Array', length: (s) => s[rows] * s[cols] }, [`${name}.scales`]: f32((s) => s[rows]) },
  };
}

/** An F32/F16/BF16 matrix `w` that an I8r conversion reads (cols a multiple of 32, at most 32768). */
export const i8rSource = (): KernelArgShape =>
  merge(matrix('w', [GgmlType.F32, GgmlType.F16, GgmlType.BF16]), {
    rules: [multipleOf('w.cols', 32, 'the I8r granule'), { arg: 'w.cols', holds: (s) => s['w.cols'] <= 32768, problem: (s) => `${s['w.cols']} is above 32768 (the I8r limit)` }],
  });

export const i8Acts = (name: string) => activations(name, 'I8Activations', '', 1, { qs: (r, c) => r * c, scales: (r) => r, sums: (r) => r });
export const q8kActs = (name: string) => activations(name, 'Q8KActivations', 'Q8_K', 256, { qs: (r, c) => r * c, d: (r, c) => (r * c) / 256, bsums: (r, c) => (r * c) / 16 });
export const q8_0Acts = (name: string) => activations(name, 'Q8_0Activations', 'Q8_0', 32, { qs: (r, c) => r * c, d: (r, c) => (r * c) / 32 });

/** Every array of activations object `name`. */
export const actArrays = (shape: KernelArgShape, name: string) => Object.keys(shape.arrays ?? {}).filter((a) => a.startsWith(`${name}.`));

/** quantize*(x, rows, cols, out): x is rows × cols, `out` activations of the same sizes. */
export function quantizer(acts: KernelArgShape, block: number, blockName: string): KernelArgShape {
  return merge(
    { sizes: { rows: 1, cols: 1 }, rules: block > 1 ? [multipleOf('cols', block, `the ${blockName} block size`)] : [] },
    acts,
    {
      rules: [equals('out.rows', 'rows'), equals('out.cols', 'cols')],
      arrays: { x: f32((s) => s.rows * s.cols) },
      disjoint: actArrays(acts, 'out').map((a) => [a, 'x'] as [string, string]),
    },
  );
}

/** matmul*(w, a, out, scale?): w of `type`, `a` activations with a.cols == w.cols, out a.rows × w.rows, an optional finite output scale. */
export function integerMatmul(type: GgmlType, acts: KernelArgShape): KernelArgShape {
  return merge(matrix('w', [type]), acts, {
    rules: [equals('a.cols', 'w.cols')],
    numbers: { scale: { optional: true } },
    arrays: { out: f32((s) => s['a.rows'] * s['w.rows']) },
    disjoint: [['out', 'w.data'], ...actArrays(acts, 'a').map((a) => ['out', a] as [string, string])],
  });
}

/** (a, b, out) element-wise: equal lengths, out may be a or b themselves. */
export function elementwise(a: string, b: string): KernelArgShape {
  const n = `${a}.length`;
  return {
    sizes: { [n]: 1 },
    arrays: { [a]: f32(), [b]: f32((s) => s[n]), out: f32((s) => s[n]) },
    disjoint: [['out', a, true], ['out', b, true]],
  };
}

/** A KV cache array: contiguous, exactly capacity × kvHeads × headDim; paged, checked by pagedKv's check. */
export const kvArray = (): ArrayShape => ({
  kind: 'Uint16Array',
  length: (s) => (s['shape.blockTokens'] ? undefined : s['shape.capacity'] * s['shape.kvHeads'] * s['shape.headDim']),
});

/**
 * The paged layout of a KV shape (KvShape.blocks / blockTokens), both absent or both given: whole
 * blocks of 32 positions, enough of them for positions 0 .. startPos + tokens − 1, caches of the same
 * length holding whole blocks, each used block id one of them, and `blocks` apart from the outputs.
 */
export function pagedKv(kernel: KernelName, outputs: readonly string[]): KernelArgShape {
  const bt = 'shape.blockTokens';
  const n = 'shape.blocks.length';
  const reach = (s: Sizes) => s['shape.startPos'] + s['shape.tokens'];
  return {
    sizes: { [bt]: 32, [n]: 1 },
    optional: [bt, n],
    rules: [
      { arg: bt, holds: (s) => (s[bt] === 0) === (s[n] === 0), problem: (s) => (s[bt] ? 'is given without shape.blocks' : 'must be given with shape.blocks') },
      { arg: bt, holds: (s) => s[bt] % 32 === 0, problem: (s) => `${s[bt]} is not a multiple of 32` },
      {
        arg: 'shape.blocks',
        holds: (s) => s[n] === 0 || s[n] * s[bt] >= reach(s),
        problem: (s) => `holds ${s[n]} blocks of ${s[bt]} positions, fewer than shape.startPos + shape.tokens = ${reach(s)}`,
      },
    ],
    arrays: { 'shape.blocks': { kind: 'Int32Array', optional: true } },
    checks: [
      (args, s) => {
        if (!s[bt]) return;
        const kCache = args.kCache as Uint16Array;
        const vCache = args.vCache as Uint16Array;
        const blocks = (args.shape as { blocks: Int32Array }).blocks;
        const per = s['shape.kvHeads'] * s[bt] * s['shape.headDim'];
        if (kCache.length === 0 || kCache.length % per !== 0) {
          fail(kernel, 'kCache', `has ${kCache.length} elements, not a whole number of blocks of kvHeads × blockTokens × headDim = ${per}`);
        }
        if (vCache.length !== kCache.length) fail(kernel, 'vCache', `has ${vCache.length} elements, ${kCache.length} expected (as kCache)`);
        const count = kCache.length / per;
        const used = Math.ceil(reach(s) / s[bt]);
        for (let j = 0; j < used; j++) {
          const id = blocks[j];
          if (id < 0 || id >= count) fail(kernel, `shape.blocks[${j}]`, `is ${id}, outside the cache's blocks 0..${count - 1}`);
        }
        for (const out of outputs) checkNoOverlap(kernel, out, args[out] as ArrayBufferView, 'shape.blocks', blocks);
      },
    ],
  };
}
