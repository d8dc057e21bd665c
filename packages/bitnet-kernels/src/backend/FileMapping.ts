import type { KernelMode } from './KernelBackend';
import { requestedKernelMode, resolveBackend } from './KernelBackend';

/** Thrown when the native addon cannot map a file (it cannot be opened, is not a regular file, mmap failed). */
export class FileMappingError extends Error {
  /** Always 'MAP_FAILED'. */
  readonly code = 'MAP_FAILED';
  /** The OS error number, when a system call failed. */
  readonly errno?: number;
  /** The system call that failed ('open', 'fstat', 'mmap'), when one did. */
  readonly syscall?: string;

  /** `path`: the file; `cause`: the addon's error (its message carries the OS's reason). */
  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    const c = cause as { message?: string; errno?: unknown; syscall?: unknown };
    super(`cannot map '${path}': ${c?.message ?? String(cause)}`, { cause });
    this.name = 'FileMappingError';
    if (typeof c?.errno === 'number') this.errno = c.errno;
    if (typeof c?.syscall === 'string') this.syscall = c.syscall;
  }
}

/**
 * Maps the whole file at `path` read-only into this process (mmap, PROT_READ, MAP_PRIVATE) and
 * returns it as an ArrayBuffer of the file's size whose pages are the page cache's: typed-array
 * views into it cost no private memory. The mapping lives as long as the ArrayBuffer (or any view
 * of it) is reachable and is unmapped when it is collected. Writing into it is a fault: only read.
 *
 * Returns undefined when `mode` (default: BITNET_KERNELS, else 'auto') runs the TypeScript kernels,
 * which cannot map files: callers then read the file as usual. Throws a TypeError for a path that
 * is not a non-empty string, FileMappingError when the file cannot be mapped, and
 * KernelUnavailableError when mode 'native' is asked for without the addon.
 */
export function mapFile(path: string, mode: KernelMode = requestedKernelMode()): ArrayBuffer | undefined {
  if (typeof path !== 'string' || path.length === 0 || path.includes('\0')) {
    throw new TypeError(`mapFile: path must be a non-empty string without NUL characters, got ${typeof path === 'string' ? JSON.stringify(path) : typeof path}`);
  }
  const { addon } = resolveBackend(mode);
  if (!addon) return undefined;
  try {
    return addon.mapFile(path);
  } catch (cause) {
    throw new FileMappingError(path, cause);
  }
}
