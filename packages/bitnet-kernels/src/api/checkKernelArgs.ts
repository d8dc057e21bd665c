/**
 * Checks one call's arguments against its entry of the shape table (argumentShapes.ts), in a fixed
 * order: objects, matrix types, integers, relations between them, finite numbers, typed arrays and
 * their lengths, per-element conditions, the entry's own checks, then memory overlaps. The first
 * violation throws a KernelArgumentError naming the kernel and the argument.
 *
 * Every kernel call of a forward pass comes through here, so each table entry is turned once, at
 * load, into a straight-line checking function with its argument names written in (a generic loop
 * over the entry was twice as slow as the hand-written checks it replaced: its property reads by
 * computed name never settle). The generated code only reads arguments and calls the helpers below
 * and the entry's own length and rule functions; the entry stays the single declaration.
 */
import { ggmlTypeName } from '@bitnet/models';
import { checkArray, checkFinite, checkNoOverlap, checkSize, fail } from './argumentChecks';
import { KERNEL_ARGS, KernelArgShape, KernelName, Sizes } from './argumentShapes';

type Checker = (args: Record<string, unknown>) => Sizes;

function failType(kernel: string, name: string, t: unknown, types: readonly number[]): never {
  fail(kernel, name, `is ${ggmlTypeName(t as number)} (${String(t)}), expected ${types.map(ggmlTypeName).join(' or ')}`);
}

function failLength(kernel: string, name: string, got: number, want: number, atLeast: boolean, problem: ((got: number, want: number, s: Sizes) => string) | undefined, s: Sizes): never {
  fail(kernel, name, problem ? problem(got, want, s) : `has ${got} elements, ${atLeast ? 'at least ' : ''}${want} expected`);
}

const HELPERS = { fail, failType, failLength, checkArray, checkFinite, checkNoOverlap, checkSize };

