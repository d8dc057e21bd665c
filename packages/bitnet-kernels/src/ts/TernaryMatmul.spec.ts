import { dequantize, GgmlType, ggmlTensorByteSize, ggmlTypeName, quantizeTernary, SeededRandom } from '@bitnet/models';
import { allocI8Activations, allocQ8KActivations } from '../api/Activations';
import type { I8Activations, Kernels, Q8KActivations, TernaryMatrix } from '../api/Kernels';
import { i8ActivationsCase, q8kActivationsCase, ternaryCase, TernaryCase, ternaryShapes, TernaryType, TERNARY_TYPES } from '../testing/kernelCases';
import { kernelsUnderTest } from '../testing/kernelsUnderTest';

const fround = Math.fround;

type Acts = I8Activations | Q8KActivations;

/** The contract's formula, from the trits and stored scales the case was built with. */
function reference(c: TernaryCase, a: Acts): Float32Array {
  const { rows: N, cols: K } = c.w;
  const out = new Float32Array(a.rows * N);
  for (let m = 0; m < a.rows; m++) {
    for (let n = 0; n < N; n++) {
      if (c.w.type === GgmlType.I2_S) {
        const act = a as I8Activations;
        let dot = 0; // Σ code·q with code = trit + 1
        for (let k = 0; k < K; k++) dot += (c.trits[n * K + k] + 1) * act.qs[m * K + k];
        out[m * N + n] = fround(fround(fround(dot - act.sums[m]) / act.scales[m]) * c.scales[0]);
      } else {
        const act = a as Q8KActivations;
        const nb = K / 256;
        // ggml's AVX2 vec_dot_tq*_q8_K: per block 8 integer lanes, lane k = Σ code·a over the elements
        // with (e mod 32) >> 2 == k (code = trit + 1) minus Σ a over elements 32k .. 32k+31; each lane
        // accumulated across blocks by an f32 FMA with d = fround(da·dw); then hsum_float_8.
        // (fround(lane·d + acc): lane·d is exact in a double; no double-rounding case arises in these cases.)
        const acc = [0, 0, 0, 0, 0, 0, 0, 0];
        for (let b = 0; b < nb; b++) {
          const lanes = [0, 0, 0, 0, 0, 0, 0, 0];
          for (let j = 0; j < 256; j++) {
            const q = act.qs[m * K + b * 256 + j];
            lanes[(j & 31) >> 2] += (c.trits[n * K + b * 256 + j] + 1) * q;
            lanes[j >> 5] -= q;
          }
          const d = fround(act.d[m * nb + b] * c.scales[n * nb + b]);
          for (let k = 0; k < 8; k++) acc[k] = fround(lanes[k] * d + acc[k]);
        }
        const h = [0, 1, 2, 3].map((i) => fround(acc[i] + acc[i + 4]));
        out[m * N + n] = fround(fround(h[0] + h[2]) + fround(h[1] + h[3]));
      }
    }
  }
  return out;
}

function matmul(kernels: Kernels, w: TernaryMatrix, a: Acts, out: Float32Array): void {
  if (w.type === GgmlType.I2_S) kernels.matmulI2sI8(w, a as I8Activations, out);
  else if (w.type === GgmlType.TQ2_0) kernels.matmulTq2_0Q8K(w, a as Q8KActivations, out);
  else kernels.matmulTq1_0Q8K(w, a as Q8KActivations, out);
}

function quantizeActs(kernels: Kernels, type: TernaryType, x: Float32Array, rows: number, cols: number): Acts {
  if (type === GgmlType.I2_S) {
    const a = allocI8Activations(rows, cols);
    kernels.quantizeI8PerToken(x, rows, cols, a);
    return a;
  }
  const a = allocQ8KActivations(rows, cols);
  kernels.quantizeQ8K(x, rows, cols, a);
  return a;
}

/** Raw activations over the whole int8 range (−128 included). */
function rawActs(type: TernaryType, rows: number, cols: number, seed: number): Acts {
  return type === GgmlType.I2_S ? i8ActivationsCase(rows, cols, seed) : q8kActivationsCase(rows, cols, seed);
}

/** Bit-for-bit equality (±0 and NaN payloads distinguished), reporting the first difference. */
function expectBitExact(got: Float32Array, want: Float32Array): void {
  expect(got.length).toBe(want.length);
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  const i = g.findIndex((v, j) => v !== w[j]);
  if (i >= 0) throw new Error(`element ${i}: got ${got[i]}, want ${want[i]} (${g.filter((v, j) => v !== w[j]).length} differ)`);
}

/** Σ_k W[n,k]·q[m,k] in float64 from @bitnet/models' dequantizer (unit scales make it the integer sum). */
function dequantizedDots(w: TernaryMatrix, qs: Int8Array, mRows: number, blockScale?: (m: number, b: number) => number): Float64Array {
  const W = dequantize(w.type, w.data, w.rows * w.cols);
  const K = w.cols;
  const out = new Float64Array(mRows * w.rows);
  for (let m = 0; m < mRows; m++) {
    for (let n = 0; n < w.rows; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += W[n * K + k] * qs[m * K + k] * (blockScale ? blockScale(m, k >> 8) : 1);
      out[m * w.rows + n] = s;
    }
  }
  return out;
}

