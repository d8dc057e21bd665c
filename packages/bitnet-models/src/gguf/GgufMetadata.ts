import { MetadataError } from '../errors';
import { GgufSkippedArray, GgufStringArray, type GgufStringList } from './GgufStringArray';
import { GgufArrayValue, GgufValue, GgufValueType, ggufValueTypeName } from './GgufTypes';
import { describeValue } from '../describeValue';

/** What the map holds per key: a typed value, a packed string array, or a skipped array. */
type Stored = GgufValue | GgufStringArray | GgufSkippedArray;

const isPacked = (v: Stored): v is GgufStringArray | GgufSkippedArray => v instanceof GgufStringArray || v instanceof GgufSkippedArray;

const NUMERIC = new Set<GgufValueType>([
  GgufValueType.UINT8,
  GgufValueType.INT8,
  GgufValueType.UINT16,
  GgufValueType.INT16,
  GgufValueType.UINT32,
  GgufValueType.INT32,
  GgufValueType.FLOAT32,
  GgufValueType.FLOAT64,
  GgufValueType.UINT64,
  GgufValueType.INT64,
]);

/**
 * The key/value metadata of a GGUF file with typed accessors. `getX(key)` throws a MetadataError
 * naming the key when it is missing or of another type; `optX(key)` returns undefined when missing
 * (and still throws on a wrong type).
 *
 * String arrays read from a file are held packed (GgufStringArray): `optStringList(key)` hands that
 * form out as is, while `raw`, `entries`, `getStringArray` and `toJSON` decode a fresh plain array
 * on each call. Arrays skipped by the reader (GgufReadOptions.skipArrays) are present (`has`) with
 * a known length (`skippedArray`, `optStringArrayLength`), and every accessor that needs their
 * values (`raw`, `entries`, `toJSON`, the array getters) throws a MetadataError saying so.
 */
export class GgufMetadata {
  private readonly map: Map<string, Stored>;

  constructor(entries?: Iterable<[string, GgufValue]>) {
    this.map = new Map(entries ?? []);
  }

  get size(): number {
    return this.map.size;
  }

  /** Whether the key is present. */
  has(key: string): boolean {
    return this.map.has(key);
  }

  /** Every key, in file order. */
  keys(): string[] {
    return [...this.map.keys()];
  }

  /** Every key with its typed value, in file order (throws on reaching a skipped array). */
  *entries(): IterableIterator<[string, GgufValue]> {
    for (const key of this.map.keys()) yield [key, this.raw(key) as GgufValue];
  }

  /** Raw typed value (a packed string array is decoded into a fresh array; a skipped one throws). */
  raw(key: string): GgufValue | undefined {
    const v = this.map.get(key);
    if (v === undefined || !isPacked(v)) return v;
    if (v instanceof GgufSkippedArray) throw this.skippedError(key, v);
    return { type: GgufValueType.ARRAY, elementType: GgufValueType.STRING, value: v.toArray() };
  }

  /** Sets (or replaces) a key's typed value. */
  set(key: string, value: GgufValue): void {
    this.map.set(key, value);
  }

  /** Sets (or replaces) a key's value with a packed string array (read back as a plain one by `raw`). */
  setStringArray(key: string, value: GgufStringArray): void {
    this.map.set(key, value);
  }

  /** Marks a key as an array that was read but not kept (what the reader does for skipArrays). */
  setSkipped(key: string, value: GgufSkippedArray): void {
    this.map.set(key, value);
  }

  /** The element type and length of a skipped array, or undefined when the key is not one. */
  skippedArray(key: string): GgufSkippedArray | undefined {
    const v = this.map.get(key);
    return v instanceof GgufSkippedArray ? v : undefined;
  }

  /** The keys of the arrays the reader skipped, in file order. */
  skippedKeys(): string[] {
    return [...this.map.keys()].filter((k) => this.map.get(k) instanceof GgufSkippedArray);
  }