/** Writes the checking function of one entry (see the file comment for the order). */
function compile(kernel: string, shape: KernelArgShape): Checker {
  const q = (s: string) => JSON.stringify(s);
  const lines: string[] = [];
  const heads = new Map<string, string>();
  const slots = new Map<string, string>();
  /** The local holding the value at `path` ('x' or 'w.rows'). */
  const slot = (path: string): string => {
    const known = slots.get(path);
    if (known) return known;
    const [head, field, deeper] = path.split('.');
    if (deeper !== undefined) throw new Error(`${kernel}: argument path ${path} is deeper than object.field`);
    let h = heads.get(head);
    if (!h) {
      h = `h${heads.size}`;
      heads.set(head, h);
      lines.push(`const ${h} = args[${q(head)}];`);
    }
    if (field === undefined) {
      slots.set(path, h);
      return h;
    }
    const v = `v${slots.size}`;
    lines.push(`const ${v} = typeof ${h} === 'object' && ${h} !== null ? ${h}[${q(field)}] : undefined;`);
    slots.set(path, v);
    return v;
  };
  const consts: unknown[] = [];
  const constant = (value: unknown): string => `C[${consts.push(value) - 1}]`;
  const k = q(kernel);
  const arrays = shape.arrays ?? {};

  const checks: string[] = [];
  for (const [name, what] of Object.entries(shape.objects ?? {})) {
    const v = slot(name);
    checks.push(`if (typeof ${v} !== 'object' || ${v} === null) H.fail(${k}, ${q(name)}, ${q(`must be ${what}, got `)} + String(${v}));`);
  }
  const sizeNames: string[] = [];
  for (const [name, types] of Object.entries(shape.matrices ?? {})) {
    const v = slot(`${name}.type`);
    const t = constant(types);
    checks.push(`if (!${t}.includes(${v})) H.failType(${k}, ${q(`${name}.type`)}, ${v}, ${t});`);
    sizeNames.push(`${name}.type`);
  }
  const sizeChecks: string[] = [];
  const optional = new Set(shape.optional ?? []);
  for (const [name, min] of Object.entries(shape.sizes ?? {})) {
    sizeNames.push(name);
    const arrayName = name.endsWith('.length') ? name.slice(0, -'.length'.length) : '';
    // An optional size stays 0 when its argument is absent.
    const value = arrayName && arrays[arrayName] ? slot(arrayName) : slot(name);
    const when = optional.has(name) ? `if (${value} !== undefined) ` : '';
    if (optional.has(name) && min < 1) throw new Error(`${kernel}: optional size ${name} needs a minimum >= 1`);
    if (arrayName && arrays[arrayName]) {
      sizeChecks.push(`${when}{ H.checkArray(${k}, ${q(arrayName)}, ${value}, ${q(arrays[arrayName].kind)}); s[${q(name)}] = H.checkSize(${k}, ${q(name)}, ${value}.length, ${min}); }`);
    } else {
      sizeChecks.push(`${when}s[${q(name)}] = H.checkSize(${k}, ${q(name)}, ${value}, ${min});`);
    }
  }
  // The sizes object is created with all its names at once, so that it always has one shape.
  checks.push(`const s = { ${sizeNames.map((n) => `${q(n)}: ${n.endsWith('.type') && shape.matrices?.[n.slice(0, -5)] ? slot(n) : 0}`).join(', ')} };`);
  checks.push(...sizeChecks);
  for (const rule of shape.rules ?? []) {
    const r = constant(rule);
    checks.push(`if (!${r}.holds(s)) H.fail(${k}, ${r}.arg, ${r}.problem(s));`);
  }
  for (const [name, n] of Object.entries(shape.numbers ?? {})) {
    const check = `H.checkFinite(${k}, ${q(name)}, ${slot(name)}, ${n.min ?? -Infinity}, ${!n.above});`;
    checks.push(n.optional ? `if (${slot(name)} !== undefined) ${check}` : check);
  }
  for (const [name, a] of Object.entries(arrays)) {
    const v = slot(name);
    const c = constant(a);
    const arrayChecks = [`H.checkArray(${k}, ${q(name)}, ${v}, ${q(a.kind)});`];
    if (a.length) arrayChecks.push(`{ const want = ${c}.length(s); if (want !== undefined && ${v}.length !== want) H.failLength(${k}, ${q(name)}, ${v}.length, want, false, ${c}.problem, s); }`);
    if (a.atLeast) arrayChecks.push(`{ const want = ${c}.atLeast(s); if (${v}.length < want) H.failLength(${k}, ${q(name)}, ${v}.length, want, true, ${c}.problem, s); }`);
    checks.push(a.optional ? `if (${v} !== undefined) { ${arrayChecks.join(' ')} }` : arrayChecks.join('\n'));
  }
  for (const e of shape.elements ?? []) {
    const v = slot(e.array);
    const c = constant(e);
    checks.push(`for (let i = 0; i < ${v}.length; i++) { const p = ${c}.problem(${v}[i], s); if (p !== undefined) H.fail(${k}, ${q(e.array)} + '[' + i + ']', p); }`);
  }
  for (const check of shape.checks ?? []) checks.push(`${constant(check)}(args, s);`);
  for (const [out, input, same] of shape.disjoint ?? []) {
    checks.push(`H.checkNoOverlap(${k}, ${q(out)}, ${slot(out)}, ${q(input)}, ${slot(input)}, ${same ?? false});`);
  }
  checks.push('return s;');
  const body = `'use strict';\nreturn function check_${kernel}(args) {\n${[...lines, ...checks].join('\n')}\n};`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function('H', 'C', body)(HELPERS, consts) as Checker;
}

const CHECKERS = new Map<string, Checker>(Object.entries(KERNEL_ARGS).map(([kernel, shape]) => [kernel, compile(kernel, shape)]));

/** Validates `args` (the call's arguments by name) for `kernel`; returns the integers it read. */
export function checkKernelArgs(kernel: KernelName, args: Record<string, unknown>): Sizes {
  return CHECKERS.get(kernel)!(args);
}
