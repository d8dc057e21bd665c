/**
 * GenerateOptions.grammar / jsonSchema end to end on the bundled KJV model: llama.cpp's example
 * grammars produce only text their grammar accepts (judged by the test-only recognizer in
 * src/testing/gbnfRecognizer.ts, not by the matcher that generated it); a grammar forcing multi-byte
 * characters yields exactly them, split across byte tokens and decoded correctly; the end of
 * generation is allowed exactly where the grammar may end; unsatisfiable schemas and grammars are
 * typed errors thrown before any work, and the engine goes on working.
 */
import { InferenceEngine } from '../engine/InferenceEngine';
import type { GenerationResult } from '../engine/Generation';
import { InferenceError } from '../errors/InferenceError';
import { ARITHMETIC_GBNF, JSON_GBNF, LIST_GBNF } from '../testing/exampleGrammars';
import { parseGbnf as parseForRecognizer, recognizes } from '../testing/gbnfRecognizer';
import { GrammarError } from './GrammarError';
import { JsonSchemaError } from './JsonSchemaToGbnf';

const PROMPT = 'And he said, ';
/** Temperature 1 with no truncation: the sampler wanders over all the grammar allows. */
const T1 = { temperature: 1, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1 };
const SEEDS = [1, 2, 3, 4, 5, 6];

let engine: InferenceEngine;
let EOS: number;
let maxNew: number;
/** The id of the one-byte token for an ASCII character. */
let byteId: (c: string) => number;

beforeAll(async () => {
  engine = await InferenceEngine.load();
  EOS = engine.model.special.eos!;
  expect(engine.model.special.endOfGeneration).toEqual([EOS]);
  maxNew = engine.model.contextLength - engine.promptIds(PROMPT).length;
  const ids = new Map<number, number>();
  for (let id = 0; id < engine.tokenizer.vocabSize; id++) {
    const b = engine.tokenizer.isSpecial(id) ? [] : engine.tokenizer.tokenBytes(id);
    if (b.length === 1 && !ids.has(b[0])) ids.set(b[0], id);
  }
  byteId = (c) => ids.get(c.charCodeAt(0))!;
}, 60_000);
afterAll(async () => {
  await engine?.close();
});

const generateAll = (seeds: number[], config: object, options: object): Promise<GenerationResult[]> =>
  Promise.all(seeds.map((seed) => engine.generate(PROMPT, { ...T1, maxNewTokens: maxNew, ...config, seed }, options)));

/** The output without a final end-of-generation id (which adds no text). */
function body(r: GenerationResult): number[] {
  return r.finishReason === 'eos' ? r.tokenIds.slice(0, -1) : r.tokenIds;
}

describe("llama.cpp's example grammars on the bundled model", () => {
  // The KJV model writes prose: left alone it never closes a JSON string or writes '=' within the
  // 256-token context. These biases (which change probabilities, never what the mask allows) make
  // each value end in time; the end-of-generation bias ends it as soon as the grammar lets it.
  const cases: Array<[string, string, () => Record<string, number>]> = [
    ['json', JSON_GBNF, () => ({ [byteId('"')]: 22, [byteId('}')]: 14, [EOS]: 20 })],
    ['arithmetic', ARITHMETIC_GBNF, () => ({ [byteId('=')]: 12, [byteId('\n')]: 6, [EOS]: 20 })],
    ['list', LIST_GBNF, () => ({ [EOS]: 5 })],
  ];

  it('produce only text their grammar accepts (checked by an independent recognizer)', async () => {
    const failures: string[] = [];
    for (const [name, grammar, bias] of cases) {
      const g = parseForRecognizer(grammar);
      const results = await generateAll(SEEDS, { logitBias: bias() }, { grammar });
      results.forEach((r, k) => {
        const where = `${name} seed ${SEEDS[k]}: ${JSON.stringify(r.text)} (${r.finishReason})`;
        if (r.finishReason !== 'eos' && r.finishReason !== 'grammar_complete') return void failures.push(`${where}: finish reason`);
        if (body(r).includes(EOS)) return void failures.push(`${where}: end of generation inside the text`);
        if (engine.tokenizer.decode(body(r)) !== r.text) return void failures.push(`${where}: ids and text differ`);
        if (!recognizes(g, r.text)) failures.push(`${where}: not in the grammar's language`);
      });
      // not trivially the same output for every seed
      expect(new Set(results.map((r) => r.text)).size).toBeGreaterThan(1);
    }
    expect(failures).toEqual([]);
  }, 120_000);

  it('the recognizer rejects what the model writes without the grammar (the check has teeth)', async () => {
    const results = await generateAll([1, 2], { maxNewTokens: 40 }, {});
    for (const [, grammar] of cases) for (const r of results) expect(recognizes(parseForRecognizer(grammar), r.text)).toBe(false);
  }, 60_000);
});

