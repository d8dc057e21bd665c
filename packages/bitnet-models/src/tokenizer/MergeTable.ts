/**
 * BPE merge rules in an open-addressing hash table over one Int32Array: the pair (left id, right
 * id) maps to the rule's rank and the id of the merged symbol, so merging never builds or hashes a
 * string.
 *
 * Rules are parsed like llama.cpp: split at the first space after the first character; the first
 * occurrence of a pair keeps its rank. Symbols are ids of token texts; a rule whose parts or result
 * are not tokens (only in inconsistent vocabularies) gets extra ids from `vocab.size` on, so it still
 * applies exactly where llama.cpp's text-keyed rules would. Rules that can never apply to a
 * byte-encoded word (a part containing a space, or empty) are left out.
 */
import { UnitsReader, type StringList } from './StringTable';
import type { Vocabulary } from './Vocabulary';

/** GPT-2 characters (what byte-encoded words consist of) all have codes below this. */
export const BYTE_CHAR_LIMIT = 0x144;

const STRIDE = 4; // left, right, rank, result
const EMPTY = -1;

function pairHash(left: number, right: number): number {
  let h = Math.imul(left, 0x9e3779b1) ^ right;
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  return h ^ (h >>> 13);
}

/** The merge rules of a BPE vocabulary, keyed by (left symbol id, right symbol id). */
export class MergeTable {
  private readonly table: Int32Array;
  private readonly mask: number;
  /** The symbol id of each GPT-2 character, -1 when neither a token nor any rule has that text. */
  readonly charIds = new Int32Array(BYTE_CHAR_LIMIT).fill(-1);

  /** `merges` is read once, one rule at a time (a packed list never has all rules as JS strings). */
  constructor(vocab: Vocabulary, merges: StringList) {
    let capacity = 16;
    while (capacity < merges.length * 1.5) capacity *= 2;
    this.table = new Int32Array(capacity * STRIDE).fill(EMPTY);
    this.mask = capacity - 1;
    // texts that are not tokens but take part in rules (normally none); dropped after construction
    const extra = new Map<string, number>();
    const intern = (u: Uint16Array, start: number, end: number, skip = -1): number => {
      let s = '';
      for (let k = start; k < end; k++) if (k !== skip) s += String.fromCharCode(u[k]);
      const id = vocab.tokenId(s) ?? extra.get(s);
      if (id !== undefined) return id;
      extra.set(s, vocab.size + extra.size);
      return vocab.size + extra.size - 1;
    };
    // each rule as UTF-16 units in one reused buffer: no JS string per rule, no string per part
    const reader = new UnitsReader();
    const t = this.table;
    rules: for (let rank = 0; rank < merges.length; rank++) {
      const len = reader.read(merges, rank);
      const u = reader.units;
      if (len === 0 || u[0] === 0x20) continue;
      let at = -1;
      for (let k = 1; k < len; k++)
        if (u[k] === 0x20) {
          if (at >= 0) continue rules; // a second space
          at = k;
        }
      if (at < 0 || at === len - 1) continue;
      const left = vocab.tokenIdOfUnits(u, 0, at);
      const right = vocab.tokenIdOfUnits(u, at + 1, len);
      const l = left >= 0 ? left : intern(u, 0, at);
      const r = right >= 0 ? right : intern(u, at + 1, len);
      // the pair's rule already (an earlier rank keeps it), or the free slot for this one
      const slot = this.probe(l, r);
      if (t[slot * STRIDE] !== EMPTY) continue;
      const merged = vocab.tokenIdOfUnitsWithout(u, len, at);
      const o = slot * STRIDE;
      t[o] = l;
      t[o + 1] = r;
      t[o + 2] = rank;
      t[o + 3] = merged >= 0 ? merged : intern(u, 0, len, at);
    }
    for (let code = 0; code < BYTE_CHAR_LIMIT; code++) {
      const ch = String.fromCharCode(code);
      this.charIds[code] = vocab.tokenId(ch) ?? extra.get(ch) ?? -1;
    }
  }

  /** The slot holding the rule merging `left` and `right`, or the empty slot where its probe ends. */
  private probe(left: number, right: number): number {
    const t = this.table;
    for (let slot = pairHash(left, right) & this.mask; ; slot = (slot + 1) & this.mask) {
      const l = t[slot * STRIDE];
      if (l === EMPTY || (l === left && t[slot * STRIDE + 1] === right)) return slot;
    }
  }

  /** The slot of the rule merging `left` and `right` (symbol ids), or -1 when there is none. */
  find(left: number, right: number): number {
    const slot = this.probe(left, right);
    return this.table[slot * STRIDE] === EMPTY ? -1 : slot;
  }

  /** The rank (priority; lower merges first) of the rule in `slot`. */
  rank(slot: number): number {
    return this.table[slot * STRIDE + 2];
  }

  /** The symbol id the rule in `slot` produces. */
  result(slot: number): number {
    return this.table[slot * STRIDE + 3];
  }
}
