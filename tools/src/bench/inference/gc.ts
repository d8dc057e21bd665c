/**
 * Garbage collections of the measuring process's main thread while a stream row runs, beside its
 * event-loop delay: a late timer with a long pause here was V8's work, one without it the process's
 * own (or the machine's). PerformanceObserver 'gc' entries are this isolate's only: the engine's
 * model thread collects in its own isolate and never delays the event loop.
 */
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';

/** What the report keeps of a row's main-thread collections. */
export interface MainGcSummary {
  /** Collections of any kind. */
  count: number;
  /** Mark-compacts (full collections). */
  majorCount: number;
  /** Longest single entry, ms. */
  maxMs: number;
  /**
   * Longest stretch of entries back to back (each starting within 1 ms of the previous one's end),
   * ms: an incremental collection's finalization and the mark-compact after it are two entries but
   * one delay to a timer.
   */
  longestBurstMs: number;
  /** All entries together, ms. */
  totalMs: number;
}

/** One 'gc' entry as summarizeGc reads it (`kind`: perf_hooks' NODE_PERFORMANCE_GC_* flags). */
export interface GcEntry {
  startTime: number;
  duration: number;
  kind: number;
}

/** Entries closer than this (ms) count as one burst. */
const BURST_GAP_MS = 1;

export function summarizeGc(entries: readonly GcEntry[]): MainGcSummary {
  const sorted = [...entries].sort((a, b) => a.startTime - b.startTime);
  let longestBurstMs = 0;
  let burstStart = 0;
  let burstEnd = -Infinity;
  for (const e of sorted) {
    if (e.startTime > burstEnd + BURST_GAP_MS) burstStart = e.startTime;
    burstEnd = Math.max(burstEnd, e.startTime + e.duration);
    longestBurstMs = Math.max(longestBurstMs, burstEnd - burstStart);
  }
  return {
    count: entries.length,
    majorCount: entries.filter((e) => e.kind === constants.NODE_PERFORMANCE_GC_MAJOR).length,
    maxMs: entries.reduce((m, e) => Math.max(m, e.duration), 0),
    longestBurstMs,
    totalMs: entries.reduce((s, e) => s + e.duration, 0),
  };
}

/** Records the main thread's collections from construction until `stop`. */
export class MainGcRecorder {
  private readonly entries: GcEntry[] = [];
  private readonly observer = new PerformanceObserver((list) => this.add(list.getEntries()));

  constructor() {
    this.observer.observe({ entryTypes: ['gc'] });
  }

  /** Stops and summarizes; entries still queued for delivery are taken first. */
  stop(): MainGcSummary {
    this.add(this.observer.takeRecords());
    this.observer.disconnect();
    return summarizeGc(this.entries);
  }

  private add(list: readonly PerformanceEntry[]): void {
    for (const e of list) this.entries.push({ startTime: e.startTime, duration: e.duration, kind: (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? 0 });
  }
}
