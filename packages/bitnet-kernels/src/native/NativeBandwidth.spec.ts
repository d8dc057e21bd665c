/**
 * The bandwidth probe (what the benches divide decode speed by): of a fresh buffer, or of a file's
 * first bytes read in place. The file form maps the file only for the call: afterwards no mapping of
 * it is left in the process (nothing held, nothing to free), and bad arguments are typed errors.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { requestedKernelMode } from '../backend/KernelBackend';
import { defaultModeAddon } from '../testing';
import { thrown } from '../testing/kernelCases';
import { describeNativeIsas } from '../testing/kernelIsaVariants';

const addon = requestedKernelMode() === 'ts' ? undefined : defaultModeAddon();
const describeNative = addon ? describe : describe.skip;

describeNative('native readBandwidth', () => {
  const a = addon as NonNullable<typeof addon>;
  let dir: string;
  let file: string;
  const MiB = 1 << 20;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bitnet-bw-'));
    file = path.join(dir, 'probe.bin');
    fs.writeFileSync(file, Buffer.alloc(4 * MiB, 7));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const mapped = (f: string) => fs.readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.endsWith(f)).length;

  it('reads a fresh buffer and a file in place, and leaves no mapping of the file behind', () => {
    expect(a.readBandwidth(4 * MiB, 2)).toBeGreaterThan(0);
    const gbs = a.readBandwidth(4 * MiB, 3, file);
    expect(Number.isFinite(gbs) && gbs > 0).toBe(true);
    expect(a.readBandwidth(2 * MiB + 4096, 1, file)).toBeGreaterThan(0); // a prefix, not cache-line-per-thread aligned
    if (process.platform === 'linux') expect(mapped(file)).toBe(0);
  });

  it('rejects a file shorter than the bytes asked, a missing file, a directory and a non-string', () => {
    // the addon's errors come from the main realm: compared by name, not by constructor
    const short = thrown(() => a.readBandwidth(8 * MiB, 1, file));
    expect([short.name, short.message]).toEqual(['RangeError', expect.stringMatching(/at least 8388608 bytes/)]);
    expect(thrown(() => a.readBandwidth(MiB, 1, path.join(dir, 'missing'))).message).toMatch(/open .*missing.* failed/);
    expect(thrown(() => a.readBandwidth(MiB, 1, dir)).name).toBe('RangeError');
    expect(thrown(() => a.readBandwidth(MiB, 1, 42 as unknown as string)).name).toBe('TypeError');
    if (process.platform === 'linux') expect(mapped(file)).toBe(0);
  });
});

/**
 * The int8 ceiling probe (the kernels bench's "% of int8 peak"): on every instruction set, including the
 * emulated ones, its loop runs the rounds it says (the accumulators' checksum is 2 per multiply-add:
 * u8 1 × s8 2), counts the multiply-adds of its instruction, and reports a positive rate; bad arguments
 * are typed errors.
 */
describeNativeIsas('native int8Peak', ({ addon, isa }) => {
  const lanesPerRound: Record<string, number> = { generic: 32, avx2: 8 * 32, avxvnni: 10 * 32, avx512: 10 * 64, avx512vbmi: 10 * 64 };
  it('runs the rounds it counts, for every pool thread', () => {
    const rounds = 4099;
    const r = addon.int8Peak(rounds, 2);
    expect(r.multiplyAdds).toBe(rounds * lanesPerRound[isa] * addon.threads());
    expect(r.checksum).toBe(2 * r.multiplyAdds);
    expect(Number.isFinite(r.multiplyAddsPerSecond) && r.multiplyAddsPerSecond > 0).toBe(true);
  });

  // the most rounds it takes, where a 32-bit sum over the chains' lanes would wrap: on the selected ISA
  // only (~0.2 s with 512-bit vpdpbusd; the emulated ones take far longer)
  (isa === addon.selectedIsa() && !addon.avx512Emulated ? it : it.skip)('keeps its checksum exact at the most rounds it takes', () => {
    const r = addon.int8Peak(2 ** 26, 1);
    expect(r.checksum).toBe(2 * r.multiplyAdds);
    expect(r.multiplyAdds).toBe(2 ** 26 * lanesPerRound[isa] * addon.threads());
  });

  it('rejects rounds outside 1 .. 2^26 (a lane would overflow past it) and passes outside 1 .. 1000', () => {
    for (const [rounds, passes] of [[0, 1], [2 ** 26 + 1, 1], [1.5, 1], [1, 0], [1, 1001]]) {
      expect(thrown(() => addon.int8Peak(rounds, passes)).name).toBe('RangeError');
    }
    expect(thrown(() => addon.int8Peak('5' as unknown as number, 1)).name).toBe('TypeError');
  });
});
