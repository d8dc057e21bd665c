import * as zlib from 'node:zlib';
import { renderChart } from './chart';
import { Canvas, PNG_SIGNATURE, crc32, encodePng } from './png';
import { TARGETS, check } from './report';

/** Splits a PNG into its chunks, checking each CRC against zlib's. */
function chunks(png: Buffer): Array<{ type: string; data: Buffer; crcOk: boolean }> {
  const out = [];
  let at = 8;
  while (at < png.length) {
    const len = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + len);
    const crc = png.readUInt32BE(at + 8 + len);
    out.push({ type, data, crcOk: crc === zlib.crc32(png.subarray(at + 4, at + 8 + len)) });
    at += 12 + len;
  }
  return out;
}

describe('PNG encoder', () => {
  it('crc32 matches the standard check value', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it('writes signature, IHDR, IDAT and IEND with valid CRCs, and the pixels survive', () => {
    const c = new Canvas(3, 2, [10, 20, 30]);
    c.set(2, 1, [255, 0, 128]);
    const png = c.toPng();
    expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    const cs = chunks(png);
    expect(cs.map((x) => x.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
    expect(cs.every((x) => x.crcOk)).toBe(true);
    const ihdr = cs[0].data;
    expect(ihdr).toHaveLength(13);
    expect([ihdr.readUInt32BE(0), ihdr.readUInt32BE(4), ihdr[8], ihdr[9], ihdr[12]]).toEqual([3, 2, 8, 2, 0]);
    const raw = zlib.inflateSync(cs[1].data);
    expect(raw).toHaveLength(2 * (1 + 3 * 3));
    expect([...raw.subarray(0, 4)]).toEqual([0, 10, 20, 30]);
    expect([...raw.subarray(raw.length - 3)]).toEqual([255, 0, 128]);
  });

  it('rejects pixel data of the wrong size', () => {
    expect(() => encodePng(2, 2, new Uint8Array(11))).toThrow('expected 12 bytes of RGB, got 11');
  });

  it('draws text inside its measured box', () => {
    const c = new Canvas(40, 12);
    c.text(1, 1, 'A1', [0, 0, 0], 1);
    expect(Canvas.textWidth('A1')).toBe(11);
    let inked = 0;
    for (let y = 0; y < 12; y++) for (let x = 0; x < 40; x++) if (c.pixels[(y * 40 + x) * 3] === 0) {
      inked++;
      expect(x).toBeGreaterThanOrEqual(1);
      expect(x).toBeLessThan(12);
      expect(y).toBeLessThan(8);
    }
    expect(inked).toBeGreaterThan(10);
  });

  it('the chart is a valid PNG', () => {
    const checks = Object.values(TARGETS).map((t) => check(t, t.kind === 'ratio-min' ? 1.2 : t.value / 2, 1, 1));
    const png = renderChart([{ engine: 'ours', ours: 'i2_s', llama: 'tq2_0', checks }], { quick: false, cpu: 'Test CPU', date: '2025-01-01' });
    const cs = chunks(png);
    expect(cs.every((x) => x.crcOk)).toBe(true);
    expect(cs[0].data.readUInt32BE(0)).toBe(960);
  });
});
