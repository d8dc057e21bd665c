/**
 * The elementary checks behind the shape table (checkKernelArgs.ts) and the allocation helpers, each
 * throwing a KernelArgumentError that names the kernel and the argument. Typed arrays are recognised
 * by their tag, not instanceof, so arrays from another realm (Node Buffers seen from a jest sandbox) pass.
 */
import { KernelArgumentError } from './KernelArgumentError';
import { describeValue } from '@bitnet/models';

export type TypedArrayName = 'Float32Array' | 'Float64Array' | 'Int8Array' | 'Int16Array' | 'Int32Array' | 'Uint8Array' | 'Uint16Array';

export function fail(kernel: string, argument: string, problem: string): never {
  throw new KernelArgumentError(kernel, argument, problem);
}

/** An integer >= min (1 unless told). */
export function checkSize(kernel: string, name: string, v: unknown, min = 1): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) fail(kernel, name, `must be an integer >= ${min}, got ${describeValue(v)}`);
  return v;
}

export function checkFinite(kernel: string, name: string, v: unknown, min = -Infinity, minInclusive = true): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || (minInclusive ? v < min : v <= min)) {
    fail(kernel, name, `must be a finite number ${minInclusive ? '>=' : '>'} ${min}, got ${describeValue(v)}`);
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
