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
import { GgmlType } from '@bitnet/models';
import { FLOAT_TYPES, TERNARY_TYPES } from './TensorKernels';
import { elementwise, equals, f32, i8Acts, i8rMatrix, i8rSource, indices, integerMatmul, kvArray, matrix, merge, pagedKv, q8_0Acts, q8kActs, quantizer, type KernelArgShape, type KernelName } from './argumentShapeParts';

export type { ArrayShape, ElementRule, KernelArgShape, KernelName, SizeRule, Sizes } from './argumentShapeParts';

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
