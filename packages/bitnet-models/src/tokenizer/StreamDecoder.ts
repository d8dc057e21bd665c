/**
 * Incremental detokenization: feed ids one at a time, get text back as soon as it is complete.
 *
 * A token can end in the middle of a UTF-8 sequence (byte-level BPE splits rare characters and
 * emoji across tokens), so bytes of an unfinished sequence are held back until the next token
 * completes them. Bytes that can never become valid UTF-8 come out as U+FFFD right away, exactly as
 * a one-shot decode would produce them; a sequence still unfinished at flush() becomes U+FFFD there.
 * The concatenation of everything push() and flush() return equals Tokenizer.decode(ids) with the
 * same skipSpecial setting, and no chunk ever holds half a code point (or half a surrogate pair).
 * `pending` tells whether bytes of an unfinished character are held (then flush() returns U+FFFD).
 */
import type { Vocabulary } from './Vocabulary';

/** Settings of a `StreamDecoder`. */
export interface StreamDecoderOptions {
  /** Render control/unknown tokens (e.g. <|eot_id|>) as nothing. Default false: render their text. */
  readonly skipSpecial?: boolean;
}

/** Decodes ids one at a time to text, holding back bytes that end inside a UTF-8 character until the character is complete. */
export class StreamDecoder {
  private decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  private first = true;
  private readonly special: boolean;
  /** Where the bytes pushed so far stand in UTF-8 (mirrors what the TextDecoder holds). */
  private readonly utf8 = new Utf8Position();

  constructor(
    private readonly vocab: Vocabulary,
    options: StreamDecoderOptions = {},
  ) {
    this.special = !(options.skipSpecial ?? false);
  }

  /** Add one token; returns the text that is now complete (possibly ''). */
  push(id: number): string {
    if (!this.utf8.inside) {
      // nothing held back and an all-ASCII piece: the text is the bytes themselves
      const text = this.vocab.asciiPiece(id, this.special, this.first && this.vocab.addSpacePrefix);
      if (text !== undefined) {
        this.first = false;
        return text;
      }
    }
    const piece = pieceWithLeadingSpaceRule(this.vocab, id, this.first, this.special);
    this.first = false;
    this.utf8.push(piece);
    return this.decoder.decode(piece, { stream: true });
  }

  /** Whether the bytes so far end inside a character (held back; U+FFFD if the sequence ends here). */
  get pending(): boolean {
    return this.utf8.inside;
  }

  /** End of the sequence: returns whatever was held back (as U+FFFD) and starts a new sequence. */
  flush(): string {
    const rest = this.decoder.decode();
    this.decoder = new TextDecoder('utf-8', { ignoreBOM: true });
    this.first = true;
    this.utf8.reset();
    return rest;
  }
}

/**
 * Follows a byte stream through the WHATWG UTF-8 decoding rules (those of TextDecoder) far enough
 * to know whether it currently ends inside a well-formed-so-far multi-byte sequence. A byte that
 * cannot continue the current sequence ends it (U+FFFD) and is then looked at afresh.
 */
class Utf8Position {
  private missing = 0;
  private low = 0x80;
  private high = 0xbf;

  get inside(): boolean {
    return this.missing > 0;
  }

  reset(): void {
    this.missing = 0;
    this.low = 0x80;
    this.high = 0xbf;
  }

  push(bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (this.missing > 0) {
        const fits = b >= this.low && b <= this.high;
        this.low = 0x80;
        this.high = 0xbf;
        if (fits) {
          this.missing--;
          continue;
        }
        this.missing = 0;
      }
      if (b >= 0xc2 && b <= 0xdf) this.missing = 1;
      else if (b >= 0xe0 && b <= 0xef) {
        this.missing = 2;
        if (b === 0xe0) this.low = 0xa0;
        else if (b === 0xed) this.high = 0x9f;
      } else if (b >= 0xf0 && b <= 0xf4) {
        this.missing = 3;
        if (b === 0xf0) this.low = 0x90;
        else if (b === 0xf4) this.high = 0x8f;
      }
    }
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
