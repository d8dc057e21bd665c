import type { StreamResponse } from '@bitnet/inference';
import type { Tokenizer } from '@bitnet/models';

/** One generated token as the `token` event reports it. */
export interface TokenPiece {
  id: number;
  /** Its text (possibly '': the text of a multi-byte character comes with its last byte's token). */
  text: string;
}

/**
 * Turns the engine's responses ({ text, tokenIds } chunks) into one piece per generated token,
 * each with its own text, such that:
 *   - the pieces' ids are every generated id, in order (none lost, none repeated);
 *   - the pieces' texts concatenate to exactly the responses' texts.
 *
 * A second UTF-8-safe decoder (same settings as the engine's) gives each id its own text. While the
 * engine holds text back (the possible beginning of a stop string), the ids concerned are held here
 * too, and released with their text when the engine releases it — or at the end, when a stop string
 * cut the text: each held id then gets its share of the text before the stop string. While the
 * bytes so far end inside a multi-byte character, the ids wait for the id that completes it (or, at
 * the end, for the U+FFFD of the character the generation never finished: it has an id to carry it).
 */
export class TokenAttribution {
  private readonly decoder: ReturnType<Tokenizer['createStreamDecoder']>;
  private readonly utf8 = new Utf8Tail();
  private heldIds: number[] = [];
  private heldPieces: string[] = [];
  private heldText = '';
  /** Characters decoded by our decoder for held ids minus characters the engine released for them. */
  private decodedLen = 0;
  private releasedLen = 0;

  constructor(
    private readonly tokenizer: Pick<Tokenizer, 'createStreamDecoder' | 'tokenBytes' | 'isSpecial'>,
    private readonly skipSpecial: boolean,
  ) {
    this.decoder = tokenizer.createStreamDecoder({ skipSpecial });
  }

  /** The pieces that can be reported after this response (in order). */
  push(r: StreamResponse): TokenPiece[] {
    for (const id of r.tokenIds) {
      const piece = this.decoder.push(id);
      this.heldIds.push(id);
      this.heldPieces.push(piece);
      this.decodedLen += piece.length;
      if (!(this.skipSpecial && this.tokenizer.isSpecial(id))) this.utf8.push(this.tokenizer.tokenBytes(id));
    }
    this.heldText += r.text;
    this.releasedLen += r.text.length;
    const final = r.finishReason !== undefined;
    if (final) {
      const tail = this.decoder.flush();
      if (tail && this.heldPieces.length > 0) {
        this.heldPieces[this.heldPieces.length - 1] += tail;
        this.decodedLen += tail.length;
      }
    }
    // report the held ids once the engine has released everything decoded so far and no character
    // is unfinished
    if (final || (this.releasedLen >= this.decodedLen && !this.utf8.pending)) return this.release();
    return [];
  }

  /** Text the engine released that no id was left to carry (should not happen; kept for honesty). */
  get orphanText(): string {
    return this.heldIds.length === 0 ? this.heldText : '';
  }

  private release(): TokenPiece[] {
    const ids = this.heldIds;
    const pieces = this.heldPieces;
    let text = this.heldText;
    const out: TokenPiece[] = [];
    if (ids.length === 0) return out; // text with no id: left in orphanText
    const joined = pieces.join('');
    if (joined.startsWith(text)) {
      // the engine's text is a prefix of our decoding (equal, or cut before a stop string)
      for (let i = 0; i < ids.length; i++) {
        const take = Math.min(pieces[i].length, text.length);
        out.push({ id: ids[i], text: text.slice(0, take) });
        text = text.slice(take);
      }
    } else {
      // unexpected: give all the text to the last id so that nothing is lost
      for (let i = 0; i < ids.length; i++) out.push({ id: ids[i], text: i === ids.length - 1 ? text : '' });
    }
    this.heldIds = [];
    this.heldPieces = [];
    this.heldText = '';
    this.decodedLen = 0;
    this.releasedLen = 0;
    return out;
  }
}

/**
 * Whether a byte stream ends inside a UTF-8 character, following the WHATWG decoder (the one
 * TextDecoder implements): a lead byte and the valid continuation bytes after it are pending.
 */
export class Utf8Tail {
  private need = 0;
  private lower = 0x80;
  private upper = 0xbf;

  get pending(): boolean {
    return this.need > 0;
  }

  push(bytes: Uint8Array): void {
    for (const b of bytes) this.byte(b);
  }

  private byte(b: number): void {
    if (this.need > 0) {
      if (b >= this.lower && b <= this.upper) {
        this.need--;
        this.lower = 0x80;
        this.upper = 0xbf;
        return;
      }
      // invalid continuation: the pending sequence becomes U+FFFD and this byte starts anew
      this.need = 0;
      this.lower = 0x80;
      this.upper = 0xbf;
    }
    if (b >= 0xc2 && b <= 0xdf) this.need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      this.need = 2;
      if (b === 0xe0) this.lower = 0xa0;
      if (b === 0xed) this.upper = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      this.need = 3;
      if (b === 0xf0) this.lower = 0x90;
      if (b === 0xf4) this.upper = 0x8f;
    }
  }
}
