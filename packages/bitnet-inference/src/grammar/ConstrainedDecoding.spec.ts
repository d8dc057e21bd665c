/**
 * Constrained decoding and the engine's other guarantees, on the bundled KJV model: seeded
 * constrained generations give the same ids alone and batched with others (constrained or not);
 * resuming a constrained generation from any of its first ids continues it exactly; and logprobs
 * see the mask — every alternative is a token the grammar allows (checked against a matcher walked
 * over the whole vocabulary), there are as many as the grammar allows up to the count asked for,
 * and a forced token has logprob 0.
 */
import { InferenceEngine } from '../engine/InferenceEngine';
import type { GenerateOptions, GenerationResult } from '../engine/Generation';
import { GrammarMatcher } from './GrammarMatcher';
import { jsonSchemaToGbnf } from './JsonSchemaToGbnf';

const PROMPT = 'And he said, ';
const T1 = { temperature: 1, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1 };

const PERSON = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 12 },
    tribe: { enum: ['Judah', 'Levi', 'Benjamin', 'Dan'] },
    age: { type: 'integer' },
    sons: { type: 'array', items: { type: 'string', maxLength: 6 }, maxItems: 3 },
  },
  required: ['name', 'tribe', 'age'],
  additionalProperties: false,
};
const KANA = 'root ::= "é" [ぁ-ん]{3} "!" (" " [a-z]{2,6})?';

let engine: InferenceEngine;
let maxNew: number;

beforeAll(async () => {
  engine = await InferenceEngine.load();
  maxNew = engine.model.contextLength - engine.promptIds(PROMPT).length;
}, 60_000);
afterAll(async () => {
  await engine?.close();
});

interface Job {
  config: Record<string, unknown>;
  options: GenerateOptions;
}
const run = (j: Job): Promise<GenerationResult> => engine.generate(PROMPT, { maxNewTokens: maxNew, ...j.config }, j.options);

describe('constrained generations are batch-invariant', () => {
  it('the same seeded constrained generations give the same ids alone and mixed with unconstrained ones', async () => {
    const constrained: Job[] = [
      ...[11, 12, 13].map((seed) => ({ config: { ...T1, seed }, options: { jsonSchema: PERSON } })),
      ...[14, 15].map((seed) => ({ config: { ...T1, seed }, options: { grammar: KANA } })),
      { config: { temperature: 0, seed: 1 }, options: { jsonSchema: { type: 'array', items: { type: 'integer' }, minItems: 2, maxItems: 3 } } },
      { config: { temperature: 0.7, topK: 40, topP: 0.9, minP: 0.05, repetitionPenalty: 1.1, seed: 16 }, options: { jsonSchema: PERSON, logprobs: 2 } },
    ];
    const free: Job[] = [21, 22, 23, 24].map((seed) => ({ config: { ...T1, seed, maxNewTokens: 60 }, options: {} }));
    const alone: GenerationResult[] = [];
    for (const j of constrained) alone.push(await run(j));
    // interleaved with free generations, in another order, all at once (one decode batch)
    const mixed = [...constrained].reverse().flatMap((j, i) => (i < free.length ? [j, free[i]] : [j]));
    const together = await Promise.all(mixed.map(run));
    const byJob = new Map(mixed.map((j, i) => [j, together[i]]));
    constrained.forEach((j, i) => {
      const r = byJob.get(j)!;
      expect([i, r.tokenIds, r.finishReason]).toEqual([i, alone[i].tokenIds, alone[i].finishReason]);
      expect(r.text).toBe(alone[i].text);
    });
    for (const r of alone) expect(['grammar_complete', 'eos']).toContain(r.finishReason);
    // the seeds differ, and so do the outputs
    expect(new Set(alone.slice(0, 3).map((r) => r.text)).size).toBeGreaterThan(1);
    // the engine did batch them
    expect(engine.schedulingStats.maxDecodeBatch).toBeGreaterThan(4);
  }, 120_000);
});

