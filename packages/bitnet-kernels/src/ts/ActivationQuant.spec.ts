import { SeededRandom } from '@bitnet/models';
import { allocI8Activations, allocQ8KActivations } from '../api/Activations';
import { activationRows } from '../testing/kernelCases';
import { kernelsUnderTest } from '../testing/kernelsUnderTest';
import { nearestInt, quantizeActivationsPerToken } from './ActivationQuant';

const fround = Math.fround;

/** Round half to even, written independently of the 1.5·2^23 trick. */
function roundTiesEven(v: number): number {
  const f = Math.floor(v);
  const diff = v - f;
  if (diff !== 0.5) return diff < 0.5 ? f : f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** bitnet.cpp's quantize_row_i8_s per the contract, in plain double code. */
function refI8(x: Float32Array, cols: number, row: number): { q: number[]; s: number; sum: number } {
  const v = Array.from(x.subarray(row * cols, (row + 1) * cols));
  const amax = v.reduce((m, a) => Math.max(m, Math.abs(a)), 0);
  const s = fround(127 / Math.max(1e-5, amax));
  const q = v.map((a) => Math.min(127, Math.max(-128, roundTiesEven(fround(a * s)))) + 0);
  return { q, s, sum: q.reduce((a, b) => a + b, 0) };
}

/** llama.cpp's quantize_row_q8_K_ref per the contract, one 256-block. */
function refQ8KBlock(x: Float32Array, o: number): { q: number[]; d: number } {
  let amax = 0;
  let max = 0;
  for (let j = 0; j < 256; j++) {
    if (Math.abs(x[o + j]) > amax) {
      amax = Math.abs(x[o + j]);
      max = x[o + j];
    }
  }
  if (amax === 0) return { q: new Array(256).fill(0), d: 0 };
  const iscale = fround(-127 / max);
  const q = Array.from(x.subarray(o, o + 256), (a) => Math.min(127, roundTiesEven(fround(iscale * a))) + 0); // + 0: Int8Array holds no −0
  return { q, d: fround(1 / iscale) };
}

describe('nearestInt', () => {
  it('rounds ties to even and everything else to nearest', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 126.5, -127.5].map(nearestInt)).toEqual([0, 2, 2, 0, -2, -2, 126, -128]);
    expect([0.49999997, 0.50000006, -3.7, 3.2, 0].map(nearestInt)).toEqual([0, 1, -4, 3, 0]);
    const rng = new SeededRandom(5);
    for (let i = 0; i < 10000; i++) {
      const v = fround((rng.next() - 0.5) * 2 ** (1 + rng.int(22)));
      expect(nearestInt(v)).toBe(roundTiesEven(v));
    }
  });
});

