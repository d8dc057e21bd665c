/**
 * The largest allowed logit of a row whose argmax alone is read, without masking the whole row when a
 * few checks settle it. A grammar's mask walks its token trie from the current state (~4 ms a token on
 * the LLaMA-3 vocabulary when the state is new), yet a greedy row needs only the one token the masked
 * argmax would pick: when one of the row's largest logits belongs to an allowed token, that token is
 * the answer, and asking the grammar about it costs one walk of its bytes.
 */

/**
 * Sets the logits of the tokens a row may not take to −Infinity, in place (a grammar's mask). With
 * `allows`, the mask's verdict on one token (true exactly when masking leaves that token's logit as it
 * is), the row's largest logits are checked first and the mask runs only when none of them is allowed.
 */
export interface LogitMask {
  /** Sets the banned tokens' logits to −Infinity, in place. */
  (logits: Float32Array): void;
  /** Whether masking would leave token `id`'s logit as it is (the lazy check; optional). */
  allows?(id: number): boolean;
}

/** How many of a row's largest logits are checked one by one before the whole mask runs. */
export const LAZY_MASK_CANDIDATES = 16;

/**
 * The ids of the `k` largest logits of `row` in the order an argmax meets them (larger first, the lower
 * id first on ties); NaN and −Infinity are never among them, so fewer come back when the row has fewer
 * finite or +Infinity values.
 */
export function largestLogits(row: Float32Array, k: number): number[] {
  const ids = new Int32Array(k);
  const vals = new Float32Array(k);
  let n = 0;
  let floor = -Infinity; // the k-th largest so far once there are k (NaN fails every comparison)
  for (let i = 0; i < row.length; i++) {
    const v = row[i];
    if (!(v > floor)) continue;
    // after every kept value ≥ v (an equal value met earlier has the lower id, so it goes first)
    let j = n < k ? n++ : k - 1;
    while (j > 0 && vals[j - 1] < v) {
      vals[j] = vals[j - 1];
      ids[j] = ids[j - 1];
      j--;
    }
    vals[j] = v;
    ids[j] = i;
    if (n === k) floor = vals[k - 1];
  }
  return Array.from(ids.subarray(0, n));
}

/**
 * Leaves `row` so that its argmax (ties to the lower id, NaN never larger) is the argmax of the row
 * masked by `mask`. With `mask.allows`: when the row's argmax, or one of its LAZY_MASK_CANDIDATES
 * largest logits in argmax order, is allowed, the first such token is kept and every other logit set
 * to −Infinity, without calling the mask (every allowed token with a larger logit, or an equal logit and
 * a lower id, would have come first). Otherwise, or without `allows`, or when row[0] is NaN (an argmax
 * returns 0 for it whatever follows), the mask is applied. Returns whether it was.
 * @param argmax the argmax of the row as given (a kernel's, same semantics)
 */
export function settleMaskedArgmax(row: Float32Array, mask: LogitMask, argmax: (row: Float32Array) => number): boolean {
  const allows = mask.allows;
  if (allows !== undefined && row.length > 0 && row[0] === row[0]) {
    const top = argmax(row);
    let keep = row[top] > -Infinity && allows.call(mask, top) ? top : -1;
    if (keep < 0) {
      for (const id of largestLogits(row, LAZY_MASK_CANDIDATES)) {
        if (id !== top && allows.call(mask, id)) {
          keep = id;
          break;
        }
      }
    }
    if (keep >= 0) {
      const v = row[keep];
      row.fill(-Infinity);
      row[keep] = v;
      return false;
    }
  }
  mask(row);
  return true;
}
