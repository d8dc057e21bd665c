/**
 * Page memory: native buffers are zero-filled, usable, and returned at `release` (the process's
 * private memory drops at once; the views become empty); the TypeScript mode gets plain buffers.
 */
import * as fs from 'node:fs';
import { resolveBackend } from './KernelBackend';
import { pageMemory } from './PageMemory';

const rssAnonMb = () => Number(/RssAnon:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;
const native = resolveBackend('auto').addon !== undefined && process.platform === 'linux';

(native ? describe : describe.skip)('pageMemory (native)', () => {
  it('gives zero-filled pages committed when written, and returns them at release', () => {
    const mem = pageMemory('native');
    const bytes = 256 << 20;
    const before = rssAnonMb();
    const buf = mem.allocate(bytes);
    const view = new Uint16Array(buf);
    expect(view.length).toBe(bytes / 2);
    expect(view[0] + view[view.length - 1]).toBe(0);
    expect(rssAnonMb() - before).toBeLessThan(32); // nothing written yet
    view.fill(0x3c00);
    expect(rssAnonMb() - before).toBeGreaterThan(200);
    expect(mem.release(buf)).toBe(true);
    expect(view.length).toBe(0); // detached: nothing can reach the freed pages
    expect(buf.byteLength).toBe(0);
    expect(rssAnonMb() - before).toBeLessThan(32);
    expect(mem.release(buf)).toBe(false); // once only
  });

  it('refuses bad sizes and buffers it did not make', () => {
    const mem = pageMemory('native');
    for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 60]) expect(() => mem.allocate(bad)).toThrow(RangeError);
    const other = new ArrayBuffer(64);
    expect(mem.release(other)).toBe(false);
    expect(other.byteLength).toBe(64);
  });

  it('survives many allocations and releases, some left to the garbage collector', () => {
    const mem = pageMemory('native');
    for (let i = 0; i < 200; i++) {
      const b = mem.allocate(1 << 20);
      new Uint8Array(b)[i] = 1;
      if (i % 3 !== 0) expect(mem.release(b)).toBe(true);
    }
  });
});

describe('pageMemory (TypeScript kernels)', () => {
  it('gives plain buffers; release is a no-op', () => {
    const mem = pageMemory('ts');
    const b = mem.allocate(1024);
    expect(new Uint8Array(b).every((x) => x === 0)).toBe(true);
    expect(mem.release(b)).toBe(false);
    expect(b.byteLength).toBe(1024);
  });
});
