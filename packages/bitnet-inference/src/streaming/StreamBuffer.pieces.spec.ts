/**
 * Property tests of StreamResponse.pieces over random tiny vocabularies (byte-level BPE and
 * SentencePiece with byte fallback, built with the project's own tokenizer), random id sequences,
 * stop strings, buffer sizes, flush timing and skipSpecialTokens.
 *
 * The expected piece of each id is recomputed here without a stream decoder: S(k), the text the
 * first k ids fix for good, is the longest common prefix of one-shot decodes of those ids followed by
 * different continuations (one that breaks an unfinished character, others that complete it), so
 * id i's own text is S(i+1) minus S(i); the last id also gets what only the end decides (the U+FFFD
 * of an unfinished character), and everything is cut at the first stop string.
 */
import { GgufMetadata, SeededRandom, TOKEN_TYPE, byteToChar, createTokenizer, gguf, smallByteVocab, type Tokenizer } from '@bitnet/models';
import { firstStop } from '../testing/firstStop';
import { StreamBuffer, type FinishReason, type StreamResponse } from './StreamBuffer';
import type { TokenPiece } from './TokenPieces';

/** Characters the random tokens are cut from: ASCII, 2-, 3- and 4-byte UTF-8, spaces, newlines. */
const POOL = ['a', 'b', 'c', 'x', ' ', ' ', '\n', '.', ':', 'é', 'ü', 'ß', '€', '日', '本', '語', '🙂', '🚀', '𠜎'];

interface Vocab {
  tokenizer: Tokenizer;
  /** Id of the token for each byte value (raw byte tokens). */
  byteIds: number[];
  specialIds: number[];
  /** Every id that may be generated. */
  ids: number[];
}

function randomText(r: SeededRandom, maxChars: number): string {
  return Array.from({ length: 1 + r.int(maxChars) }, () => POOL[r.int(POOL.length)]).join('');
}

/** A byte-level BPE vocabulary: the 256 byte tokens, tokens cut anywhere from UTF-8 (mid-character too), control tokens. */
function byteLevelVocab(r: SeededRandom): Vocab {
  const tokens: string[] = [];
  const types: number[] = [];
  const add = (t: string, type: number) => {
    if (tokens.includes(t)) return;
    tokens.push(t);
    types.push(type);
  };
  for (let b = 0; b < 256; b++) add(byteToChar(b), TOKEN_TYPE.NORMAL);
  const extra = 20 + r.int(60);
  for (let i = 0; i < extra; i++) {
    const bytes = new TextEncoder().encode(randomText(r, 4));
    const from = r.int(bytes.length);
    const to = from + 1 + r.int(bytes.length - from);
    add([...bytes.subarray(from, to)].map(byteToChar).join(''), TOKEN_TYPE.NORMAL);
  }
  const specials = ['<|bos|>', '<|eos|>', '<|eot|>', '<|é|>', '<|:|>'].slice(0, 2 + r.int(4));
  for (const s of specials) add(s, TOKEN_TYPE.CONTROL);
  const md = new GgufMetadata();
  md.set('general.architecture', gguf.str('bitnet-b1.58'));
  md.set('tokenizer.ggml.model', gguf.str('gpt2'));
  md.set('tokenizer.ggml.tokens', gguf.strings(tokens));
  md.set('tokenizer.ggml.token_type', gguf.i32s(types));
  md.set('tokenizer.ggml.merges', gguf.strings([]));
  md.set('tokenizer.ggml.bos_token_id', gguf.u32(tokens.indexOf('<|bos|>')));
  md.set('tokenizer.ggml.eos_token_id', gguf.u32(tokens.indexOf('<|eos|>')));
  const tokenizer = createTokenizer(md);
  const specialIds = specials.map((s) => tokens.indexOf(s));
  return { tokenizer, byteIds: Array.from({ length: 256 }, (_, b) => b), specialIds, ids: tokens.map((_, i) => i) };
}

