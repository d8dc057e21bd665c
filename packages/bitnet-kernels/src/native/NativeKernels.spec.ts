/**
 * The native kernels against the generic C++ kernels, against straightforward references written
 * here from the contract (api/Kernels.ts) and the @bitnet/models codecs, and against the TypeScript
 * kernels (src/ts/TsKernels.ts) when they are present — for every instruction set this machine can
 * run, switched one by one with the addon's test hook. Ternary kernels and getRows must be bit-exact
 * (toEqual on the Float32Array); float kernels agree within 1e-5 of the magnitude of the terms.
 *
 * When the test-only addon build/Release/bitnet_kernels_avx512emu.node exists (BITNET_NATIVE_EMU=1
 * node scripts/build-native.js, needs the SIMDe headers), the AVX-512 kernels are also run through
 * SIMDe's emulated intrinsics, so machines without AVX-512 still test that code.
 *
 * With `-c cpu` (BITNET_KERNELS=native) a missing addon fails this file loudly; with `-c ts` it is
 * skipped; in auto mode it runs when the addon is built.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dequantize, f32ToF16, f16ToF32, GgmlType, quantize, quantizeQ8_0, repackTq1_0AsTq2_0 } from '@bitnet/models';
import type { AttentionShape, FloatMatrix, I8Activations, Kernels, Q8_0Activations, Q8KActivations, TernaryMatrix } from '../api/Kernels';
import { kernelBackend, requestedKernelMode } from '../backend/KernelBackend';
import type { NativeAddon } from './addon';
import { NativeKernels } from './NativeKernels';
import { rng } from '@bitnet/models/testing';

const fround = Math.fround;

// ---- which addons and ISAs --------------------------------------------------------------------------

const mode = requestedKernelMode();
const backend = mode === 'ts' ? undefined : kernelBackend(); // -c cpu without the addon: throws here, loudly
const mainAddon = backend?.addon;
const emuPath = path.resolve(__dirname, '../../build/Release/bitnet_kernels_avx512emu.node');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const emuAddon: NativeAddon | undefined = mainAddon && fs.existsSync(emuPath) ? require(emuPath) : undefined;

const tsKernelsFile = path.resolve(__dirname, '../ts/TsKernels.ts');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const tsKernels: Kernels | undefined = fs.existsSync(tsKernelsFile) ? new (require('../ts/TsKernels').TsKernels)() : undefined;

interface Variant {
  label: string;
  addon: NativeAddon;
  isas: string[];
}
const variants: Variant[] = [];
if (mainAddon) variants.push({ label: 'addon', addon: mainAddon, isas: mainAddon.availableIsas() });
if (emuAddon) variants.push({ label: 'SIMDe-emulated addon', addon: emuAddon, isas: ['avx512'] });

// ---- deterministic random data ------------------------------------------------------------------------

const int = (next: () => number, n: number) => Math.floor(next() * n);

function randomFloats(next: () => number, n: number, scale = 2): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = (next() - 0.5) * 2 * scale;
  return x;
}

/** A random finite f16 with a moderate exponent (|v| ~ 2^-6 .. 2^2), as little-endian bytes at p. */
function putF16(data: Uint8Array, p: number, next: () => number): void {
  const h = ((int(next, 2) << 15) | ((9 + int(next, 8)) << 10) | int(next, 1024)) & 0xffff;
  data[p] = h & 0xff;
  data[p + 1] = h >> 8;
}

type CodeMode = 'valid' | 'any' | 'max';
function codeByte(next: () => number, codes: CodeMode): number {
  if (codes === 'any') return int(next, 256);
  let b = 0;
  for (let f = 0; f < 4; f++) b |= (codes === 'max' ? 2 : int(next, 3)) << (2 * f);
  return b;
}

function makeI2S(next: () => number, N: number, K: number, codes: CodeMode = 'valid'): TernaryMatrix {
  const packed = (N * K) / 4;
  const data = new Uint8Array(packed + 32);
  for (let i = 0; i < packed; i++) data[i] = codeByte(next, codes);
  new DataView(data.buffer).setFloat32(packed, fround(0.25 + next()), true);
  return { type: GgmlType.I2_S, data, rows: N, cols: K };
}

function makeTQ2(next: () => number, N: number, K: number, codes: CodeMode = 'valid'): TernaryMatrix {
  const blocks = (N * K) / 256;
  const data = new Uint8Array(blocks * 66);
  for (let b = 0; b < blocks; b++) {
    for (let j = 0; j < 64; j++) data[b * 66 + j] = codeByte(next, codes);
    putF16(data, b * 66 + 64, next);
  }
  return { type: GgmlType.TQ2_0, data, rows: N, cols: K };
}

function makeTQ1(next: () => number, N: number, K: number, codes: CodeMode = 'valid'): TernaryMatrix {
  const blocks = (N * K) / 256;
  const data = new Uint8Array(blocks * 54);
  for (let b = 0; b < blocks; b++) {
    // 'max': every trit 2 (v = 242 → ceil(242·256/243) = 255); otherwise any byte (all decode to trits)
    for (let j = 0; j < 52; j++) data[b * 54 + j] = codes === 'max' ? 255 : int(next, 256);
    putF16(data, b * 54 + 52, next);
  }
  return { type: GgmlType.TQ1_0, data, rows: N, cols: K };
}

