import { ConfigError } from './InferenceError';

/** Levenshtein distance (insert, delete, substitute: 1 each). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}

/** Case, '_' and '-' do not count: `max_tokens` is near `maxTokens`. */
const fold = (s: string) => s.toLowerCase().replace(/[_-]/g, '');

/** The valid name nearest to `key`, or undefined when none is plausibly meant. */
export function closestName(key: string, valid: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of valid) {
    const d = editDistance(fold(key), fold(name));
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  // a guess that changes more than half the name helps nobody
  return best !== undefined && bestDistance <= Math.max(2, Math.ceil(fold(key).length / 2)) ? best : undefined;
}

/**
 * Throws a ConfigError for the first own key of `options` that `valid` does not list, naming the
 * closest valid key. `what` names the options object in the message ('GenerationConfig', ...).
 * `elsewhere` maps keys that belong to another options object to its name (a hint, not a fix).
 */
export function checkKnownKeys(options: object | undefined, valid: readonly string[], what: string, elsewhere: Readonly<Record<string, string>> = {}): void {
  if (options === undefined || options === null) return;
  if (typeof options !== 'object' || Array.isArray(options)) throw new ConfigError(what, 'must be an object');
  for (const key of Object.keys(options)) {
    if (valid.includes(key)) continue;
    const other = elsewhere[key];
    if (other) throw new ConfigError(key, `is not an option of ${what} (it belongs to ${other})`);
    const near = closestName(key, valid);
    throw new ConfigError(key, `is not an option of ${what}${near ? `; did you mean '${near}'?` : ` (valid: ${valid.join(', ')})`}`, near);
  }
}
