/**
 * GgufStringArray's direct UTF-16 decoding (what the tokenizer tables are built from): the units of
 * Buffer.toString for well-formed UTF-8, a refusal (-1) for every kind of ill-formed sequence, and
 * the same token ids either way when a vocabulary holds such bytes.
 */
import { SeededRandom } from '../synthetic/Random';
import { Vocabulary } from '../tokenizer/Vocabulary';
import { GgufStringArray, GgufStringArrayBuilder, decodeWellFormedUtf8, stringListIndexOf } from './GgufStringArray';

const unitsOf = (s: string) => Array.from({ length: s.length }, (_, i) => s.charCodeAt(i));

function packed(elements: readonly Uint8Array[]): GgufStringArray {
  const b = new GgufStringArrayBuilder(elements.length);
  for (const e of elements) b.push(e);
  return b.finish();
}

describe('GgufStringArray.unitsInto', () => {
  it('gives the units of get(i) for well-formed UTF-8 of every sequence length', () => {
    const rnd = new SeededRandom(7);
    const ranges = [
      [0x00, 0x7f],
      [0x80, 0x7ff],
      [0x800, 0xd7ff],
      [0xe000, 0xffff],
      [0x10000, 0x10ffff],
    ];
    const strings: string[] = ['', 'a', 'Ġthe', '\u00e9t\u00e9', '\u{1F600}x', '\uFEFFbom', '\u2581\u2581'];
    for (let i = 0; i < 2000; i++) {
      let s = '';
      const n = Math.floor(rnd.next() * 12);
      for (let k = 0; k < n; k++) {
        const [lo, hi] = ranges[Math.floor(rnd.next() * ranges.length)];
        s += String.fromCodePoint(lo + Math.floor(rnd.next() * (hi - lo + 1)));
      }
      strings.push(s);
    }
    const list = GgufStringArray.fromStrings(strings);
    const out = new Uint16Array(64);
    for (let i = 0; i < list.length; i++) {
      expect(list.maxUnits(i)).toBeGreaterThanOrEqual(list.get(i).length);
      const n = list.unitsInto(i, out, 3);
      expect(n).toBe(strings[i].length);
      expect(Array.from(out.subarray(3, 3 + n))).toEqual(unitsOf(list.get(i)));
      expect(list.get(i)).toBe(strings[i]);
    }
  });

  it('refuses ill-formed sequences (stray, truncated, overlong, surrogate, past U+10FFFF), which Node decodes with U+FFFD', () => {
    const bad = [
      [0x80],
      [0x61, 0xbf, 0x62],
      [0xc3],
      [0xe2, 0x82],
      [0xf0, 0x9f, 0x98],
      [0xc0, 0x80],
      [0xc1, 0xbf],
      [0xe0, 0x80, 0x80],
      [0xe0, 0x9f, 0xbf],
      [0xf0, 0x80, 0x80, 0x80],
      [0xf0, 0x8f, 0xbf, 0xbf],
      [0xed, 0xa0, 0x80],
      [0xed, 0xbf, 0xbf],
      [0xf4, 0x90, 0x80, 0x80],
      [0xf5, 0x80, 0x80, 0x80],
      [0xff],
      [0xc3, 0x41],
    ].map((b) => Uint8Array.from(b));
    const list = packed(bad);
    const out = new Uint16Array(16);
    for (let i = 0; i < list.length; i++) {
      expect({ i, n: list.unitsInto(i, out, 0) }).toEqual({ i, n: -1 });
      expect(list.get(i)).toContain('\uFFFD');
    }
    // the boundaries just inside the valid ranges are decoded
    const edges = ['\u0080', '\u07ff', '\u0800', '\ud7ff', '\ue000', '\uffff', '\u{10000}', '\u{10FFFF}'];
    const ok = GgufStringArray.fromStrings(edges);
    for (let i = 0; i < ok.length; i++) expect(decodeWellFormedUtf8(ok.bytes, ok.offsets[i], ok.offsets[i + 1], out, 0)).toBe(edges[i].length);
  });

  it('a vocabulary with ill-formed token bytes finds the same ids as one built from the decoded strings', () => {
    const elements = ['a', 'b', 'ab', 'Ġx', '\u00e9'].map((s) => Buffer.from(s, 'utf8') as Uint8Array);
    elements.push(Uint8Array.from([0x61, 0xff]), Uint8Array.from([0xe2, 0x82]), Uint8Array.from([0xed, 0xa0, 0x80]));
    const list = packed(elements);
    const strings = Array.from({ length: list.length }, (_, i) => list.get(i));
    const fromPacked = new Vocabulary({ model: 'gpt2', tokens: list }, { byteLevel: true, addBosDefault: false });
    const fromStrings = new Vocabulary({ model: 'gpt2', tokens: strings }, { byteLevel: true, addBosDefault: false });
    for (let i = 0; i < strings.length; i++) {
      expect(fromPacked.tokenId(strings[i])).toBe(i);
      expect(fromStrings.tokenId(strings[i])).toBe(i);
      expect(fromPacked.text(i)).toBe(fromStrings.text(i));
    }
  });
});

describe('GgufStringArray.indexOf', () => {
  const naive = (list: GgufStringArray, text: string) => list.toArray().indexOf(text);

  it('finds the first element that reads as the text, by bytes', () => {
    const rnd = new SeededRandom(11);
    const strings: string[] = ['', 'Ġthe', 'the', 'Ġthe', '<|start_header_id|>', '\u{1F600}', 'é', 'e\u0301'];
    for (let i = 0; i < 500; i++) strings.push(String.fromCodePoint(...Array.from({ length: 1 + Math.floor(rnd.next() * 4) }, () => 0x61 + Math.floor(rnd.next() * 3))));
    const list = GgufStringArray.fromStrings(strings);
    for (const text of [...new Set(strings), 'Ġth', 'thee', 'absent', '<|end_header_id|>']) {
      expect(list.indexOf(text)).toBe(naive(list, text));
      expect(stringListIndexOf(list, text)).toBe(naive(list, text));
    }
    expect(list.indexOf('Ġthe')).toBe(1); // the first of two equal elements
    expect(list.indexOf('')).toBe(0);
  });

  it('compares texts with U+FFFD or a lone surrogate as get decodes the elements', () => {
    // [0xff, 0x41] is ill-formed: it reads as "\uFFFDA", which its bytes differ from
    const list = packed([Buffer.from('x'), Uint8Array.of(0xff, 0x41), Buffer.from('\uFFFD')]);
    expect(list.get(1)).toBe('\uFFFDA');
    expect(list.indexOf('\uFFFDA')).toBe(1);
    expect(list.indexOf('\uFFFD')).toBe(2);
    // a lone surrogate is written as U+FFFD's bytes, but no element reads as it
    expect(list.indexOf('\uD800')).toBe(-1);
    expect(naive(list, '\uD800')).toBe(-1);
  });

  it('stringListIndexOf reads a plain list through get', () => {
    const strings = ['a', 'b', 'b'];
    expect(stringListIndexOf({ length: 3, get: (i) => strings[i] }, 'b')).toBe(1);
    expect(stringListIndexOf({ length: 3, get: (i) => strings[i] }, 'c')).toBe(-1);
  });
});