describe('multi-byte characters forced by a grammar', () => {
  const grammars: Array<[string, RegExp]> = [
    ['root ::= "é" [ぁ-ん]{3} "!"', /^é[ぁ-ん]{3}!$/u],
    ['root ::= "😀" ("🙏" | "✝️" | "ü") [😀-🙏]{2} "…" [a-z]', /^😀(🙏|✝️|ü)[😀-🙏]{2}…[a-z]$/u],
  ];

  it('yield exactly what the grammar allows, as valid UTF-8 split across tokens and decoded piece by piece', async () => {
    for (const [grammar, shape] of grammars) {
      const g = parseForRecognizer(grammar);
      const results = await generateAll(SEEDS, { maxNewTokens: 40 }, { grammar, logprobs: 0 });
      for (const r of results) {
        expect([r.text, r.finishReason]).toEqual([expect.stringMatching(shape), 'grammar_complete']);
        expect(recognizes(g, r.text)).toBe(true);
        // the ids' bytes are exactly the text's UTF-8 (a strict decoder accepts them)
        const bytes = Buffer.concat(r.tokenIds.map((id) => Buffer.from(engine.tokenizer.tokenBytes(id))));
        expect(new TextDecoder('utf-8', { fatal: true }).decode(bytes)).toBe(r.text);
        expect(r.pieces.map((p) => p.id)).toEqual(r.tokenIds);
        expect(r.pieces.map((p) => p.text).join('')).toBe(r.text);
        // a piece never carries half a character: split characters appear whole on their last byte
        for (const p of r.pieces) expect(p.text).not.toMatch(/\uFFFD/);
        expect(r.pieces.some((p) => p.text === '')).toBe(true);
        expect(r.tokenIds.length).toBeGreaterThan(Array.from(r.text).length);
      }
      expect(new Set(results.map((r) => r.text)).size).toBeGreaterThan(1);
    }
  }, 60_000);
});

describe('the end-of-generation token at the grammar boundary', () => {
  const grammar = 'root ::= "amen" | "amen amen"';

  it('cannot end before "amen" is complete, and ends with eos right after it when eos is pushed to +100', async () => {
    const results = await generateAll(SEEDS, { maxNewTokens: 20, logitBias: { [EOS]: 100 } }, { grammar, logprobs: 3 });
    for (const r of results) {
      expect(r.finishReason).toBe('eos');
      expect(r.text).toBe('amen');
      expect(r.tokenIds[r.tokenIds.length - 1]).toBe(EOS);
      expect(engine.tokenizer.decode(body(r))).toBe('amen');
      expect(body(r).every((id) => !engine.tokenizer.isSpecial(id))).toBe(true);
      // before "amen" is complete the end-of-generation token is masked whatever its bias
      for (const p of r.pieces.slice(0, -1)) expect(p.topLogprobs!.some((a) => a.id === EOS)).toBe(false);
      // right after it, it is allowed and (at +100) certain
      const last = r.pieces[r.pieces.length - 1];
      expect([last.id, last.logprob]).toEqual([EOS, expect.closeTo(0, 6)]);
    }
    // control: without the grammar the same bias ends the generation at once
    const free = await engine.generate(PROMPT, { ...T1, seed: 1, maxNewTokens: 20, logitBias: { [EOS]: 100 } });
    expect([free.text, free.finishReason, free.tokenIds]).toEqual(['', 'eos', [EOS]]);
  }, 60_000);

  it('without the bias, the model may also go on to "amen amen": both end where the grammar allows', async () => {
    const results = await generateAll(SEEDS, { maxNewTokens: 20 }, { grammar });
    for (const r of results) {
      if (r.finishReason === 'eos') expect(r.text).toBe('amen');
      else expect([r.text, r.finishReason]).toEqual(['amen amen', 'grammar_complete']);
    }
  }, 60_000);

  it('a schema whose value ends with nothing allowed after it ends with grammar_complete and no special token', async () => {
    const results = await generateAll(SEEDS, { maxNewTokens: 20, logitBias: { [EOS]: 100 } }, { jsonSchema: { const: 'amen' } });
    for (const r of results) {
      expect([r.text, r.finishReason]).toEqual(['"amen"', 'grammar_complete']);
      expect(r.tokenIds.every((id) => !engine.tokenizer.isSpecial(id))).toBe(true);
      expect(engine.tokenizer.decode(r.tokenIds)).toBe('"amen"');
    }
  }, 60_000);
});

