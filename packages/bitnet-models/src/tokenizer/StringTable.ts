/**
 * A read-mostly table of strings kept off the JS heap: the UTF-16 code units of every string in one
 * Uint16Array, an Int32Array of offsets, and an open-addressing hash index (Int32Array) from a
 * string to its index. Lookups take a range of a JS string, so probing a substring allocates
 * nothing. UTF-16 units (not UTF-8) keep every JS string exact, lone surrogates included.
 */

const EMPTY_SLOT = 0; // slots hold index + 1

// The hash of a string: FNV-1a over its UTF-16 code units (FNV_START, then fnvStep per unit), finished
// with a murmur-style mix (finishHash). Every function below computes exactly this.
const FNV_START = 0x811c9dc5;
const fnvStep = (h: number, unit: number): number => Math.imul(h ^ unit, 0x01000193);

function finishHash(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  return h ^ (h >>> 13);
}

function hashUnits(units: Uint16Array, start: number, end: number): number {
  let h = FNV_START;
  for (let i = start; i < end; i++) h = fnvStep(h, units[i]);
  return finishHash(h);
}

/** Strings read by index (a packed GGUF string array, or a plain array through `stringList`). */
export interface StringList {
  readonly length: number;
  get(i: number): string;
  /** Optional, with unitsInto: an upper bound of string i's length in UTF-16 units. */
  maxUnits?(i: number): number;
  /** Optional: string i's UTF-16 units written at out[at..] (room for maxUnits(i)), their count; -1: use get(i). */
  unitsInto?(i: number, out: Uint16Array, at: number): number;
}

/** Reads strings of a StringList as UTF-16 units into one reused buffer (no JS string when the list can decode itself). */
export class UnitsReader {
  /** The units of the last string read, from index 0. */
  units = new Uint16Array(256);

  /** Puts string i of `list` into `units` and returns its length. */
  read(list: StringList, i: number): number {
    if (list.unitsInto && list.maxUnits) {
      const bound = list.maxUnits(i);
      if (bound > this.units.length) this.units = new Uint16Array(bound * 2);
      const n = list.unitsInto(i, this.units, 0);
      if (n >= 0) return n;
    }
    const s = list.get(i);
    if (s.length > this.units.length) this.units = new Uint16Array(s.length * 2);
    for (let k = 0; k < s.length; k++) this.units[k] = s.charCodeAt(k);
    return s.length;
  }
}

/** A StringList over a plain array (a StringList is returned as is). */
export function stringList(strings: readonly string[] | StringList): StringList {
  if (!Array.isArray(strings)) return strings as StringList;
  const array = strings as readonly string[];
  return { length: array.length, get: (i) => array[i] };
}

/** Strings in one Uint16Array with an open-addressing hash index from text to index. */
export class StringTable {
  /** Number of strings. */
  readonly size: number;
  private units: Uint16Array;
  /** String i is units[offsets[i], offsets[i + 1]). */
  private readonly offsets: Int32Array;
  private readonly slots: Int32Array;
  private readonly mask: number;
  /** The copy of the text find and findUnitsWithout look up. */
  private scratch = new Uint16Array(64);

  /**
   * Index `strings` (string i gets index i), each asked for once (so a list that decodes on demand,
   * like a packed GGUF string array, never has all of them as JS strings at the same time).
   * `onDuplicate(i, first)` is called when string i equals the earlier string `first`; the later
   * one is then not findable by text.
   */
  constructor(strings: StringList, onDuplicate?: (index: number, first: number) => void) {
    const n = strings.length;
    this.size = n;
    let capacity = 16;
    while (capacity < n * 2) capacity *= 2;
    this.slots = new Int32Array(capacity);
    this.mask = capacity - 1;
    this.offsets = new Int32Array(n + 1);
    // units grow as strings arrive; find() below only looks at strings already added
    this.units = new Uint16Array(Math.max(16, n * 8));
    let at = 0;
    const reserve = (units: number) => {
      if (at + units <= this.units.length) return;
      let size = this.units.length * 2;
      while (size < at + units) size *= 2;
      const next = new Uint16Array(size);
      next.set(this.units.subarray(0, at));
      this.units = next;
    };
    const reader = new UnitsReader();
    for (let i = 0; i < n; i++) {
      const len = reader.read(strings, i);
      reserve(len);
      const u = reader.units;
      for (let k = 0; k < len; k++) this.units[at + k] = u[k];
      this.offsets[i] = at;
      const first = this.findUnits(this.units, at, at + len);
      at += len;
      this.offsets[i + 1] = at;
      if (first >= 0) {
        onDuplicate?.(i, first);
        continue;
      }
      let slot = hashUnits(this.units, this.offsets[i], at) & this.mask;
      while (this.slots[slot] !== EMPTY_SLOT) slot = (slot + 1) & this.mask;
      this.slots[slot] = i + 1;
    }
    this.units = this.units.slice(0, at);
  }