  /**
   * The string array at `key` read element by element, without a JS string per element up front:
   * the packed GgufStringArray itself when the key holds one (as read from a file), else a view of
   * the plain array. Undefined when missing; throws when of another type or skipped.
   */
  optStringList(key: string): GgufStringList | undefined {
    const v = this.map.get(key);
    if (v === undefined || v instanceof GgufStringArray) return v;
    const strings = this.optStringArray(key) as string[]; // throws when skipped or of another type
    return { length: strings.length, get: (i) => strings[i] };
  }

  /**
   * The number of elements of the string array at `key`, skipped arrays included, or undefined when
   * missing; throws when of another type.
   */
  optStringArrayLength(key: string): number | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    if (v instanceof GgufStringArray) return v.length;
    if (v.type !== GgufValueType.ARRAY || v.elementType !== GgufValueType.STRING) throw this.wrongType(key, 'an array of strings', v);
    return v instanceof GgufSkippedArray ? v.length : v.value.length;
  }

  /** Removes a key; true when it was present. */
  delete(key: string): boolean {
    return this.map.delete(key);
  }

  /** The string at `key`; throws when missing or of another type. */
  getString(key: string): string {
    return this.required(key, this.optString(key));
  }

  /** The string at `key`, or undefined when missing; throws when of another type. */
  optString(key: string): string | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    if (isPacked(v) || v.type !== GgufValueType.STRING) throw this.wrongType(key, 'a string', v);
    return v.value;
  }

  /** Any integer or float type, 64-bit ones included when they fit in a double exactly. */
  getNumber(key: string): number {
    return this.required(key, this.optNumber(key));
  }

  /** The number at `key`, or undefined when missing; throws when of another type. */
  optNumber(key: string): number | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    if (isPacked(v) || !NUMERIC.has(v.type)) throw this.wrongType(key, 'a number', v);
    if (typeof v.value === 'bigint') {
      if (v.value > BigInt(Number.MAX_SAFE_INTEGER) || v.value < BigInt(Number.MIN_SAFE_INTEGER)) {
        throw new MetadataError(`metadata '${key}' = ${v.value} does not fit in a JS number`, key);
      }
      return Number(v.value);
    }
    return v.value as number;
  }

  /** A number that must be a non-negative integer (counts, lengths, ids). */
  getInteger(key: string): number {
    return this.required(key, this.optInteger(key));
  }

  /** The integer at `key`, or undefined when missing; throws when not an integer. */
  optInteger(key: string): number | undefined {
    const n = this.optNumber(key);
    if (n === undefined) return undefined;
    if (!Number.isInteger(n) || n < 0) throw new MetadataError(`metadata '${key}' must be a non-negative integer, got ${describeValue(n)}`, key);
    return n;
  }

  /** The boolean at `key`; throws when missing or of another type. */
  getBool(key: string): boolean {
    return this.required(key, this.optBool(key));
  }

  /** The boolean at `key`, or undefined when missing; throws when of another type. */
  optBool(key: string): boolean | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    if (isPacked(v) || v.type !== GgufValueType.BOOL) throw this.wrongType(key, 'a bool', v);
    return v.value;
  }

  /** The string array at `key`; throws when missing or of another type. */
  getStringArray(key: string): string[] {
    return this.required(key, this.optStringArray(key));
  }

  /** The string array at `key`, or undefined when missing; throws when of another type. */
  optStringArray(key: string): string[] | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    if (v instanceof GgufStringArray) return v.toArray();
    if (v.type !== GgufValueType.ARRAY || v.elementType !== GgufValueType.STRING) throw this.wrongType(key, 'an array of strings', v);
    if (v instanceof GgufSkippedArray) throw this.skippedError(key, v);
    return v.value as string[];
  }

  /** The numeric array at `key`; throws when missing or of another type. */
  getNumberArray(key: string): number[] {
    return this.required(key, this.optNumberArray(key));
  }

  /** The numeric array at `key`, or undefined when missing; throws when of another type. */
  optNumberArray(key: string): number[] | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    if (isPacked(v) && !(v instanceof GgufSkippedArray)) throw this.wrongType(key, 'an array of numbers', v);
    if (v.type !== GgufValueType.ARRAY || !NUMERIC.has(v.elementType)) throw this.wrongType(key, 'an array of numbers', v);
    if (v instanceof GgufSkippedArray) throw this.skippedError(key, v);
    return (v.value as Array<number | bigint>).map((x) => Number(x));
  }

  /** Plain JSON-friendly view (bigints that fit become numbers, others strings); throws on a skipped array. */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of this.entries()) out[k] = plainValue(v);
    return out;
  }

  private required<T>(key: string, v: T | undefined): T {
    if (v === undefined) throw new MetadataError(`metadata key '${key}' is missing`, key);
    return v;
  }

  private wrongType(key: string, expected: string, v: Stored): MetadataError {
    const got =
      v instanceof GgufStringArray
        ? 'array of STRING'
        : v instanceof GgufSkippedArray || v.type === GgufValueType.ARRAY
          ? `array of ${ggufValueTypeName(v.elementType)}`
          : ggufValueTypeName(v.type);
    return new MetadataError(`metadata '${key}' must be ${expected}, but it is ${got}`, key);
  }

  private skippedError(key: string, v: GgufSkippedArray): MetadataError {
    return new MetadataError(
      `metadata '${key}' (an array of ${v.length} ${ggufValueTypeName(v.elementType)}) was skipped when the file was read (GgufReadOptions.skipArrays); its values are not available`,
      key,
    );
  }
}

