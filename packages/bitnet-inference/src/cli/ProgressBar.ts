/**
 * A one-line progress bar for the command-line tools, drawn on a terminal stream (stderr) with a
 * carriage return. Disabled, it draws nothing: the tools turn it off when stdout or stderr is not a
 * terminal and with --json, so piped output and logs never see it.
 */

/** Where the bar is drawn: a writable stream, and whether it is a terminal (and its width). */
export interface ProgressTarget {
  write(s: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

function mib(bytes: number): string {
  return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
}

/** Draws "label [#####-----] 50% detail" at most every `intervalMs`, and always at 100%. */
export class ProgressBar {
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly target: ProgressTarget,
    /** Draw at all (see `progressEnabled`). */
    readonly enabled: boolean,
    private readonly intervalMs = 80,
  ) {}

  /** Bytes of a load: the detail reads "12.0/48.0 MiB". */
  bytes(label: string, done: number, total: number): void {
    this.update(label, done, total, `${mib(done)}/${mib(total)}`);
  }

  /** A count of items, e.g. prompt tokens: the detail reads "done/total unit". */
  count(label: string, done: number, total: number, unit: string): void {
    this.update(label, done, total, `${done}/${total} ${unit}`);
  }

  /** Redraws the line (throttled), as a fraction done/total. */
  update(label: string, done: number, total: number, detail: string): void {
    if (!this.enabled) return;
    const now = Date.now();
    const complete = total > 0 && done >= total;
    if (!complete && now - this.lastDraw < this.intervalMs) return;
    this.lastDraw = now;
    const frac = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
    const width = Math.max(10, Math.min(30, (this.target.columns ?? 80) - label.length - detail.length - 12));
    const full = Math.round(frac * width);
    this.target.write(`\r\x1b[2K${label} [${'#'.repeat(full)}${'-'.repeat(width - full)}] ${String(Math.round(frac * 100)).padStart(3)}% ${detail}`);
    this.drawn = true;
  }

  /** Clears the bar's line, so that what follows starts on a clean line. */
  clear(): void {
    if (!this.enabled || !this.drawn) return;
    this.target.write('\r\x1b[2K');
    this.drawn = false;
    this.lastDraw = 0;
  }
}

/** Whether a tool should draw progress: both streams are terminals and the output is not JSON. */
export function progressEnabled(stdout: { isTTY?: boolean }, stderr: { isTTY?: boolean }, json = false): boolean {
  return !json && stdout.isTTY === true && stderr.isTTY === true;
}
