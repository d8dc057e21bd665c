/**
 * GrammarConstraint.allows, the one-token verdict a greedy row is settled with before any mask, against
 * the mask itself over the whole LLaMA-3 vocabulary: at every state of walks through a JSON schema's
 * grammar and a grammar that may end early, the tokens allows() accepts are exactly the ones mask()
 * leaves, end-of-generation ids included.
 */
import { createTokenizer } from '@bitnet/models';
import { llama3Metadata, rng } from '@bitnet/models/testing';
import { GrammarConstraint, GrammarVocabulary } from './GrammarConstraint';
import { jsonSchemaToGbnf } from './JsonSchemaToGbnf';

describe('GrammarConstraint.allows on the LLaMA-3 vocabulary', () => {
  const tokenizer = createTokenizer(llama3Metadata({ pre: 'llama-bpe' }));
  const vocab = new GrammarVocabulary(tokenizer);
  const V = vocab.vocabSize;

  /** The ids mask() leaves finite at the constraint's state. */
  function maskedIn(c: GrammarConstraint): number[] {
    const logits = new Float32Array(V);
    c.mask(logits);
    return [...logits.keys()].filter((i) => logits[i] === 0);
  }

  /** Walks `steps` tokens (a seeded choice among the allowed ones), comparing allows() with mask() at each state. */
  function walk(grammar: string, seed: number, steps: number): { states: number; ended: boolean } {
    const c = new GrammarConstraint(grammar, vocab);
    const next = rng(seed);
    let states = 0;
    for (let s = 0; s < steps; s++) {
      const want = maskedIn(c);
      const got = [...Array(V).keys()].filter((i) => c.allows(i));
      expect([s, got.length, got]).toEqual([s, want.length, want]);
      states++;
      const text = want.filter((i) => !vocab.isEndOfGeneration(i));
      if (text.length === 0) return { states, ended: true };
      if (c.accept(text[Math.floor(next() * text.length)])) return { states, ended: true };
    }
    return { states, ended: false };
  }

  it('agrees with the mask along a JSON schema (bounded strings, integers, an enum, an array)', () => {
    const schema = {
      type: 'object',
      properties: {
        name: { type: 'string', minLength: 1, maxLength: 6 },
        age: { type: 'integer', minimum: 0, maximum: 120 },
        kind: { enum: ['cat', 'dog', 'ox'] },
        tags: { type: 'array', items: { type: 'string', maxLength: 3 }, maxItems: 2 },
      },
      required: ['name', 'age', 'kind', 'tags'],
      additionalProperties: false,
    };
    const gbnf = jsonSchemaToGbnf(schema);
    let states = 0;
    for (const seed of [1, 2]) states += walk(gbnf, seed, 12).states;
    expect(states).toBe(24);
  }, 120_000);

  it('allows the end-of-generation ids exactly where the text may end', () => {
    const c = new GrammarConstraint('root ::= "ab" | "a"', vocab);
    const eog = tokenizer.endOfGenerationIds;
    expect(eog.length).toBeGreaterThan(0);
    expect(eog.map((id) => c.allows(id))).toEqual(eog.map(() => false));
    const a = [...Array(V).keys()].find((i) => vocab.tokenBytes(i)?.length === 1 && vocab.tokenBytes(i)![0] === 0x61)!;
    c.accept(a);
    expect(eog.map((id) => c.allows(id))).toEqual(eog.map(() => true));
    expect(maskedIn(c).filter((i) => vocab.isEndOfGeneration(i))).toEqual([...eog].sort((x, y) => x - y));
    // special ids that do not end generation are never allowed, as in the mask
    const bos = tokenizer.bosId;
    if (bos !== undefined) expect(c.allows(bos)).toBe(vocab.isEndOfGeneration(bos));
    expect(walk('root ::= "ab" | "a"', 3, 3).ended).toBe(true);
  }, 60_000);
});
