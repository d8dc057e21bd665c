/**
 * GPT-2's reversible byte <-> character mapping used by byte-level BPE vocabularies.
 *
 * Printable Latin-1 bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves; the remaining 68 bytes
 * (controls, space, 0x7F-0xA0, soft hyphen) are given the characters U+0100, U+0101, ... in byte
 * order. So a space becomes 'Ġ' (U+0120) and a newline 'Ċ' (U+010A).
 */

function isSelfMapped(byte: number): boolean {
  return (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
}

const BYTE_TO_CHAR_CODE = new Uint16Array(256);
const CHAR_CODE_TO_BYTE = new Map<number, number>();
{
  let next = 0x100;
  for (let b = 0; b < 256; b++) {
    const code = isSelfMapped(b) ? b : next++;
    BYTE_TO_CHAR_CODE[b] = code;
    CHAR_CODE_TO_BYTE.set(code, b);
  }
}

/** The character that stands for a byte. */
export function byteToChar(byte: number): string {
  return String.fromCharCode(BYTE_TO_CHAR_CODE[byte & 0xff]);
}

/** The byte a character stands for, or undefined when it is not one of the 256 mapped characters. */
export function charToByte(cp: number): number | undefined {
  return CHAR_CODE_TO_BYTE.get(cp);
}

const encoder = new TextEncoder();

/** UTF-8 bytes of a string, each replaced by its GPT-2 character (the text BPE merges operate on). */
export function byteEncode(text: string): string {
  const bytes = encoder.encode(text);
  const codes = new Uint16Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) codes[i] = BYTE_TO_CHAR_CODE[bytes[i]];
  // chunk to stay clear of argument-count limits on very long words
  let out = '';
  for (let i = 0; i < codes.length; i += 8192) out += String.fromCharCode.apply(null, codes.subarray(i, i + 8192) as unknown as number[]);
  return out;
}

/**
 * The bytes of a byte-level token text, as llama.cpp's llama_decode_text produces them: each
 * character maps back to its byte; a character outside the mapping is replaced by the marker
 * `[UNK_BYTE_0x<utf8 hex><whole token text>]` (llama.cpp's own, odd, output for such tokens).
 */
export function byteDecode(text: string): Uint8Array {
  const out: number[] = [];
  for (const ch of text) {
    const cp = ch.codePointAt(0) as number;
    const b = CHAR_CODE_TO_BYTE.get(cp);
    if (b !== undefined) {
      out.push(b);
    } else {
      const utf8 = encoder.encode(ch);
      const hex = Array.from(utf8, (x) => x.toString(16).padStart(2, '0')).join('');
      for (const x of encoder.encode(`[UNK_BYTE_0x${hex}${text}]`)) out.push(x);
    }
  }
  return Uint8Array.from(out);
}