describe('resume with a grammar', () => {
  it('continues a constrained generation exactly from any point, including inside a multi-byte character', async () => {
    const jobs: Job[] = [
      { config: { ...T1, seed: 31 }, options: { jsonSchema: PERSON } },
      { config: { ...T1, seed: 32 }, options: { jsonSchema: PERSON } },
      { config: { ...T1, seed: 33 }, options: { grammar: KANA } },
    ];
    for (const job of jobs) {
      const full = await run(job);
      expect(['grammar_complete', 'eos']).toContain(full.finishReason);
      const n = full.tokenIds.length - (full.finishReason === 'eos' ? 1 : 0);
      // every cut for the short kana output (some fall inside a character), a spread for the JSON
      const cuts = job.options.grammar ? Array.from({ length: n - 1 }, (_, i) => i + 1) : [1, 2, Math.floor(n / 3), Math.floor(n / 2), n - 2, n - 1];
      const resumed = await Promise.all(cuts.map((k) => run({ ...job, options: { ...job.options, resume: full.tokenIds.slice(0, k) } })));
      cuts.forEach((k, i) => {
        const r = resumed[i];
        expect([k, [...full.tokenIds.slice(0, k), ...r.tokenIds], r.finishReason]).toEqual([k, full.tokenIds, full.finishReason]);
        // the new pieces are the earlier run's pieces after the cut (a split character completed by the next one)
        expect(r.pieces.map((p) => p.text)).toEqual(full.pieces.slice(k).map((p) => p.text));
      });
    }
  }, 120_000);

  it('a resumed id the grammar does not allow is a grammar error', async () => {
    const bad = engine.promptIds('x', { addBos: false });
    await expect(run({ config: { ...T1, seed: 1 }, options: { grammar: KANA, resume: bad } })).rejects.toMatchObject({ name: 'GrammarError', type: 'invalid_config' });
  }, 60_000);
});

describe('logprobs with a grammar', () => {
  /** Every id the grammar allows after `prefix` ids (end of generation when the text may end). */
  function allowedAfter(grammar: string, prefix: number[]): Set<number> {
    const tok = engine.tokenizer;
    const m = new GrammarMatcher(grammar);
    for (const id of prefix) expect(m.acceptBytes(tok.tokenBytes(id))).toBe(true);
    const out = new Set<number>();
    for (let id = 0; id < tok.vocabSize; id++) {
      if (tok.isSpecial(id)) {
        if (m.canEnd && engine.model.special.endOfGeneration.includes(id)) out.add(id);
      } else if (m.firstRejected(tok.tokenBytes(id)) < 0) out.add(id);
    }
    return out;
  }

  it('alternatives are only tokens the grammar allows, as many as it allows up to N; a forced token has logprob 0', async () => {
    const N = 5;
    const cases: Array<[string, GenerateOptions, Record<string, unknown>]> = [
      [jsonSchemaToGbnf(PERSON), { jsonSchema: PERSON }, { ...T1, seed: 41 }],
      [jsonSchemaToGbnf(PERSON), { jsonSchema: PERSON }, { temperature: 0.8, topK: 40, repetitionPenalty: 1.3, seed: 42 }],
      [KANA, { grammar: KANA }, { ...T1, seed: 43 }],
      ['root ::= "amen" | "amen amen"', { grammar: 'root ::= "amen" | "amen amen"' }, { ...T1, seed: 44 }],
    ];
    let forced = 0;
    let free = 0;
    for (const [grammar, options, config] of cases) {
      const r = await run({ config, options: { ...options, logprobs: N } });
      expect(r.pieces.map((p) => p.id)).toEqual(r.tokenIds);
      r.pieces.forEach((p, i) => {
        const allowed = allowedAfter(grammar, r.tokenIds.slice(0, i));
        const alt = p.topLogprobs!;
        const where = `${JSON.stringify(r.text)} step ${i}`;
        expect([where, Number.isFinite(p.logprob), p.logprob! <= 0]).toEqual([where, true, true]);
        expect([where, allowed.has(p.id)]).toEqual([where, true]);
        expect([where, alt.length]).toEqual([where, Math.min(N, allowed.size)]);
        for (const a of alt) {
          expect([where, a.id, allowed.has(a.id), Number.isFinite(a.logprob)]).toEqual([where, a.id, true, true]);
          // the alternative's bytes continue the text so far
          if (!engine.tokenizer.isSpecial(a.id)) {
            const m = new GrammarMatcher(grammar);
            expect(m.acceptBytes(Buffer.concat([...r.tokenIds.slice(0, i).map((id) => engine.tokenizer.tokenBytes(id)), a.bytes ? Uint8Array.from(a.bytes) : new Uint8Array()]))).toBe(true);
          }
        }
        for (let j = 1; j < alt.length; j++) expect(alt[j].logprob).toBeLessThanOrEqual(alt[j - 1].logprob);
        // the mask leaves a distribution over the allowed tokens: the alternatives sum to at most 1, to 1 when they are all of them
        const sum = alt.reduce((s, a) => s + Math.exp(a.logprob), 0);
        expect(sum).toBeLessThanOrEqual(1 + 1e-9);
        if (alt.length === allowed.size) expect(sum).toBeCloseTo(1, 6);
        if (allowed.size === 1) {
          forced++;
          expect([where, p.logprob]).toEqual([where, 0]);
        } else free++;
      });
    }
    // both kinds of step were seen
    expect(forced).toBeGreaterThan(10);
    expect(free).toBeGreaterThan(10);
  }, 120_000);
});
