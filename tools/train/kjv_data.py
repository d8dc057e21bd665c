#!/usr/bin/env python3
"""
KJV corpus, train/held-out split and byte-level BPE vocabulary for the bundled model.

    /usr/bin/python3 tools/train/kjv_data.py --out /tmp/kjv-train [--vocab 4096]

Reads the King James Bible from Debian's `bible` program (packages bible-kjv + bible-kjv-text):
`bible -f "Gen1:1-Rev22:21"` prints the 31,102 verses, one per line, each prefixed by its
reference ("Ge1:1 In the beginning ..."). The reference is dropped; each verse becomes one line of
text ending in "\n".

Split (fixed, never changes): the held-out text is the last two books, Jude and Revelation
(429 verses, from "Jude1:1" on); everything before (Genesis .. 3 John, 30,673 verses) is the
training text. The vocabulary, the unigram counts and the model only ever see the training text.

Vocabulary: byte-level BPE ('gpt2' tokenizer model) learned from the training text: the 256 byte
tokens (GPT-2 byte-to-character map), then one token per learned merge, then two control tokens
<|begin_of_text|> (BOS) and <|end_of_text|> (EOS), VOCAB tokens in all. Pre-tokenizer: GPT-2's
regex (`tokenizer.ggml.pre` = "gpt-2"), which @bitnet/models implements. Merges are learned by
the usual greedy rule (most frequent adjacent pair over the pre-token word counts; ties broken by
the pair counted first, so the result is deterministic).

Outputs in --out: train.txt, heldout.txt, tokenizer.json (tokens, token_types, merges, bos/eos,
pre), train.ids.npy / heldout.ids.npy (int32 ids, no BOS), words.txt (the training text's word
list, lower-cased, one a line), unigram.json (training-token counts per id).
"""
import argparse
import collections
import json
import os
import re
import subprocess
import sys

import numpy as np

HELDOUT_FIRST_REF = 'Jude1:1'

# GPT-2's pre-tokenizer regex with ASCII classes. The KJV text is pure ASCII (checked below), where
# \p{L} = [A-Za-z] and \p{N} = [0-9]; tokenizer parity with the TypeScript tokenizer is verified by
# tools/src/train/check-tokenizer.ts on the whole corpus.
GPT2_PAT = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    """GPT-2's byte -> character map (same as packages/bitnet-models/src/tokenizer/ByteLevel.ts)."""
    self_mapped = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    out = {}
    nxt = 0x100
    for b in range(256):
        if b in self_mapped:
            out[b] = chr(b)
        else:
            out[b] = chr(nxt)
            nxt += 1
    return out


BYTE_CHAR = bytes_to_unicode()


def byte_encode(word):
    return ''.join(BYTE_CHAR[b] for b in word.encode('utf-8'))


def read_bible():
    raw = subprocess.run(['bible', '-f', 'Gen1:1-Rev22:21'], check=True, capture_output=True).stdout.decode('utf-8')
    lines = [l for l in raw.split('\n') if l.strip()]
    if len(lines) != 31102:
        sys.exit(f'expected 31102 verses from bible, got {len(lines)}')
    refs, verses = [], []
    for l in lines:
        ref, text = l.split(' ', 1)
        refs.append(ref)
        verses.append(text.strip())
    return refs, verses


def learn_bpe(word_counts, n_merges):
    """Greedy BPE over word counts; incremental pair counts. Returns merges [(a, b)] in rank order."""
    words = [list(w) for w in word_counts]
    freqs = list(word_counts.values())
    pair_counts = collections.Counter()
    where = collections.defaultdict(set)  # pair -> indices of words containing it
    for i, w in enumerate(words):
        for a, b in zip(w, w[1:]):
            pair_counts[(a, b)] += freqs[i]
            where[(a, b)].add(i)
    merges = []
    for _ in range(n_merges):
        if not pair_counts:
            break
        # first most frequent pair in the dict's (insertion) order: deterministic, no hash-order dependence
        pair = max(pair_counts, key=pair_counts.get)
        count = pair_counts[pair]
        if count < 2:
            break
        merges.append(pair)
        a, b = pair
        merged = a + b
        for i in list(where[pair]):
            w = words[i]
            f = freqs[i]
            for x, y in zip(w, w[1:]):
                pair_counts[(x, y)] -= f
                if pair_counts[(x, y)] <= 0:
                    del pair_counts[(x, y)]
            j = 0
            nw = []
            while j < len(w):
                if j + 1 < len(w) and w[j] == a and w[j + 1] == b:
                    nw.append(merged)
                    j += 2
                else:
                    nw.append(w[j])
                    j += 1
            words[i] = nw
            for x, y in zip(nw, nw[1:]):
                pair_counts[(x, y)] += f
                where[(x, y)].add(i)
        del where[pair]
    return merges