type ActMode = 'random' | 'extreme' | 'zero-rows';
function makeI8(next: () => number, M: number, K: number, how: ActMode): I8Activations {
  const qs = new Int8Array(M * K);
  const scales = new Float32Array(M);
  const sums = new Int32Array(M);
  for (let m = 0; m < M; m++) {
    let s = 0;
    for (let k = 0; k < K; k++) {
      const v = how === 'extreme' ? (next() < 0.5 ? -128 : 127) : how === 'zero-rows' && m % 2 === 0 ? 0 : int(next, 256) - 128;
      qs[m * K + k] = v;
      s += v;
    }
    sums[m] = s;
    scales[m] = fround(1 + next() * 100);
  }
  return { rows: M, cols: K, qs, scales, sums };
}

function makeQ8K(next: () => number, M: number, K: number, how: ActMode): Q8KActivations {
  const i8 = makeI8(next, M, K, how);
  const d = new Float32Array((M * K) / 256);
  for (let i = 0; i < d.length; i++) d[i] = fround((next() - 0.5) * 0.05);
  const bsums = new Int16Array((M * K) / 16);
  for (let g = 0; g < bsums.length; g++) {
    let s = 0;
    for (let j = 0; j < 16; j++) s += i8.qs[g * 16 + j];
    bsums[g] = s;
  }
  return { rows: M, cols: K, qs: i8.qs, d, bsums };
}

// ---- straightforward references (written from the contract, independent of both implementations) ----

function nearestInt(v: number): number {
  const f = Math.floor(v);
  const r = v - f;
  return r > 0.5 ? f + 1 : r < 0.5 ? f : f % 2 === 0 ? f : f + 1;
}

function refQuantizeI8(x: Float32Array, rows: number, cols: number): I8Activations {
  const out: I8Activations = { rows, cols, qs: new Int8Array(rows * cols), scales: new Float32Array(rows), sums: new Int32Array(rows) };
  for (let r = 0; r < rows; r++) {
    let mx = 1e-5;
    for (let i = 0; i < cols; i++) mx = Math.max(mx, Math.abs(x[r * cols + i]));
    const s = fround(127 / mx);
    let sum = 0;
    for (let i = 0; i < cols; i++) {
      const q = Math.max(-128, Math.min(127, nearestInt(fround(x[r * cols + i] * s))));
      out.qs[r * cols + i] = q;
      sum += q;
    }
    out.scales[r] = s;
    out.sums[r] = sum;
  }
  return out;
}

function refQuantizeQ8K(x: Float32Array, rows: number, cols: number): Q8KActivations {
  const n = rows * cols;
  const out: Q8KActivations = { rows, cols, qs: new Int8Array(n), d: new Float32Array(n / 256), bsums: new Int16Array(n / 16) };
  for (let b = 0; b < n / 256; b++) {
    let amax = 0;
    let mx = 0;
    for (let j = 0; j < 256; j++) {
      const v = x[b * 256 + j];
      if (Math.abs(v) > amax) {
        amax = Math.abs(v);
        mx = v;
      }
    }
    if (amax === 0) continue; // d = 0, q = 0, bsums = 0
    const iscale = fround(-127 / mx);
    for (let j = 0; j < 256; j++) out.qs[b * 256 + j] = Math.min(127, nearestInt(fround(iscale * x[b * 256 + j])));
    for (let g = 0; g < 16; g++) {
      let s = 0;
      for (let j = 0; j < 16; j++) s += out.qs[b * 256 + g * 16 + j];
      out.bsums[b * 16 + g] = s;
    }
    out.d[b] = fround(1 / iscale);
  }
  return out;
}

/** Code (0..3) of element k of row n. */
function i2sCode(w: TernaryMatrix, n: number, k: number): number {
  const e = n * w.cols + k;
  const j = e % 128;
  return (w.data[32 * Math.floor(e / 128) + (j % 32)] >> (6 - 2 * Math.floor(j / 32))) & 3;
}
function tq2Code(w: TernaryMatrix, n: number, k: number): number {
  const blk = (n * w.cols) / 256 + Math.floor(k / 256);
  const e = k % 256;
  const c = Math.floor(e / 128);
  const f = Math.floor((e % 128) / 32);
  return (w.data[blk * 66 + 32 * c + (e % 32)] >> (2 * f)) & 3;
}
function tq1Code(w: TernaryMatrix, n: number, k: number): number {
  const p = ((n * w.cols) / 256 + Math.floor(k / 256)) * 54;
  const e = k % 256;
  const trit = (byte: number, t: number) => (((byte * 3 ** t) & 255) * 3) >> 8;
  if (e < 160) return trit(w.data[p + (e % 32)], Math.floor(e / 32));
  if (e < 240) return trit(w.data[p + 32 + ((e - 160) % 16)], Math.floor((e - 160) / 16));
  return trit(w.data[p + 48 + ((e - 240) % 4)], Math.floor((e - 240) / 4));
}
function blockScale(w: TernaryMatrix, n: number, b: number): number {
  const bytes = w.type === GgmlType.TQ2_0 ? 66 : 54;
  const p = ((n * w.cols) / 256 + b) * bytes + bytes - 2;
  return f16ToF32(w.data[p] | (w.data[p + 1] << 8));
}

function refMatmulI2S(w: TernaryMatrix, a: I8Activations): Float32Array {
  const N = w.rows;
  const K = w.cols;
  const ws = new DataView(w.data.buffer, w.data.byteOffset).getFloat32((N * K) / 4, true);
  const out = new Float32Array(a.rows * N);
  const codes = new Uint8Array(K);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) codes[k] = i2sCode(w, n, k);
    for (let m = 0; m < a.rows; m++) {
      let dot = 0;
      for (let k = 0; k < K; k++) dot += codes[k] * a.qs[m * K + k];
      out[m * N + n] = fround(fround(fround(dot - a.sums[m]) / a.scales[m]) * ws);
    }
  }
  return out;
}

