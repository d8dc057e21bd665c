/**
 * Resolves after `ms`, or at once when `signal` aborts (never rejects): a wait between polls or
 * retries that a client leaving or a store closing cuts short.
 */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
