/**
 * Checks one call's arguments against its entry of the shape table (argumentShapes.ts), in a fixed
 * order: objects, matrix types, integers, relations between them, finite numbers, typed arrays and
 * their lengths, per-element conditions, then memory overlaps. The first violation throws a
 * KernelArgumentError naming the kernel and the argument.
 */
import { ggmlTypeName } from '@bitnet/models';
import { checkArray, checkFinite, checkNoOverlap, checkSize, fail } from './argumentChecks';
import { KERNEL_ARGS, KernelArgShape, KernelName, Sizes } from './argumentShapes';

type Path = readonly string[];

/** An entry of the table with its paths split once, at load. */
interface Compiled {
  objects: [string, Path, string][];
  matrices: [string, Path, readonly number[]][];
  sizes: [string, Path, number, string | undefined][];
  rules: NonNullable<KernelArgShape['rules']>;
  numbers: [string, Path, number, boolean][];
  arrays: [string, Path, NonNullable<KernelArgShape['arrays']>[string]][];
  elements: [string, Path, NonNullable<KernelArgShape['elements']>[number]][];
  disjoint: [string, Path, string, Path, boolean][];
}

const split = (name: string): Path => name.split('.');

function compile(shape: KernelArgShape): Compiled {
  const arrays = shape.arrays ?? {};
  return {
    objects: Object.entries(shape.objects ?? {}).map(([n, what]) => [n, split(n), what]),
    matrices: Object.entries(shape.matrices ?? {}).map(([n, types]) => [n, split(`${n}.type`), types]),
    sizes: Object.entries(shape.sizes ?? {}).map(([n, min]) => {
      // '<array>.length': the array's element type is checked before its length is read
      const array = n.endsWith('.length') && arrays[n.slice(0, -'.length'.length)] ? n.slice(0, -'.length'.length) : undefined;
      return [n, split(n), min, array];
    }),
    rules: shape.rules ?? [],
    numbers: Object.entries(shape.numbers ?? {}).map(([n, r]) => [n, split(n), r.min ?? -Infinity, !r.above]),
    arrays: Object.entries(arrays).map(([n, a]) => [n, split(n), a]),
    elements: (shape.elements ?? []).map((e) => [e.array, split(e.array), e]),
    disjoint: (shape.disjoint ?? []).map(([o, i, same]) => [o, split(o), i, split(i), same ?? false]),
  };
}

const COMPILED = new Map<string, Compiled>(Object.entries(KERNEL_ARGS).map(([k, shape]) => [k, compile(shape)]));

function get(args: Record<string, unknown>, path: Path): unknown {
  let v: unknown = args;
  for (const p of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

/** Validates `args` (the call's arguments by name) for `kernel`; returns the integers it read. */
export function checkKernelArgs(kernel: KernelName, args: Record<string, unknown>): Sizes {
  const c = COMPILED.get(kernel)!;
  const sizes: Record<string, number> = {};
  for (const [name, path, what] of c.objects) {
    const v = get(args, path);
    if (typeof v !== 'object' || v === null) fail(kernel, name, `must be ${what}, got ${String(v)}`);
  }
  for (const [name, path, types] of c.matrices) {
    const t = get(args, path) as number;
    if (!types.includes(t)) fail(kernel, `${name}.type`, `is ${ggmlTypeName(t)} (${String(t)}), expected ${types.map(ggmlTypeName).join(' or ')}`);
    sizes[`${name}.type`] = t;
  }
  for (const [name, path, min, array] of c.sizes) {
    if (array !== undefined) {
      const v = args[array];
      checkArray(kernel, array, v, KERNEL_ARGS[kernel].arrays![array].kind);
      sizes[name] = checkSize(kernel, name, (v as ArrayLike<number>).length, min);
    } else {
      sizes[name] = checkSize(kernel, name, get(args, path), min);
    }
  }
  for (const r of c.rules) if (!r.holds(sizes)) fail(kernel, r.arg, r.problem(sizes));
  for (const [name, path, min, inclusive] of c.numbers) checkFinite(kernel, name, get(args, path), min, inclusive);
  for (const [name, path, a] of c.arrays) {
    const v = get(args, path);
    checkArray(kernel, name, v, a.kind);
    const got = (v as ArrayLike<number>).length;
    if (a.length) {
      const want = a.length(sizes);
      if (got !== want) fail(kernel, name, a.problem ? a.problem(got, want, sizes) : `has ${got} elements, ${want} expected`);
    }
    if (a.atLeast) {
      const want = a.atLeast(sizes);
      if (got < want) fail(kernel, name, a.problem ? a.problem(got, want, sizes) : `has ${got} elements, at least ${want} expected`);
    }
  }
  for (const [name, path, e] of c.elements) {
    const v = get(args, path) as ArrayLike<number>;
    for (let i = 0; i < v.length; i++) {
      const problem = e.problem(v[i], sizes);
      if (problem !== undefined) fail(kernel, `${name}[${i}]`, problem);
    }
  }
  for (const [outName, outPath, inName, inPath, same] of c.disjoint) {
    checkNoOverlap(kernel, outName, get(args, outPath) as ArrayBufferView, inName, get(args, inPath) as ArrayBufferView, same);
  }
  return sizes;
}