class Bpe:
    """Encoder with the same rule as BpeTokenizer.ts: merge the lowest-ranked adjacent pair, leftmost first."""

    def __init__(self, tokens, merges):
        self.ids = {t: i for i, t in enumerate(tokens)}
        self.ranks = {(a, b): r for r, (a, b) in enumerate(merges)}
        self.cache = {}

    def encode_word(self, w):
        syms = list(w)
        while len(syms) > 1:
            best, at = None, -1
            for i in range(len(syms) - 1):
                r = self.ranks.get((syms[i], syms[i + 1]))
                if r is not None and (best is None or r < best):
                    best, at = r, i
            if best is None:
                break
            syms[at:at + 2] = [syms[at] + syms[at + 1]]
        return [self.ids[s] for s in syms]

    def encode(self, text):
        out = []
        for piece in GPT2_PAT.findall(text):
            enc = byte_encode(piece)
            ids = self.cache.get(enc)
            if ids is None:
                ids = self.cache[enc] = self.encode_word(enc)
            out.extend(ids)
        return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', required=True)
    ap.add_argument('--vocab', type=int, default=4096)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    refs, verses = read_bible()
    split = refs.index(HELDOUT_FIRST_REF)
    train_text = ''.join(v + '\n' for v in verses[:split])
    heldout_text = ''.join(v + '\n' for v in verses[split:])
    if not (train_text + heldout_text).isascii():
        sys.exit('the KJV text is expected to be ASCII')
    with open(os.path.join(args.out, 'train.txt'), 'w') as f:
        f.write(train_text)
    with open(os.path.join(args.out, 'heldout.txt'), 'w') as f:
        f.write(heldout_text)
    print(f'train: {split} verses ({refs[0]}..{refs[split - 1]}), {len(train_text)} chars; '
          f'held out: {len(verses) - split} verses ({refs[split]}..{refs[-1]}), {len(heldout_text)} chars')

    word_counts = collections.Counter(byte_encode(p) for p in GPT2_PAT.findall(train_text))
    specials = ['<|begin_of_text|>', '<|end_of_text|>']
    base = [BYTE_CHAR[b] for b in range(256)]
    merges = learn_bpe(word_counts, args.vocab - 256 - len(specials))
    tokens = list(base)
    seen = set(tokens)
    for a, b in merges:
        if a + b not in seen:
            seen.add(a + b)
            tokens.append(a + b)
    # pad with unused tokens if duplicates left the vocabulary short, so its size is exactly --vocab
    while len(tokens) < args.vocab - len(specials):
        tokens.append(f'<|unused_{len(tokens)}|>')
    types = [1] * len(tokens)
    for i, t in enumerate(tokens):
        if t.startswith('<|unused_'):
            types[i] = 5
    bos = len(tokens)
    tokens += specials
    types += [3, 3]
    tok = {
        'model': 'gpt2', 'pre': 'gpt-2', 'tokens': tokens, 'token_types': types,
        'merges': [f'{a} {b}' for a, b in merges], 'bos_token_id': bos, 'eos_token_id': bos + 1, 'add_bos_token': True,
    }
    with open(os.path.join(args.out, 'tokenizer.json'), 'w') as f:
        json.dump(tok, f, ensure_ascii=False)

    bpe = Bpe(tokens, merges)
    train_ids = np.array(bpe.encode(train_text), dtype=np.int32)
    held_ids = np.array(bpe.encode(heldout_text), dtype=np.int32)
    np.save(os.path.join(args.out, 'train.ids.npy'), train_ids)
    np.save(os.path.join(args.out, 'heldout.ids.npy'), held_ids)
    counts = np.bincount(train_ids, minlength=len(tokens))
    with open(os.path.join(args.out, 'unigram.json'), 'w') as f:
        json.dump({'description': 'count of each token id in the training text (Genesis..3 John, no BOS)',
                   'total': int(counts.sum()), 'counts': counts.tolist()}, f)
    words = sorted(set(w.lower() for w in re.findall(r"[A-Za-z]+", train_text)))
    with open(os.path.join(args.out, 'words.txt'), 'w') as f:
        f.write(''.join(w + '\n' for w in words))
    print(f'vocab {len(tokens)} ({len(merges)} merges); train {len(train_ids)} tokens, held out {len(held_ids)} tokens; '
          f'{len(words)} distinct training words')


if __name__ == '__main__':
    main()
