import { quantizeActivationsPerToken } from './ActivationQuant';

describe('per-token activation quantization (bitnet.cpp style)', () => {
  it('maps the largest magnitude to ±127 and rounds halves away from zero', () => {
    const x = Float32Array.of(2, -1, 0.5, 0, -2);
    const q = new Int8Array(5);
    const s = quantizeActivationsPerToken(x, q);
    expect(s).toBeCloseTo(63.5, 5);
    expect([...q]).toEqual([127, -64, 32, 0, -127]); // -63.5 -> -64, 31.75 -> 32
  });

  it('keeps a zero vector finite', () => {
    const q = new Int8Array(4);
    const s = quantizeActivationsPerToken(new Float32Array(4), q);
    expect(Number.isFinite(s)).toBe(true);
    expect([...q]).toEqual([0, 0, 0, 0]);
  });

  it('reconstructs random vectors within half a step', () => {
    const x = new Float32Array(1000).map((_, i) => Math.sin(i * 1.7) * 3);
    const q = new Int8Array(1000);
    const s = quantizeActivationsPerToken(x, q);
    for (let i = 0; i < x.length; i++) expect(Math.abs(q[i] / s - x[i])).toBeLessThanOrEqual(0.5 / s + 1e-6);
  });
});
