import { TokenPieces } from './TokenPieces';

const lp = (logprob: number, bytes: number[]) => ({ logprob, bytes, topLogprobs: [{ id: 7, text: 'x', logprob: logprob - 1, bytes: [0x78] }] });

describe('TokenPieces with logprobs', () => {
  it('keeps each id\'s logprobs on its piece while its text is held, settled or cut by a stop string', () => {
    const p = new TokenPieces();
    p.add(1, '', lp(-0.1, [0xc3])); // begins a character
    p.add(2, 'é', lp(-0.2, [0xa9]));
    p.shown('é');
    expect(p.settle(false)).toEqual([
      { id: 1, text: '', ...lp(-0.1, [0xc3]) },
      { id: 2, text: 'é', ...lp(-0.2, [0xa9]) },
    ]);
    p.add(3, 'ab', lp(-0.3, [0x61, 0x62]));
    p.add(4, 'cd');
    p.shown('a'); // a stop string began at 'b'
    expect(p.finish('')).toEqual([
      { id: 3, text: 'a', ...lp(-0.3, [0x61, 0x62]) },
      { id: 4, text: '' },
    ]);
  });
});
