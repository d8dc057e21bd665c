import { Sampler } from './Sampler';

/** Logits of a small vocabulary that change with the step, so draws and penalties matter. */
function logits(step: number): Float32Array {
  return Float32Array.from({ length: 32 }, (_, i) => Math.sin(i * 1.7 + step * 0.9) * 3 + (i % 5) * 0.1);
}

describe('Sampler.replay', () => {
  it.each([
    ['sampled', { temperature: 0.8, topK: 10, topP: 0.95, minP: 0, repetitionPenalty: 1.3, seed: 42 }],
    ['sampled with min-p, no top-k', { temperature: 1.2, topK: 0, topP: 1, minP: 0.05, repetitionPenalty: 1.1, seed: 7 }],
    ['greedy with a penalty', { temperature: 0, topK: 40, topP: 0.95, minP: 0, repetitionPenalty: 1.5, seed: 1 }],
    ['sampled with presence and frequency penalties', { temperature: 1, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, presencePenalty: 0.7, frequencyPenalty: 0.4, seed: 3 }],
    ['greedy with penalties and a bias', { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, presencePenalty: 1.5, frequencyPenalty: 1, logitBias: { 4: -100, 9: 2 }, seed: 5 }],
  ])('%s: replaying the first k choices leaves the state sample() left (every k)', (_name, config) => {
    const prompt = [3, 5, 7, 3];
    const full = new Sampler(config);
    full.observe(prompt);
    const ids = Array.from({ length: 24 }, (_, step) => full.sample(logits(step)));
    for (let k = 0; k < ids.length; k++) {
      const resumed = new Sampler(config);
      resumed.observe(prompt);
      resumed.replay(ids.slice(0, k));
      const rest = Array.from({ length: ids.length - k }, (_, i) => resumed.sample(logits(k + i)));
      expect(rest).toEqual(ids.slice(k));
    }
  });
});

const NEUTRAL = { temperature: 1, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, seed: 11 };

describe('Sampler: OpenAI penalties and logit bias', () => {
  it('presence and frequency penalties count the tokens this sequence produced, not the prompt', () => {
    const s = new Sampler({ ...NEUTRAL, temperature: 0, presencePenalty: 0.5, frequencyPenalty: 0.25 });
    s.observe([1, 2, 2]); // prompt: never penalized by these two
    const flat = () => Float32Array.from({ length: 8 }, (_, i) => (i === 3 ? 10 : 0));
    expect(s.sample(flat())).toBe(3);
    expect(s.sample(flat())).toBe(3);
    const seen = flat();
    expect(s.sample(seen)).toBe(3);
    // after two 3s: 10 - (0.5 + 0.25·2); the prompt's 1 and 2 are untouched
    expect(seen[3]).toBeCloseTo(10 - 0.5 - 0.25 * 2, 6);
    expect(seen[1]).toBe(0);
    expect(seen[2]).toBe(0);
  });

  it('a large frequency penalty makes greedy decoding move on to other tokens', () => {
    const s = new Sampler({ ...NEUTRAL, temperature: 0, frequencyPenalty: 2 });
    const base = Float32Array.from({ length: 6 }, (_, i) => 6 - i);
    const ids = Array.from({ length: 6 }, () => s.sample(base.slice()));
    expect(new Set(ids).size).toBeGreaterThan(2);
    const plain = new Sampler({ ...NEUTRAL, temperature: 0 });
    expect(Array.from({ length: 6 }, () => plain.sample(base.slice()))).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('logit bias -100 never yields the token, even at a high temperature', () => {
    const s = new Sampler({ ...NEUTRAL, temperature: 5, logitBias: { 0: -100, 2: -100 } });
    for (let step = 0; step < 400; step++) {
      const id = s.sample(logits(step));
      expect(id).not.toBe(0);
      expect(id).not.toBe(2);
    }
    const greedy = new Sampler({ ...NEUTRAL, temperature: 0, logitBias: { 7: -100 } });
    const l = Float32Array.from({ length: 10 }, (_, i) => (i === 7 ? 50 : i));
    expect(greedy.sample(l)).toBe(9);
    expect(l[7]).toBe(-Infinity); // adjusted in place
  });

  it('logit bias +100 forces the token; several +100 tokens share the draw', () => {
    const s = new Sampler({ ...NEUTRAL, temperature: 2, logitBias: { 17: 100 } });
    for (let step = 0; step < 100; step++) expect(s.sample(logits(step))).toBe(17);
    const two = new Sampler({ ...NEUTRAL, temperature: 1, logitBias: { 5: 100, 6: 100, 8: -3 } });
    const seen = new Set(Array.from({ length: 200 }, () => two.sample(new Float32Array(32))));
    expect(seen).toEqual(new Set([5, 6]));
  });

  it('logit bias +100 on tokens a grammar mask already banned leaves the allowed ones to choose from', () => {
    for (const temperature of [0, 1]) {
      const s = new Sampler({ ...NEUTRAL, temperature, logitBias: { 3: 100, 1: 2 } });
      const l = Float32Array.from([-Infinity, 0.5, -Infinity, -Infinity, 1, -Infinity]); // 1 and 4 allowed
      const id = s.sample(l);
      expect([1, 4]).toContain(id);
      expect(Array.from(l)).toEqual([-Infinity, 2.5, -Infinity, -Infinity, 1, -Infinity]);
      // once the forced token is allowed again, it wins
      expect(s.sample(Float32Array.from([0, 0.5, 0, 0, 1, 0]))).toBe(3);
    }
  });

  it('a moderate bias shifts the logit by exactly its value', () => {
    const s = new Sampler({ ...NEUTRAL, temperature: 0, logitBias: { 2: 3.5, 4: -1.25 } });
    const l = Float32Array.from([1, 2, 3, 4, 5]);
    expect(s.sample(l)).toBe(2);
    expect(Array.from(l)).toEqual([1, 2, 6.5, 4, 3.75]);
  });
});
