/**
 * Memory for large buffers whose end the caller knows (a sequence's KV cache): with the native addon,
 * pages straight from the OS that are committed as they are first written and handed back the moment
 * `release` is called, instead of whenever a garbage collection gets to the buffer — so a server's
 * memory returns to where it was as each request ends, and the next request's peak does not include
 * the last one's cache. The TypeScript kernels get plain ArrayBuffers (release is then a no-op).
 */
import type { KernelMode } from './KernelBackend';
import { requestedKernelMode, resolveBackend } from './KernelBackend';
import { describeValue } from '@bitnet/models';

/** How `PageMemory.allocate` maps a buffer. */
export interface PageAllocateOptions {
  /**
   * Ask for transparent huge pages (Linux; the buffer starts on a 2 MB boundary and is advised
   * MADV_HUGEPAGE): for large buffers read front to back again and again, such as weights converted at
   * load, which then stream with one TLB entry per 2 MB. Pages are committed 2 MB at a time, so not
   * for buffers written sparsely (a KV cache). A hint: elsewhere, or where the OS refuses, the same
   * zero-filled memory in small pages. Default false.
   */
  hugePages?: boolean;
}

/** See the module comment. */
export interface PageMemory {
  /** A zero-filled buffer of `bytes` (a positive integer). */
  allocate(bytes: number, options?: PageAllocateOptions): ArrayBuffer;
  /**
   * Returns `buffer`'s memory now when it came from `allocate` (the buffer is detached: every view of
   * it becomes empty, so nothing can read the freed pages); false otherwise and on a second call.
   */
  release(buffer: ArrayBuffer): boolean;
}

const plain: PageMemory = { allocate: (bytes) => new ArrayBuffer(bytes), release: () => false };

/** The page memory of kernel mode `mode` (default: BITNET_KERNELS, else 'auto'). */
export function pageMemory(mode: KernelMode = requestedKernelMode()): PageMemory {
  const { addon } = resolveBackend(mode);
  if (!addon) return plain;
  return {
    allocate(bytes, options = {}) {
      if (!Number.isSafeInteger(bytes) || bytes < 1) throw new RangeError(`pageMemory.allocate: bytes must be a positive integer, got ${describeValue(bytes)}`);
      const huge = options.hugePages ?? false;
      if (typeof huge !== 'boolean') throw new TypeError(`pageMemory.allocate: hugePages must be a boolean, got ${describeValue(huge)}`);
      return addon.allocatePages(bytes, huge);
    },
    release: (buffer) => buffer instanceof ArrayBuffer && addon.releasePages(buffer),
  };
}
