import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildSyntheticModel } from '../synthetic/SyntheticModel';
import { smallByteVocab } from '../synthetic/SyntheticVocab';
import { createTokenizer } from '../tokenizer/createTokenizer';
import { GgufFile } from '../gguf/GgufFile';
import { main } from './bitnet-gguf';

const ROOT = path.resolve(__dirname, '../../../..');
const BIN = path.join(ROOT, 'node_modules/.bin/bitnet-gguf');

describe('bitnet-gguf CLI', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bitnet-gguf-cli-'));
  const model = path.join(dir, 'm.gguf');
  beforeAll(() => {
    buildSyntheticModel({ arch: 'bitnet', quant: 'tq2_0', dim: 256, ff: 512, layers: 2, heads: 4, kvHeads: 2, vocab: smallByteVocab(), seed: 5, name: 'cli-test' }).writeFile(model);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  function run(args: string[]): string {
    let out = '';
    expect(main(args, (s) => (out += s))).toBe(0);
    return out;
  }

  it('info --json describes metadata, tensors and the model', () => {
    const info = JSON.parse(run(['info', model, '--json']));
    expect(info.version).toBe(3);
    expect(info.metadata['general.name']).toBe('cli-test');
    expect(info.metadata['tokenizer.ggml.tokens']).toMatchObject({ array: 'string', length: smallByteVocab().tokens.length });
    expect(info.tensors).toHaveLength(2 + 2 * (4 + 7 + 7)); // embedding, output norm; per layer 4 norms, 7 matmuls, 7 scales
    expect(info.tensors.find((t: { name: string }) => t.name === 'blk.0.ffn_up.weight')).toMatchObject({ type: 'TQ2_0', dims: [256, 512], bytes: 512 * 66 }) // one 256-block per row;
    expect(info.model.config).toMatchObject({ architecture: 'bitnet', blockCount: 2, ffnActivation: 'silu' });
  });

  it('info prints a readable table', () => {
    const text = run(['info', model]);
    expect(text).toMatch(/model: +cli-test — bitnet \(silu\), TQ2_0 projections/);
    expect(text).toMatch(/blk\.1\.ffn_down\.weight +TQ2_0 +\[512, 256\]/);
  });

  it('info shortens long arrays unless --full', () => {
    const n = smallByteVocab().tokens.length;
    const short = JSON.parse(run(['info', model, '--json']));
    expect(short.metadata['tokenizer.ggml.tokens'].first).toHaveLength(8);
    const text = run(['info', model]);
    expect(text).toMatch(new RegExp(`tokenizer\\.ggml\\.tokens = \\[.*, … ${n - 8} more\\] \\(string × ${n}\\)`));
    expect(text).toContain('--full prints them whole');
    const full = JSON.parse(run(['info', model, '--json', '--full']));
    expect(full.metadata['tokenizer.ggml.tokens']).toEqual(smallByteVocab().tokens);
    const fullText = run(['info', model, '--full']);
    expect(fullText).not.toContain('more] (');
    expect(fullText.length).toBeGreaterThan(text.length);
  });

  it('tokenize prints the ids of each input without BOS', () => {
    const inputs = ['Hello world', 'And God said', '', 'x<|eot_id|>y'];
    const file = path.join(dir, 'in.json');
    fs.writeFileSync(file, JSON.stringify(inputs));
    const ids = JSON.parse(run(['tokenize', model, '--input', file]));
    const f = GgufFile.open(model);
    const tok = createTokenizer(f.metadata);
    f.close();
    expect(ids).toEqual(inputs.map((s) => tok.encode(s, { addBos: false, parseSpecial: false })));
    expect(ids[0][0]).not.toBe(tok.bosId);
    expect(ids[3]).not.toContain(tok.eotId); // special-token text stays text
    expect(tok.decode(ids[1])).toBe('And God said');
  });

  it('works as the installed bin, with clear errors', () => {
    expect(fs.existsSync(BIN)).toBe(true);
    const out = execFileSync(BIN, ['info', model, '--json'], { encoding: 'utf8' });
    expect(JSON.parse(out).model.config.architecture).toBe('bitnet');
    const bad = path.join(dir, 'bad.gguf');
    fs.writeFileSync(bad, 'GGUF\x01\x00\x00\x00');
    const r = spawnSync(BIN, ['info', bad], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/GgufFormatError \[BAD_VERSION\].*version 1/);
    const usage = spawnSync(BIN, ['frobnicate'], { encoding: 'utf8' });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/unknown command/);
  });
});