/** A SentencePiece vocabulary with byte fallback: <0xXX> tokens, whole-character pieces with '▁', control tokens. */
function sentencePieceVocab(r: SeededRandom): Vocab {
  const tokens = ['<unk>', '<s>', '</s>'];
  const types: number[] = [TOKEN_TYPE.UNKNOWN, TOKEN_TYPE.CONTROL, TOKEN_TYPE.CONTROL];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(TOKEN_TYPE.BYTE);
  }
  const extra = 20 + r.int(40);
  for (let i = 0; i < extra; i++) {
    const piece = randomText(r, 3).replace(/ /g, '\u2581').replace(/\n/g, 'x');
    if (tokens.includes(piece)) continue;
    tokens.push(piece);
    types.push(TOKEN_TYPE.NORMAL);
  }
  tokens.push('[CTRL]', '<|user|>');
  types.push(TOKEN_TYPE.CONTROL, TOKEN_TYPE.USER_DEFINED);
  const md = new GgufMetadata();
  md.set('general.architecture', gguf.str('llama'));
  md.set('tokenizer.ggml.model', gguf.str('llama'));
  md.set('tokenizer.ggml.tokens', gguf.strings(tokens));
  md.set('tokenizer.ggml.token_type', gguf.i32s(types));
  md.set('tokenizer.ggml.scores', gguf.f32s(tokens.map(() => 0)));
  md.set('tokenizer.ggml.bos_token_id', gguf.u32(1));
  md.set('tokenizer.ggml.eos_token_id', gguf.u32(2));
  md.set('tokenizer.ggml.unknown_token_id', gguf.u32(0));
  md.set('tokenizer.ggml.add_space_prefix', gguf.bool(r.next() < 0.5));
  const tokenizer = createTokenizer(md);
  const specialIds = [1, 2, tokens.indexOf('[CTRL]')];
  return { tokenizer, byteIds: Array.from({ length: 256 }, (_, b) => 3 + b), specialIds, ids: tokens.map((_, i) => i).filter((i) => i !== 0) };
}

function commonPrefix(a: string, b: string): string {
  let n = 0;
  while (n < a.length && n < b.length && a.charCodeAt(n) === b.charCodeAt(n)) n++;
  return a.slice(0, n);
}

/**
 * S(ids): the text these ids fix whatever comes after them — what every continuation agrees on,
 * without half a surrogate pair. ('A' breaks any unfinished character; one of the other three
 * completes it, whatever its lead byte.)
 */
function fixedText(v: Vocab, ids: number[], skipSpecial: boolean): string {
  if (ids.length === 0) return '';
  const continuations = [[0x41], [0x80, 0x80, 0x80], [0xa0, 0x80, 0x80], [0x90, 0x80, 0x80]].map((bytes) => bytes.map((b) => v.byteIds[b]));
  let s = continuations.map((c) => v.tokenizer.decode([...ids, ...c], { skipSpecial })).reduce(commonPrefix);
  const last = s.charCodeAt(s.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) s = s.slice(0, -1);
  return s;
}

/**
 * The pieces the ids should get: id i gets S(first i+1) minus S(first i); the last id also gets the
 * rest of the full decoding; then the text is cut before the first stop string.
 */
function expectedPieces(v: Vocab, ids: number[], skipSpecial: boolean, stops: string[]): { pieces: TokenPiece[]; text: string } {
  const full = v.tokenizer.decode(ids, { skipSpecial });
  const text = firstStop(full, stops).text;
  const bounds = ids.map((_, i) => fixedText(v, ids.slice(0, i), skipSpecial).length);
  bounds.push(full.length);
  const pieces = ids.map((id, i) => ({ id, text: text.slice(Math.min(bounds[i], text.length), Math.min(bounds[i + 1], text.length)) }));
  return { pieces, text };
}