function refMatmulTQ(w: TernaryMatrix, a: Q8KActivations): Float32Array {
  const N = w.rows;
  const K = w.cols;
  const code = w.type === GgmlType.TQ2_0 ? tq2Code : tq1Code;
  const out = new Float32Array(a.rows * N);
  const codes = new Uint8Array(K);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) codes[k] = code(w, n, k);
    for (let m = 0; m < a.rows; m++) {
      // ggml's AVX2 vec_dot_tq*_q8_K: 8 integer lanes per block, lane k = Σ code·a over elements with
      // (e mod 32) >> 2 == k minus Σ a over elements 32k..32k+31; f32 FMA per lane across blocks; hsum_float_8.
      // (fround(lane·d + acc): the product is exact in a double; no double-rounding case arises here.)
      const acc = [0, 0, 0, 0, 0, 0, 0, 0];
      for (let b = 0; b < K / 256; b++) {
        const lanes = [0, 0, 0, 0, 0, 0, 0, 0];
        for (let j = 0; j < 256; j++) {
          const q = a.qs[m * K + b * 256 + j];
          lanes[(j & 31) >> 2] += codes[b * 256 + j] * q;
          lanes[j >> 5] -= q;
        }
        const d = fround(a.d[(m * K) / 256 + b] * blockScale(w, n, b));
        for (let k = 0; k < 8; k++) acc[k] = fround(lanes[k] * d + acc[k]);
      }
      const h = [0, 1, 2, 3].map((i) => fround(acc[i] + acc[i + 4]));
      out[m * N + n] = fround(fround(h[0] + h[2]) + fround(h[1] + h[3]));
    }
  }
  return out;
}

/** Q8_0 activations as the contract writes them: d = f16(amax/127), q = nearestInt(fround(x · fround(127/amax))). */
function refQuantizeQ8_0(x: Float32Array, rows: number, cols: number): Q8_0Activations {
  const n = rows * cols;
  const out: Q8_0Activations = { rows, cols, qs: new Int8Array(n), d: new Float32Array(n / 32) };
  for (let b = 0; b < n / 32; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]));
    out.d[b] = f16ToF32(f32ToF16(fround(amax / 127)));
    const id = amax > 0 ? fround(127 / amax) : 0;
    for (let j = 0; j < 32; j++) out.qs[b * 32 + j] = nearestInt(fround(x[b * 32 + j] * id));
  }
  return out;
}

/** A Q8_0 matrix with random f16 scales and int8 quants over the whole range (−128 included). */
function makeQ8_0(next: () => number, N: number, K: number): FloatMatrix {
  const blocks = (N * K) / 32;
  const data = new Uint8Array(blocks * 34);
  for (let b = 0; b < blocks; b++) {
    putF16(data, b * 34, next);
    for (let j = 0; j < 32; j++) data[b * 34 + 2 + j] = int(next, 256);
  }
  return { type: GgmlType.Q8_0, data, rows: N, cols: K };
}

/** ggml_vec_dot_q8_0_q8_0 (AVX2) as the contract writes it: 8 lanes of 4 products per block, f32 FMA by d_b, hsum_float_8. */
function refMatmulQ8_0(w: FloatMatrix, a: Q8_0Activations): Float32Array {
  const N = w.rows;
  const K = w.cols;
  const nb = K / 32;
  const out = new Float32Array(a.rows * N);
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < a.rows; m++) {
      const acc = [0, 0, 0, 0, 0, 0, 0, 0];
      for (let b = 0; b < nb; b++) {
        const p = (n * nb + b) * 34;
        const d = fround(f16ToF32(w.data[p] | (w.data[p + 1] << 8)) * a.d[m * nb + b]);
        for (let k = 0; k < 8; k++) {
          let lane = 0;
          for (let j = 4 * k; j < 4 * k + 4; j++) lane += ((w.data[p + 2 + j] << 24) >> 24) * a.qs[m * K + b * 32 + j];
          // lane·d is exact in a double (|lane| < 2^16, d an f32); one rounding of the sum is fmaf's.
          acc[k] = fround(lane * d + acc[k]);
        }
      }
      const h = [0, 1, 2, 3].map((i) => fround(acc[i] + acc[i + 4]));
      out[m * N + n] = fround(fround(h[0] + h[2]) + fround(h[1] + h[3]));
    }
  }
  return out;
}

/** out and Σ|w·x| per output, in double, from the @bitnet/models dequantizer. */
function refMatmulFloat(w: FloatMatrix, x: Float32Array, M: number): { out: Float64Array; mag: Float64Array } {
  const W = dequantize(w.type, w.data, w.rows * w.cols);
  const out = new Float64Array(M * w.rows);
  const mag = new Float64Array(M * w.rows);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < w.rows; n++) {
      let s = 0;
      let a = 0;
      for (let k = 0; k < w.cols; k++) {
        const t = W[n * w.cols + k] * x[m * w.cols + k];
        s += t;
        a += Math.abs(t);
      }
      out[m * w.rows + n] = s;
      mag[m * w.rows + n] = a;
    }
  return { out, mag };
}

