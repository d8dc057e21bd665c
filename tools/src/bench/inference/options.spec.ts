import * as path from 'node:path';
import { FULL_WORKLOAD, QUICK_WORKLOAD, UsageError, parseBenchArgs } from './options';

describe('inference bench options', () => {
  it('defaults to all four engines (ours, ours with the Q8_0 output, ours screened, llama.cpp), all three files, two threads and the env cache dir', () => {
    const o = parseBenchArgs([], { BITNET_BENCH_DIR: '/data/bench' });
    expect(o).toMatchObject({ quick: false, engines: ['ours', 'ours-q8', 'ours-screened', 'llama'], types: ['i2_s', 'tq2_0', 'tq1_0'], dir: '/data/bench', output: true, threads: 2, tmpModels: false, longContext: 'ours' });
  });

  it('reads lists in either form and keeps their canonical order', () => {
    const o = parseBenchArgs(['--types', 'TQ1_0,i2_s', '--engines=llama', '--quick', '--no-output', '--dir', 'x/y', '--threads=4']);
    expect(o.types).toEqual(['i2_s', 'tq1_0']);
    expect(o.engines).toEqual(['llama']);
    expect(o).toMatchObject({ quick: true, output: false, threads: 4, dir: path.resolve('x/y') });
  });

  it('runs the long-context sequence on ours by default, on every engine or on none on request', () => {
    expect(parseBenchArgs(['--long-context-llama']).longContext).toBe('all');
    expect(parseBenchArgs(['--no-long-context']).longContext).toBe('none');
  });

  it.each([
    [['--types', 'q4_0'], "--types: unknown value 'q4_0' (expected one of i2_s, tq2_0, tq1_0)"],
    [['--engines', 'ours,vllm'], "--engines: unknown value 'vllm' (expected one of ours, ours-q8, ours-screened, llama)"],
    [['--types', ','], '--types needs at least one of i2_s, tq2_0, tq1_0'],
    [['--dir'], '--dir needs a value'],
    [['--threads', '0'], "--threads must be an integer from 1 to 256, got '0'"],
    [['--quick=yes'], '--quick takes no value'],
    [['--fast'], "unknown argument '--fast'"],
    [['--no-long-context=1'], '--no-long-context takes no value'],
    [['--long-context-llama', '--no-long-context'], '--long-context-llama and --no-long-context exclude each other'],
    [['--engines', 'llama', '--types', 'i2_s'], 'llama.cpp cannot load I2_S: with --engines llama pick --types tq2_0 and/or tq1_0'],
  ])('rejects %j', (argv, message) => {
    expect(() => parseBenchArgs(argv as string[])).toThrow(new UsageError(message as string));
  });

  it('the quick workload is smaller than the full one in every part', () => {
    for (const k of ['promptTokens', 'newTokens', 'streamPromptTokens', 'streamNewTokens'] as const) expect(QUICK_WORKLOAD[k]).toBeLessThan(FULL_WORKLOAD[k]);
    expect(FULL_WORKLOAD).toMatchObject({ promptTokens: 256, newTokens: 64, streamPromptTokens: 32, streamNewTokens: 64, streamCounts: [4, 8] });
    // the long-context sequence fills the 2B4T context (4096 positions): a 4032-token prompt and 64 new tokens
    expect(FULL_WORKLOAD.longContextTokens - FULL_WORKLOAD.longNewTokens).toBe(4032);
    expect(FULL_WORKLOAD.longContextTokens).toBe(4096);
    expect(QUICK_WORKLOAD.longContextTokens).toBeLessThan(FULL_WORKLOAD.longContextTokens);
    // issue 18's chat: 6 turns from 172 prompt tokens, ~134 more per turn (24-token reply + 110 user ids): 842 at turn 6
    const c = FULL_WORKLOAD.chat;
    expect(c.firstPromptTokens + (c.turns - 1) * (c.userTokens + c.replyTokens)).toBe(842);
    for (const k of ['turns', 'firstPromptTokens', 'userTokens', 'replyTokens'] as const) expect(QUICK_WORKLOAD.chat[k]).toBeLessThan(c[k]);
  });
});
