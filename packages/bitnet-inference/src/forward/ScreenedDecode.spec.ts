import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GgmlType, GgufFile, type SyntheticModelOptions, buildSyntheticModel, smallByteVocab } from '@bitnet/models';
import { createKernels } from '@bitnet/kernels';
import { type BitnetWeights, type OutputType, loadBitnetWeights } from '../model/BitnetWeights';
import { KvCache } from '../model/KvCache';
import { argmax } from '../sampling/Sampler';
import { ForwardPass } from './ForwardPass';

/**
 * outputType 'screened' through the forward pass: greedy sequences decoded with argmax-only rows
 * choose exactly the tokens of the exact output matrix, rows that want their logits get the exact
 * ones bit for bit in the same batch, and the screen really stands in for the matrix.
 */
describe("outputType 'screened'", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bitnet-screen-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const vocab = smallByteVocab();
  const kernels = createKernels();
  const prompts = ['In the beginning', 'And God said', 'Let there be light', 'x', 'The earth was without form', 'Amen'].map((p) => [vocab.bosId, ...Buffer.from(p)]);

  function load(opts: Partial<SyntheticModelOptions>, outputType: OutputType): BitnetWeights {
    const file = path.join(dir, `${JSON.stringify(opts).replace(/\W+/g, '-')}.gguf`);
    if (!fs.existsSync(file)) buildSyntheticModel({ arch: 'bitnet-b1.58', quant: 'i2_s', dim: 256, ff: 512, layers: 2, heads: 4, kvHeads: 2, vocab, seed: 21, contextLength: 96, ...opts }).writeFile(file);
    const f = GgufFile.open(file);
    try {
      return loadBitnetWeights(f, { outputType, kernels });
    } finally {
      f.close();
    }
  }

  it.each([
    ['tied F16 embedding', {}],
    ['separate BF16 output', { outputType: GgmlType.BF16 }],
    ['separate F32 output', { outputType: GgmlType.F32 }],
  ] as const)('%s: greedy batches choose the exact tokens; full rows keep their bits', (_name, opts) => {
    const exact = new ForwardPass(load(opts, 'exact'), kernels, { maxChunkTokens: 16 });
    const weights = load(opts, 'screened');
    expect(weights.outputType).toBe('screened');
    expect(weights.outputScreen!.copy.codes.length).toBe(weights.output.rows * weights.output.cols);
    const screened = new ForwardPass(weights, kernels, { maxChunkTokens: 16 });
    const steps = 10;
    const run = (fp: ForwardPass, argmaxOnly: (i: number) => boolean) => {
      const caches = prompts.map((p) => new KvCache(fp.weights.config, p.length + steps));
      let last = prompts.map((p, i) => argmax(fp.run(caches[i], p)));
      const ids: number[][] = prompts.map((_, i) => [last[i]]);
      const logits: Float32Array[][] = prompts.map(() => []);
      for (let s = 1; s < steps; s++) {
        const out = fp.decodeBatch(caches, last, prompts.map((_, i) => argmaxOnly(i)));
        last = out.map((l) => argmax(l));
        out.forEach((l, i) => (ids[i].push(last[i]), logits[i].push(l.slice())));
      }
      return { ids, logits };
    };
    const ref = run(exact, () => false);
    // sequences 0, 2, 4 greedy through the screen; 1, 3, 5 want their logits in the same batches
    const got = run(screened, (i) => i % 2 === 0);
    expect(got.ids).toEqual(ref.ids);
    for (const i of [1, 3, 5]) got.logits[i].forEach((l, s) => expect(Buffer.from(l.buffer).equals(Buffer.from(ref.logits[i][s].buffer))).toBe(true));
    const stats = screened.screenStats;
    expect(stats.screenedRows).toBeGreaterThan(0);
    expect(stats.fullRows).toBe(0);
    // far fewer exact logits than the full rows would have taken
    expect(stats.candidates).toBeLessThan((stats.screenedRows * vocab.tokens.length) / 8);
    // the screened rows really are screened: most of each is −Infinity
    const dropped = got.logits[0].map((l) => l.filter((v) => v === -Infinity).length);
    expect(Math.min(...dropped)).toBeGreaterThan(vocab.tokens.length / 2);
  });

  it('computes a step with more argmax rows than the screen takes in full, with the same tokens', () => {
    const weights = load({}, 'screened');
    const exact = new ForwardPass(load({}, 'exact'), kernels, { maxChunkTokens: 16 });
    const screened = new ForwardPass(weights, kernels, { maxChunkTokens: 16, maxScreenedRows: prompts.length - 1 });
    const caches = (fp: ForwardPass) => prompts.map((p) => {
      const c = new KvCache(fp.weights.config, p.length + 2);
      fp.run(c, p);
      return c;
    });
    const a = exact.decodeBatch(caches(exact), [65, 66, 67, 68, 69, 70]);
    const b = screened.decodeBatch(caches(screened), [65, 66, 67, 68, 69, 70], prompts.map(() => true));
    expect(screened.screenStats).toEqual({ screenedRows: 0, fullRows: prompts.length, candidates: 0 });
    b.forEach((l, i) => expect(Buffer.from(l.buffer, l.byteOffset, l.byteLength).equals(Buffer.from(a[i].buffer, a[i].byteOffset, a[i].byteLength))).toBe(true));
  });

  /** Caches holding the prompts, and the next token of each: one decode step with masks. */
  const prefilled = (fp: ForwardPass) =>
    prompts.map((p) => {
      const c = new KvCache(fp.weights.config, p.length + 2);
      fp.run(c, p);
      return c;
    });
  const NEXT = [65, 66, 67, 68, 69, 70];
  /** The exact logits of that step, unmasked. */
  const unmaskedNext = () => {
    const plain = new ForwardPass(load({}, 'exact'), kernels, { maxChunkTokens: 16 });
    return plain.decodeBatch(prefilled(plain), NEXT).map((l) => l.slice());
  };
  /** The three ways a masked row comes back: computed in full, screened, and left to the full matrix (too many rows). */
  const maskPasses = (): Array<[string, ForwardPass]> => [
    ['exact', new ForwardPass(load({}, 'exact'), kernels, { maxChunkTokens: 16 })],
    ['screened', new ForwardPass(load({}, 'screened'), kernels, { maxChunkTokens: 16 })],
    ['screened, too many rows', new ForwardPass(load({}, 'screened'), kernels, { maxChunkTokens: 16, maxScreenedRows: prompts.length - 1 })],
  ];

  it('gives every row a mask was passed with back masked, once: screened, exact, or fallen back to full', () => {
    const unmasked = unmaskedNext();
    // each row bans its own unmasked argmax and every odd token
    const banned = unmasked.map((l) => argmax(l));
    const passes = maskPasses();
    for (const [name, fp] of passes) {
      const calls = prompts.map(() => 0);
      const masks = prompts.map((_, i) => (l: Float32Array) => {
        calls[i]++;
        for (let t = 1; t < l.length; t += 2) l[t] = -Infinity;
        l[banned[i]] = -Infinity;
      });
      const out = fp.decodeBatch(prefilled(fp), NEXT, prompts.map(() => true), masks);
      expect([name, calls]).toEqual([name, prompts.map(() => 1)]);
      out.forEach((l, i) => {
        const want = unmasked[i].slice();
        masks[i](want);
        expect([name, i, argmax(l)]).toEqual([name, i, argmax(want)]);
        expect([name, i, l[banned[i]], l.filter((v, t) => t % 2 === 1 && v !== -Infinity).length]).toEqual([name, i, -Infinity, 0]);
      });
    }
    expect(passes[1][1].screenStats.screenedRows).toBe(prompts.length);
    expect(passes[2][1].screenStats.fullRows).toBe(prompts.length);
  });

  it('runs a lazy mask (one with allows) only when the winner it would give is banned, with the masked argmax either way', () => {
    const unmasked = unmaskedNext();
    // even rows ban a few tokens below their winner; odd rows ban the upper half of their logits, so the
    // allowed winner lies far below every token the unmasked screen keeps
    const allowed = unmasked.map((l, i) => {
      const median = [...l].sort((a, b) => a - b)[l.length >> 1];
      const win = argmax(l);
      return new Set([...l.keys()].filter((t) => (i % 2 === 0 ? t === win || t % 7 !== 0 : l[t] < median)));
    });
    const passes = maskPasses();
    for (const [name, fp] of passes) {
      const calls = prompts.map(() => 0);
      const checks = prompts.map(() => 0);
      const masks = prompts.map((_, i) => {
        const mask = (l: Float32Array) => {
          calls[i]++;
          for (let t = 0; t < l.length; t++) if (!allowed[i].has(t)) l[t] = -Infinity;
        };
        return Object.assign(mask, { allows: (t: number) => (checks[i]++, allowed[i].has(t)) });
      });
      const fullBefore = fp.screenStats.fullRows;
      const out = fp.decodeBatch(prefilled(fp), NEXT, prompts.map(() => true), masks);
      out.forEach((l, i) => {
        const want = unmasked[i].slice();
        for (let t = 0; t < want.length; t++) if (!allowed[i].has(t)) want[t] = -Infinity;
        expect([name, i, argmax(l)]).toEqual([name, i, argmax(want)]);
        expect([name, i, [...l.keys()].filter((t) => !allowed[i].has(t) && l[t] !== -Infinity)]).toEqual([name, i, []]);
        expect([name, i, checks[i] > 0]).toEqual([name, i, true]);
      });
      // a winner allowed: no mask at all
      expect([name, calls.filter((_, i) => i % 2 === 0)]).toEqual([name, [0, 0, 0]]);
      // a winner banned: masked once, and once more on the exact row when the masked screen gives it back
      const odd = calls.filter((_, i) => i % 2 === 1);
      const again = name === 'screened' ? fp.screenStats.fullRows - fullBefore : 0;
      expect([name, odd.reduce((a, b) => a + b, 0)]).toEqual([name, 3 + again]);
      expect(Math.max(...odd)).toBeLessThanOrEqual(2);
    }
  });

  const screenBytes = (w: BitnetWeights) => w.outputScreen!.copy.codes.length + w.outputScreen!.copy.scales.byteLength + w.outputScreen!.bounds.byteLength;

  it("counts the int8 copy, not the exact matrix, in the bytes of a decode step; 'exact' holds no screen", () => {
    const exact = load({}, 'exact');
    const screened = load({}, 'screened');
    expect(exact.outputScreen).toBeUndefined();
    const rowBytes = exact.output.data.length / exact.output.rows;
    expect(screened.decodeBytesPerToken).toBe(exact.decodeBytesPerToken - exact.output.data.length + screenBytes(screened) + rowBytes);
    expect(screened.bytes).toBe(exact.bytes + screenBytes(screened));
  });
});