function expectClose(got: Float32Array, want: ArrayLike<number>, mag: ArrayLike<number> | number, rel = 1e-5, what = ''): void {
  expect(got.length).toBe(want.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < got.length; i++) {
    const m = typeof mag === 'number' ? mag : mag[i];
    const err = Math.abs(got[i] - want[i]) / Math.max(m, 1e-30);
    if (!(err <= worst)) {
      worst = err;
      at = i;
    }
  }
  if (!(worst <= rel)) throw new Error(`${what}: element ${at} is ${got[at]}, expected ${want[at]} (error ${worst.toExponential(2)} of its scale > ${rel})`);
}

// ---- the suite ----------------------------------------------------------------------------------

/** Runs fn with the addon switched to `isa`, then back. */
function withIsa<T>(addon: NativeAddon, isa: string, fn: () => T): T {
  const prev = addon.setIsaForTests(isa);
  try {
    return fn();
  } finally {
    addon.setIsaForTests(prev);
  }
}

const TERNARY_SHAPES: Array<[number, number, number]> = [
  // N, K, M
  [1, 256, 1],
  [1, 512, 3],
  [5, 256, 1],
  [17, 768, 4],
  [33, 1280, 5],
  [64, 2560, 8],
  [9, 2560, 1], // decode paths: groups of 8 blocks + a remainder
  [4, 6912, 1],
  [300, 2048, 1], // decode, on the thread pool
  [1024, 1024, 2], // large enough for the thread pool
  [200, 512, 7], // two weight panels, activation groups of 4, 2 and 1
];
const I2S_SHAPES: Array<[number, number, number]> = [[1, 128, 1], [3, 384, 2], [7, 640, 9], ...TERNARY_SHAPES];

const cases = variants.map((v) => v.isas.map((isa) => [`${v.label}: ${isa}`, v, isa] as const)).flat();
// Without the addon (TypeScript kernels in use) one placeholder case, skipped.
const describeNative = cases.length > 0 ? describe : describe.skip;

