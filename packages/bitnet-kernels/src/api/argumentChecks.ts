/**
 * The checks CheckedKernels and the allocation helpers make, each throwing a KernelArgumentError
 * that names the kernel and the argument. Typed arrays are recognised by their tag, not instanceof,
 * so arrays from another realm (Node Buffers seen from a jest sandbox) pass.
 */
import { GgmlType, ggmlTensorByteSize, ggmlTypeName, ggmlTypeTraits } from '@bitnet/models';
import type { FloatMatrix, I8Activations, Q8_0Activations, Q8KActivations, TernaryMatrix } from './Kernels';
import { KernelArgumentError } from './KernelArgumentError';

export type TypedArrayName = 'Float32Array' | 'Int8Array' | 'Int16Array' | 'Int32Array' | 'Uint8Array' | 'Uint16Array';

export function fail(kernel: string, argument: string, problem: string): never {
  throw new KernelArgumentError(kernel, argument, problem);
}

/** An integer >= min (1 unless told). */
export function checkSize(kernel: string, name: string, v: unknown, min = 1): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) fail(kernel, name, `must be an integer >= ${min}, got ${String(v)}`);
  return v;
}

export function checkFinite(kernel: string, name: string, v: unknown, min = -Infinity, minInclusive = true): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || (minInclusive ? v < min : v <= min)) {
    fail(kernel, name, `must be a finite number ${minInclusive ? '>=' : '>'} ${min}, got ${String(v)}`);
  }
  return v;
}

function tagOf(v: unknown): string | undefined {
  return ArrayBuffer.isView(v) ? (v as unknown as { [Symbol.toStringTag]: string })[Symbol.toStringTag] : undefined;
}

/** A typed array of the named kind and, when given, exactly `length` elements. */
export function checkArray(kernel: string, name: string, v: unknown, kind: TypedArrayName, length?: number): void {
  const tag = tagOf(v);
  if (tag !== kind) fail(kernel, name, `must be a ${kind}, got ${tag ?? typeof v}`);
  const n = (v as ArrayLike<number>).length;
  if (length !== undefined && n !== length) fail(kernel, name, `has ${n} elements, ${length} expected`);
}

function overlap(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

/** `out` must not share memory with `input`, except (when allowSame) by being exactly the same range. */
export function checkNoOverlap(kernel: string, outName: string, out: ArrayBufferView, inName: string, input: ArrayBufferView, allowSame = false): void {
  if (!overlap(out, input)) return;
  const same = out.byteOffset === input.byteOffset && out.byteLength === input.byteLength;
  if (allowSame && same) return;
  fail(kernel, outName, `overlaps ${inName}${allowSame ? ' (it may only be the very same array)' : ''}`);
}

export { FLOAT_TYPES, TERNARY_TYPES } from './TensorKernels';

/** A matrix object of one of `types`, whole blocks per row, data exactly the tensor's byte size. */
export function checkMatrix(kernel: string, name: string, w: unknown, types: readonly GgmlType[]): void {
  if (typeof w !== 'object' || w === null) fail(kernel, name, `must be a matrix object, got ${String(w)}`);
  const m = w as FloatMatrix | TernaryMatrix;
  if (!types.includes(m.type)) {
    fail(kernel, `${name}.type`, `is ${ggmlTypeName(m.type)} (${String(m.type)}), expected ${types.map(ggmlTypeName).join(' or ')}`);
  }
  checkSize(kernel, `${name}.rows`, m.rows);
  checkSize(kernel, `${name}.cols`, m.cols);
  const block = (ggmlTypeTraits(m.type) as { blockSize: number }).blockSize;
  if (m.cols % block !== 0) fail(kernel, `${name}.cols`, `${m.cols} is not a multiple of the ${ggmlTypeName(m.type)} block size ${block}`);
  checkArray(kernel, `${name}.data`, m.data, 'Uint8Array');
  const bytes = ggmlTensorByteSize(m.type, [m.cols, m.rows]);
  if (m.data.length !== bytes) {
    fail(kernel, `${name}.data`, `has ${m.data.length} bytes; a ${ggmlTypeName(m.type)} matrix of ${m.rows} rows × ${m.cols} cols takes ${bytes}`);
  }
}

/** Per-token int8 activations of `rows` × `cols` (cols checked against the caller's expectation). */
export function checkI8Activations(kernel: string, name: string, a: unknown, rows?: number, cols?: number): I8Activations {
  if (typeof a !== 'object' || a === null) fail(kernel, name, `must be an I8Activations object, got ${String(a)}`);
  const act = a as I8Activations;
  const r = checkSize(kernel, `${name}.rows`, act.rows);
  const c = checkSize(kernel, `${name}.cols`, act.cols);
  if (rows !== undefined && r !== rows) fail(kernel, `${name}.rows`, `is ${r}, ${rows} expected`);
  if (cols !== undefined && c !== cols) fail(kernel, `${name}.cols`, `is ${c}, ${cols} expected`);
  checkArray(kernel, `${name}.qs`, act.qs, 'Int8Array', r * c);
  checkArray(kernel, `${name}.scales`, act.scales, 'Float32Array', r);
  checkArray(kernel, `${name}.sums`, act.sums, 'Int32Array', r);
  return act;
}

/** Q8_K activations of `rows` × `cols` (cols a multiple of 256). */
export function checkQ8KActivations(kernel: string, name: string, a: unknown, rows?: number, cols?: number): Q8KActivations {
  if (typeof a !== 'object' || a === null) fail(kernel, name, `must be a Q8KActivations object, got ${String(a)}`);
  const act = a as Q8KActivations;
  const r = checkSize(kernel, `${name}.rows`, act.rows);
  const c = checkSize(kernel, `${name}.cols`, act.cols);
  if (rows !== undefined && r !== rows) fail(kernel, `${name}.rows`, `is ${r}, ${rows} expected`);
  if (cols !== undefined && c !== cols) fail(kernel, `${name}.cols`, `is ${c}, ${cols} expected`);
  if (c % 256 !== 0) fail(kernel, `${name}.cols`, `${c} is not a multiple of the Q8_K block size 256`);
  checkArray(kernel, `${name}.qs`, act.qs, 'Int8Array', r * c);
  checkArray(kernel, `${name}.d`, act.d, 'Float32Array', (r * c) / 256);
  checkArray(kernel, `${name}.bsums`, act.bsums, 'Int16Array', (r * c) / 16);
  return act;
}

/** Q8_0 activations of `rows` × `cols` (cols a multiple of 32). */
export function checkQ8_0Activations(kernel: string, name: string, a: unknown, rows?: number, cols?: number): Q8_0Activations {
  if (typeof a !== 'object' || a === null) fail(kernel, name, `must be a Q8_0Activations object, got ${String(a)}`);
  const act = a as Q8_0Activations;
  const r = checkSize(kernel, `${name}.rows`, act.rows);
  const c = checkSize(kernel, `${name}.cols`, act.cols);
  if (rows !== undefined && r !== rows) fail(kernel, `${name}.rows`, `is ${r}, ${rows} expected`);
  if (cols !== undefined && c !== cols) fail(kernel, `${name}.cols`, `is ${c}, ${cols} expected`);
  if (c % 32 !== 0) fail(kernel, `${name}.cols`, `${c} is not a multiple of the Q8_0 block size 32`);
  checkArray(kernel, `${name}.qs`, act.qs, 'Int8Array', r * c);
  checkArray(kernel, `${name}.d`, act.d, 'Float32Array', (r * c) / 32);
  return act;
}
