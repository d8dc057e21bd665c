/**
 * The vocabulary as llama.cpp interprets it after loading: token attributes (including the ones it
 * forces from the token text), resolved special token ids, the end-of-generation set, the order in
 * which special tokens are matched, and the bytes each token stands for.
 */
import { TokenizerError } from '../errors';
import { byteDecode, charToByte } from './ByteLevel';
import { ByteListBuilder, StringTable, stringList, type StringList } from './StringTable';
import { TokenType, type TokenizerData, type TokenizerSource } from './TokenizerData';

/** llama.cpp's token attribute bits. */
export const Attr = {
  UNDEFINED: 0,
  UNKNOWN: 1 << 0,
  UNUSED: 1 << 1,
  NORMAL: 1 << 2,
  CONTROL: 1 << 3,
  USER_DEFINED: 1 << 4,
  BYTE: 1 << 5,
} as const;

/** Tokens whose attribute makes them "special": matched by text partitioning, hidden by skipSpecial. */
export const SPECIAL_ATTRS = Attr.CONTROL | Attr.USER_DEFINED | Attr.UNKNOWN;
/** Tokens that render as nothing unless special tokens are rendered. */
const HIDDEN_ATTRS = Attr.CONTROL | Attr.UNKNOWN;

function attrOfType(type: number): number {
  switch (type) {
    case TokenType.UNKNOWN:
      return Attr.UNKNOWN;
    case TokenType.UNUSED:
      return Attr.UNUSED;
    case TokenType.NORMAL:
      return Attr.NORMAL;
    case TokenType.CONTROL:
      return Attr.CONTROL;
    case TokenType.USER_DEFINED:
      return Attr.USER_DEFINED;
    case TokenType.BYTE:
      return Attr.BYTE;
    default:
      return Attr.UNDEFINED;
  }
}

// Token texts llama.cpp recognises by name (llama-vocab.cpp, "auto-detect special tokens by text").
const EOT_TEXTS = ['<|eot_id|>', '<|im_end|>', '<|end|>', '<end_of_turn>', '<|endoftext|>', '<|end_of_text|>', '<EOT>', '_<EOT>', '[EOT]', '<｜end▁of▁sentence｜>', '<end_of_utterance>'];
const EOM_TEXTS = ['<|eom_id|>'];
const FIM_TEXTS = {
  pre: ['<|fim_prefix|>', '<fim-prefix>', '<fim_prefix>', '<｜fim▁begin｜>', '<PRE>', '▁<PRE>', '<|code_prefix|>', '<|prefix|>'],
  suf: ['<|fim_suffix|>', '<fim-suffix>', '<fim_suffix>', '<｜fim▁hole｜>', '<SUF>', '▁<SUF>', '<|code_suffix|>', '<|suffix|>'],
  mid: ['<|fim_middle|>', '<fim-middle>', '<fim_middle>', '<｜fim▁end｜>', '<MID>', '▁<MID>', '<|code_middle|>', '<|middle|>'],
  pad: ['<|fim_pad|>', '<fim-pad>', '<fim_pad>', '<PAD>', '[PAD]'],
  rep: ['<|fim_repo|>', '<|repo_name|>', '<fim-repo>', '<REPO>', '<reponame>'],
  sep: ['<|file_sep|>'],
};
const EOG_TEXTS = [
  '<|eot_id|>', '<|im_end|>', '<|end|>', '<|return|>', '<|call|>', '<|flush|>', '<|calls|>', '<end_of_turn>', '<|endoftext|>', '</s>',
  '<|eom_id|>', '<EOT>', '_<EOT>', '[EOT]', '[EOS]', '<|end_of_text|>', '<end_of_utterance>', '<eos>', '<turn|>', '<|tool_response>',
  '<｜end▁of▁sentence｜>', '[e~[',
];
const ALWAYS_RENDERED = ['<|channel|>', '<|message|>', '<|start|>', '<|constrain|>'];

