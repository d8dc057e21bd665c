/**
 * Incremental detokenization: feed ids one at a time, get text back as soon as it is complete.
 *
 * A token can end in the middle of a UTF-8 sequence (byte-level BPE splits rare characters and
 * emoji across tokens), so bytes of an unfinished sequence are held back until the next token
 * completes them. Bytes that can never become valid UTF-8 come out as U+FFFD right away, exactly as
 * a one-shot decode would produce them; a sequence still unfinished at flush() becomes U+FFFD there.
 * The concatenation of everything push() and flush() return equals Tokenizer.decode(ids) with the
 * same skipSpecial setting, and no chunk ever holds half a code point (or half a surrogate pair).
 */
import type { Vocabulary } from './Vocabulary';

export interface StreamDecoderOptions {
  /** Render control/unknown tokens (e.g. <|eot_id|>) as nothing. Default false: render their text. */
  readonly skipSpecial?: boolean;
}

export class StreamDecoder {
  private decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  private first = true;
  private readonly special: boolean;

  constructor(
    private readonly vocab: Vocabulary,
    options: StreamDecoderOptions = {},
  ) {
    this.special = !(options.skipSpecial ?? false);
  }

  /** Add one token; returns the text that is now complete (possibly ''). */
  push(id: number): string {
    const piece = pieceWithLeadingSpaceRule(this.vocab, id, this.first, this.special);
    this.first = false;
    return this.decoder.decode(piece, { stream: true });
  }

  /** End of the sequence: returns whatever was held back (as U+FFFD) and starts a new sequence. */
  flush(): string {
    const rest = this.decoder.decode();
    this.decoder = new TextDecoder('utf-8', { ignoreBOM: true });
    this.first = true;
    return rest;
  }
}

/**
 * The bytes token `id` contributes to a detokenized sequence. Like llama_detokenize, a vocabulary
 * that prefixes text with a space (SentencePiece's add_space_prefix) gets one leading space removed
 * from the first token of the sequence.
 */
export function pieceWithLeadingSpaceRule(vocab: Vocabulary, id: number, first: boolean, special: boolean): Uint8Array {
  const piece = vocab.pieceBytes(id, special);
  if (first && vocab.addSpacePrefix && piece.length > 0 && piece[0] === 0x20) return piece.subarray(1);
  return piece;
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
