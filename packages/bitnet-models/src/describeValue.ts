/** About the longest description describeValue gives (a few characters more for a clipped name). */
export const MAX_DESCRIBED_CHARS = 80;

/**
 * A short rendering of a value for an error message ("…, got <this>"). Error messages quote what the
 * caller passed, and that can be anything: a 2560-element Float32Array in place of a row count, a
 * megabyte string, an object graph with cycles. Small plain values come out as JSON (strings quoted,
 * so `"3"` and `3` differ); typed arrays, long arrays and objects whose JSON would be long as a type
 * and a size; what JSON cannot render (cycles, bigints, functions, symbols) by kind. Never throws,
 * and never longer than about MAX_DESCRIBED_CHARS characters.
 */
export function describeValue(v: unknown): string {
  switch (typeof v) {
    case 'number':
    case 'boolean':
    case 'undefined':
      return String(v); // NaN, Infinity, -0 as their names ('-0' is '0': no caller needs the sign)
    case 'bigint':
      return clip(`${v}n`);
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
    case 'string':
      return v.length <= MAX_DESCRIBED_CHARS - 2 ? JSON.stringify(v) : `a string of ${v.length} characters, ${JSON.stringify(v.slice(0, 24))}…`;
  }
  if (v === null) return 'null';
  if (ArrayBuffer.isView(v)) {
    const tag = (v as unknown as { [Symbol.toStringTag]?: string })[Symbol.toStringTag] ?? 'DataView';
    return `a ${tag} of ${(v as { length?: number }).length ?? v.byteLength}${tag === 'DataView' ? ' bytes' : ' elements'}`;
  }
  if (v instanceof ArrayBuffer) return `an ArrayBuffer of ${v.byteLength} bytes`;
  let json: string | undefined;
  try {
    json = JSON.stringify(v);
  } catch {
    json = undefined; // a cycle, a bigint inside, a throwing toJSON
  }
  if (json !== undefined && json.length <= MAX_DESCRIBED_CHARS) return json;
  if (Array.isArray(v)) return `an array of ${v.length} items`;
  const name = (v as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' && name !== 'Object' ? `a ${clip(name)}` : 'an object';
}

function clip(s: string): string {
  return s.length <= MAX_DESCRIBED_CHARS ? s : `${s.slice(0, MAX_DESCRIBED_CHARS - 1)}…`;
}
