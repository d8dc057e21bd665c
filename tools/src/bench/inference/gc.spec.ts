import { MainGcRecorder, summarizeGc } from './gc';

describe('summarizeGc', () => {
  it('counts, finds the longest entry and joins back-to-back entries into one burst', () => {
    const s = summarizeGc([
      { startTime: 100, duration: 0.3, kind: 1 }, // scavenge
      { startTime: 200, duration: 9.2, kind: 8 }, // incremental finalization ...
      { startTime: 209.4, duration: 7.8, kind: 4 }, // ... and the mark-compact right after it
      { startTime: 800, duration: 3.5, kind: 4 },
    ]);
    expect(s.count).toBe(4);
    expect(s.majorCount).toBe(2);
    expect(s.maxMs).toBeCloseTo(9.2);
    expect(s.longestBurstMs).toBeCloseTo(17.2);
    expect(s.totalMs).toBeCloseTo(20.8);
  });

  it('keeps entries apart when a gap of more than 1 ms separates them', () => {
    expect(summarizeGc([{ startTime: 0, duration: 2, kind: 1 }, { startTime: 3.5, duration: 2, kind: 1 }]).longestBurstMs).toBeCloseTo(2);
    expect(summarizeGc([]).longestBurstMs).toBe(0);
  });
});

describe('MainGcRecorder', () => {
  it('records the collections this thread makes', async () => {
    const rec = new MainGcRecorder();
    // ~80 MB of short-lived arrays that escape into a small ring (so the compiler cannot drop them):
    // many times the young generation, so several scavenges
    const ring: number[][] = new Array(16);
    for (let i = 0; i < 10_000; i++) ring[i & 15] = new Array<number>(1000).fill(i);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    const s = rec.stop();
    expect(ring[15][0]).toBe(9999);
    expect(s.count).toBeGreaterThan(0);
    expect(s.totalMs).toBeGreaterThan(0);
  });
});
