import { median, positiveInt, readBenchArgs } from './benchCli';

describe('readBenchArgs', () => {
  const flags = ['--rounds', '--isas'];
  it('takes the model file and each --flag value pair, in any order', () => {
    const { file, values } = readBenchArgs(['--rounds', '3', 'm.gguf', '--isas', 'avx2,avx512'], flags, 'tool m.gguf');
    expect(file).toBe('m.gguf');
    expect([...values]).toEqual([
      ['--rounds', '3'],
      ['--isas', 'avx2,avx512'],
    ]);
  });
  it('refuses an unknown flag, a flag without a value, a second file and no file, with the usage', () => {
    expect(() => readBenchArgs(['m.gguf', '--steps', '4'], flags, 'tool m.gguf')).toThrow('unknown argument --steps (usage: tool m.gguf)');
    expect(() => readBenchArgs(['m.gguf', '--rounds'], flags, 'tool m.gguf')).toThrow('--rounds needs a value');
    expect(() => readBenchArgs(['m.gguf', 'n.gguf'], flags, 'tool m.gguf')).toThrow('unknown argument n.gguf');
    expect(() => readBenchArgs(['--rounds', '2'], flags, 'tool m.gguf')).toThrow('usage: tool m.gguf');
  });
});

describe('positiveInt', () => {
  it('reads integers ≥ 1, the fallback when absent, and refuses the rest', () => {
    const v = new Map([
      ['--a', '7'],
      ['--b', '0'],
      ['--c', '2.5'],
      ['--d', 'x'],
    ]);
    expect(positiveInt(v, '--a', 1)).toBe(7);
    expect(positiveInt(v, '--missing', 9)).toBe(9);
    for (const f of ['--b', '--c', '--d']) expect(() => positiveInt(v, f, 1)).toThrow(`${f}: an integer ≥ 1`);
  });
});

describe('median', () => {
  it('is the upper middle of the sorted values, without reordering its input', () => {
    const xs = [5, 1, 4, 2];
    expect(median(xs)).toBe(4);
    expect(xs).toEqual([5, 1, 4, 2]);
    expect(median([3, 1, 2])).toBe(2);
  });
});
