/**
 * The addon's dispatch, thread pool and errors: the ISA chosen at load (and BITNET_ISA forcing one,
 * in child processes since the choice happens once per process), a forced unavailable ISA or a bad
 * BITNET_THREADS failing loudly, too-short or mistyped buffers throwing JS errors instead of touching
 * memory, C++ errors surfacing as JS errors with their cause, and concurrent calls from worker
 * threads giving the same results.
 */
import { spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { GgmlType } from '@bitnet/models';
import type { TernaryMatrix } from '../api/Kernels';
import { cpuFeatures, kernelBackend, requestedKernelMode, selectedIsa } from '../backend/KernelBackend';
import { defaultModeAddon } from '../testing';
import type { NativeAddon, NativeIsa } from './addon';
import { NativeKernels } from './NativeKernels';
import { thrown } from '../testing/kernelCases';

const mode = requestedKernelMode();
const backend = mode === 'ts' ? undefined : kernelBackend(); // -c cpu without the addon: throws, loudly
const addon = mode === 'ts' ? undefined : defaultModeAddon();
const addonPath = backend?.addonPath;
const describeNative = addon ? describe : describe.skip;

/** Loads the addon in a fresh node with `env` and prints JSON of what `expr` (over `a`) evaluates to. */
function childEval(env: Record<string, string | undefined>, expr: string): { status: number | null; out: string; err: string } {
  const code = `const a = require(${JSON.stringify(addonPath)}); process.stdout.write(JSON.stringify(${expr}));`;
  const r = spawnSync(process.execPath, ['-e', code], { env: { ...process.env, ...env }, encoding: 'utf8' });
  return { status: r.status, out: r.stdout, err: r.stderr };
}


describeNative('native dispatch', () => {
  const a = addon as NativeAddon;

  it('chooses the best instruction set the CPU and OS support, once, at load', () => {
    const f = a.cpuFeatures();
    const expected: NativeIsa =
      f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.avx512vnni && f.avx512bf16 && f.osZmm && f.avx2 && f.fma && f.f16c
        ? f.avx512vbmi
          ? 'avx512vbmi'
          : 'avx512'
        : f.avx2 && f.fma && f.f16c && f.osYmm
          ? f.avxvnni
            ? 'avxvnni'
            : 'avx2'
          : 'generic';
    expect(a.availableIsas()[a.availableIsas().length - 1]).toBe(expected);
    const child = childEval({ BITNET_ISA: undefined }, 'a.selectedIsa()');
    expect(child.status).toBe(0);
    expect(JSON.parse(child.out)).toBe(expected);
    if (!process.env.BITNET_ISA) expect(selectedIsa()).toBe(expected);
    expect(cpuFeatures()).toEqual(f);
    expect(a.compiledIsas()).toEqual(expect.arrayContaining(['generic']));
  });

  it('BITNET_ISA forces each available instruction set', () => {
    for (const isa of a.availableIsas()) {
      const child = childEval({ BITNET_ISA: isa }, 'a.selectedIsa()');
      expect([isa, child.status, child.err]).toEqual([isa, 0, '']);
      expect(JSON.parse(child.out)).toBe(isa);
    }
  });

  it('a forced instruction set the CPU cannot run, or an unknown one, fails the load with the reason', () => {
    const unavailable = a.compiledIsas().filter((i) => !a.availableIsas().includes(i));
    for (const isa of [...unavailable, 'neon-bogus']) {
      const child = childEval({ BITNET_ISA: isa }, 'a.selectedIsa()');
      expect(child.status).not.toBe(0);
      expect(child.err).toContain(`BITNET_ISA=${isa} cannot be used`);
      expect(child.err).toMatch(/available here: generic/);
    }
    if (unavailable.includes('avx512')) {
      const child = childEval({ BITNET_ISA: 'avx512' }, '0');
      expect(child.err).toMatch(/lacks .*avx512f/);
    }
    if (unavailable.includes('avx512vbmi') && !unavailable.includes('avx512')) {
      // an AVX-512 CPU without VBMI (Cooper Lake): the reason names only what is missing
      const child = childEval({ BITNET_ISA: 'avx512vbmi' }, '0');
      expect(child.err).toMatch(/lacks avx512vbmi \(available here: .*avx512\)/);
    }
    // The in-process test hook refuses the same way (a C++ exception surfacing as a JS Error).
    for (const isa of unavailable) expect(() => a.setIsaForTests(isa)).toThrow(/cannot be used: the CPU or OS lacks/);
    expect(() => a.setIsaForTests('bogus')).toThrow(/bitnet_kernels\.setIsaForTests: native error: .*unknown instruction set/);
  });

  it('chooses where weights are prefetched once at load (BITNET_PREFETCH overrides); both give the reference bits', () => {
    const f = a.cpuFeatures();
    const expected = f.vendor === 'AuthenticAMD' && f.family === 25 ? 'l2' : 'nta';
    expect(JSON.parse(childEval({ BITNET_PREFETCH: undefined }, 'a.streamPrefetch()').out)).toBe(expected);
    // One activation row (the decode rows) and five (the register tiles, an odd pair and a short group),
    // I2_S and TQ2_0 (and Q8_0 × Q8_0 with five rows; F16 with eight f16-exact rows, which the policy
    // reads as f16 or as f32), rows not a multiple of the chunking, K with a trailing odd I2_S block: each policy's
    // output equals the generic reference's.
    const expr = `(() => {
      const N = 1001, K = 2304, rb = K / 256 * 66;
      const wi = new Uint8Array(N * K / 4 + 32), wt = new Uint8Array(N * rb);
      for (let i = 0; i < wi.length; i++) wi[i] = (i * 2654435761 >>> 13) & 0xff;
      for (let i = 0; i < wt.length; i++) wt[i] = (i * 40503 >>> 7) & 0xff;
      for (let b = 0; b < N * K / 256; b++) { wt[b * 66 + 64] = b & 0xff; wt[b * 66 + 65] = 0x38 + (b % 4); }
      new DataView(wi.buffer).setFloat32(N * K / 4, 0.5, true);
      const q = new Int8Array(K).map((_, i) => (i * 7919) % 255 - 127);
      const oi = new Float32Array(N), ot = new Float32Array(N);
      a.matmulI2sI8(wi, N, K, q, Float32Array.of(3), Int32Array.of(-5), 1, oi);
      const d = new Float32Array(K / 256).map((_, i) => 0.01 * (i + 1));
      a.matmulTq2_0Q8K(wt, N, K, q, d, 1, ot);
      const M = 5, q5 = new Int8Array(M * K).map((_, i) => (i * 104729) % 255 - 127);
      const oi5 = new Float32Array(M * N), ot5 = new Float32Array(M * N);
      a.matmulI2sI8(wi, N, K, q5, Float32Array.of(3, 2, 7, 1.5, 9), Int32Array.of(-5, 4, 0, 11, -2), M, oi5);
      a.matmulTq2_0Q8K(wt, N, K, q5, new Float32Array(M * K / 256).map((_, i) => 0.003 * (i + 2)), M, ot5);
      const w8 = new Uint8Array(N * K / 32 * 34).map((_, i) => (i * 2246822519 >>> 11) & 0xff);
      for (let b = 0; b < N * K / 32; b++) { w8[b * 34] = b & 0xff; w8[b * 34 + 1] = 0x20 + (b % 8); }
      const o85 = new Float32Array(M * N);
      a.matmulQ8_0Q8_0(w8, N, K, q5, new Float32Array(M * K / 32).map((_, i) => 0.002 * ((i % 13) + 1)), M, o85);
      const M8 = 8, wh = new Uint8Array(N * K * 2).map((_, i) => (i & 1 ? (i * 40503 >>> 9) & 0x3b : (i * 2654435761 >>> 17) & 0xff));
      const x8 = new Float32Array(M8 * K).map((_, i) => ((i * 7919) % 2001 - 1000) / 1024);  // f16-exact
      const of8 = new Float32Array(M8 * N);
      a.matmulFloat(1, wh, N, K, x8, M8, of8);
      // the same rows 16 bytes further on (x and x + 16 bytes cannot both start a cache line: one takes the aligned copy)
      const x8b = new Float32Array(M8 * K + 4).subarray(4);
      x8b.set(x8);
      const of8b = new Float32Array(M8 * N);
      a.matmulFloat(1, wh, N, K, x8b, M8, of8b);
      if (of8b.some((v, i) => !Object.is(v, of8[i]))) throw new Error('F16 rows differ with the activations 16 bytes further on');
      return [a.streamPrefetch(), Array.from(oi), Array.from(ot), Array.from(oi5), Array.from(ot5), Array.from(o85), Array.from(of8)];
    })()`;
    const ref = childEval({ BITNET_ISA: 'generic' }, expr);
    expect(ref.status).toBe(0);
    const [, refI2s, refTq2, refI2s5, refTq25, refQ85, refF168] = JSON.parse(ref.out);
    for (const p of ['nta', 'l2']) {
      const child = childEval({ BITNET_PREFETCH: p }, expr);
      expect([p, child.status, child.err]).toEqual([p, 0, '']);
      const [chosen, i2s, tq2, i2s5, tq25, q85, f168] = JSON.parse(child.out);
      expect(chosen).toBe(p);
      expect(i2s).toEqual(refI2s);
      expect(tq2).toEqual(refTq2);
      expect(i2s5).toEqual(refI2s5);
      expect(tq25).toEqual(refTq25);
      expect(q85).toEqual(refQ85);
      expect(f168).toEqual(refF168);
    }
    const bad = childEval({ BITNET_PREFETCH: 't0' }, '0');
    expect(bad.status).not.toBe(0);
    expect(bad.err).toContain('BITNET_PREFETCH=t0 is not one of nta, l2, auto');
  });

  it('sizes the pool to the cores, BITNET_THREADS overrides, a bad value fails the load', () => {
    expect(a.threads()).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(childEval({ BITNET_THREADS: '1' }, 'a.threads()').out)).toBe(1);
    expect(JSON.parse(childEval({ BITNET_THREADS: '3' }, 'a.threads()').out)).toBe(3);
    const bad = childEval({ BITNET_THREADS: 'lots' }, 'a.threads()');
    expect(bad.status).not.toBe(0);
    expect(bad.err).toContain("BITNET_THREADS='lots' is not a thread count");
  });

  it('gives the same results with 1 thread as with the whole pool', () => {
    const expr = `(() => {
      const N = 3000, K = 2560, w = new Uint8Array(N * K / 4 + 32);
      for (let i = 0; i < N * K / 4; i++) w[i] = (i * 2654435761 >>> 13) & 0xff;
      new DataView(w.buffer).setFloat32(N * K / 4, 0.5, true);
      const q = new Int8Array(2 * K).map((_, i) => (i * 7919) % 255 - 127), out = new Float32Array(2 * N);
      a.matmulI2sI8(w, N, K, q, Float32Array.of(3, 5), Int32Array.of(1, -2), 2, out);
      return Array.from(out);
    })()`;
    const one = childEval({ BITNET_THREADS: '1' }, expr);
    const many = childEval({ BITNET_THREADS: '2' }, expr);
    expect(one.status).toBe(0);
    expect(JSON.parse(many.out)).toEqual(JSON.parse(one.out));
  });

  it('throws a RangeError or TypeError for a too-short or mistyped buffer, naming the argument', () => {
    const k = new NativeKernels(a);
    const w: TernaryMatrix = { type: GgmlType.I2_S, data: new Uint8Array(64 * 256 / 4 + 32), rows: 64, cols: 256 };
    const act = { rows: 2, cols: 256, qs: new Int8Array(512), scales: new Float32Array(2), sums: new Int32Array(2) };
    expect(() => k.matmulI2sI8(w, act, new Float32Array(2 * 64))).not.toThrow();
    expect(thrown(() => k.matmulI2sI8({ ...w, data: w.data.subarray(0, 64 * 64) }, act, new Float32Array(128))).name).toBe('RangeError');
    expect(() => k.matmulI2sI8({ ...w, data: w.data.subarray(0, 64 * 64) }, act, new Float32Array(128))).toThrow(/matmulI2sI8: w\.data holds 4096 elements/);
    expect(() => k.matmulI2sI8(w, act, new Float32Array(127))).toThrow(/matmulI2sI8: out holds 127 elements but rows × N needs 128/);
    expect(() => k.matmulI2sI8(w, { ...act, qs: new Int8Array(511) }, new Float32Array(128))).toThrow(/a\.qs holds 511/);
    expect(() => k.matmulI2sI8({ ...w, cols: 200 }, act, new Float32Array(128))).toThrow(/K = 200 is not a multiple of 128/);
    const typeErr = thrown(() => k.matmulI2sI8(w, { ...act, qs: new Uint8Array(512) as unknown as Int8Array }, new Float32Array(128)));
    expect([typeErr.name, typeErr.message]).toEqual(['TypeError', 'matmulI2sI8: a.qs must be an Int8Array, got a Uint8Array']);
    expect(() => k.matmulI2sI8(w, { ...act, rows: 2.5 }, new Float32Array(128))).toThrow(/M \(a\.rows\) = 2\.5.* is not an integer/);
    const tq: TernaryMatrix = { type: GgmlType.TQ2_0, data: new Uint8Array(65), rows: 1, cols: 256 };
    const q8 = { rows: 1, cols: 256, qs: new Int8Array(256), d: new Float32Array(1), bsums: new Int16Array(16) };
    expect(() => k.matmulTq2_0Q8K(tq, q8, new Float32Array(1))).toThrow(/matmulTq2_0Q8K: w\.data holds 65 elements but N rows of K\/256 blocks needs 66/);
    expect(() => k.getRows({ type: GgmlType.F16, data: new Uint8Array(8 * 2 * 4), rows: 4, cols: 8 }, Int32Array.of(4), new Float32Array(8))).toThrow(
      /getRows: ids\[0\] = 4 is outside \[0, 4\)/,
    );
    expect(() => k.getRows({ type: 99 as GgmlType.F16, data: new Uint8Array(8), rows: 1, cols: 4 }, Int32Array.of(0), new Float32Array(4))).toThrow(
      /ggml type 99 is not supported/,
    );
    expect(() => k.add(new Float32Array(3), new Float32Array(2), new Float32Array(3))).toThrow(/add: b holds 2 elements/);
    const shape = { tokens: 2, heads: 2, kvHeads: 1, headDim: 4, startPos: 3, capacity: 4, scale: 0.5 };
    expect(() => k.attention(new Float32Array(16), new Uint16Array(16), new Uint16Array(16), shape, new Float32Array(16))).toThrow(
      /startPos \+ tokens exceeds the cache capacity/,
    );
    expect(thrown(() => k.ropeNeox(new Float32Array(8), 1, 1, 8, 9, new Int32Array(1), 1e4)).name).toBe('RangeError');
  });

  it('runs concurrent calls from several worker threads without mixing them up', async () => {
    const work = `
      const { parentPort, workerData } = require('node:worker_threads');
      const a = require(workerData.addonPath);
      const N = 2048, K = 2560, w = new Uint8Array(N * K / 4 + 32);
      for (let i = 0; i < N * K / 4; i++) w[i] = (i * 2654435761 >>> 11) & 0xff;
      new DataView(w.buffer).setFloat32(N * K / 4, 0.25, true);
      const q = new Int8Array(K).map((_, i) => ((i * 31 + workerData.seed) % 255) - 127), out = new Float32Array(N);
      let first;
      for (let r = 0; r < 40; r++) {
        a.matmulI2sI8(w, N, K, q, Float32Array.of(3), Int32Array.of(workerData.seed), 1, out);
        if (!first) first = Array.from(out);
        else if (out.some((v, i) => v !== first[i])) throw new Error('results changed between runs');
      }
      parentPort.postMessage(first);
    `;
    const run = (seed: number) =>
      new Promise<number[]>((resolve, reject) => {
        const wk = new Worker(work, { eval: true, workerData: { addonPath, seed } });
        wk.once('message', resolve);
        wk.once('error', reject);
      });
    const [r1, r2, r3] = await Promise.all([run(1), run(2), run(1)]);
    expect(r3).toEqual(r1);
    expect(r2).not.toEqual(r1);
  });
});

describe('kernel backend with the native addon', () => {
  it('exposes the addon and its ISA when native kernels are in use', () => {
    if (mode === 'ts') return;
    if (mode === 'native') expect(addon).toBeDefined();
    if (addon) {
      expect(backend?.name).toBe('native');
      expect(backend?.isa).toBe(addon.selectedIsa());
      expect(new NativeKernels().isa).toBe(addon.selectedIsa());
    }
  });
});
