/**
 * Memory of a measurement child, sampled from /proc/self/status on a timer: the resident set and
 * how much of it is private (anonymous and shared-memory pages) or file-backed (pages of mapped
 * files, such as our engine's read-only mapping of the GGUF, which the page cache also holds).
 */
import * as fs from 'node:fs';

/** One reading of /proc/self/status, in bytes. */
export interface MemorySample {
  rss: number;
  anon: number;
  file: number;
  shmem: number;
  /** The kernel's own peak RSS of the process (VmHWM). */
  hwm: number;
}

/** Peaks over a stretch of the measurement, in bytes. */
export interface MemoryPeaks {
  /** Largest sampled RSS (at least VmHWM when the stretch is the whole process). */
  peakRssBytes: number;
  /** File-backed part (RssFile) of the sample with the largest RSS. */
  fileBackedAtPeakBytes: number;
  /** Largest private set sampled: RssAnon + RssShmem. */
  peakPrivateBytes: number;
  samples: number;
}

const FIELDS: Record<string, keyof MemorySample> = { VmRSS: 'rss', RssAnon: 'anon', RssFile: 'file', RssShmem: 'shmem', VmHWM: 'hwm' };

/** Parses the memory fields of a /proc/<pid>/status text (kB lines); undefined when any is missing. */
export function parseProcStatus(text: string): MemorySample | undefined {
  const out: Partial<MemorySample> = {};
  for (const m of text.matchAll(/^(\w+):\s*(\d+)\s*kB$/gm)) {
    const key = FIELDS[m[1]];
    if (key) out[key] = Number(m[2]) * 1024;
  }
  return Object.values(FIELDS).every((k) => out[k] !== undefined) ? (out as MemorySample) : undefined;
}

/** Folds samples into peaks (pure: the spec feeds it made-up samples). */
export class PeakTracker {
  private peaks: MemoryPeaks = { peakRssBytes: 0, fileBackedAtPeakBytes: 0, peakPrivateBytes: 0, samples: 0 };

  add(s: MemorySample): void {
    const p = this.peaks;
    p.samples++;
    if (s.rss > p.peakRssBytes) {
      p.peakRssBytes = s.rss;
      p.fileBackedAtPeakBytes = s.file;
    }
    p.peakPrivateBytes = Math.max(p.peakPrivateBytes, s.anon + s.shmem);
  }

  get value(): MemoryPeaks {
    return { ...this.peaks };
  }
}

function readStatus(): MemorySample | undefined {
  try {
    return parseProcStatus(fs.readFileSync('/proc/self/status', 'utf8'));
  } catch {
    return undefined; // not Linux
  }
}

/**
 * Samples this process's memory every `intervalMs` (unref'd timer: it never keeps the process
 * alive) into a whole-run tracker and any open windows (a stretch such as the long-context run).
 * The computing happens off the main thread in both engines, so the timer keeps firing.
 */
export class MemorySampler {
  private readonly whole = new PeakTracker();
  private readonly windows = new Set<PeakTracker>();
  private readonly timer: NodeJS.Timeout;
  private last: MemorySample | undefined;
  private paused = false;
  /** VmHWM read just before each excluded stretch (the kernel's peak is reset after one). */
  private hwmFloor = 0;
  /** False once a VmHWM reset was refused (VmHWM then still holds an excluded stretch). */
  private hwmTrusted = true;

  constructor(intervalMs = 25) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  /** Takes one sample now. */
  sample(): void {
    if (this.paused) return;
    const s = readStatus();
    if (!s) return;
    this.last = s;
    this.whole.add(s);
    for (const w of this.windows) w.add(s);
  }

  /** Starts a window; call the returned function to end it and get its peaks. */
  window(): () => MemoryPeaks {
    const w = new PeakTracker();
    this.windows.add(w);
    this.sample();
    return () => {
      this.sample();
      this.windows.delete(w);
      return w.value;
    };
  }

  /**
   * Runs `fn` (synchronous) outside the measurement: no samples meanwhile, and the kernel's VmHWM is
   * reset after it (/proc/self/clear_refs "5"), so memory the bench itself takes for a moment (the
   * 1 GiB bandwidth probe) counts in no peak. Where the reset is refused, VmHWM is not used after it.
   */
  excluding<T>(fn: () => T): T {
    this.sample();
    this.hwmFloor = Math.max(this.hwmFloor, this.last?.hwm ?? 0);
    this.paused = true;
    try {
      return fn();
    } finally {
      try {
        fs.writeFileSync('/proc/self/clear_refs', '5');
      } catch {
        this.hwmTrusted = false;
      }
      this.paused = false;
      this.sample();
    }
  }

  /** Stops sampling; the whole run's peaks, with the peak RSS raised to VmHWM if a sample missed it. */
  stop(): MemoryPeaks {
    this.sample();
    clearInterval(this.timer);
    const p = this.whole.value;
    const hwm = this.hwmTrusted ? (this.last?.hwm ?? 0) : 0;
    return { ...p, peakRssBytes: Math.max(p.peakRssBytes, this.hwmFloor, hwm) };
  }
}