describe('StreamResponse.pieces (random vocabularies)', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('ids in order, texts concatenating to the text, no piece split or early, each id with its own share', () => {
    const r = new SeededRandom(0x5eed);
    const stats = { runs: 0, stopped: 0, heldPieces: 0, lateFffd: 0, specialText: 0, multiPieceResponses: 0 };
    const failures: unknown[] = [];
    for (let vocabNo = 0; vocabNo < 16; vocabNo++) {
      const v = vocabNo % 2 === 0 ? byteLevelVocab(r) : sentencePieceVocab(r);
      for (let run = 0; run < 40; run++) {
        stats.runs++;
        // random ids, leaning on raw bytes so that characters split and break anywhere
        const ids = Array.from({ length: 1 + r.int(30) }, () => {
          const x = r.next();
          if (x < 0.45) return v.byteIds[r.next() < 0.5 ? 0x80 + r.int(0x80) : r.int(0x100)];
          if (x < 0.55) return v.specialIds[r.int(v.specialIds.length)];
          return v.ids[r.int(v.ids.length)];
        });
        const skipSpecial = r.next() < 0.5;
        const decoded = v.tokenizer.decode(ids, { skipSpecial });
        const stops: string[] = [];
        if (r.next() < 0.6 && decoded.length > 1) {
          // a stop string from the text itself (so it often spans tokens), whole code points only
          const cps = Array.from(decoded);
          const at = r.int(cps.length);
          stops.push(cps.slice(at, at + 1 + r.int(4)).join(''));
        }
        if (r.next() < 0.3) stops.push(randomText(r, 3));
        const bufferSize = 1 + r.int(r.next() < 0.5 ? 3 : 12);
        const flushIntervalMs = 20;

        const responses: StreamResponse[] = [];
        const buffer = new StreamBuffer({
          tokenizer: v.tokenizer,
          streaming: { bufferSize, flushIntervalMs },
          stopSequences: stops,
          skipSpecialTokens: skipSpecial,
          onResponse: (x) => responses.push(x),
        });
        const accepted: number[] = [];
        for (const id of ids) {
          const t = r.next();
          jest.advanceTimersByTime(t < 0.6 ? 0 : t < 0.85 ? r.int(flushIntervalMs) : r.int(3 * flushIntervalMs));
          if (!buffer.push(id)) break;
          accepted.push(id);
        }
        const reason: FinishReason = (['eos', 'max_tokens', 'cancelled', 'error'] as const)[r.int(4)];
        if (reason === 'error') buffer.fail(new Error('boom'));
        else buffer.finish(reason);

        const expected = expectedPieces(v, accepted, skipSpecial, stops);
        const pieces = responses.flatMap((x) => x.pieces);
        const problems: string[] = [];
        if (JSON.stringify(pieces.map((p) => p.id)) !== JSON.stringify(accepted)) problems.push('piece ids are not the accepted ids');
        if (JSON.stringify(responses.flatMap((x) => x.tokenIds)) !== JSON.stringify(accepted)) problems.push('tokenIds are not the accepted ids');
        if (pieces.map((p) => p.text).join('') !== responses.map((x) => x.text).join('')) problems.push('piece texts do not make the text');
        if (responses.map((x) => x.text).join('') !== expected.text) problems.push('text');
        if (JSON.stringify(pieces) !== JSON.stringify(expected.pieces)) problems.push('attribution');
        if (responses.filter((x) => x.finishReason !== undefined).length !== 1 || responses.at(-1)?.finishReason === undefined) problems.push('final response');

        // no piece before its id; and a piece comes as soon as its text is out: when a response leaves
        // the text delivered equal to all the delivered ids fix, every piece is out, but the last
        // one while its bytes end inside a character
        const decode = (xs: number[]) => v.tokenizer.decode(xs, { skipSpecial });
        const unfinished = (xs: number[]) => decode(xs) !== fixedText(v, xs, skipSpecial);
        let idsOut = 0;
        let piecesOut = 0;
        let textOut = '';
        responses.forEach((x, n) => {
          idsOut += x.tokenIds.length;
          piecesOut += x.pieces.length;
          textOut += x.text;
          if (x.pieces.length > 1) stats.multiPieceResponses++;
          if (piecesOut > idsOut) problems.push(`response ${n}: a piece before its id`);
          if (piecesOut < idsOut) stats.heldPieces++;
          if (x.finishReason !== undefined) return;
          const head = accepted.slice(0, idsOut);
          if (textOut === fixedText(v, head, skipSpecial) && piecesOut !== idsOut - (unfinished(head) ? 1 : 0)) {
            problems.push(`response ${n}: ${idsOut - piecesOut} pieces out of ${idsOut} held although their text is out`);
          }
        });

        if (accepted.length > 0 && unfinished(accepted) && expected.pieces.at(-1)?.text.endsWith('\ufffd')) stats.lateFffd++;
        if (!skipSpecial && pieces.some((p) => v.specialIds.includes(p.id) && p.text !== '')) stats.specialText++;
        if (firstStop(decoded, stops).stop !== undefined) stats.stopped++;
        if (problems.length > 0 && failures.length < 3) failures.push({ vocabNo, run, ids, accepted, skipSpecial, stops, bufferSize, problems, pieces, expected: expected.pieces });
      }
    }
    expect(failures).toEqual([]);
    // the random cases reach what they are meant to
    expect(stats.runs).toBe(640);
    expect(stats.stopped).toBeGreaterThan(250);
    expect(stats.heldPieces).toBeGreaterThan(500);
    expect(stats.lateFffd).toBeGreaterThan(30);
    expect(stats.specialText).toBeGreaterThan(100);
    expect(stats.multiPieceResponses).toBeGreaterThan(1000);
  });

  it("the server's test vocabulary: random ids over all of it, small buffers, a stop string from the text", () => {
    // (these cases tested the server's former second decoder; the same checks now hold for pieces)
    const sv = smallByteVocab();
    const md = new GgufMetadata();
    md.set('general.architecture', gguf.str('bitnet-b1.58'));
    md.set('tokenizer.ggml.model', gguf.str(sv.model));
    md.set('tokenizer.ggml.pre', gguf.str(sv.pre ?? 'default'));
    md.set('tokenizer.ggml.tokens', gguf.strings(sv.tokens));
    md.set('tokenizer.ggml.token_type', gguf.i32s(sv.tokenTypes));
    md.set('tokenizer.ggml.merges', gguf.strings(sv.merges ?? []));
    md.set('tokenizer.ggml.bos_token_id', gguf.u32(sv.bosId));
    md.set('tokenizer.ggml.eos_token_id', gguf.u32(sv.eosId));
    const tokenizer = createTokenizer(md);
    const v: Vocab = { tokenizer, byteIds: Array.from({ length: 256 }, (_, b) => tokenizer.tokenId(byteToChar(b)) as number), specialIds: [], ids: [] };
    const r = new SeededRandom(7);
    for (let trial = 0; trial < 300; trial++) {
      const ids = Array.from({ length: 1 + r.int(40) }, () => r.int(tokenizer.vocabSize));
      const full = tokenizer.decode(ids, { skipSpecial: true });
      const stops = trial % 3 === 0 && full.length > 6 ? [full.slice(3, 5)] : [];
      const responses: StreamResponse[] = [];
      const buffer = new StreamBuffer({ tokenizer, streaming: { bufferSize: 1 + r.int(4), flushIntervalMs: 60_000 }, stopSequences: stops, onResponse: (x) => responses.push(x) });
      const accepted: number[] = [];
      for (const id of ids) {
        if (buffer.closed || !buffer.push(id)) break;
        accepted.push(id);
      }
      buffer.finish('max_tokens');
      const pieces = responses.flatMap((x) => x.pieces);
      expect(pieces.map((p) => p.id)).toEqual(responses.flatMap((x) => x.tokenIds));
      expect(pieces.map((p) => p.text).join('')).toBe(responses.map((x) => x.text).join(''));
      expect(pieces).toEqual(expectedPieces(v, accepted, true, stops).pieces);
    }
  });
});