function plainScalar(x: unknown): unknown {
  if (typeof x === 'bigint') return x <= BigInt(Number.MAX_SAFE_INTEGER) && x >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(x) : x.toString();
  return x;
}

/** A metadata value as plain JavaScript (numbers, strings, booleans, bigints, arrays), without its GGUF type. */
export function plainValue(v: GgufValue): unknown {
  if (v.type === GgufValueType.ARRAY) {
    if (v.elementType === GgufValueType.ARRAY) return (v.value as GgufArrayValue[]).map(plainValue);
    return (v.value as unknown[]).map(plainScalar);
  }
  return plainScalar(v.value);
}

/** Helpers to build typed values for the writer. */
export const gguf = {
  /** A GGUF uint8. */
  u8: (value: number): GgufValue => ({ type: GgufValueType.UINT8, value }),
  /** A GGUF int8. */
  i8: (value: number): GgufValue => ({ type: GgufValueType.INT8, value }),
  /** A GGUF uint16. */
  u16: (value: number): GgufValue => ({ type: GgufValueType.UINT16, value }),
  /** A GGUF int16. */
  i16: (value: number): GgufValue => ({ type: GgufValueType.INT16, value }),
  /** A GGUF uint32. */
  u32: (value: number): GgufValue => ({ type: GgufValueType.UINT32, value }),
  /** A GGUF int32. */
  i32: (value: number): GgufValue => ({ type: GgufValueType.INT32, value }),
  /** A GGUF float32. */
  f32: (value: number): GgufValue => ({ type: GgufValueType.FLOAT32, value }),
  /** A GGUF float64. */
  f64: (value: number): GgufValue => ({ type: GgufValueType.FLOAT64, value }),
  /** A GGUF uint64 (held as a bigint). */
  u64: (value: bigint | number): GgufValue => ({ type: GgufValueType.UINT64, value: BigInt(value) }),
  /** A GGUF int64 (held as a bigint). */
  i64: (value: bigint | number): GgufValue => ({ type: GgufValueType.INT64, value: BigInt(value) }),
  /** A GGUF bool. */
  bool: (value: boolean): GgufValue => ({ type: GgufValueType.BOOL, value }),
  /** A GGUF string. */
  str: (value: string): GgufValue => ({ type: GgufValueType.STRING, value }),
  /** A GGUF array of strings. */
  strings: (value: string[]): GgufValue => ({ type: GgufValueType.ARRAY, elementType: GgufValueType.STRING, value }),
  /** A GGUF array of int32. */
  i32s: (value: number[]): GgufValue => ({ type: GgufValueType.ARRAY, elementType: GgufValueType.INT32, value }),
  /** A GGUF array of uint32. */
  u32s: (value: number[]): GgufValue => ({ type: GgufValueType.ARRAY, elementType: GgufValueType.UINT32, value }),
  /** A GGUF array of float32. */
  f32s: (value: number[]): GgufValue => ({ type: GgufValueType.ARRAY, elementType: GgufValueType.FLOAT32, value }),
};