describe('unsatisfiable schemas and grammars', () => {
  const schemas: Array<Record<string, unknown>> = [
    { type: 'string', minLength: 5, maxLength: 2 },
    { enum: [] },
    { type: 'array', items: { type: 'integer' }, minItems: 3, maxItems: 1 },
    { $defs: { n: { type: 'object', properties: { next: { $ref: '#/$defs/n' } }, required: ['next'] } }, $ref: '#/$defs/n' },
    { type: 'object', properties: { a: false }, required: ['a'] },
    { anyOf: [false, false] },
  ];
  const grammars = ['root ::= "a" root', 'root ::= x\nx ::= "(" x ")"', 'root ::= [^\\x00-\\U0010FFFF]', 'root ::= undefined-rule'];

  it('are typed invalid_config errors thrown before any work; the engine still works after', async () => {
    const cases: Array<[object, new (...a: never[]) => Error]> = [
      ...schemas.map((jsonSchema): [object, typeof JsonSchemaError] => [{ jsonSchema }, JsonSchemaError]),
      ...grammars.map((grammar): [object, typeof GrammarError] => [{ grammar }, GrammarError]),
    ];
    for (const [options, type] of cases) {
      let progress = 0;
      let thrown: unknown;
      try {
        engine.generateStream(PROMPT, { seed: 1 }, { ...options, onPromptProgress: () => progress++ });
      } catch (e) {
        thrown = e;
      }
      expect([JSON.stringify(options), thrown]).toEqual([JSON.stringify(options), expect.any(type)]);
      expect((thrown as InferenceError).type).toBe('invalid_config');
      expect(thrown).toBeInstanceOf(InferenceError);
      expect(progress).toBe(0); // no prompt was sent to the model thread
      await expect(engine.generate(PROMPT, { seed: 1 }, options)).rejects.toBeInstanceOf(type);
    }
    // the engine goes on: constrained and free generations still complete
    const [a, b] = await Promise.all([
      engine.generate(PROMPT, { ...T1, seed: 7, maxNewTokens: 40 }, { jsonSchema: { enum: ['yea', 'nay'] } }),
      engine.generate(PROMPT, { ...T1, seed: 7, maxNewTokens: 8 }),
    ]);
    expect([['"yea"', '"nay"'].includes(a.text), a.finishReason]).toEqual([true, 'grammar_complete']);
    expect([b.tokenIds.length > 0, b.finishReason !== 'error']).toEqual([true, true]);
  }, 60_000);

  it('a grammar whose every allowed token is banned by logit bias fails that generation with a GrammarError, not a hang', async () => {
    const banned = engine.generate(PROMPT, { ...T1, seed: 3, maxNewTokens: 10, logitBias: { [byteId('q')]: -100 } }, { grammar: 'root ::= "q"+' });
    const fine = engine.generate(PROMPT, { ...T1, seed: 3, maxNewTokens: 10 }, { grammar: 'root ::= "q"{2}' });
    await expect(banned).rejects.toMatchObject({ name: 'GrammarError', type: 'invalid_config', message: expect.stringMatching(/logit_bias bans every token the grammar allows/) });
    expect((await fine).text).toBe('qq');
  }, 60_000);
});
