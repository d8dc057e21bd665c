/**
 * Splitting text around special tokens before normal tokenization (llama.cpp's
 * tokenizer_st_partition).
 *
 * Each special token, longest first, is searched in every remaining piece of plain text; each
 * occurrence becomes that token and the text around it stays plain. Control and unknown tokens are
 * only matched when special parsing is on. User-defined tokens are always matched, as in llama.cpp
 * (and Hugging Face tokenizers, which treat added non-special tokens the same way).
 */
import { Attr, type Vocabulary } from './Vocabulary';

/** A piece of plain text, or the id of a special token found in the text. */
export type Fragment = string | number;

export function partitionSpecialTokens(text: string, vocab: Vocabulary, parseSpecial: boolean): Fragment[] {
  let fragments: Fragment[] = text.length > 0 ? [text] : [];
  const order = vocab.specialOrder;
  for (let k = 0; k < order.length; k++) {
    const id = order[k];
    if (!parseSpecial && vocab.attrs[id] & (Attr.CONTROL | Attr.UNKNOWN)) continue;
    const needle = vocab.specialTexts[k];
    let next: Fragment[] | undefined;
    for (let i = 0; i < fragments.length; i++) {
      const fragment = fragments[i];
      const at = typeof fragment === 'string' ? fragment.indexOf(needle) : -1;
      if (at < 0) {
        next?.push(fragment);
        continue;
      }
      next ??= fragments.slice(0, i);
      const s = fragment as string;
      let from = 0;
      for (let hit = at; hit >= 0; hit = s.indexOf(needle, from)) {
        if (hit > from) next.push(s.slice(from, hit));
        next.push(id);
        from = hit + needle.length;
      }
      if (from < s.length) next.push(s.slice(from));
    }
    if (next) fragments = next;
  }
  return fragments;
}
