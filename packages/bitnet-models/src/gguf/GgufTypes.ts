/** GGUF metadata value types (the i32 type tag in the file). */
export enum GgufValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

/** The first four bytes of a GGUF file ("GGUF") read as a little-endian u32. */
export const GGUF_MAGIC = 0x46554747; // "GGUF" read as little-endian u32
/** The tensor data alignment when `general.alignment` is absent. */
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** The most dimensions a ggml tensor has. */
export const GGML_MAX_DIMS = 4;

/** The value types held as JavaScript numbers. */
export type GgufNumberType =
  | GgufValueType.UINT8
  | GgufValueType.INT8
  | GgufValueType.UINT16
  | GgufValueType.INT16
  | GgufValueType.UINT32
  | GgufValueType.INT32
  | GgufValueType.FLOAT32
  | GgufValueType.FLOAT64;
/** The 64-bit integer value types (held as bigints). */
export type GgufBigIntType = GgufValueType.UINT64 | GgufValueType.INT64;
/** Every value type except arrays. */
export type GgufScalarType = GgufNumberType | GgufBigIntType | GgufValueType.BOOL | GgufValueType.STRING;

/**
 * One metadata value, keeping its file type so that a read/write round trip is lossless.
 * 64-bit integers are bigints; arrays of scalars hold plain JS values; nested arrays hold
 * GgufArrayValue elements.
 */
export type GgufValue =
  | { type: GgufNumberType; value: number }
  | { type: GgufBigIntType; value: bigint }
  | { type: GgufValueType.BOOL; value: boolean }
  | { type: GgufValueType.STRING; value: string }
  | GgufArrayValue;

/** An element of a nested GGUF array. */
export type GgufArrayValue =
  | { type: GgufValueType.ARRAY; elementType: GgufNumberType; value: number[] }
  | { type: GgufValueType.ARRAY; elementType: GgufBigIntType; value: bigint[] }
  | { type: GgufValueType.ARRAY; elementType: GgufValueType.BOOL; value: boolean[] }
  | { type: GgufValueType.ARRAY; elementType: GgufValueType.STRING; value: string[] }
  | { type: GgufValueType.ARRAY; elementType: GgufValueType.ARRAY; value: GgufArrayValue[] };

/** Size in bytes of a fixed-size value type; undefined for STRING and ARRAY. */
export function ggufScalarSize(type: GgufValueType): number | undefined {
  switch (type) {
    case GgufValueType.UINT8:
    case GgufValueType.INT8:
    case GgufValueType.BOOL:
      return 1;
    case GgufValueType.UINT16:
    case GgufValueType.INT16:
      return 2;
    case GgufValueType.UINT32:
    case GgufValueType.INT32:
    case GgufValueType.FLOAT32:
      return 4;
    case GgufValueType.UINT64:
    case GgufValueType.INT64:
    case GgufValueType.FLOAT64:
      return 8;
    default:
      return undefined;
  }
}

/** Smallest number of bytes one element of this type can occupy in a file (used to bound counts). */
export function ggufMinEncodedSize(type: GgufValueType): number {
  const fixed = ggufScalarSize(type);
  if (fixed !== undefined) return fixed;
  if (type === GgufValueType.STRING) return 8; // u64 length
  return 4 + 8; // ARRAY: i32 element type + u64 count
}

/** The name of a value type (`unknown(n)` for an id the format does not define). */
export function ggufValueTypeName(type: number): string {
  return GgufValueType[type] ?? `unknown(${type})`;
}

/** Description of one tensor as stored in the file's tensor-info section. */
export interface GgufTensorInfo {
  name: string;
  /** Dimensions, ne[0] first (the contiguous, input dimension). */
  dims: number[];
  /** ggml type id. */
  type: number;
  /** Offset relative to the start of the data section. */
  offset: number;
  /** Size in bytes of the tensor data. */
  byteSize: number;
  /** Number of elements. */
  elementCount: number;
}