describe.each(kernelsUnderTest())('activation quantization [%s]', (_label, kernels) => {
  it('per token: scale, codes (ties to even), sums and rows as the contract says', () => {
    const rng = new SeededRandom(1);
    for (const [rows, cols] of [[1, 1], [1, 128], [7, 128], [12, 2560], [3, 33]]) {
      const x = activationRows(rows, cols, rng);
      const a = allocI8Activations(rows, cols);
      kernels.quantizeI8PerToken(x, rows, cols, a);
      for (let r = 0; r < rows; r++) {
        const ref = refI8(x, cols, r);
        expect(a.scales[r]).toBe(ref.s);
        expect(a.sums[r]).toBe(ref.sum);
        expect(Array.from(a.qs.subarray(r * cols, (r + 1) * cols))).toEqual(ref.q);
      }
    }
  });

  it('per token: exact ties go to even, a zero row gets the 1e-5 floor scale', () => {
    // Rows 0 and 1 have max |x| = 127, so s = 1 and every x.5 is a tie.
    const x = Float32Array.of(127, 0.5, 1.5, 2.5, -0.5, -1.5, -127, -2.5, 63.5, 125.5, -126.5, 3.5, 0, 0, 0, 0, 0, 0);
    const a = allocI8Activations(3, 6);
    kernels.quantizeI8PerToken(x, 3, 6, a);
    expect(Array.from(a.qs)).toEqual([127, 0, 2, 2, 0, -2, -127, -2, 64, 126, -126, 4, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(a.scales)).toEqual([1, 1, fround(127 / 1e-5)]);
    expect(Array.from(a.sums)).toEqual([129, -61, 0]);
  });

  it('multiplies by the scale rounded to f32 (values where the double scale rounds the other way)', () => {
    // Near every tie k + 0.5, look for f32 x whose code differs between x·fround(s) and x·s.
    const amax = fround(3.3);
    const near = (s: number): Float32Array => {
      const sf = fround(s);
      const found: number[] = [];
      const bits = new Uint32Array(1);
      const f = new Float32Array(bits.buffer);
      for (let k = -126; k <= 125 && found.length < 255; k++) {
        f[0] = (k + 0.5) / sf;
        const b0 = bits[0];
        for (let d = -3; d <= 3; d++) {
          bits[0] = b0 + d;
          const x = f[0];
          if (Math.abs(x) < amax && roundTiesEven(fround(x * sf)) !== roundTiesEven(fround(x * s))) found.push(x);
        }
      }
      return Float32Array.from([amax, ...found, ...new Array(255 - found.length).fill(0)]);
    };
    const x = near(127 / amax);
    expect(x.filter((v) => v !== 0).length).toBeGreaterThan(10);
    const a = allocI8Activations(1, 256);
    kernels.quantizeI8PerToken(x, 1, 256, a);
    expect(Array.from(a.qs)).toEqual(refI8(x, 256, 0).q);
    const y = near(-127 / amax);
    expect(y.filter((v) => v !== 0).length).toBeGreaterThan(10);
    const b = allocQ8KActivations(1, 256);
    kernels.quantizeQ8K(y, 1, 256, b);
    expect(Array.from(b.qs)).toEqual(refQ8KBlock(y, 0).q);
  });

  it('Q8_K: block scales, codes, bsums; zero-max blocks; the first largest |x| sets the sign', () => {
    const rng = new SeededRandom(2);
    for (const [rows, cols] of [[1, 256], [6, 512], [7, 2560]]) {
      const x = activationRows(rows, cols, rng);
      const a = allocQ8KActivations(rows, cols);
      a.bsums.fill(99); // must be overwritten, zero-max blocks included
      kernels.quantizeQ8K(x, rows, cols, a);
      for (let b = 0; b < (rows * cols) / 256; b++) {
        const ref = refQ8KBlock(x, b * 256);
        expect(a.d[b]).toBe(ref.d);
        expect(Array.from(a.qs.subarray(b * 256, b * 256 + 256))).toEqual(ref.q);
        for (let g = 0; g < 16; g++) {
          expect(a.bsums[b * 16 + g]).toBe(ref.q.slice(16 * g, 16 * g + 16).reduce((s, v) => s + v, 0));
        }
      }
    }
    // Ties of |x|: +3 comes first, so amax = +3, iscale = −127/3 and +3 → −127.
    const x = new Float32Array(256);
    x[10] = 3;
    x[20] = -3;
    x[30] = 1.5;
    const a = allocQ8KActivations(1, 256);
    kernels.quantizeQ8K(x, 1, 256, a);
    expect([a.qs[10], a.qs[20], a.qs[30]]).toEqual([-127, 127, nearestInt(fround(fround(-127 / 3) * 1.5))]);
    expect(a.d[0]).toBe(fround(1 / fround(-127 / 3)));
  });
});

describe('quantizeActivationsPerToken (single-row helper)', () => {
  it('returns the scale and the same codes as quantizeI8PerToken', () => {
    const x = Float32Array.of(2, -1, 0.5, 0, -2);
    const q = new Int8Array(5);
    expect(quantizeActivationsPerToken(x, q)).toBe(63.5);
    expect(Array.from(q)).toEqual([127, -64, 32, 0, -127]); // −63.5 → −64 (even), 31.75 → 32
  });
});
