import { GgufValueType } from './GgufTypes';

/** Strings read by index, each built when asked for (a GgufStringArray, or a view of a plain array). */
export interface GgufStringList {
  readonly length: number;
  /** Element i as a JS string. */
  get(i: number): string;
}

/**
 * A GGUF array of strings kept as the file stores it: every element's UTF-8 bytes one after the
 * other in one buffer, plus the offset where each element starts. The reader keeps top-level string
 * arrays this way (a LLaMA-3 vocabulary is ~400k strings: a few MB here, tens of MB as JS strings),
 * and an element becomes a JS string only when `get` is called, decoded exactly as the reader would
 * have decoded it (Node's UTF-8 decoder, invalid bytes become U+FFFD).
 */
export class GgufStringArray implements GgufStringList {
  /** Number of elements. */
  readonly length: number;

  /**
   * `bytes[offsets[i], offsets[i + 1])` is element i's UTF-8; `offsets` has length + 1 entries,
   * non-decreasing, the last one at most bytes.length.
   */
  constructor(
    readonly bytes: Buffer,
    readonly offsets: Uint32Array | Float64Array,
  ) {
    this.length = offsets.length - 1;
  }

  /** Element i as a JS string (decoded on each call, not kept). */
  get(i: number): string {
    return this.bytes.toString('utf8', this.offsets[i], this.offsets[i + 1]);
  }

  /** An upper bound of element i's length in UTF-16 units (its UTF-8 byte count). */
  maxUnits(i: number): number {
    return this.offsets[i + 1] - this.offsets[i];
  }

  /**
   * Writes element i's UTF-16 code units (those of get(i)) into `out` from `at` and returns their
   * count, without building a JS string; -1, with nothing guaranteed about `out`, when the bytes
   * are not well-formed UTF-8 (get(i) then says what Node's decoder makes of them). `out` needs room
   * for maxUnits(i) units from `at`.
   */
  unitsInto(i: number, out: Uint16Array, at: number): number {
    return decodeWellFormedUtf8(this.bytes, this.offsets[i], this.offsets[i + 1], out, at);
  }

  /** Element i's UTF-8 bytes (a view into the shared buffer: do not modify). */
  utf8(i: number): Uint8Array {
    return this.bytes.subarray(this.offsets[i], this.offsets[i + 1]);
  }

  /**
   * The first index whose element reads as `text` (get(i) === text), or -1: the elements' bytes are
   * compared with text's UTF-8, no string per element. A well-formed element decodes to exactly one
   * text, and a malformed one to text with U+FFFD in it, so texts that hold U+FFFD or a lone
   * surrogate are compared through get instead.
   */
  indexOf(text: string): number {
    const want = Buffer.from(text, 'utf8');
    // a lone surrogate does not survive the round trip (it is written as U+FFFD)
    if (text.includes('\uFFFD') || want.toString('utf8') !== text) return indexOfByGet(this, text);
    const n = want.length;
    for (let i = 0; i < this.length; i++) {
      const from = this.offsets[i];
      if (this.offsets[i + 1] - from !== n) continue;
      let k = 0;
      while (k < n && this.bytes[from + k] === want[k]) k++;
      if (k === n) return i;
    }
    return -1;
  }

  /** Every element as a JS string (a fresh array on each call). */
  toArray(): string[] {
    const out = new Array<string>(this.length);
    for (let i = 0; i < this.length; i++) out[i] = this.get(i);
    return out;
  }

  /** Packs JS strings (e.g. to hand a plain array to code that reads GgufStringArray). */
  static fromStrings(strings: readonly string[]): GgufStringArray {
    const builder = new GgufStringArrayBuilder(strings.length);
    for (const s of strings) builder.push(Buffer.from(s, 'utf8'));
    return builder.finish();
  }
}

/** The first index of `text` in `list`, or -1 (by bytes for a GgufStringArray, see its indexOf). */
export function stringListIndexOf(list: GgufStringList, text: string): number {
  return list instanceof GgufStringArray ? list.indexOf(text) : indexOfByGet(list, text);
}

