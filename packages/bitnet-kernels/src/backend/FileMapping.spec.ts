import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileMappingError, mapFile } from './FileMapping';
import { kernelBackend } from './KernelBackend';

const native = kernelBackend('auto').name === 'native';

describe('mapFile', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bitnet-mapfile-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'bytes.bin');
  const bytes = Buffer.from(Array.from({ length: 10_000 }, (_, i) => (i * 37) & 0xff));
  fs.writeFileSync(file, bytes);

  it('checks the path in TypeScript', () => {
    expect(() => mapFile('' as string, 'auto')).toThrow(TypeError);
    expect(() => mapFile(42 as unknown as string, 'auto')).toThrow(TypeError);
    expect(() => mapFile('a\0b', 'auto')).toThrow(TypeError);
  });

  it('returns undefined with the TypeScript kernels (callers read the file instead)', () => {
    expect(mapFile(file, 'ts')).toBeUndefined();
  });

  (native ? it : it.skip)('maps the whole file read-only: same size, same bytes', () => {
    const image = mapFile(file, 'native')!;
    expect(image).toBeInstanceOf(ArrayBuffer);
    expect(image.byteLength).toBe(bytes.length);
    expect(Buffer.from(image).equals(bytes)).toBe(true);
  });

  (native && process.platform === 'linux' ? it : it.skip)('advises the mapping for huge pages, so a file read in through it is cached in 2 MB folios', () => {
    const image = mapFile(file, 'native')!;
    // /proc/self/smaps: the mapping's header line names the file; 'hg' in its VmFlags is MADV_HUGEPAGE
    const entries = fs.readFileSync('/proc/self/smaps', 'utf8').split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/);
    const mine = entries.filter((e) => e.split('\n')[0].endsWith(file));
    expect(mine.length).toBeGreaterThan(0);
    for (const e of mine) expect(/^VmFlags:.*\bhg\b/m.test(e)).toBe(true);
    expect(image.byteLength).toBe(bytes.length);
  });

  (native ? it : it.skip)('reports what the OS refused, with errno and the system call', () => {
    const missing = path.join(dir, 'missing.gguf');
    let err: unknown;
    try {
      mapFile(missing, 'native');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FileMappingError);
    const e = err as FileMappingError;
    expect(e.code).toBe('MAP_FAILED');
    expect(e.path).toBe(missing);
    expect(e.syscall).toBe('open');
    expect(e.errno).toBe(os.constants.errno.ENOENT);
    expect(e.message).toMatch(/No such file or directory/);
    expect(() => mapFile(dir, 'native')).toThrow(/not a non-empty regular file/);
    const empty = path.join(dir, 'empty');
    fs.writeFileSync(empty, '');
    expect(() => mapFile(empty, 'native')).toThrow(FileMappingError);
  });
});