/** Unit-scale activations: out = Σ (c − 1)·q exactly. I8: scale 1 with consistent sums; Q8_K: d = 1. */
function unitActs(type: TernaryType, rows: number, cols: number, seed: number): Acts {
  const a = rawActs(type, rows, cols, seed);
  if (type === GgmlType.I2_S) (a as I8Activations).scales.fill(1);
  else (a as Q8KActivations).d.fill(1);
  return a;
}

/** Keeps a hand-edited Q8_K buffer consistent (implementations may use bsums). */
function recomputeBsums(a: Q8KActivations): void {
  a.bsums.fill(0);
  for (let i = 0; i < a.qs.length; i++) a.bsums[i >> 4] += a.qs[i];
}

/** A matrix of random bytes (every byte value, stray 2-bit code 3 included) with unit scales. */
function randomBytesMatrix(type: TernaryType, rows: number, cols: number, seed: number): TernaryMatrix {
  const rng = new SeededRandom(seed);
  const data = new Uint8Array(ggmlTensorByteSize(type, [cols, rows]) as number);
  for (let i = 0; i < data.length; i++) data[i] = rng.int(256);
  if (type === GgmlType.I2_S) {
    const ws = (rows * cols) / 4;
    data.fill(0, ws);
    new DataView(data.buffer).setFloat32(ws, 1, true);
  } else {
    const bb = type === GgmlType.TQ2_0 ? 66 : 54;
    for (let p = bb - 2; p < data.length; p += bb) [data[p], data[p + 1]] = [0x00, 0x3c]; // f16 1.0
  }
  return { type, data, rows, cols };
}

describe.each(kernelsUnderTest())('ternary matmul [%s]', (_label, kernels) => {
  describe.each(TERNARY_TYPES.map((t) => [ggmlTypeName(t), t] as const))('%s', (_name, type) => {
    it.each(ternaryShapes(type).map((s) => [`${s.rows}×${s.cols}, ${s.mRows} rows`, s] as const))(
      'equals the contract formula bit for bit: %s (quantized and raw int8 activations)',
      (_shape, { rows, cols, mRows }) => {
        const c = ternaryCase(type, rows, cols, mRows, rows * 7919 + cols + mRows);
        const out = new Float32Array(mRows * rows);
        const quantized = quantizeActs(kernels, type, c.x, mRows, cols);
        matmul(kernels, c.w, quantized, out);
        expectBitExact(out, reference(c, quantized));
        const raw = rawActs(type, mRows, cols, rows + cols);
        matmul(kernels, c.w, raw, out);
        expectBitExact(out, reference(c, raw));
      },
    );

    it('integer sums equal the float64 dot product of dequantized weights and int8 activations', () => {
      for (const { rows, cols, mRows } of ternaryShapes(type)) {
        // Packed by the quantizer (max codes in the last row) and random bytes (every byte value).
        const packed = quantizeTernary(type, ternaryCase(type, rows, cols, 1, cols).trits, 1, cols);
        for (const w of [{ type, data: packed, rows, cols }, randomBytesMatrix(type, rows, cols, rows + mRows)]) {
          const a = unitActs(type, mRows, cols, cols + 1);
          const out = new Float32Array(mRows * rows);
          matmul(kernels, w, a, out);
          expect(Array.from(out)).toEqual(Array.from(dequantizedDots(w, a.qs, mRows)));
        }
      }
    });

    it('the largest sums: max codes against activations of 127 and −128', () => {
      const cols = 2560;
      const trits = new Int8Array(2 * cols);
      trits.fill(1, 0, cols);
      trits.fill(-1, cols);
      const w = { type, data: quantizeTernary(type, trits, 1, cols), rows: 2, cols };
      const a = unitActs(type, 2, cols, 3);
      a.qs.fill(127, 0, cols);
      a.qs.fill(-128, cols);
      if (type === GgmlType.I2_S) (a as I8Activations).sums.set([127 * cols, -128 * cols]);
      else recomputeBsums(a as Q8KActivations);
      const out = new Float32Array(4);
      matmul(kernels, w, a, out);
      expect(Array.from(out)).toEqual([127 * cols, -127 * cols, -128 * cols, 128 * cols]);
    });

    if (type !== GgmlType.I2_S) {
      it('scales each 256-block by its own weight and activation scales', () => {
        // Power-of-two activation scales keep the result exact, so a block paired with the wrong
        // scale shows up as a wrong value.
        const { rows, cols } = { rows: 5, cols: 1024 };
        const w = randomBytesMatrix(type, rows, cols, 9);
        const a = q8kActivationsCase(3, cols, 10);
        for (let i = 0; i < a.d.length; i++) a.d[i] = 2 ** (i % 4);
        const out = new Float32Array(3 * rows);
        matmul(kernels, w, a, out);
        expect(Array.from(out)).toEqual(Array.from(dequantizedDots(w, a.qs, 3, (m, b) => a.d[m * 4 + b])));
      });
    }
  });
});
