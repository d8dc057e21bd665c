import type { GgufTensorInfo } from '@bitnet/models';
import { bytesPerDecodeStep, kvBytesPerPosition, meanDecodePositions, rooflineTokS, tensorDecodeBytes } from './roofline';

const tensor = (name: string, dims: number[], byteSize: number): GgufTensorInfo => ({ name, dims, byteSize, type: 0, offset: 0, elementCount: dims.reduce((a, b) => a * b, 1) });

describe('decode roofline', () => {
  const layers = [tensor('blk.0.attn_q.weight', [64, 64], 1000), tensor('blk.0.attn_norm.weight', [64], 256), tensor('output_norm.weight', [64], 256)];

  it('counts the embedding table whole when tied and one row beside an output matrix', () => {
    expect(tensorDecodeBytes([tensor('token_embd.weight', [64, 100], 12800), ...layers])).toBe(12800 + 1512);
    expect(tensorDecodeBytes([tensor('token_embd.weight', [64, 100], 12800), tensor('output.weight', [64, 100], 6800), ...layers])).toBe(128 + 6800 + 1512);
  });

  it('adds f16 keys and values of every layer at the mean position the timed decode steps attend to', () => {
    // 2B4T: 30 layers, 5 KV heads of 128
    expect(kvBytesPerPosition({ blockCount: 30, headCountKv: 5, headDim: 128 })).toBe(76_800);
    expect(meanDecodePositions(256, 64)).toBe(288);
    expect(bytesPerDecodeStep({ weightBytesPerToken: 1e6, kvBytesPerPosition: 100 }, 288)).toBe(1_028_800);
    expect(rooflineTokS(20, 1e9)).toBe(20);
    expect(rooflineTokS(undefined, 1e9)).toBeNaN();
    expect(rooflineTokS(20, 0)).toBeNaN();
  });
});