describeNative.each(cases.length > 0 ? cases : [['no addon', { label: 'none', addon: undefined as unknown as NativeAddon, isas: [] }, 'none'] as const])(
  'native kernels — %s',
  (_label, variant, isa) => {
    const addon = variant.addon;
    const k = addon ? new NativeKernels(addon) : (undefined as unknown as NativeKernels); // undefined only in the skipped placeholder
    let prevIsa = '';
    beforeAll(() => {
      prevIsa = addon.setIsaForTests(isa);
    });
    afterAll(() => {
      addon.setIsaForTests(prevIsa);
    });
    const generic = <T>(fn: () => T): T => withIsa(addon, 'generic', fn);

    it('reports the instruction set it runs', () => {
      expect(k.isa).toBe(isa);
      expect(k.name).toBe('native');
    });

    it('quantizeI8PerToken: bit-exact with generic, the contract and the TS kernels', () => {
      const next = rng(11);
      for (const [rows, cols] of [[1, 1], [1, 7], [3, 128], [2, 2560], [5, 6912], [4, 33]]) {
        const x = randomFloats(next, rows * cols, 3);
        if (rows > 2) x.fill(0, 0, cols); // an all-zero row: s = 127 / 1e-5
        const got: I8Activations = { rows, cols, qs: new Int8Array(rows * cols), scales: new Float32Array(rows), sums: new Int32Array(rows) };
        k.quantizeI8PerToken(x, rows, cols, got);
        const g: I8Activations = { rows, cols, qs: new Int8Array(rows * cols), scales: new Float32Array(rows), sums: new Int32Array(rows) };
        generic(() => k.quantizeI8PerToken(x, rows, cols, g));
        const want = refQuantizeI8(x, rows, cols);
        expect(got.qs).toEqual(g.qs);
        expect(got.scales).toEqual(g.scales);
        expect(got.sums).toEqual(g.sums);
        expect(got.qs).toEqual(want.qs);
        expect(got.scales).toEqual(want.scales);
        expect(got.sums).toEqual(want.sums);
        if (tsKernels) {
          const t: I8Activations = { rows, cols, qs: new Int8Array(rows * cols), scales: new Float32Array(rows), sums: new Int32Array(rows) };
          tsKernels.quantizeI8PerToken(x, rows, cols, t);
          expect(got.qs).toEqual(t.qs);
          expect(got.scales).toEqual(t.scales);
          expect(got.sums).toEqual(t.sums);
        }
      }
    });

    it('quantizeQ8K: bit-exact with generic, the contract and the TS kernels (zero blocks, ties of |max|)', () => {
      const next = rng(12);
      for (const [rows, cols] of [[1, 256], [3, 512], [2, 2560], [1, 6912]]) {
        const x = randomFloats(next, rows * cols, 5);
        x.fill(0, 256, 512 < x.length ? 512 : 256); // an all-zero block (when there is a second one)
        x[10] = 7;
        x[20] = -7; // equal |max|: the first one (+7) gives the sign
        const alloc = (): Q8KActivations => ({ rows, cols, qs: new Int8Array(rows * cols), d: new Float32Array((rows * cols) / 256), bsums: new Int16Array((rows * cols) / 16) });
        const got = alloc();
        const g = alloc();
        k.quantizeQ8K(x, rows, cols, got);
        generic(() => k.quantizeQ8K(x, rows, cols, g));
        const want = refQuantizeQ8K(x, rows, cols);
        for (const other of [g, want]) {
          expect(got.qs).toEqual(other.qs);
          expect(got.d).toEqual(other.d);
          expect(got.bsums).toEqual(other.bsums);
        }
        if (tsKernels) {
          const t = alloc();
          tsKernels.quantizeQ8K(x, rows, cols, t);
          expect(got.qs).toEqual(t.qs);
          expect(got.d).toEqual(t.d);
          expect(got.bsums).toEqual(t.bsums);
        }
      }
    });

    const actModes: ActMode[] = ['random', 'extreme', 'zero-rows'];

    it('matmulI2sI8: bit-exact on odd, tiny and large shapes, extreme activations and all code patterns', () => {
      const next = rng(13);
      for (const [N, K, M] of I2S_SHAPES) {
        const big = N * K * M > 1 << 18; // big shapes: one pattern (the JS references are slow)
        for (const codes of (big ? ['any'] : ['valid', 'max', 'any']) as CodeMode[]) {
          const w = makeI2S(next, N, K, codes);
          for (const how of big ? (['random'] as ActMode[]) : actModes) {
            const a = makeI8(next, M, K, how);
            const got = new Float32Array(M * N);
            k.matmulI2sI8(w, a, got);
            const g = new Float32Array(M * N);
            generic(() => k.matmulI2sI8(w, a, g));
            expect(got).toEqual(g);
            expect(got).toEqual(refMatmulI2S(w, a));
            if (tsKernels) {
              const t = new Float32Array(M * N);
              tsKernels.matmulI2sI8(w, a, t);
              expect(got).toEqual(t);
            }
          }
        }
      }
    });

    it.each([
      ['matmulTq2_0Q8K', makeTQ2],
      ['matmulTq1_0Q8K', makeTQ1],
    ] as const)('%s: bit-exact on odd, tiny and large shapes, extreme activations and all code patterns', (fn, make) => {
      const next = rng(fn === 'matmulTq2_0Q8K' ? 14 : 15);
      for (const [N, K, M] of TERNARY_SHAPES) {
        const big = N * K * M > 1 << 18;
        for (const codes of (big ? ['any'] : ['valid', 'max', 'any']) as CodeMode[]) {
          const w = make(next, N, K, codes);
          for (const how of big ? (['random'] as ActMode[]) : actModes) {
            const a = makeQ8K(next, M, K, how);
            const got = new Float32Array(M * N);
            k[fn](w, a, got);
            const g = new Float32Array(M * N);
            generic(() => k[fn](w, a, g));
            expect(got).toEqual(g);
            expect(got).toEqual(refMatmulTQ(w, a));
            if (tsKernels) {
              const t = new Float32Array(M * N);
              tsKernels[fn](w, a, t);
              expect(got).toEqual(t);
            }
          }
        }
      }
    });

    it('quantizeQ8_0: bit-exact with generic, the contract and the TS kernels (zero blocks, exact halves)', () => {
      const next = rng(18);
      for (const [rows, cols] of [[1, 32], [3, 96], [2, 2560], [5, 160], [1, 6912]]) {
        const x = randomFloats(next, rows * cols, 4);
        x.fill(0, 32, 64 < x.length ? 64 : 32); // an all-zero block (when there is a second one)
        x[0] = 127; // amax 127: id = 1, so the halves below are exact ties (to even)
        x[1] = 2.5;
        x[2] = -3.5;
        const alloc = (): Q8_0Activations => ({ rows, cols, qs: new Int8Array(rows * cols), d: new Float32Array((rows * cols) / 32) });
        const got = alloc();
        const g = alloc();
        k.quantizeQ8_0(x, rows, cols, got);
        generic(() => k.quantizeQ8_0(x, rows, cols, g));
        const want = refQuantizeQ8_0(x, rows, cols);
        expect(got.qs[1]).toBe(2);
        expect(got.qs[2]).toBe(-4);
        for (const other of [g, want]) {
          expect(got.qs).toEqual(other.qs);
          expect(got.d).toEqual(other.d);
        }
        if (tsKernels) {
          const t = alloc();
          tsKernels.quantizeQ8_0(x, rows, cols, t);
          expect(got.qs).toEqual(t.qs);
          expect(got.d).toEqual(t.d);
        }
      }
    });

    it('matmulQ8_0Q8_0: bit-exact with generic, the contract and the TS kernels (odd rows, multi-row activations, extreme quants)', () => {
      const next = rng(19);
      const shapes: Array<[number, number, number]> = [
        // N, K, M
        [1, 32, 1],
        [3, 64, 2],
        [7, 96, 3],
        [17, 2560, 1],
        [33, 160, 5],
        [64, 2560, 8],
        [9, 2560, 7],
        [1001, 2560, 1], // decode, on the thread pool, an odd row count
        [513, 512, 3], // batched rows on the thread pool
      ];
      for (const [N, K, M] of shapes) {
        const w = makeQ8_0(next, N, K);
        const x = randomFloats(next, M * K, 3);
        const a = refQuantizeQ8_0(x, M, K);
        if (M > 1) {
          // extreme activations: every quant ±127 in row 1 (and weights stay random, −128 included)
          for (let j = K; j < 2 * K; j++) a.qs[j] = next() < 0.5 ? -127 : 127;
        }
        const got = new Float32Array(M * N);
        k.matmulQ8_0Q8_0(w, a, got);
        const g = new Float32Array(M * N);
        generic(() => k.matmulQ8_0Q8_0(w, a, g));
        expect(got).toEqual(g);
        expect(got).toEqual(refMatmulQ8_0(w, a));
        if (tsKernels) {
          const t = new Float32Array(M * N);
          tsKernels.matmulQ8_0Q8_0(w, a, t);
          expect(got).toEqual(t);
        }
      }
    });

    it('matmulQ8_0Q8_0 after quantizeQ8_0: close to the f32 product of the dequantized weights', () => {
      const next = rng(20);
      const [N, K, M] = [40, 2560, 2];
      const w: FloatMatrix = { type: GgmlType.Q8_0, data: quantize(GgmlType.Q8_0, randomFloats(next, N * K, 1), K), rows: N, cols: K };
      const x = randomFloats(next, M * K, 2);
      const a: Q8_0Activations = { rows: M, cols: K, qs: new Int8Array(M * K), d: new Float32Array((M * K) / 32) };
      k.quantizeQ8_0(x, M, K, a);
      const got = new Float32Array(M * N);
      k.matmulQ8_0Q8_0(w, a, got);
      const { out, mag } = refMatmulFloat(w, x, M);
      // Activation rounding: each |x − q·d| ≤ d/2 ≤ amax/254 (+ the f16 rounding of d, 2^-11 relative),
      // so the error is at most ~0.5% of Σ|w|·amax per block; random signs keep it far below.
      expectClose(got, out, mag, 5e-3, `Q8_0×Q8_0 ${N}×${K}×${M} vs f32 x`);
    });

    const floatTypes = [GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q6_K] as const;
    const blockOf = (t: GgmlType) => (t === GgmlType.Q8_0 ? 32 : t === GgmlType.Q4_K || t === GgmlType.Q6_K ? 256 : 1);

    it.each(floatTypes.map((t) => [GgmlType[t], t] as const))('matmulFloat %s: within 1e-5 of Σ|w·x| against generic, double and TS', (_n, type) => {
      const next = rng(16 + type);
      const shapes: Array<[number, number, number]> =
        blockOf(type) === 1
          ? [[1, 1, 1], [3, 7, 2], [5, 33, 3], [17, 256, 1], [64, 2560, 8], [2000, 512, 1], [13, 1100, 5]]
          : [[1, 256, 1], [3, 512, 2], [9, 768, 5], [64, 2560, 8], [1000, 256, 2]];
      for (const [N, K, M] of shapes) {
        if (K % blockOf(type)) continue;
        const w: FloatMatrix = { type, data: quantize(type, randomFloats(next, N * K, 1), K), rows: N, cols: K };
        const x = randomFloats(next, M * K, 2);
        const got = new Float32Array(M * N);
        k.matmulFloat(w, x, M, got);
        const g = new Float32Array(M * N);
        generic(() => k.matmulFloat(w, x, M, g));
        const { out, mag } = refMatmulFloat(w, x, M);
        expectClose(got, out, mag, 1e-5, `${GgmlType[type]} ${N}×${K}×${M} vs double`);
        expectClose(got, g, mag, 1e-5, `${GgmlType[type]} ${N}×${K}×${M} vs generic`);
        // F16 is ggml_vec_dot_f16's arithmetic exactly, in every implementation.
        if (type === GgmlType.F16) expect(got).toEqual(g);
        if (tsKernels) {
          const t = new Float32Array(M * N);
          tsKernels.matmulFloat(w, x, M, t);
          expectClose(got, t, mag, 1e-5, `${GgmlType[type]} ${N}×${K}×${M} vs TS`);
          if (type === GgmlType.F16) expect(got).toEqual(t);
        }
      }
    });

    it('getRows: bit-exact with the @bitnet/models dequantizers for every type', () => {
      const next = rng(17);
      const N = 9;
      const ids = Int32Array.of(0, 8, 3, 3, 5);
      const cases: Array<FloatMatrix | TernaryMatrix> = [
        ...floatTypes.map((type) => ({ type, data: quantize(type, randomFloats(next, N * 512, 1), 512), rows: N, cols: 512 }) as FloatMatrix),
        makeI2S(next, N, 512, 'any'),
        makeTQ2(next, N, 512, 'any'),
        makeTQ1(next, N, 512),
      ];
      for (const w of cases) {
        const got = new Float32Array(ids.length * w.cols);
        k.getRows(w, ids, got);
        const all = dequantize(w.type, w.data, w.rows * w.cols);
        const want = new Float32Array(ids.length * w.cols);
        ids.forEach((id, i) => want.set(all.subarray(id * w.cols, (id + 1) * w.cols), i * w.cols));
        expect([GgmlType[w.type], got]).toEqual([GgmlType[w.type], want]);
        const g = new Float32Array(got.length);
        generic(() => k.getRows(w, ids, g));
        expect(got).toEqual(g);
        if (tsKernels) {
          const t = new Float32Array(got.length);
          tsKernels.getRows(w, ids, t);
          expect(got).toEqual(t);
        }
      }
    });

    it('rmsNorm, softmax, reluSqrMul, siluMul, add: within 1e-5 of double references, generic and TS', () => {
      const next = rng(18);
      for (const [rows, cols] of [[1, 1], [2, 7], [3, 2560], [1, 6912], [2, 21]]) {
        const n = rows * cols;
        const x = randomFloats(next, n, 3);
        // lanes outside v_expf's fast range (|x·log2 e| > 126) and signed zeros, inside 8-lane vectors and in the tails
        if (n >= 16) x.set([-0, 0, 100, -100, 88.5, -88.5, 1e-30, -1e-30, -95, 0.5, -0, 120], 3);
        const w = randomFloats(next, cols, 1.5);
        const got = new Float32Array(n);
        k.rmsNorm(x, rows, cols, w, 1e-5, got);
        const want = new Float64Array(n);
        for (let r = 0; r < rows; r++) {
          let ss = 0;
          for (let i = 0; i < cols; i++) ss += x[r * cols + i] ** 2;
          const s = 1 / Math.sqrt(ss / cols + 1e-5);
          for (let i = 0; i < cols; i++) want[r * cols + i] = x[r * cols + i] * s * w[i];
        }
        expectClose(got, want, Array.from(want, (v) => Math.max(Math.abs(v), 1e-6)), 1e-5, 'rmsNorm');
        const inPlace = Float32Array.from(x);
        k.rmsNorm(inPlace, rows, cols, w, 1e-5, inPlace);
        expect(inPlace).toEqual(got);

        const sm = Float32Array.from(x);
        k.softmax(sm, rows, cols);
        const smWant = new Float64Array(n);
        for (let r = 0; r < rows; r++) {
          let mx = -Infinity;
          for (let i = 0; i < cols; i++) mx = Math.max(mx, x[r * cols + i]);
          let s = 0;
          for (let i = 0; i < cols; i++) s += Math.exp(x[r * cols + i] - mx);
          for (let i = 0; i < cols; i++) smWant[r * cols + i] = Math.exp(x[r * cols + i] - mx) / s;
        }
        expectClose(sm, smWant, Array.from(smWant, (v) => Math.max(v, 1e-30)), 1e-5, 'softmax');

        const up = randomFloats(next, n, 2);
        const sc = new Float32Array(n);
        k.scale(x, 1.7, sc);
        expect(sc).toEqual(Float32Array.from(x, (v) => Math.fround(v * Math.fround(1.7))));
        const h = new Uint16Array(n);
        k.toF16(x, h);
        expect(h).toEqual(Uint16Array.from(x, (v) => f32ToF16(v)));
        const ops: Array<['reluSqrMul' | 'siluMul' | 'add', (g: number, u: number) => number]> = [
          ['reluSqrMul', (g, u) => Math.max(g, 0) ** 2 * u],
          ['siluMul', (g, u) => (g / (1 + Math.exp(-g))) * u],
          ['add', (g, u) => g + u],
        ];
        for (const [op, f] of ops) {
          const o = new Float32Array(n);
          k[op](x, up, o);
          const e = Array.from(x, (g, i) => f(g, up[i]));
          expectClose(o, e, e.map((v) => Math.max(Math.abs(v), 1e-6)), 1e-5, op);
          if (tsKernels) {
            const t = new Float32Array(n);
            tsKernels[op](x, up, t);
            expectClose(o, t, e.map((v) => Math.max(Math.abs(v), 1e-6)), 1e-5, `${op} vs TS`);
            expect(o).toEqual(t); // ggml's f32 arithmetic (v_expf for silu) in both
          }
        }
        if (tsKernels) {
          const t = new Float32Array(n);
          tsKernels.rmsNorm(x, rows, cols, w, 1e-5, t);
          expectClose(got, t, Array.from(want, (v) => Math.max(Math.abs(v), 1e-6)), 1e-5, 'rmsNorm vs TS');
          const ts = Float32Array.from(x);
          tsKernels.softmax(ts, rows, cols);
          expectClose(sm, ts, Array.from(smWant, (v) => Math.max(v, 1e-30)), 1e-5, 'softmax vs TS');
          expect(sm).toEqual(ts);
          expect(got).toEqual(t);
        }
      }
    });

    it('repackTq1_0AsTq2_0: the same bytes as the @bitnet/models reference, for every byte value, on the thread pool', () => {
      const next = rng(31);
      for (const blocks of [1, 3, 40_000]) {
        const src = Uint8Array.from({ length: blocks * 54 + 5 }, () => Math.floor(next() * 256));
        const dst = new Uint8Array(blocks * 66);
        k.repackTq1_0AsTq2_0(src, dst);
        expect(Buffer.from(dst).equals(Buffer.from(repackTq1_0AsTq2_0(src, blocks * 256)))).toBe(true);
      }
      expect(() => k.repackTq1_0AsTq2_0(new Uint8Array(53), new Uint8Array(66))).toThrow(/src/);
    });

    it('encodeQ8_0: the same bytes as the @bitnet/models encoder (ties, zero blocks, ±amax), on the thread pool', () => {
      const next = rng(32);
      for (const blocks of [1, 5, 20_000]) {
        const x = randomFloats(next, blocks * 32, 3);
        x.fill(0, 32, 64); // a zero block (d = 0)
        if (blocks > 2) x.set([0.5, -0.5, 1.5, -2.5, 127, -127], 64); // amax 127: d = 1, ties at ±0.5, 1.5, −2.5
        const out = new Uint8Array(blocks * 34);
        k.encodeQ8_0(x, out);
        expect(Buffer.from(out).equals(Buffer.from(quantizeQ8_0(x)))).toBe(true);
      }
      expect(() => k.encodeQ8_0(new Float32Array(33), new Uint8Array(68))).toThrow(/x/);
    });

    it('ropeNeox: within 1e-5 of a reference with the f32 angles of ggml, generic and TS (partial rotary dims, large positions)', () => {
      const next = rng(19);
      for (const [tokens, heads, headDim, ropeDim, base] of [
        [1, 1, 2, 2, 10000],
        [3, 4, 64, 64, 500000],
        [2, 20, 128, 128, 500000],
        [2, 2, 64, 32, 10000],
      ]) {
        const x = randomFloats(next, tokens * heads * headDim, 2);
        const positions = Int32Array.from({ length: tokens }, () => int(next, 5000));
        const got = Float32Array.from(x);
        k.ropeNeox(got, tokens, heads, headDim, ropeDim, positions, base);
        // θ as ggml computes it (and the TS kernels): an f32 running product θ_{i+1} = f32(θ_i · f32(base^(−2/d))).
        const want = Float64Array.from(x);
        const step = fround(Math.pow(fround(base), fround(-2 / ropeDim)));
        for (let t = 0; t < tokens; t++)
          for (let h = 0; h < heads; h++)
            for (let i = 0, th = fround(positions[t]); i < ropeDim / 2; i++, th = fround(th * step)) {
              const o = (t * heads + h) * headDim;
              want[o + i] = x[o + i] * Math.cos(th) - x[o + i + ropeDim / 2] * Math.sin(th);
              want[o + i + ropeDim / 2] = x[o + i] * Math.sin(th) + x[o + i + ropeDim / 2] * Math.cos(th);
            }
        expectClose(got, want, 2 * 2, 1e-5, 'rope vs double');
        const g = Float32Array.from(x);
        generic(() => k.ropeNeox(g, tokens, heads, headDim, ropeDim, positions, base));
        expect(got).toEqual(g);
        if (tsKernels) {
          const t = Float32Array.from(x);
          tsKernels.ropeNeox(t, tokens, heads, headDim, ropeDim, positions, base);
          expectClose(got, t, 4, 1e-6, 'rope vs TS');
          expect(got).toEqual(t); // glibc's sincosf reproduced in TS
        }
      }
    });

    it('attention: causal GQA over an f16 cache, against a reference with ggml\'s f16 roundings, generic and TS', () => {
      const next = rng(20);
      for (const s of [
        { tokens: 1, heads: 1, kvHeads: 1, headDim: 8, startPos: 0, capacity: 1 },
        { tokens: 1, heads: 4, kvHeads: 2, headDim: 64, startPos: 37, capacity: 64 },
        { tokens: 5, heads: 20, kvHeads: 5, headDim: 128, startPos: 300, capacity: 320 },
        { tokens: 3, heads: 2, kvHeads: 1, headDim: 12, startPos: 2, capacity: 8 },
        { tokens: 1, heads: 4, kvHeads: 1, headDim: 128, startPos: 200, capacity: 256 },
        { tokens: 2, heads: 2, kvHeads: 2, headDim: 96, startPos: 0, capacity: 2 },
        // several 16-token blocks per kv head (prefill), with partial 8- and 32-position chunks
        { tokens: 37, heads: 8, kvHeads: 2, headDim: 64, startPos: 3, capacity: 48 },
        { tokens: 1, heads: 20, kvHeads: 5, headDim: 128, startPos: 270, capacity: 300 },
      ]) {
        const shape: AttentionShape = { ...s, scale: 1 / Math.sqrt(s.headDim) };
        const q = randomFloats(next, s.tokens * s.heads * s.headDim, 2);
        const cacheLen = s.capacity * s.kvHeads * s.headDim;
        const kc = Uint16Array.from({ length: cacheLen }, () => f32ToF16((next() - 0.5) * 4));
        const vc = Uint16Array.from({ length: cacheLen }, () => f32ToF16((next() - 0.5) * 4));
        const got = new Float32Array(q.length);
        k.attention(q, kc, vc, shape, got);
        // Reference: the contract in double, with the f16 roundings of q and of p; and Σ p·|v| as the scale.
        const want = new Float64Array(q.length);
        const mag = new Float64Array(q.length);
        const D = s.headDim;
        for (let t = 0; t < s.tokens; t++)
          for (let h = 0; h < s.heads; h++) {
            const kvh = Math.floor(h / (s.heads / s.kvHeads));
            const vis = s.startPos + t + 1;
            const sc: number[] = [];
            for (let p = 0; p < vis; p++) {
              let d = 0;
              for (let i = 0; i < D; i++) d += f16ToF32(f32ToF16(q[(t * s.heads + h) * D + i])) * f16ToF32(kc[(p * s.kvHeads + kvh) * D + i]);
              sc.push(d * shape.scale);
            }
            const mx = Math.max(...sc);
            const e = sc.map((v) => Math.exp(v - mx));
            const sum = e.reduce((x, y) => x + y, 0);
            for (let p = 0; p < vis; p++) {
              const w = f16ToF32(f32ToF16(e[p] / sum));
              for (let i = 0; i < D; i++) {
                const v = f16ToF32(vc[(p * s.kvHeads + kvh) * D + i]);
                want[(t * s.heads + h) * D + i] += w * v;
                mag[(t * s.heads + h) * D + i] += (e[p] / sum) * Math.abs(v);
              }
            }
          }
        // An f16 rounding of p may land on the other side of a tie when the sums differ in their last
        // bits: that moves one term by at most 2^-11 of p·|v|, hence 5e-4 of Σ p·|v|.
        expectClose(got, want, mag, 5e-4, 'attention vs reference');
        const g = new Float32Array(q.length);
        generic(() => k.attention(q, kc, vc, shape, g));
        expectClose(got, g, mag, 5e-4, 'attention vs generic');
        expect(got).toEqual(g); // llama.cpp's arithmetic exactly in every implementation
        if (tsKernels) {
          const t = new Float32Array(q.length);
          tsKernels.attention(q, kc, vc, shape, t);
          expectClose(got, t, mag, 5e-4, 'attention vs TS');
          expect(got).toEqual(t);
        }
        // out may be q itself
        const qq = Float32Array.from(q);
        k.attention(qq, kc, vc, shape, qq);
        expect(qq).toEqual(got);
      }
    });
  },
);

describe('native kernels without an addon', () => {
  it('are skipped only when the TypeScript kernels are in use', () => {
    if (mode === 'native') expect(mainAddon).toBeDefined();
    if (!mainAddon) expect(backend?.name ?? 'ts').toBe('ts');
  });
});
