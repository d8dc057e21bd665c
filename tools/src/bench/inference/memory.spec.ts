import { defaultModeAddon } from '@bitnet/kernels/testing';
import { MemorySampler, PeakTracker, parseProcStatus } from './memory';

const status = (rssKb: number, anonKb: number, fileKb: number, shmemKb = 0, hwmKb = rssKb) =>
  ['Name:\tnode', `VmHWM:\t ${hwmKb} kB`, `VmRSS:\t ${rssKb} kB`, `RssAnon:\t ${anonKb} kB`, `RssFile:\t ${fileKb} kB`, `RssShmem:\t ${shmemKb} kB`, 'Threads:\t9'].join('\n');

describe('memory samples', () => {
  it('reads the kB fields of /proc/self/status as bytes and refuses a text without them', () => {
    expect(parseProcStatus(status(1000, 300, 690, 10, 1200))).toEqual({ rss: 1000 * 1024, anon: 300 * 1024, file: 690 * 1024, shmem: 10 * 1024, hwm: 1200 * 1024 });
    expect(parseProcStatus('VmRSS:\t 5 kB\nRssAnon:\t 5 kB')).toBeUndefined();
  });

  it('keeps the file-backed part of the largest RSS and the largest private set, which may come from another sample', () => {
    const t = new PeakTracker();
    for (const s of [status(500, 400, 100), status(1300, 200, 1100), status(900, 600, 290, 10)]) t.add(parseProcStatus(s)!);
    expect(t.value).toEqual({ peakRssBytes: 1300 * 1024, fileBackedAtPeakBytes: 1100 * 1024, peakPrivateBytes: 610 * 1024, samples: 3 });
  });

  it('samples this process (Linux): a window sees memory allocated inside it', () => {
    const sampler = new MemorySampler(1000);
    const end = sampler.window();
    const held = Buffer.alloc(64 << 20, 1);
    const peaks = end();
    const whole = sampler.stop();
    expect(held[held.length - 1]).toBe(1);
    if (process.platform !== 'linux') return;
    expect(peaks.peakPrivateBytes).toBeGreaterThan(64 << 20);
    expect(whole.peakRssBytes).toBeGreaterThanOrEqual(peaks.peakRssBytes);
    expect(whole.peakRssBytes).toBeGreaterThan(whole.fileBackedAtPeakBytes);
  });

  it('leaves an excluded stretch out of every peak, VmHWM included (Linux)', () => {
    const addon = defaultModeAddon();
    if (process.platform !== 'linux' || !addon) return;
    const before = new MemorySampler(1000).stop().peakRssBytes;
    const probe = new MemorySampler(1000);
    // the bench's bandwidth probe: 512 MiB allocated, read and freed in native code
    const gbs = probe.excluding(() => addon.readBandwidth(512 << 20, 1));
    const after = probe.stop();
    expect(gbs).toBeGreaterThan(0);
    expect(after.peakRssBytes).toBeLessThan(before + (256 << 20));
    // without the exclusion the same probe shows in the peak (the check above can fail)
    const plain = new MemorySampler(1000);
    addon.readBandwidth(512 << 20, 1);
    expect(plain.stop().peakRssBytes).toBeGreaterThan(before + (256 << 20));
  });
});
