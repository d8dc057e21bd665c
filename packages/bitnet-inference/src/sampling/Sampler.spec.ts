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
