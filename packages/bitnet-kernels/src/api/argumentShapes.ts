/**
 * The argument shapes of every kernel, declared once: which arguments are objects, matrices of
 * which ggml types, integers (and their minimum), relations between them, finite numbers, typed
 * arrays (element type and the exact length the integers imply), per-element conditions and the
 * outputs that must not share memory with inputs. CheckedKernels checks every call against this
 * table (checkKernelArgs); the native binding keeps only what it needs for memory safety.
 *
 * Names are paths into the call's named arguments: 'w.data', 'a.cols', 'shape.kvHeads'; an integer
 * named '<array>.length' is that array's length (its element type is checked first).
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

function merge(...parts: KernelArgShape[]): KernelArgShape {
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

const multipleOf = (arg: string, n: number, what: string): SizeRule => ({
  arg,
  holds: (s) => s[arg] % n === 0,
  problem: (s) => `${s[arg]} is not a multiple of ${what} ${n}`,
});

/** `arg` must equal `other` (`named`: the message names `other`, a size of another argument). */
const equals = (arg: string, other: string, named = false): SizeRule => ({
  arg,
  holds: (s) => s[arg] === s[other],
  problem: (s) => (named ? `is ${s[arg]}, ${other} is ${s[other]}: they must be equal` : `is ${s[arg]}, ${s[other]} expected`),
});

/** Every element of `array` an index below the size `n`, into `what`. */
const indices = (array: string, n: string, what: string): ElementRule => ({
  array,
  problem: (v, s) => (v < 0 || v >= s[n] ? `is ${v}, outside ${what} 0..${s[n] - 1}` : undefined),
});

const f32 = (length?: (s: Sizes) => number): ArrayShape => ({ kind: 'Float32Array', length });

