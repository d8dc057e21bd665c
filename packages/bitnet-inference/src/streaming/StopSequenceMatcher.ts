/**
 * Incremental stop-sequence matching over streamed text.
 *
 * `push(text)` returns the text that is safe to emit now. Text that might be the beginning of a stop
 * sequence (the longest suffix of what has not been emitted that is a proper prefix of some stop
 * string) is held back until later text either completes a stop string or rules it out. When a stop
 * string completes — possibly across many pushes — `push` reports it together with the text before
 * it; the stop string and everything after it are never emitted, and later pushes return ''.
 *
 * Which stop string wins: the one that completes first in the text (the earliest end); on a tie, the
 * one that starts first (the longer). That choice depends only on the text, never on how it was
 * split into pushes, so `emitted text` is the same for every split:
 *   - no stop string in the text: concat(push results) + flush() == concat(pushed text)
 *   - otherwise: concat(push results) == text before the first-ending stop string.
 *
 * Surrogate pairs: stop strings must be well-formed UTF-16 (no lone surrogates; checked), so a held
 * suffix always starts on a code-point boundary; in addition a pushed chunk that ends in a high
 * surrogate keeps it back until the next push, so an emitted piece never ends in half a pair (the
 * input's own lone surrogates are passed through as they are).
 */
import { ConfigError } from '../errors/InferenceError';

/** Where a stop string was found in the text. */
export interface StopMatch {
  /** Text that is safe to emit now (before the stop string, if one completed). */
  readonly text: string;
  /** The stop string that just completed; undefined while none has. */
  readonly stop?: string;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function isHigh(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

/** Finds stop strings in text that arrives piece by piece, and says how much text may be released safely. */
export class StopSequenceMatcher {
  private readonly stops: readonly string[];
  private readonly maxLen: number;
  private held = '';
  private matchedStop: string | undefined;

  /** @throws ConfigError('stopSequences') for an empty string or one with a lone surrogate. */
  constructor(stopSequences: readonly string[] = []) {
    for (const s of stopSequences) {
      if (typeof s !== 'string' || s.length === 0) throw new ConfigError('stopSequences', 'must not contain empty strings');
      if (LONE_SURROGATE.test(s)) throw new ConfigError('stopSequences', `${JSON.stringify(s)} contains a lone surrogate (not well-formed UTF-16)`);
    }
    this.stops = [...new Set(stopSequences)];
    this.maxLen = this.stops.reduce((m, s) => Math.max(m, s.length), 0);
  }

  /** The stop strings (deduplicated). */
  get stopSequences(): readonly string[] {
    return this.stops;
  }

  /** The stop string that completed, once one has. */
  get matched(): string | undefined {
    return this.matchedStop;
  }

  /** Text received but not yet emitted (a possible start of a stop string). */
  get pending(): string {
    return this.held;
  }

  /** Add text; returns what may be emitted now and, once a stop string completes, which one. */
  push(text: string): StopMatch {
    if (this.matchedStop !== undefined) return { text: '' };
    if (text.length === 0) return { text: '' };
    const buf = this.held + text;

    if (this.stops.length > 0) {
      // A match must end inside the new text: the held text contains no complete stop string.
      let bestStart = -1;
      let bestEnd = Infinity;
      let best: string | undefined;
      for (const stop of this.stops) {
        const at = buf.indexOf(stop, Math.max(0, this.held.length - stop.length + 1));
        if (at < 0) continue;
        const end = at + stop.length;
        if (end < bestEnd || (end === bestEnd && at < bestStart)) {
          bestStart = at;
          bestEnd = end;
          best = stop;
        }
      }
      if (best !== undefined) {
        this.matchedStop = best;
        this.held = '';
        return { text: buf.slice(0, bestStart), stop: best };
      }
    }

    const cut = this.holdStart(buf);
    this.held = buf.slice(cut);
    return { text: buf.slice(0, cut) };
  }

  /** End of the text: returns what was held back (no stop string can complete any more). */
  flush(): string {
    const rest = this.held;
    this.held = '';
    return rest;
  }

  /** Where the held-back suffix of `buf` starts (buf.length when nothing is held). */
  private holdStart(buf: string): number {
    const n = buf.length;
    let cut = n;
    for (let p = Math.max(0, n - this.maxLen + 1); p < n; p++) {
      const c = buf.charCodeAt(p);
      let prefix = false;
      for (const stop of this.stops) {
        if (stop.charCodeAt(0) === c && stop.length > n - p && stop.startsWith(buf.slice(p))) {
          prefix = true;
          break;
        }
      }
      if (prefix) {
        cut = p;
        break;
      }
    }
    // Never end an emitted piece with the first half of a surrogate pair. (A held suffix that is a
    // stop prefix starts on a code-point boundary: stop strings are well-formed, so their first
    // unit is never a low surrogate.)
    if (cut === n && n > 0 && isHigh(buf.charCodeAt(n - 1))) cut = n - 1;
    return cut;
  }
}
