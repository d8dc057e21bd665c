/**
 * The pool's read-ahead (native/src/threads/read_ahead.h): as each matmul starts, the plan records it
 * as what followed the matmul before, and hands the workers the first rows of the matrix that followed
 * it last time, to prefetch between kernel calls. These tests pin what can be observed: the plan learns
 * a repeated order (predictions and hits counted), the workers start reading ahead on a pool of 2+
 * threads, results are the same bits with it on and off, a budget of 0 turns it off, a remembered
 * matrix whose memory is gone afterwards is harmless (only prefetched), and a bad BITNET_READ_AHEAD_KB
 * fails the load. An attention on the pool takes part as well: it is learned as what follows the matmul
 * before it, whose workers then read its keys and values ahead.
 */
import { spawnSync } from 'node:child_process';
import { rng } from '@bitnet/models/testing';
import { GgmlType } from '@bitnet/models';
import type { AttentionCall, FloatMatrix, I8Activations, TernaryMatrix } from '../api/Kernels';
import { kernelBackend, requestedKernelMode } from '../backend/KernelBackend';
import { defaultModeAddon, readAheadForTests } from '../testing';
import { makeI2S, makeI8 } from '../testing/kernelCases';
import type { NativeAddon } from './addon';
import { NativeKernels } from './NativeKernels';

const mode = requestedKernelMode();
const addon = mode === 'ts' ? undefined : defaultModeAddon();
const describeNative = addon ? describe : describe.skip;

const bits = (x: Float32Array) => Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length));