/** A matrix argument: one of `types`, whole blocks per row, data exactly the tensor's byte size. */
function matrix(name: string, types: readonly GgmlType[]): KernelArgShape {
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
function activations(name: string, what: string, blockName: string, block: number, arrays: Record<string, (rows: number, cols: number) => number>): KernelArgShape {
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
function i8rMatrix(name: string): KernelArgShape {
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
const i8rSource = (): KernelArgShape =>
  merge(matrix('w', [GgmlType.F32, GgmlType.F16, GgmlType.BF16]), {
    rules: [multipleOf('w.cols', 32, 'the I8r granule'), { arg: 'w.cols', holds: (s) => s['w.cols'] <= 32768, problem: (s) => `${s['w.cols']} is above 32768 (the I8r limit)` }],
  });

const i8Acts = (name: string) => activations(name, 'I8Activations', '', 1, { qs: (r, c) => r * c, scales: (r) => r, sums: (r) => r });
const q8kActs = (name: string) => activations(name, 'Q8KActivations', 'Q8_K', 256, { qs: (r, c) => r * c, d: (r, c) => (r * c) / 256, bsums: (r, c) => (r * c) / 16 });
const q8_0Acts = (name: string) => activations(name, 'Q8_0Activations', 'Q8_0', 32, { qs: (r, c) => r * c, d: (r, c) => (r * c) / 32 });

/** Every array of activations object `name`. */
const actArrays = (shape: KernelArgShape, name: string) => Object.keys(shape.arrays ?? {}).filter((a) => a.startsWith(`${name}.`));

/** quantize*(x, rows, cols, out): x is rows × cols, `out` activations of the same sizes. */
function quantizer(acts: KernelArgShape, block: number, blockName: string): KernelArgShape {
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
function integerMatmul(type: GgmlType, acts: KernelArgShape): KernelArgShape {
  return merge(matrix('w', [type]), acts, {
    rules: [equals('a.cols', 'w.cols')],
    numbers: { scale: { optional: true } },
    arrays: { out: f32((s) => s['a.rows'] * s['w.rows']) },
    disjoint: [['out', 'w.data'], ...actArrays(acts, 'a').map((a) => ['out', a] as [string, string])],
  });
}

/** (a, b, out) element-wise: equal lengths, out may be a or b themselves. */
function elementwise(a: string, b: string): KernelArgShape {
  const n = `${a}.length`;
  return {
    sizes: { [n]: 1 },
    arrays: { [a]: f32(), [b]: f32((s) => s[n]), out: f32((s) => s[n]) },
    disjoint: [['out', a, true], ['out', b, true]],
  };
}

/** A KV cache array: contiguous, exactly capacity × kvHeads × headDim; paged, checked by pagedKv's check. */
const kvArray = (): ArrayShape => ({
  kind: 'Uint16Array',
  length: (s) => (s['shape.blockTokens'] ? undefined : s['shape.capacity'] * s['shape.kvHeads'] * s['shape.headDim']),
});

/**
 * The paged layout of a KV shape (KvShape.blocks / blockTokens), both absent or both given: whole
 * blocks of 32 positions, enough of them for positions 0 .. startPos + tokens − 1, caches of the same
 * length holding whole blocks, each used block id one of them, and `blocks` apart from the outputs.
 */
function pagedKv(kernel: KernelName, outputs: readonly string[]): KernelArgShape {
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

// ---- the table ----------------------------------------------------------------------------------------

export const KERNEL_ARGS: { readonly [K in KernelName]: KernelArgShape } = {
  quantizeI8PerToken: quantizer(i8Acts('out'), 1, ''),
  quantizeQ8K: quantizer(q8kActs('out'), 256, 'Q8_K'),
  quantizeQ8_0: quantizer(q8_0Acts('out'), 32, 'Q8_0'),
  matmulI2sI8: integerMatmul(GgmlType.I2_S, i8Acts('a')),
  matmulTq2_0Q8K: integerMatmul(GgmlType.TQ2_0, q8kActs('a')),
  matmulTq1_0Q8K: integerMatmul(GgmlType.TQ1_0, q8kActs('a')),
  matmulQ8_0Q8_0: integerMatmul(GgmlType.Q8_0, q8_0Acts('a')),
  matmulFloat: merge(matrix('w', FLOAT_TYPES), {
    sizes: { xRows: 1 },
    arrays: { x: f32((s) => s.xRows * s['w.cols']), out: f32((s) => s.xRows * s['w.rows']) },
    disjoint: [['out', 'x'], ['out', 'w.data']],
  }),
  getRows: merge(matrix('w', [...FLOAT_TYPES, ...TERNARY_TYPES]), {
    sizes: { 'ids.length': 1 },
    arrays: { ids: { kind: 'Int32Array' }, out: f32((s) => s['ids.length'] * s['w.cols']) },
    elements: [indices('ids', 'w.rows', "the matrix's rows")],
    disjoint: [['out', 'w.data'], ['out', 'ids']],
  }),
  matmulFloatPicked: merge(matrix('w', FLOAT_TYPES), {
    sizes: { xRows: 1, 'wRow.length': 0 },
    arrays: {
      x: f32((s) => s.xRows * s['w.cols']),
      wRow: { kind: 'Int32Array' },
      xRow: { kind: 'Int32Array', length: (s) => s['wRow.length'], problem: (got, want) => `has ${got} elements, ${want} expected (one per pick, as wRow)` },
      out: f32((s) => s['wRow.length']),
    },
    elements: [indices('wRow', 'w.rows', "the matrix's rows"), indices('xRow', 'xRows', "x's rows")],
    disjoint: [['out', 'x'], ['out', 'w.data'], ['out', 'wRow'], ['out', 'xRow']],
  }),
  rmsNorm: {
    sizes: { rows: 1, cols: 1 },
    numbers: { eps: { min: 0 } },
    arrays: { x: f32((s) => s.rows * s.cols), weight: f32((s) => s.cols), out: f32((s) => s.rows * s.cols) },
    disjoint: [['out', 'x', true], ['out', 'weight']],
  },
  ropeNeox: {
    sizes: { tokens: 1, heads: 1, headDim: 1, ropeDim: 2 },
    rules: [
      { arg: 'ropeDim', holds: (s) => s.ropeDim % 2 === 0, problem: (s) => `${s.ropeDim} is odd; NEOX RoPE rotates pairs` },
      { arg: 'ropeDim', holds: (s) => s.ropeDim <= s.headDim, problem: (s) => `${s.ropeDim} is larger than headDim ${s.headDim}` },
    ],
    numbers: { freqBase: { min: 0, above: true } },
    arrays: { x: f32((s) => s.tokens * s.heads * s.headDim), positions: { kind: 'Int32Array', length: (s) => s.tokens } },
    elements: [{ array: 'positions', problem: (v) => (v < 0 ? `is ${v}, positions are >= 0` : undefined) }],
    disjoint: [['x', 'positions']],
  },
  softmax: {
    sizes: { rows: 1, cols: 1 },
    arrays: { x: f32((s) => s.rows * s.cols) },
  },
  attention: merge(
    {
      objects: { shape: 'an AttentionShape object' },
      sizes: { 'shape.tokens': 1, 'shape.heads': 1, 'shape.kvHeads': 1, 'shape.headDim': 1, 'shape.startPos': 0, 'shape.capacity': 1 },
      rules: [
        {
          arg: 'shape.kvHeads',
          holds: (s) => s['shape.heads'] % s['shape.kvHeads'] === 0,
          problem: (s) => `${s['shape.kvHeads']} does not divide shape.heads ${s['shape.heads']}`,
        },
        {
          arg: 'shape.capacity',
          holds: (s) => s['shape.startPos'] + s['shape.tokens'] <= s['shape.capacity'],
          problem: (s) => `${s['shape.capacity']} is less than shape.startPos + shape.tokens = ${s['shape.startPos']} + ${s['shape.tokens']}`,
        },
      ],
      numbers: { 'shape.scale': {} },
      arrays: {
        q: f32((s) => s['shape.tokens'] * s['shape.heads'] * s['shape.headDim']),
        kCache: kvArray(),
        vCache: kvArray(),
        out: f32((s) => s['shape.tokens'] * s['shape.heads'] * s['shape.headDim']),
      },
      disjoint: [['out', 'q'], ['out', 'kCache'], ['out', 'vCache']],
    },
    pagedKv('attention', ['out']),
  ),
  storeKv: merge(
    {
      objects: { shape: 'a KvShape object' },
      sizes: { 'shape.tokens': 1, 'shape.kvHeads': 1, 'shape.headDim': 1, 'shape.startPos': 0, 'shape.capacity': 1 },
      rules: [
        {
          arg: 'shape.capacity',
          holds: (s) => s['shape.startPos'] + s['shape.tokens'] <= s['shape.capacity'],
          problem: (s) => `${s['shape.capacity']} is less than shape.startPos + shape.tokens = ${s['shape.startPos']} + ${s['shape.tokens']}`,
        },
      ],
      arrays: {
        k: f32((s) => s['shape.tokens'] * s['shape.kvHeads'] * s['shape.headDim']),
        v: f32((s) => s['shape.tokens'] * s['shape.kvHeads'] * s['shape.headDim']),
        kCache: kvArray(),
        vCache: kvArray(),
      },
      disjoint: [['kCache', 'vCache'], ['kCache', 'k'], ['kCache', 'v'], ['vCache', 'k'], ['vCache', 'v']],
    },
    pagedKv('storeKv', ['kCache', 'vCache']),
  ),
  reluSqrMul: elementwise('gate', 'up'),
  siluMul: elementwise('gate', 'up'),
  add: elementwise('a', 'b'),
  scale: {
    sizes: { 'x.length': 1 },
    numbers: { s: {} },
    arrays: { x: f32(), out: f32((s) => s['x.length']) },
    disjoint: [['out', 'x', true]],
  },
  toF16: {
    sizes: { 'x.length': 1 },
    arrays: { x: f32(), out: { kind: 'Uint16Array', length: (s) => s['x.length'] } },
    disjoint: [['out', 'x']],
  },
  repackTq1_0AsTq2_0: {
    sizes: { 'dst.length': 0 },
    rules: [{ arg: 'dst', holds: (s) => s['dst.length'] % 66 === 0, problem: (s) => `length ${s['dst.length']} is not a whole number of 66-byte TQ2_0 blocks` }],
    arrays: {
      dst: { kind: 'Uint8Array' },
      src: {
        kind: 'Uint8Array',
        atLeast: (s) => (s['dst.length'] / 66) * 54,
        problem: (got, want, s) => `holds ${got} bytes; ${s['dst.length'] / 66} TQ1_0 blocks need ${want}`,
      },
    },
    disjoint: [['dst', 'src']],
  },
  encodeQ8_0Blocks: {
    sizes: { 'x.length': 1 },
    rules: [{ arg: 'x', holds: (s) => s['x.length'] % 32 === 0, problem: (s) => `length ${s['x.length']} is not a multiple of 32` }],
    arrays: { x: f32(), out: { kind: 'Uint8Array', length: (s) => (s['x.length'] / 32) * 34 } },
    disjoint: [['out', 'x']],
  },
  encodeQ8_0Rows: merge(matrix('w', [GgmlType.F32, GgmlType.F16, GgmlType.BF16]), {
    rules: [{ arg: 'w.cols', holds: (s) => s['w.cols'] % 32 === 0, problem: (s) => `${s['w.cols']} is not a multiple of the Q8_0 block size 32` }],
    arrays: { out: { kind: 'Uint8Array', length: (s) => s['w.rows'] * (s['w.cols'] / 32) * 34 } },
    disjoint: [['out', 'w.data']],
  }),
  matmulI8rI8: merge(i8rMatrix('w'), i8Acts('a'), {
    rules: [equals('a.cols', 'w.cols')],
    arrays: { out: f32((s) => s['a.rows'] * s['w.rows']) },
    disjoint: [['out', 'w.codes'], ['out', 'w.scales'], ['out', 'a.qs'], ['out', 'a.scales'], ['out', 'a.sums']],
  }),
  encodeI8rRows: merge(i8rSource(), i8rMatrix('out'), {
    rules: [equals('out.rows', 'w.rows', true), equals('out.cols', 'w.cols', true)],
    disjoint: [['out.codes', 'w.data'], ['out.scales', 'w.data'], ['out.scales', 'out.codes']],
  }),
  screenBoundsI8r: merge(i8rSource(), i8rMatrix('q'), {
    rules: [equals('q.rows', 'w.rows', true), equals('q.cols', 'w.cols', true)],
    arrays: { out: f32((s) => 2 * s['w.rows']) },
    disjoint: [['out', 'w.data'], ['out', 'q.codes'], ['out', 'q.scales']],
  }),
  screenCandidates: {
    sizes: { 'a.length': 1, 'ids.length': 0 },
    numbers: { c0: { min: 0 }, c1: { min: 0 } },
    arrays: { a: f32(), bounds: f32((s) => 2 * s['a.length']), ids: { kind: 'Int32Array' } },
    disjoint: [['ids', 'a'], ['ids', 'bounds']],
  },
  weighLogits: {
    sizes: { 'logits.length': 1, 'bandWeight.length': 1 },
    rules: [{ arg: 'bandWeight', holds: (s) => s['bandWeight.length'] <= 256, problem: (s) => `holds ${s['bandWeight.length']} bands, at most 256` }],
    numbers: { max: {}, temperature: { min: 0, above: true }, bandScale: { min: 0 } },
    arrays: {
      logits: f32(),
      weights: { kind: 'Float64Array', length: (s) => s['logits.length'] },
      ids: { kind: 'Int32Array', length: (s) => s['logits.length'] },
      bandWeight: { kind: 'Float64Array' },
      start: { kind: 'Int32Array', length: (s) => s['bandWeight.length'] + 1 },
    },
    disjoint: [['weights', 'logits'], ['ids', 'logits'], ['bandWeight', 'logits'], ['start', 'logits'], ['weights', 'ids'], ['weights', 'bandWeight'], ['weights', 'start'], ['ids', 'bandWeight'], ['ids', 'start'], ['bandWeight', 'start']],
  },
  argmax: {
    sizes: { 'x.length': 1 },
    arrays: { x: f32() },
  },
  sumExp: {
    sizes: { 'x.length': 0 },
    numbers: { max: {} },
    arrays: { x: f32() },
  },
};
