import { SeededRandom } from '../../synthetic/Random';
import { dequantizeTQ1_0, quantizeTQ1_0 } from './TQ1_0';
import { dequantizeTQ2_0 } from './TQ2_0';
import { repackTq1_0AsTq2_0 } from './TernaryRepack';

describe('repackTq1_0AsTq2_0', () => {
  it('keeps every value and scale: TQ2_0 of the repack decodes to exactly the TQ1_0 values', () => {
    const rng = new SeededRandom(7);
    const count = 256 * 9;
    const values = Float32Array.from({ length: count }, () => rng.normal());
    const tq1 = quantizeTQ1_0(values);
    // all 243 valid TQ1_0 byte patterns appear in real files; add the edge bytes 0 and 255 too
    tq1[0] = 0;
    tq1[1] = 255;
    tq1[48] = 255;
    const want = new Float32Array(count);
    dequantizeTQ1_0(tq1, want, count);
    const tq2 = repackTq1_0AsTq2_0(tq1, count);
    expect(tq2.length).toBe(9 * 66);
    const got = new Float32Array(count);
    dequantizeTQ2_0(tq2, got, count);
    expect(got).toEqual(want);
  });

  it('rejects a count that is not whole blocks or more than the data holds', () => {
    expect(() => repackTq1_0AsTq2_0(new Uint8Array(54), 255)).toThrow(RangeError);
    expect(() => repackTq1_0AsTq2_0(new Uint8Array(53), 256)).toThrow(/53 bytes/);
  });
});