  /** The index of the string equal to s[start, end), or -1. */
  find(s: string, start = 0, end = s.length): number {
    const len = end - start;
    const t = this.scratchOf(len);
    for (let k = 0; k < len; k++) t[k] = s.charCodeAt(start + k);
    return this.findUnits(t, 0, len);
  }

  /** The index of the string equal to units[start, end), or -1. */
  findUnits(u: Uint16Array, start: number, end: number): number {
    const { units, offsets, slots, mask } = this;
    const len = end - start;
    for (let slot = hashUnits(u, start, end) & mask; ; slot = (slot + 1) & mask) {
      const entry = slots[slot];
      if (entry === EMPTY_SLOT) return -1;
      const id = entry - 1;
      const from = offsets[id];
      if (offsets[id + 1] - from !== len) continue;
      let k = 0;
      while (k < len && units[from + k] === u[start + k]) k++;
      if (k === len) return id;
    }
  }

  /** The index of the string equal to units[0, len) without the unit at `skip`, or -1. */
  findUnitsWithout(u: Uint16Array, len: number, skip: number): number {
    const t = this.scratchOf(len);
    for (let k = 0; k < skip; k++) t[k] = u[k];
    for (let k = skip + 1; k < len; k++) t[k - 1] = u[k];
    return this.findUnits(t, 0, len - 1);
  }

  /** The scratch buffer, grown to hold `len` units. */
  private scratchOf(len: number): Uint16Array {
    if (len > this.scratch.length) this.scratch = new Uint16Array(len * 2);
    return this.scratch;
  }

  /** Length of string i in UTF-16 units. */
  length(i: number): number {
    return this.offsets[i + 1] - this.offsets[i];
  }

  /** UTF-16 unit k of string i (k < length(i)); with length, reads a string without building it. */
  unit(i: number, k: number): number {
    return this.units[this.offsets[i] + k];
  }

  /** String i as a JS string (built on each call). */
  get(i: number): string {
    const from = this.offsets[i];
    const to = this.offsets[i + 1];
    let out = '';
    for (let k = from; k < to; k += 8192) {
      out += String.fromCharCode.apply(null, this.units.subarray(k, Math.min(to, k + 8192)) as unknown as number[]);
    }
    return out;
  }
}

/** A growable byte buffer that ends as one Uint8Array plus an Int32Array of offsets. */
export class ByteListBuilder {
  private bytes = new Uint8Array(1 << 16);
  private length = 0;
  readonly offsets: Int32Array;
  private count = 0;

  constructor(capacity: number) {
    this.offsets = new Int32Array(capacity + 1);
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    let cap = this.bytes.length * 2;
    while (cap < this.length + extra) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
  }

  /** Start the next entry. */
  begin(): void {
    this.offsets[this.count++] = this.length;
  }

  /** Append one byte to the current entry. */
  push(byte: number): void {
    this.reserve(1);
    this.bytes[this.length++] = byte;
  }

  /** Append bytes to the current entry. */
  append(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.bytes.set(bytes, this.length);
    this.length += bytes.length;
  }

  /** The packed bytes (trimmed to size); offsets[i]..offsets[i + 1] is entry i. */
  finish(): Uint8Array {
    this.offsets[this.count] = this.length;
    return this.bytes.slice(0, this.length);
  }
}
