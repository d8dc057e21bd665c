import { BitnetModelError, GgufFormatError } from '../errors';
import { BufferSource, ByteSource, FileSource } from './ByteSource';
import { GgufHeader, GgufReadOptions, parseGgufHeader } from './GgufReader';
import { GgufMetadata } from './GgufMetadata';
import { GgufTensorInfo } from './GgufTypes';

/**
 * An open GGUF file: header, metadata and tensor infos parsed up front; tensor data read on demand,
 * one tensor at a time, so opening a 1.2 GB model costs only its header and each tensor's bytes are
 * held once (by whoever asked for them).
 */
export class GgufFile {
  readonly version: number;
  readonly alignment: number;
  readonly metadata: GgufMetadata;
  readonly tensors: readonly GgufTensorInfo[];
  readonly dataOffset: number;
  readonly fileSize: number;
  private readonly byName: Map<string, GgufTensorInfo>;
  private imageBytes: Uint8Array | undefined;
  /** The file's own reader, kept after useImage for data that is converted once (tensorDataForConversion). */
  private fileSource: ByteSource | undefined;

  private constructor(
    private source: ByteSource,
    header: GgufHeader,
    readonly path?: string,
  ) {
    this.version = header.version;
    this.alignment = header.alignment;
    this.metadata = header.metadata;
    this.tensors = header.tensors;
    this.dataOffset = header.dataOffset;
    this.fileSize = header.fileSize;
    this.byName = new Map(header.tensors.map((t) => [t.name, t]));
  }

  /** Opens and validates a GGUF file. Close it (or use `using`-style try/finally) when done. */
  static open(path: string, options?: GgufReadOptions): GgufFile {
    const source = new FileSource(path);
    try {
      return new GgufFile(source, parseGgufHeader(source, options), path);
    } catch (e) {
      source.close();
      throw e;
    }
  }

  /** Parses a GGUF from any byte source (the file object then owns and closes it). */
  static fromSource(source: ByteSource, options?: GgufReadOptions, path?: string): GgufFile {
    return new GgufFile(source, parseGgufHeader(source, options), path);
  }

  /** Parses a GGUF image already in memory; tensor data are views into it (no copy). */
  static fromBuffer(bytes: Uint8Array, options?: GgufReadOptions): GgufFile {
    const source = new BufferSource(bytes);
    return new GgufFile(source, parseGgufHeader(source, options));
  }

  /**
   * From now on, reads tensor data from `image`, the whole file's bytes (typically a read-only
   * mapping of it): tensorData and tensorDataRange then return views into it, never copies (the
   * file's descriptor stays open for tensorDataForConversion until close()). Call it after opening, once the header has been parsed and every
   * tensor checked against the file's size (open does that), so a truncated or malformed file is
   * rejected before its image is used. Throws GgufFormatError ('TRUNCATED') when the image's size is
   * not the size the file had when it was parsed (it changed in between).
   */
  useImage(image: Uint8Array): void {
    if (image.byteLength !== this.fileSize) {
      throw new GgufFormatError(
        'TRUNCATED',
        `the image of ${this.path ? `'${this.path}'` : 'the file'} holds ${image.byteLength} bytes but the file had ${this.fileSize} when it was parsed (was it modified while open?)`,
      );
    }
    this.fileSource = this.source;
    this.source = new BufferSource(image);
    this.imageBytes = image;
  }

  /** The image passed to useImage (tensor data are views into it), or undefined. */
  get image(): Uint8Array | undefined {
    return this.imageBytes;
  }

  get architecture(): string | undefined {
    return this.metadata.optString('general.architecture');
  }

  /** Whether the file holds a tensor of this name. */
  hasTensor(name: string): boolean {
    return this.byName.has(name);
  }

  /** The tensor of this name; throws when there is none. */
  tensor(name: string): GgufTensorInfo {
    const t = this.byName.get(name);
    if (!t) throw new BitnetModelError('MISSING_TENSOR', `tensor '${name}' is not in the file`);
    return t;
  }

  /** The tensor of this name, or undefined. */
  optTensor(name: string): GgufTensorInfo | undefined {
    return this.byName.get(name);
  }

  /** The raw bytes of one tensor (a view for in-memory files, a fresh buffer for files on disk). */
  tensorData(nameOrInfo: string | GgufTensorInfo): Uint8Array {
    const t = typeof nameOrInfo === 'string' ? this.tensor(nameOrInfo) : nameOrInfo;
    return this.source.read(this.dataOffset + t.offset, t.byteSize);
  }

  /**
   * Bytes [start, start + length) of one tensor's data, for converting a large tensor piece by piece
   * without holding all of it (a view for in-memory files, a fresh buffer for files on disk).
   */
  tensorDataRange(nameOrInfo: string | GgufTensorInfo, start: number, length: number): Uint8Array {
    const t = typeof nameOrInfo === 'string' ? this.tensor(nameOrInfo) : nameOrInfo;
    this.checkRange(t, start, length);
    return this.source.read(this.dataOffset + t.offset + start, length);
  }

  private checkRange(t: GgufTensorInfo, start: number, length: number): void {
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(length) || start < 0 || length < 0 || start + length > t.byteSize) {
      throw new RangeError(`bytes ${start}..${start + length} are outside tensor '${t.name}' (${t.byteSize} bytes)`);
    }
  }

  /**
   * Bytes [start, start + length) of a tensor that is read once to be converted (re-encoded,
   * repacked): a private copy read through the file even when an image is in use, so the image's
   * (mapping's) pages of that tensor are never touched and do not stay resident beside the
   * converted copy. Without an image, the same as tensorDataRange.
   *
   * `scratch`: where a copy that has to be made goes (its first `length` bytes; it must hold them),
   * so that a caller converting many tensors reuses one buffer instead of leaving one freed buffer
   * per tensor behind (a 1.1 GB TQ1_0 file's repack read ~0.45 GB that way). The result is then a
   * view of `scratch`, valid until the next call with it; a view of an in-memory file is returned as is.
   */
  tensorDataForConversion(nameOrInfo: string | GgufTensorInfo, start = 0, length?: number, scratch?: Uint8Array): Uint8Array {
    const t = typeof nameOrInfo === 'string' ? this.tensor(nameOrInfo) : nameOrInfo;
    const n = length ?? t.byteSize - start;
    this.checkRange(t, start, n);
    if (scratch !== undefined && scratch.byteLength < n) throw new RangeError(`the scratch buffer holds ${scratch.byteLength} bytes, the read needs ${n}`);
    const from = this.fileSource ?? this.source; // with an image in use, the file's own reader
    const offset = this.dataOffset + t.offset + start;
    if (scratch !== undefined && from instanceof FileSource) {
      from.readInto(offset, scratch, n);
      return scratch.subarray(0, n);
    }
    return from.read(offset, n);
  }

  /** Total bytes of tensor data. */
  get tensorBytes(): number {
    return this.tensors.reduce((s, t) => s + t.byteSize, 0);
  }

  /** Closes the file (tensor data can no longer be read). */
  close(): void {
    this.fileSource?.close();
    this.fileSource = undefined;
    this.source.close();
  }
}
