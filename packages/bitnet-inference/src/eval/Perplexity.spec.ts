import { logSoftmaxAt, unigramPerplexity } from './Perplexity';

describe('perplexity helpers', () => {
  it('logSoftmaxAt is a normalized log-probability, stable for large logits', () => {
    const l = Float32Array.of(1000, 1001, 999);
    const p = [0, 1, 2].map((i) => Math.exp(logSoftmaxAt(l, i)));
    expect(p[0] + p[1] + p[2]).toBeCloseTo(1, 12);
    expect(p[1] / p[0]).toBeCloseTo(Math.E, 9);
  });

  it('unigramPerplexity uses add-one smoothing over the vocabulary', () => {
    // counts 3,1,0 -> p = 4/7, 2/7, 1/7
    expect(unigramPerplexity([0], [3, 1, 0])).toBeCloseTo(7 / 4, 12);
    expect(unigramPerplexity([2, 2], [3, 1, 0])).toBeCloseTo(7, 12);
    expect(unigramPerplexity([0, 1], [3, 1, 0])).toBeCloseTo(Math.sqrt((7 / 4) * (7 / 2)), 12);
  });
});
