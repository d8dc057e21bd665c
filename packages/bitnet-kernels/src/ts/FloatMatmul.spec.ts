import { dequantize, GgmlType, ggmlTypeName } from '@bitnet/models';
import { rng } from '@bitnet/models/testing';
import { blockSize, floatCase, floatShapes, FLOAT_TYPES, randomPicks, ternaryCase, TERNARY_TYPES } from '../testing/kernelCases';
import { kernelsUnderTest } from '../testing/kernelsUnderTest';

/**
 * Float64 reference: out[m,n] = Σ W[n,k]·x[m,k] with W from @bitnet/models' dequantizer. The
 * contract's 1e-5 relative is taken against Σ|W·x| (a dot product can cancel to ~0).
 */
function expectMatmulClose(got: Float32Array, W: Float32Array, x: Float32Array, N: number, K: number, M: number): void {
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      let mag = 0;
      for (let k = 0; k < K; k++) {
        s += W[n * K + k] * x[m * K + k];
        mag += Math.abs(W[n * K + k] * x[m * K + k]);
      }
      const err = Math.abs(got[m * N + n] - s);
      if (!(err <= 1e-5 * mag + 1e-30)) throw new Error(`out[${m},${n}] = ${got[m * N + n]}, want ${s} (|err| ${err}, Σ|w·x| ${mag})`);
    }
  }
}

describe.each(kernelsUnderTest())('float matmul and getRows [%s]', (_label, kernels) => {
  describe.each(FLOAT_TYPES.map((t) => [ggmlTypeName(t), t] as const))('%s', (_name, type) => {
    it.each(floatShapes(type).map((s) => [`${s.rows}×${s.cols}, ${s.mRows} rows`, s] as const))(
      'matmulFloat within 1e-5 of a float64 reference: %s',
      (_shape, { rows, cols, mRows }) => {
        const c = floatCase(type, rows, cols, mRows, rows * 31 + cols + mRows);
        const out = new Float32Array(mRows * rows);
        kernels.matmulFloat(c.w, c.x, mRows, out);
        expectMatmulClose(out, dequantize(type, c.w.data, rows * cols), c.x, rows, cols, mRows);
      },
    );

    it('matmulFloatPicked gives the chosen elements of matmulFloat bit for bit (first and last rows, repeats, any order)', () => {
      const wide = blockSize(type) === 1 || blockSize(type) === 32 ? [{ rows: 1003, cols: 2560 }, { rows: 1003, cols: 64 }] : [];
      for (const { rows, cols } of [...floatShapes(type), ...wide]) {
        const c = floatCase(type, rows, cols, 8, rows * 7 + cols);
        const next = rng(rows + cols);
        for (const M of [1, 3, 8]) {
          const x = c.x.subarray(0, M * cols);
          const full = new Float32Array(M * rows);
          kernels.matmulFloat(c.w, x, M, full);
          for (const P of [1, 5, 300]) {
            const { wRow, xRow } = randomPicks(next, rows, M, P);
            const got = new Float32Array(P);
            kernels.matmulFloatPicked(c.w, x, M, wRow, xRow, got);
            expect(got).toEqual(Float32Array.from(wRow, (n, j) => full[xRow[j] * rows + n]));
          }
        }
      }
    });

    it('getRows returns the dequantized rows exactly, in the order asked, repeats included', () => {
      for (const { rows, cols } of floatShapes(type)) {
        const c = floatCase(type, rows, cols, 1, rows + cols);
        const W = dequantize(type, c.w.data, rows * cols);
        const ids = Int32Array.of(rows - 1, 0, Math.floor(rows / 2), rows - 1);
        const out = new Float32Array(ids.length * cols);
        kernels.getRows(c.w, ids, out);
        ids.forEach((id, i) => expect(Array.from(out.subarray(i * cols, (i + 1) * cols))).toEqual(Array.from(W.subarray(id * cols, (id + 1) * cols))));
      }
    });
  });

  it.each(TERNARY_TYPES.map((t) => [ggmlTypeName(t), t] as const))('getRows of a %s matrix (the tensor scale of I2_S included)', (_name, type) => {
    const c = ternaryCase(type, 9, 512, 1, 4);
    const W = dequantize(type, c.w.data, 9 * 512);
    const ids = Int32Array.of(8, 3, 0);
    const out = new Float32Array(3 * 512);
    kernels.getRows(c.w, ids, out);
    ids.forEach((id, i) => expect(Array.from(out.subarray(i * 512, (i + 1) * 512))).toEqual(Array.from(W.subarray(id * 512, (id + 1) * 512))));
    // The last rows (max codes) are all +scale.
    const ws = type === GgmlType.I2_S ? c.scales[0] : c.scales[8 * 2];
    expect(out[0]).toBe(ws);
  });

  it('matmulFloat of hand-built F32 weights: rows are output features, K is contiguous', () => {
    // W = [[1, 2, 3], [4, 5, 6]] (2 outputs × 3 inputs), x = [[1, 0, −1], [0.5, 0.25, 2]].
    const W = Float32Array.of(1, 2, 3, 4, 5, 6);
    const w = { type: GgmlType.F32 as const, data: new Uint8Array(W.buffer), rows: 2, cols: 3 };
    const out = new Float32Array(4);
    kernels.matmulFloat(w, Float32Array.of(1, 0, -1, 0.5, 0.25, 2), 2, out);
    expect(Array.from(out)).toEqual([-2, -2, 7, 15.25]);
  });
});