export interface VocabularyOptions {
  /** add_bos when the file does not say (depends on the model and pre-tokenizer). */
  readonly addBosDefault: boolean;
  /** Whether text is byte-level (gpt2) or SentencePiece with ▁ for spaces (llama). */
  readonly byteLevel: boolean;
}

const utf8 = new TextEncoder();

/**
 * Token texts, bytes and attributes of a vocabulary. Everything per token lives in typed arrays
 * (texts in a StringTable, the bytes each token renders as packed in one buffer), so a 128k-token
 * vocabulary keeps next to nothing on the JS heap; only the special tokens' texts stay strings.
 */
export class Vocabulary {
  readonly size: number;
  readonly types: Int32Array;
  readonly attrs: Uint8Array;
  readonly scores: Float32Array;
  readonly byteLevel: boolean;
  readonly bosId?: number;
  readonly eosId?: number;
  readonly eotId?: number;
  readonly eomId?: number;
  readonly unknownId?: number;
  readonly paddingId?: number;
  readonly addBos: boolean;
  readonly addEos: boolean;
  readonly addSpacePrefix: boolean;
  readonly eogIds: ReadonlySet<number>;
  /** Special tokens in the order llama.cpp matches them in text: longest (in UTF-8 bytes) first. */
  readonly specialOrder: readonly number[];
  /** The texts of `specialOrder`, in the same order. */
  readonly specialTexts: readonly string[];
  private readonly strings: StringTable;
  /** The bytes token i renders as (with special rendering on): pieceData[pieceOffsets[i], pieceOffsets[i + 1]). */
  private readonly pieceData: Uint8Array;
  private readonly pieceOffsets: Int32Array;

