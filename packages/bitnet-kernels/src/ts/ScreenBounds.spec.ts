import { f16ToF32, f32ToF16, GgmlType } from '@bitnet/models';
import type { FloatMatrix } from '../api/Kernels';
import { kernelsUnderTest } from '../testing/kernelsUnderTest';
import { prevF32, refScreenBounds, screenCase } from '../testing/kernelScreenCases';
import { roundUpF32 } from './ScreenBounds';

/** Each bound the smallest f32 at or above its exact value: never below it, less than one f32 ulp above. */
function expectRoundedUp(got: Float32Array, exact: Float64Array, what: string): void {
  for (let i = 0; i < got.length; i++) {
    if (!(got[i] >= exact[i] && prevF32(got[i]) < exact[i])) {
      throw new Error(`${what}: out[${i}] = ${got[i]}, exact ${exact[i]}: not the f32 rounding up of it`);
    }
  }
}

/** One Q8_0 block per 32 values: the f16 scale d, then the quants. */
function q8Blocks(blocks: Array<[number, number[]]>): Uint8Array {
  const data = new Uint8Array(blocks.length * 34);
  blocks.forEach(([d, qs], b) => {
    const h = f32ToF16(d);
    data.set([h & 0xff, h >> 8], b * 34);
    data.set(Int8Array.from(qs).map((v) => v & 0xff), b * 34 + 2);
  });
  return data;
}

const f32Matrix = (values: number[], rows: number): FloatMatrix => ({ type: GgmlType.F32, data: new Uint8Array(Float32Array.from(values).buffer), rows, cols: values.length / rows });

describe.each(kernelsUnderTest())('screenBoundsQ8_0 [%s]', (_label, kernels) => {
  it.each(([GgmlType.F32, GgmlType.F16, GgmlType.BF16] as const).map((t) => [GgmlType[t], t] as const))(
    '%s: each bound is its exact value rounded up to f32 (a zero block, large and tiny values, scales that round to 0)',
    (_n, type) => {
      for (const [N, K] of [[1003, 2560], [7, 64], [2, 32]]) {
        const { w, q } = screenCase(type, N, K, 500 + type + K);
        const got = new Float32Array(3 * N);
        kernels.screenBoundsQ8_0(w, q, got);
        const exact = refScreenBounds(w, q);
        expectRoundedUp(got, exact, `${GgmlType[type]} ${N}×${K}`);
        // row 0's zero block does not hide its other blocks; row 1's bounds are those of its large values
        if (K > 32) expect(got[2]).toBeGreaterThan(0);
        expect(got[5]).toBeGreaterThan(type === GgmlType.F16 ? 1e4 : 1e6);
      }
    },
  );

  it('rounds up past a difference that a double cannot hold (a Q8_0 block that is not the row\'s own encoding)', () => {
    // |w − ŵ| = 1 + 2^-100 (its double is 1: the bound must be the next f32) and 1 − 2^-100 (bound 1)
    const w = f32Matrix([-(2 ** -100), ...new Array(31).fill(0), 2 ** -100, ...new Array(31).fill(0)], 2);
    const q: FloatMatrix = { type: GgmlType.Q8_0, data: q8Blocks([[1, [1]], [1, [1]]]), rows: 2, cols: 32 };
    const got = new Float32Array(6);
    kernels.screenBoundsQ8_0(w, q, got);
    expect(Array.from(got)).toEqual([1 + 2 ** -23, 1, 1, 1, 1, 1]);
  });

  it('rounds up a difference that the nearest f32 would round down (exact in double, a tie in f32)', () => {
    // w = 1 + 2^-23, ŵ = 2^-24 (the smallest f16 scale, q = 1): |w − ŵ| = 1 + 2^-24, a tie that rounds to even 1
    const w = f32Matrix([1 + 2 ** -23, ...new Array(31).fill(0)], 1);
    const q: FloatMatrix = { type: GgmlType.Q8_0, data: q8Blocks([[2 ** -24, [1]]]), rows: 1, cols: 32 };
    const got = new Float32Array(3);
    kernels.screenBoundsQ8_0(w, q, got);
    expect(Math.fround(1 + 2 ** -24)).toBe(1);
    expect(Array.from(got)).toEqual([1 + 2 ** -23, 2 ** -24, 1 + 2 ** -23]);
  });

  it('sums a block\'s |ŵ| and takes the largest block and magnitude, f16 scales of either sign', () => {
    // block sums 2·(3 + 4) = 14 and 0.5·(127 + 128) = 127.5, w = ŵ; then a negative scale, all quants −128
    const w = f32Matrix([6, -8, ...new Array(30).fill(0), 63.5, -64, ...new Array(30).fill(0)], 1);
    const q: FloatMatrix = { type: GgmlType.Q8_0, data: q8Blocks([[2, [3, -4]], [0.5, [127, -128]]]), rows: 1, cols: 64 };
    const got = new Float32Array(3);
    kernels.screenBoundsQ8_0(w, q, got);
    expect(Array.from(got)).toEqual([0, 127.5, 64]);
    const w2 = f32Matrix(new Array(32).fill(0.25), 1);
    const q2: FloatMatrix = { type: GgmlType.Q8_0, data: q8Blocks([[-0.001, new Array(32).fill(-128)]]), rows: 1, cols: 32 };
    const got2 = new Float32Array(3);
    kernels.screenBoundsQ8_0(w2, q2, got2);
    const d = f16ToF32(f32ToF16(-0.001));
    expect(Array.from(got2)).toEqual([roundUpF32(Math.abs(0.25 - d * -128)), roundUpF32(Math.abs(d) * 128 * 32), 0.25]);
  });
});

describe('roundUpF32', () => {
  it('gives the smallest f32 at or above the exact value', () => {
    expect(roundUpF32(1)).toBe(1);
    expect(roundUpF32(1, 1e-300)).toBe(1 + 2 ** -23);
    expect(roundUpF32(1, -1e-300)).toBe(1);
    expect(roundUpF32(1 + 2 ** -40)).toBe(1 + 2 ** -23);
    expect(roundUpF32(1 - 2 ** -40)).toBe(1);
    expect(roundUpF32(0)).toBe(0);
    expect(roundUpF32(0, 1e-300)).toBe(2 ** -149);
    expect(roundUpF32(3.4028235677973366e38 + 2 ** 100)).toBe(Infinity);
    expect(roundUpF32(Infinity, 1)).toBe(Infinity);
    expect(roundUpF32(NaN)).toBeNaN();
  });
});