function indexOfByGet(list: GgufStringList, text: string): number {
  for (let i = 0; i < list.length; i++) if (list.get(i) === text) return i;
  return -1;
}

/**
 * UTF-8 bytes[from, to) as UTF-16 code units at out[at..], returning how many; -1 as soon as the bytes
 * are not well-formed (a stray continuation byte, a truncated, overlong or surrogate sequence, a code
 * point past U+10FFFF), where decoders differ in what they substitute. Well-formed input has exactly one
 * decoding, so the units are those of Buffer.toString('utf8').
 */
export function decodeWellFormedUtf8(bytes: Uint8Array, from: number, to: number, out: Uint16Array, at: number): number {
  const start = at;
  for (let k = from; k < to; ) {
    const b = bytes[k];
    if (b < 0x80) {
      out[at++] = b;
      k++;
      continue;
    }
    let cp: number;
    let n: number;
    if (b >= 0xc2 && b <= 0xdf) (cp = b & 0x1f), (n = 1);
    else if (b >= 0xe0 && b <= 0xef) (cp = b & 0x0f), (n = 2);
    else if (b >= 0xf0 && b <= 0xf4) (cp = b & 0x07), (n = 3);
    else return -1;
    if (k + n >= to) return -1; // truncated
    for (let j = 1; j <= n; j++) {
      const c = bytes[k + j];
      if ((c & 0xc0) !== 0x80) return -1;
      cp = (cp << 6) | (c & 0x3f);
    }
    if ((n === 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n === 3 && (cp < 0x10000 || cp > 0x10ffff))) return -1;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out[at++] = 0xd800 | (cp >> 10);
      out[at++] = 0xdc00 | (cp & 0x3ff);
    } else out[at++] = cp;
    k += n + 1;
  }
  return at - start;
}

/** Collects UTF-8 elements into one growing buffer; `finish` trims it into a GgufStringArray. */
export class GgufStringArrayBuilder {
  private bytes: Buffer;
  private used = 0;
  private offsets: Uint32Array | Float64Array;
  private count = 0;

  /**
   * `capacity`: the number of elements that will be pushed (already bounded by the caller);
   * `byteCapacity`: their total size when known (the buffer then never grows nor gets trimmed).
   */
  constructor(capacity: number, byteCapacity = 1 << 16) {
    this.offsets = new Uint32Array(capacity + 1);
    this.bytes = Buffer.allocUnsafe(byteCapacity);
  }

  /** Appends one element's UTF-8 bytes. */
  push(utf8: Uint8Array): void {
    const end = this.used + utf8.length;
    if (end > this.bytes.length) {
      let cap = this.bytes.length * 2;
      while (cap < end) cap *= 2;
      const next = Buffer.allocUnsafe(cap);
      this.bytes.copy(next, 0, 0, this.used);
      this.bytes = next;
    }
    this.bytes.set(utf8, this.used);
    this.used = end;
    // offsets past 4 GiB do not fit a Uint32Array: switch to doubles once, if ever
    if (end > 0xffffffff && this.offsets instanceof Uint32Array) this.offsets = Float64Array.from(this.offsets);
    this.offsets[++this.count] = end;
  }

  /** The packed array (the buffer copied to its exact size unless it has that size already). */
  finish(): GgufStringArray {
    // a trimmed copy rather than a view that would keep the larger buffer alive
    const bytes = this.used === this.bytes.length ? this.bytes : Buffer.from(this.bytes.subarray(0, this.used));
    return new GgufStringArray(bytes, this.offsets.subarray(0, this.count + 1));
  }
}

/**
 * An array the reader validated but did not keep (GgufReadOptions.skipArrays): its element type
 * and length are known, its values are not. Reading its values through GgufMetadata throws a
 * MetadataError; it is never an empty array.
 */
export class GgufSkippedArray {
  /** Always ARRAY (a skipped value is an array whose values were dropped). */
  readonly type = GgufValueType.ARRAY;

  constructor(
    readonly elementType: GgufValueType,
    readonly length: number,
  ) {}
}