  /** `data.tokens` may be a plain array or a list decoding each text on demand (read once here). */
  constructor(data: TokenizerData | TokenizerSource, options: VocabularyOptions) {
    const tokens = stringList(data.tokens);
    const n = tokens.length;
    this.size = n;
    this.byteLevel = options.byteLevel;
    // llama.cpp renames empty tokens so that every text is unique and non-empty
    const renamed: StringList = {
      length: n,
      get: (i: number) => {
        const t = tokens.get(i);
        return t === '' ? `[EMPTY_${i}]` : t;
      },
    };
    if (tokens.unitsInto && tokens.maxUnits) {
      const maxUnits = tokens.maxUnits.bind(tokens);
      const unitsInto = tokens.unitsInto.bind(tokens);
      renamed.maxUnits = maxUnits;
      // an empty text goes through get, which renames it
      renamed.unitsInto = (i, out, at) => (maxUnits(i) === 0 ? -1 : unitsInto(i, out, at));
    }
    this.strings = new StringTable(renamed, (i, prev) => {
      throw new TokenizerError(`tokenizer metadata 'tokenizer.ggml.tokens' has the token ${JSON.stringify(renamed.get(i))} twice (ids ${prev} and ${i})`);
    });
    this.types = data.tokenTypes ?? new Int32Array(n).fill(TokenType.NORMAL);
    this.attrs = new Uint8Array(n);
    for (let i = 0; i < n; i++) this.attrs[i] = attrOfType(this.types[i]);
    this.scores = data.scores ?? new Float32Array(n);

    // Defaults first (disabled when out of range), then the file's ids.
    const inRange = (id: number | undefined) => (id !== undefined && id < n ? id : undefined);
    this.bosId = data.bosId ?? inRange(this.byteLevel ? 11 : 1);
    this.eosId = data.eosId ?? inRange(this.byteLevel ? 11 : 2);
    this.unknownId = data.unknownId ?? (this.byteLevel ? undefined : inRange(0));
    this.paddingId = data.paddingId;
    this.addBos = data.addBos ?? options.addBosDefault;
    this.addEos = data.addEos ?? false;
    this.addSpacePrefix = data.addSpacePrefix ?? !this.byteLevel;

    const forceControl = (id: number) => {
      this.attrs[id] |= Attr.CONTROL;
    };
    const findFirst = (names: readonly string[]): number | undefined => {
      for (const name of names) {
        const id = this.tokenId(name);
        if (id !== undefined) return id;
      }
      return undefined;
    };
    let eotId = data.eotId;
    let eomId = data.eomId;
    if (eotId === undefined && (eotId = findFirst(EOT_TEXTS)) !== undefined) forceControl(eotId);
    if (eomId === undefined && (eomId = findFirst(EOM_TEXTS)) !== undefined) forceControl(eomId);
    const fim: Record<keyof typeof FIM_TEXTS, number | undefined> = { pre: undefined, suf: undefined, mid: undefined, pad: undefined, rep: undefined, sep: undefined };
    for (const key of Object.keys(FIM_TEXTS) as (keyof typeof FIM_TEXTS)[]) {
      const id = findFirst(FIM_TEXTS[key]);
      if (id !== undefined) forceControl(id);
      fim[key] = id;
    }
    this.eotId = eotId;
    this.eomId = eomId;

    const eog = new Set<number>();
    for (const id of [fim.pad, fim.rep, fim.sep]) if (id !== undefined) eog.add(id);
    for (const name of EOG_TEXTS) {
      const id = this.tokenId(name);
      if (id !== undefined) {
        eog.add(id);
        forceControl(id);
      }
    }
    for (const name of ALWAYS_RENDERED) {
      const id = this.tokenId(name);
      if (id !== undefined) this.attrs[id] = Attr.USER_DEFINED;
    }
    for (const id of [this.eosId, eotId, eomId]) if (id !== undefined) eog.add(id);
    // harmony-style vocabularies: "<|end|>" ends a message, not the generation
    const has = (name: string) => {
      const id = this.tokenId(name);
      return id !== undefined && eog.has(id);
    };
    const endId = this.tokenId('<|end|>');
    const hasCall = has('<|call|>') || has('<|calls|>');
    if (endId !== undefined && eog.has(endId) && hasCall && (has('<|return|>') || has('<|flush|>'))) {
      eog.delete(endId);
      this.attrs[endId] = Attr.USER_DEFINED;
    }
    const closeId = this.tokenId('</s>');
    if (closeId !== undefined && eog.has(closeId) && has('<|tool_response>')) {
      eog.delete(closeId);
      this.attrs[closeId] = Attr.NORMAL;
    }
    this.eogIds = eog;

    const special: number[] = [];
    const byteLength = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      if (this.attrs[i] & SPECIAL_ATTRS) {
        special.push(i);
        byteLength.set(i, utf8.encode(this.text(i)).length);
      }
    }
    // llama.cpp uses an unstable sort on length alone; ties are broken by id here
    special.sort((a, b) => (byteLength.get(b) as number) - (byteLength.get(a) as number) || a - b);
    this.specialOrder = special;
    this.specialTexts = special.map((id) => this.text(id));

