/**
 * ggml tensor type ids as stored in GGUF tensor infos, and the block geometry of each type.
 * Ids 36..39 follow Microsoft's bitnet.cpp fork (I2_S, I8_S, TL1, TL2).
 */
export enum GgmlType {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  I2_S = 36,
  I8_S = 37,
  TL1 = 38,
  TL2 = 39,
}

/** Geometry of a type this project can read: `blockSize` elements take `typeSize` bytes. */
export interface GgmlTypeTraits {
  readonly type: GgmlType;
  readonly name: string;
  readonly blockSize: number;
  readonly typeSize: number;
}

const SUPPORTED: readonly GgmlTypeTraits[] = [
  { type: GgmlType.F32, name: 'F32', blockSize: 1, typeSize: 4 },
  { type: GgmlType.F16, name: 'F16', blockSize: 1, typeSize: 2 },
  { type: GgmlType.BF16, name: 'BF16', blockSize: 1, typeSize: 2 },
  { type: GgmlType.Q8_0, name: 'Q8_0', blockSize: 32, typeSize: 34 },
  { type: GgmlType.Q4_K, name: 'Q4_K', blockSize: 256, typeSize: 144 },
  { type: GgmlType.Q6_K, name: 'Q6_K', blockSize: 256, typeSize: 210 },
  { type: GgmlType.TQ1_0, name: 'TQ1_0', blockSize: 256, typeSize: 54 },
  { type: GgmlType.TQ2_0, name: 'TQ2_0', blockSize: 256, typeSize: 66 },
  // I2_S packs 4 values a byte over the whole tensor, then one f32 scale and 28 padding bytes.
  // Rows must be a multiple of its 128-value block.
  { type: GgmlType.I2_S, name: 'I2_S', blockSize: 128, typeSize: 32 },
];

const TRAITS = new Map<number, GgmlTypeTraits>(SUPPORTED.map((t) => [t.type, t]));

/** Bytes that follow the packed values of an I2_S tensor: f32 scale + 28 bytes of padding. */
export const I2S_TRAILER_BYTES = 32;

/** The name of a ggml type id (e.g. "TQ2_0"). */
export function ggmlTypeName(type: number): string {
  return GgmlType[type] ?? `unknown type ${type}`;
}

/** Whether this project reads and writes tensors of this type. */
export function isSupportedGgmlType(type: number): boolean {
  return TRAITS.has(type);
}

/** Traits of a supported type, or undefined. */
export function ggmlTypeTraits(type: number): GgmlTypeTraits | undefined {
  return TRAITS.get(type);
}

/** The traits of every type this project reads and writes. */
export function supportedGgmlTypes(): readonly GgmlTypeTraits[] {
  return SUPPORTED;
}

/**
 * Bytes of one row of `rowLength` elements, or undefined when the length is not a whole number of
 * blocks. (For I2_S a row is only meaningful inside the whole-tensor layout.)
 */
export function ggmlRowSize(type: number, rowLength: number): number | undefined {
  const t = TRAITS.get(type);
  if (!t || rowLength % t.blockSize !== 0) return undefined;
  return (rowLength / t.blockSize) * t.typeSize;
}

/**
 * Total bytes of a tensor with these dimensions, or undefined when the type is unknown or ne[0] is
 * not a whole number of blocks. Uses float math bounded by the caller (counts come from files).
 */
export function ggmlTensorByteSize(type: number, dims: readonly number[]): number | undefined {
  const t = TRAITS.get(type);
  if (!t || dims.length === 0) return undefined;
  const ne0 = dims[0];
  if (ne0 % t.blockSize !== 0) return undefined;
  let rows = 1;
  for (let i = 1; i < dims.length; i++) rows *= dims[i];
  const packed = (ne0 / t.blockSize) * t.typeSize * rows;
  return type === GgmlType.I2_S ? packed + I2S_TRAILER_BYTES : packed;
}
