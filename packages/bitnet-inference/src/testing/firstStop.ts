/**
 * Test reference for stop strings: the text before the first stop string to complete in a one-shot
 * search (earliest end, then earliest start), and which one it was.
 */
export function firstStop(text: string, stops: readonly string[]): { text: string; stop?: string } {
  let best: { start: number; end: number; stop: string } | undefined;
  for (const stop of stops) {
    const at = text.indexOf(stop);
    if (at < 0) continue;
    const end = at + stop.length;
    if (!best || end < best.end || (end === best.end && at < best.start)) best = { start: at, end, stop };
  }
  return best ? { text: text.slice(0, best.start), stop: best.stop } : { text };
}