    const pieces = new ByteListBuilder(n);
    for (let i = 0; i < n; i++) {
      pieces.begin();
      this.appendPiece(pieces, i);
    }
    this.pieceData = pieces.finish();
    this.pieceOffsets = pieces.offsets;
  }

  /** The id of the token with exactly this text (or text[start, end)), or undefined. */
  tokenId(text: string, start = 0, end = text.length): number | undefined {
    const id = this.strings.find(text, start, end);
    return id < 0 ? undefined : id;
  }

  /** The id of the token whose text is the UTF-16 units[start, end), or -1. */
  tokenIdOfUnits(units: Uint16Array, start: number, end: number): number {
    return this.strings.findUnits(units, start, end);
  }

  /** The id of the token whose text is units[0, len) without the unit at `skip`, or -1. */
  tokenIdOfUnitsWithout(units: Uint16Array, len: number, skip: number): number {
    return this.strings.findUnitsWithout(units, len, skip);
  }

  /** The token's text as stored in the vocabulary (empty texts renamed "[EMPTY_<id>]"). */
  text(id: number): string {
    return this.strings.get(id);
  }

  checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.size) throw new TokenizerError(`token id ${id} is out of range (vocabulary has ${this.size} tokens)`);
  }

  /**
   * The bytes a token renders as (llama.cpp's token_to_piece), a view into the shared buffer: do
   * not modify. Control and unknown tokens render as nothing unless `special`; tokens of type
   * unused/undefined always render as nothing.
   */
  pieceBytes(id: number, special: boolean): Uint8Array {
    this.checkId(id);
    if (!special && this.attrs[id] & HIDDEN_ATTRS) return EMPTY;
    return this.pieceData.subarray(this.pieceOffsets[id], this.pieceOffsets[id + 1]);
  }

  /** The length of pieceBytes(id, special), without building a view. */
  pieceLength(id: number, special: boolean): number {
    this.checkId(id);
    if (!special && this.attrs[id] & HIDDEN_ATTRS) return 0;
    return this.pieceOffsets[id + 1] - this.pieceOffsets[id];
  }

  /** Copy pieceBytes(id, special) into `out` at `at`; returns the number of bytes written. */
  copyPiece(id: number, special: boolean, out: Uint8Array, at: number): number {
    this.checkId(id);
    if (!special && this.attrs[id] & HIDDEN_ATTRS) return 0;
    const from = this.pieceOffsets[id];
    const to = this.pieceOffsets[id + 1];
    const data = this.pieceData;
    for (let k = from; k < to; k++) out[at++] = data[k];
    return to - from;
  }

  /**
   * pieceBytes(id, special) as a string when every byte is ASCII (so no UTF-8 decoding is needed),
   * else undefined. `dropLeadingSpace` drops one leading space (the first-token rule).
   */
  asciiPiece(id: number, special: boolean, dropLeadingSpace: boolean): string | undefined {
    this.checkId(id);
    if (!special && this.attrs[id] & HIDDEN_ATTRS) return '';
    const data = this.pieceData;
    let from = this.pieceOffsets[id];
    const to = this.pieceOffsets[id + 1];
    if (dropLeadingSpace && from < to && data[from] === 0x20) from++;
    let text = '';
    for (let k = from; k < to; k++) {
      const b = data[k];
      if (b >= 0x80) return undefined;
      text += String.fromCharCode(b);
    }
    return text;
  }

  /** Token i's piece bytes; its text becomes a JS string only off the byte-level path most tokens take. */
  private appendPiece(out: ByteListBuilder, i: number): void {
    const attr = this.attrs[i];
    if (attr & SPECIAL_ATTRS) out.append(utf8.encode(this.text(i)));
    else if (attr & Attr.NORMAL) {
      if (!this.byteLevel) out.append(utf8.encode(this.text(i).replaceAll('\u2581', ' ')));
      else if (!appendByteLevel(out, this.strings, i)) out.append(byteDecode(this.text(i)));
    } else if (attr & Attr.BYTE) out.push(parseHexPrefix(this.text(i).slice(3, 5)));
  }
}

// GPT-2 character code -> byte (-1: not a mapped character); the mapped codes are all below 0x144
const CHAR_BYTE = new Int16Array(0x144).map((_, code) => charToByte(code) ?? -1);

/**
 * The bytes of byte-level string i of `table` when every character is a mapped one (else false,
 * nothing written), read unit by unit: no string per token.
 */
function appendByteLevel(out: ByteListBuilder, table: StringTable, i: number): boolean {
  const len = table.length(i);
  for (let k = 0; k < len; k++) {
    const code = table.unit(i, k);
    if (code >= CHAR_BYTE.length || CHAR_BYTE[code] < 0) return false;
  }
  for (let k = 0; k < len; k++) out.push(CHAR_BYTE[table.unit(i, k)]);
  return true;
}

const EMPTY = new Uint8Array(0);

/** strtol(s, 16)-like: the value of the leading hex digits, 0 when there are none. */
function parseHexPrefix(s: string): number {
  const m = /^[0-9a-fA-F]+/.exec(s);
  return m ? parseInt(m[0], 16) & 0xff : 0;
}