describeNative('native read-ahead', () => {
  const a = addon as NativeAddon;
  const k = new NativeKernels(a);
  const next = rng(4242);
  const K = 1024;
  // 512 × 1024 I2_S: 128 KB of codes, enough for one activation row to be split over the pool
  const ws: TernaryMatrix[] = [makeI2S(next, 512, K), makeI2S(next, 768, K), makeI2S(next, 640, K)];
  const x: I8Activations = makeI8(next, 1, K, 'random');
  const outs = ws.map((w) => new Float32Array(w.rows));
  const round = () => ws.forEach((w, i) => k.matmulI2sI8(w, x, outs[i]));
  let saved = 0;

  beforeAll(() => {
    saved = readAheadForTests().budgetKb;
  });
  afterAll(() => {
    readAheadForTests(saved);
  });

  it('learns the order matmuls come in: each call predicts the next matrix from the round before', () => {
    readAheadForTests(1024);
    round();
    expect(readAheadForTests()).toMatchObject({ budgetKb: 1024, matmuls: 3, predicted: 0, hits: 0 });
    round();
    // round 2: every call knows its successor; the 2nd and 3rd were the ones predicted
    expect(readAheadForTests()).toMatchObject({ matmuls: 6, predicted: 3, hits: 2 });
    round();
    expect(readAheadForTests()).toMatchObject({ matmuls: 9, predicted: 6, hits: 5 });
    // another order: the first call of it was mispredicted, after which the plan follows it
    const rev = () => [...ws].reverse().forEach((w, i) => k.matmulI2sI8(w, x, outs[2 - i]));
    rev();
    rev();
    const s = readAheadForTests();
    expect(s.matmuls).toBe(15);
    expect(s.hits).toBeLessThan(s.matmuls - 3);
    rev();
    expect(readAheadForTests().hits - s.hits).toBe(3);
  });

  it('has the workers read ahead on a pool of two or more threads', () => {
    if (a.threads() < 2) return; // one thread: nobody to read ahead (nothing else to check)
    readAheadForTests(1024);
    const before = readAheadForTests().workerReadAheads;
    // A worker reads ahead after a job it took part in. On a busy machine (other test files on the
    // other core) it may not get to a small job before the caller has done it all, so the rounds go
    // on, on 2 MB matrices, until one did (or 5 s pass: then no worker read ahead at all).
    const big = [0x59, 0x96].map((code): TernaryMatrix => {
      const data = new Uint8Array((4096 * 2048) / 4 + 32).fill(code); // every 2-bit field 0..2: valid codes
      new DataView(data.buffer).setFloat32(data.length - 32, 0.5, true);
      return { type: GgmlType.I2_S, data, rows: 4096, cols: 2048 };
    });
    const xb = makeI8(next, 1, 2048, 'random');
    const ob = new Float32Array(4096);
    const until = Date.now() + 5000;
    while (readAheadForTests().workerReadAheads === before && Date.now() < until) for (const w of big) k.matmulI2sI8(w, xb, ob);
    expect(readAheadForTests().workerReadAheads).toBeGreaterThan(before);
  });

  it('gives the same bits with it on and off, and is off at a budget of 0', () => {
    const h = new Uint16Array(300 * K);
    a.toF16(Float32Array.from({ length: h.length }, () => next() * 2 - 1), h);
    const f16: FloatMatrix = { type: GgmlType.F16, data: new Uint8Array(h.buffer), rows: 300, cols: K };
    const xf = Float32Array.from({ length: 2 * K }, () => next() * 2 - 1);
    const run = () => {
      const r: number[][] = [];
      for (let i = 0; i < 3; i++) {
        round();
        r.push(...outs.map(bits));
        for (const rows of [1, 2]) {
          const o = new Float32Array(rows * 300);
          k.matmulFloat(f16, xf.subarray(0, rows * K), rows, o);
          r.push(bits(o));
        }
      }
      return r;
    };
    readAheadForTests(0);
    const off = run();
    expect(readAheadForTests()).toMatchObject({ budgetKb: 0, matmuls: 0, predicted: 0 });
    readAheadForTests(64);
    const on = run();
    expect(readAheadForTests().predicted).toBeGreaterThan(0);
    expect(on).toEqual(off);
  });

  it('only prefetches a remembered matrix: its pages unmapped since, the next prediction is harmless', () => {
    readAheadForTests(1024);
    const src = makeI2S(next, 512, K);
    const pages = a.allocatePages(src.data.length);
    const held: TernaryMatrix = { ...src, data: new Uint8Array(pages, 0, src.data.length) };
    held.data.set(src.data);
    const o = new Float32Array(512);
    for (let r = 0; r < 3; r++) {
      k.matmulI2sI8(ws[0], x, outs[0]);
      k.matmulI2sI8(held, x, o); // learned as what follows ws[0]
    }
    expect(a.releasePages(pages)).toBe(true);
    const before = readAheadForTests().predicted;
    for (let r = 0; r < 5; r++) k.matmulI2sI8(ws[0], x, outs[0]); // predicts the unmapped matrix each time
    expect(readAheadForTests().predicted).toBeGreaterThan(before);
    const again = new Float32Array(outs[0].length);
    k.matmulI2sI8(ws[0], x, again);
    expect(bits(again)).toEqual(bits(outs[0]));
  });

  // An attention on the pool (work over the one-thread bound: 8 heads × 65 positions × 128) between two
  // matmuls, as in a decode layer; its caches from `alloc`.
  const attention = (alloc: (bytes: number) => ArrayBuffer) => {
    const heads = 8, kvHeads = 2, headDim = 128, capacity = 128, startPos = 64;
    const cache = () => {
      const c = new Uint16Array(alloc(capacity * kvHeads * headDim * 2));
      a.toF16(Float32Array.from({ length: c.length }, () => next() * 2 - 1), c);
      return c;
    };
    const call: AttentionCall = {
      q: Float32Array.from({ length: heads * headDim }, () => next() * 2 - 1),
      kCache: cache(),
      vCache: cache(),
      shape: { tokens: 1, heads, kvHeads, headDim, startPos, capacity, scale: 0.125, independentRows: true },
      out: new Float32Array(heads * headDim),
      store: { k: Float32Array.from({ length: kvHeads * headDim }, () => next() * 2 - 1), v: Float32Array.from({ length: kvHeads * headDim }, () => next() * 2 - 1) },
    };
    return call;
  };
  const layer = (call: AttentionCall) => {
    k.matmulI2sI8(ws[0], x, outs[0]);
    k.attentionMany([call]);
    k.matmulI2sI8(ws[1], x, outs[1]);
    return bits(call.out);
  };

  it('learns that an attention on the pool follows the matmul before it, and reads its keys and values ahead', () => {
    if (a.threads() < 2) return; // one thread: attention runs inline, outside the plan
    readAheadForTests(1024);
    const call = attention((n) => new ArrayBuffer(n));
    layer(call);
    expect(readAheadForTests()).toMatchObject({ matmuls: 2, attentions: 1, predicted: 0, hits: 0 });
    layer(call);
    // round 2: the matmul before predicts the attention, which predicts the matmul after it
    expect(readAheadForTests()).toMatchObject({ matmuls: 4, attentions: 2, predicted: 3, hits: 2 });
    // the workers read the attention's keys and values ahead after the first matmul (rounds go on
    // until a worker took part in that job, as in the test above)
    const before = readAheadForTests().workerAttentionReadAheads;
    const until = Date.now() + 5000;
    while (readAheadForTests().workerAttentionReadAheads === before && Date.now() < until) layer(call);
    expect(readAheadForTests().workerAttentionReadAheads).toBeGreaterThan(before);
  });

  it('gives an attention the same bits with it on and off, and only prefetches caches whose pages are gone', () => {
    const held: ArrayBuffer[] = [];
    const pages = (n: number) => {
      const b = a.allocatePages(n);
      held.push(b);
      return b;
    };
    readAheadForTests(0);
    const call = attention(pages);
    const k0 = call.kCache.slice(), v0 = call.vCache.slice();
    const off = [layer(call), layer(call)];
    expect(readAheadForTests().attentions).toBe(0);
    readAheadForTests(1024);
    call.kCache.set(k0);
    call.vCache.set(v0);
    const on = [layer(call), layer(call)];
    expect(on).toEqual(off);
    if (a.threads() >= 2) expect(readAheadForTests().attentions).toBe(2);
    // the plan now holds the caches' addresses as what follows ws[0]; unmapped, they are only prefetched
    for (const b of held) expect(a.releasePages(b)).toBe(true);
    for (let r = 0; r < 5; r++) k.matmulI2sI8(ws[0], x, outs[0]);
    const again = new Float32Array(outs[0].length);
    k.matmulI2sI8(ws[0], x, again);
    expect(bits(again)).toEqual(bits(outs[0]));
  });

  it('fails the load on a bad BITNET_READ_AHEAD_KB, naming it', () => {
    const path = kernelBackend().addonPath;
    const load = (v: string) =>
      spawnSync(process.execPath, ['-e', `const a = require(${JSON.stringify(path)}); process.stdout.write(String(a.readAheadForTests().budgetKb));`], {
        env: { ...process.env, BITNET_READ_AHEAD_KB: v },
        encoding: 'utf8',
      });
    const good = load('256');
    expect(good.status).toBe(0);
    expect(good.stdout).toBe('256');
    for (const bad of ['lots', '12x', '-1', '99999999']) {
      const r = load(bad);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain(`BITNET_READ_AHEAD_KB='${bad}'`);
    }
  });
});
