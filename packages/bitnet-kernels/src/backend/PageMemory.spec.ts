/**
 * Page memory: native buffers are zero-filled, usable, and returned at `release` (the process's
 * private memory drops at once; the views become empty); the TypeScript mode gets plain buffers.
 */
import * as fs from 'node:fs';
import { resolveBackend } from './KernelBackend';
import { pageMemory } from './PageMemory';

const rssAnonMb = () => Number(/RssAnon:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;
const native = resolveBackend('auto').addon !== undefined && process.platform === 'linux';

/** This process's mappings from /proc/self/smaps: start, end and VmFlags ('hg': advised MADV_HUGEPAGE). */
function mappings(): Array<{ start: number; end: number; flags: string[] }> {
  const out: Array<{ start: number; end: number; flags: string[] }> = [];
  for (const line of fs.readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const range = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (range) out.push({ start: parseInt(range[1], 16), end: parseInt(range[2], 16), flags: [] });
    else if (line.startsWith('VmFlags:') && out.length > 0) out[out.length - 1].flags = line.slice(8).trim().split(/\s+/);
  }
  return out;
}

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

  it('hugePages: a 2 MB-aligned range advised for transparent huge pages, zero-filled, returned whole at release', () => {
    const mem = pageMemory('native');
    const bytes = (8 << 20) + 12345;
    const span = 10 << 20; // the bytes rounded up to whole 2 MB blocks
    const before = new Set(mappings().map((m) => m.start));
    const buf = mem.allocate(bytes, { hugePages: true });
    const view = new Uint8Array(buf);
    expect(view.length).toBe(bytes);
    expect(view[0] + view[bytes - 1]).toBe(0);
    view.fill(7);
    const advised = mappings().filter((m) => !before.has(m.start) && m.flags.includes('hg'));
    expect(advised.map((m) => [m.start % (2 << 20), m.end - m.start])).toEqual([[0, span]]);
    const small = mem.allocate(bytes); // without the option: no advice, as before
    expect(mappings().some((m) => !before.has(m.start) && m.end - m.start === bytes + 4096 - (bytes % 4096) && m.flags.includes('hg'))).toBe(false);
    expect(mem.release(small)).toBe(true);
    expect(mem.release(buf)).toBe(true);
    expect(view.length).toBe(0);
    // the whole mapping is gone: the advised range and the alignment slack around it
    expect(mappings().some((m) => m.start === advised[0].start)).toBe(false);
    expect(() => mem.allocate(64, { hugePages: 'yes' as unknown as boolean })).toThrow(TypeError);
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
