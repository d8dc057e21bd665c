/**
 * The native kernels, every instruction set this machine can run (see testing/kernelIsaVariants.ts):
 * the ISA each variant reports, the load-time conversions (TQ1_0 → TQ2_0 repack, Q8_0 block encoder)
 * and the skip without an addon.
 */
import { encodeQ8_0Blocks, repackTq1_0AsTq2_0 } from '@bitnet/models';
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

});

describe('native kernels without an addon', () => {
  it('are skipped only when the TypeScript kernels are in use', () => {
    if (mode === 'native') expect(mainAddon).toBeDefined();
    if (!mainAddon) expect(backend?.name ?? 'ts').toBe('ts');
  });
});
