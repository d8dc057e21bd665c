import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GgufFile, buildSyntheticModel, smallByteVocab } from '@bitnet/models';
import { createKernels, pageMemory } from '@bitnet/kernels';
import { ForwardPass } from '../forward/ForwardPass';
import { loadBitnetWeights } from './BitnetWeights';
import { KvCache, OWN_BLOCK_TOKENS } from './KvCache';

const bits = (x: Float32Array) => Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length));

/** Index one past the last nonzero element of `a` (0 when all are zero). */
function extent(a: Uint16Array): number {
  for (let i = a.length - 1; i >= 0; i--) if (a[i] !== 0) return i + 1;
  return 0;
}

describe('KvCache: a cache that owns its storage holds blocks of OWN_BLOCK_TOKENS positions', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bitnet-kvcache-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const vocab = smallByteVocab();
  const file = path.join(dir, 'm.gguf');
  buildSyntheticModel({ arch: 'bitnet', quant: 'tq2_0', dim: 256, ff: 512, layers: 2, heads: 4, kvHeads: 2, vocab, seed: 9, contextLength: 512 }).writeFile(file);
  const f = GgufFile.open(file);
  const weights = loadBitnetWeights(f);
  f.close();
  const c = weights.config;
  const block = c.headCountKv * OWN_BLOCK_TOKENS * c.headDim; // elements of one block, keys or values, in a layer
  const prompt = (n: number) => Array.from({ length: n }, (_, i) => 1 + ((i * 37) % 250));

  it('numbers its blocks in order, the capacity rounded up to whole blocks', () => {
    const cache = new KvCache(c, 100);
    expect(cache.blockTokens).toBe(OWN_BLOCK_TOKENS);
    expect(Array.from(cache.blocks)).toEqual([0, 1]);
    expect(cache.keys.map((k) => k.length)).toEqual(Array(c.blockCount).fill(2 * block));
    expect(cache.values.map((v) => v.length)).toEqual(Array(c.blockCount).fill(2 * block));
    expect(cache.bytes).toBe(2 * c.blockCount * 2 * block * 2);
  });

  it.each([
    ['ordinary arrays', undefined],
    ['a page memory', pageMemory()],
  ] as const)('with %s: positions land in their own blocks, the rest of a long cache stays untouched', (_name, memory) => {
    const fp = new ForwardPass(weights, createKernels());
    const long = new KvCache(c, 448, undefined, memory);
    const short = new KvCache(c, 70, undefined, memory);
    // 3 positions: block 0 only. In the contiguous layout the first position wrote into every value
    // row, across the whole capacity.
    const a = fp.run(long, prompt(3));
    for (let l = 0; l < c.blockCount; l++) {
      expect(extent(long.keys[l])).toBeGreaterThan(0);
      expect(extent(long.keys[l])).toBeLessThanOrEqual(block);
      expect(extent(long.values[l])).toBeGreaterThan(0);
      expect(extent(long.values[l])).toBeLessThanOrEqual(block);
    }
    // 70 positions: blocks 0 and 1, whatever the capacity; the logits do not depend on it
    const b = fp.run(long, prompt(70).slice(3));
    const s = fp.run(short, prompt(70));
    expect(bits(s)).toEqual(bits(b));
    expect(bits(a)).not.toEqual(bits(b));
    for (let l = 0; l < c.blockCount; l++) {
      expect(extent(long.values[l])).toBeGreaterThan(block);
      expect(extent(long.values[l])).toBeLessThanOrEqual(2 * block);
      expect(Array.from(long.keys[l].subarray(0, 2 * block))).toEqual(Array.from(short.keys[l]));
      expect(Array.from(long.values[l].subarray(0, 2 * block))).toEqual(Array.from(short.values[l]));
    }
    long.release();
    short.release();
  });
});
