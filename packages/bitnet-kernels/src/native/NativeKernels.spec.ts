/**
 * The native kernels, every instruction set this machine can run (see testing/kernelIsaVariants.ts):
 * the ISA each variant reports, the load-time conversions (TQ1_0 → TQ2_0 repack, Q8_0 block encoder)
 * and the skip without an addon.
 */
import { GgmlType, dequantizeRows, encodeQ8_0Blocks, f32ToBf16, repackTq1_0AsTq2_0 } from '@bitnet/models';
import { rng } from '@bitnet/models/testing';
import { randomFloats } from '../testing/kernelCases';
import { backend, describeNativeIsas, mainAddon, mode } from '../testing/kernelIsaVariants';

describeNativeIsas('native kernels', ({ k, isa }) => {
  it('reports the instruction set it runs', () => {
    expect(k.isa).toBe(isa);
    expect(k.name).toBe('native');
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

  it('encodeQ8_0Blocks: the same bytes as the @bitnet/models encoder (ties, zero blocks, ±amax), on the thread pool', () => {
    const next = rng(32);
    for (const blocks of [1, 5, 20_000]) {
      const x = randomFloats(next, blocks * 32, 3);
      x.fill(0, 32, 64); // a zero block (d = 0)
      if (blocks > 2) x.set([0.5, -0.5, 1.5, -2.5, 127, -127], 64); // amax 127: d = 1, ties at ±0.5, 1.5, −2.5
      const out = new Uint8Array(blocks * 34);
      k.encodeQ8_0Blocks(x, out);
      expect(Buffer.from(out).equals(Buffer.from(encodeQ8_0Blocks(x)))).toBe(true);
    }
    expect(() => k.encodeQ8_0Blocks(new Float32Array(33), new Uint8Array(68))).toThrow(/x/);
  });

  it('encodeQ8_0Rows: the bytes of encodeQ8_0Blocks on the rows read as f32, for F32, F16 (every finite f16 value) and BF16', () => {
    const next = rng(33);
    const K = 2048;
    // F16: every finite value once (63 490 of them: the bit patterns without exponent 31), then random finite ones
    const finite: number[] = [];
    for (let h = 0; h < 0x10000; h++) if (((h >> 10) & 0x1f) !== 0x1f) finite.push(h);
    const f16Rows = Math.ceil(finite.length / K) + 1;
    const f16 = new Uint8Array(f16Rows * K * 2);
    for (let i = 0; i < f16Rows * K; i++) {
      const h = i < finite.length ? finite[i] : finite[Math.floor(next() * finite.length)];
      f16[2 * i] = h & 0xff;
      f16[2 * i + 1] = h >> 8;
    }
    // F32: random values with ties (a block whose amax is 127 has d = 1: x · id lands on halves)
    const f32Rows = 5;
    const x = randomFloats(next, f32Rows * K, 3);
    x.set([127, 0.5, -0.5, 1.5, -2.5, 2.5, -126.5, 3.4999998], 0);
    x.fill(0, 32, 64);
    const bf16 = new Uint8Array(f32Rows * K * 2);
    for (let i = 0; i < f32Rows * K; i++) {
      const b = f32ToBf16(x[i]);
      bf16[2 * i] = b & 0xff;
      bf16[2 * i + 1] = b >> 8;
    }
    const matrices = [
      { type: GgmlType.F32, data: new Uint8Array(x.buffer), rows: f32Rows, cols: K },
      { type: GgmlType.F16, data: f16, rows: f16Rows, cols: K },
      { type: GgmlType.BF16, data: bf16, rows: f32Rows, cols: K },
    ] as const;
    for (const w of matrices) {
      const out = new Uint8Array(w.rows * (K / 32) * 34);
      k.encodeQ8_0Rows(w, out);
      const want = encodeQ8_0Blocks(dequantizeRows(w.type, w.data, K, 0, w.rows));
      expect({ type: w.type, same: Buffer.from(out).equals(Buffer.from(want)) }).toEqual({ type: w.type, same: true });
    }
    expect(() => k.encodeQ8_0Rows({ type: GgmlType.F32, data: new Uint8Array(4 * 48), rows: 1, cols: 48 }, new Uint8Array(51))).toThrow(/multiple of 32/);
    expect(() => k.encodeQ8_0Rows({ type: GgmlType.Q8_0, data: new Uint8Array(34), rows: 1, cols: 32 }, new Uint8Array(34))).toThrow(/F32, F16 or BF16/);
  });

});

describe('native kernels without an addon', () => {
  it('are skipped only when the TypeScript kernels are in use', () => {
    if (mode === 'native') expect(mainAddon).toBeDefined();
    if (!mainAddon) expect(backend?.name ?? 'ts').toBe('ts');
  });
});
