/**
 * The bench's PNG: grouped bars of the ratios ours/llama.cpp (decode, prefill, aggregate 4 and 8
 * streams), one bar per compared file pair, each group with its target as a dashed line, and our
 * absolute bounds (roofline share, load, private memory, event-loop delay) as text underneath.
 */
import type { Comparison } from './report';
import { engineLabel, fmt } from './report';
import { Canvas, Rgb } from './png';

const INK: Rgb = [30, 30, 30];
const GRID: Rgb = [225, 225, 225];
const PARITY: Rgb = [120, 120, 120];
const TARGET: Rgb = [200, 30, 30];
const MET: Rgb = [20, 130, 50];
const BARS: Rgb[] = [
  [52, 101, 164],
  [237, 146, 36],
  [110, 75, 160],
];
const RATIO_KEYS = ['decode', 'prefill', 'agg4', 'agg8'];
const GROUP_LABELS: Record<string, string> = { decode: 'DECODE', prefill: 'PREFILL', agg4: '4 STREAMS', agg8: '8 STREAMS' };
const BOUND_LABELS: Record<string, string> = { roofline: 'ROOFLINE', load: 'LOAD', privatePeak: 'PRIVATE', eventLoop: 'EVENT LOOP' };

export interface ChartInfo {
  quick: boolean;
  cpu: string;
  date: string;
}

const pairLabel = (c: Comparison) => `${engineLabel(c.engine).toUpperCase()} ${c.ours.toUpperCase()} VS LLAMA.CPP ${c.llama ? c.llama.toUpperCase() : '-'}`;

export function renderChart(comparisons: Comparison[], info: ChartInfo): Buffer {
  const W = 960;
  const plotTop = 70;
  const plotH = 300;
  const left = 70;
  const right = W - 20;
  const boundsLines = comparisons.length;
  const H = plotTop + plotH + 70 + 22 * comparisons.length + 30 + 20 * boundsLines + 30;
  const cv = new Canvas(W, H);
  cv.text(W / 2, 14, 'BITNET-TS / LLAMA.CPP THROUGHPUT RATIO (HIGHER IS BETTER)', INK, 2, 'center');
  cv.text(W / 2, 40, `${info.cpu} · ${info.date}${info.quick ? ' · QUICK RUN (HARNESS CHECK ONLY)' : ''}`, PARITY, 1, 'center');
  cv.text(W / 2, 54, 'GRAY LINE: PARITY (1X) · RED DASHES: TARGET', PARITY, 1, 'center');

  const paired = comparisons.filter((c) => c.llama);
  const ratioOf = (c: Comparison, key: string) => c.checks.find((k) => k.target.key === key)?.value ?? NaN;
  const targets = RATIO_KEYS.map((k) => comparisons[0]?.checks.find((x) => x.target.key === k)?.target.value ?? 1);
  const values = paired.flatMap((c) => RATIO_KEYS.map((k) => ratioOf(c, k))).filter(Number.isFinite);
  const top = Math.max(1.2, ...targets.map((t) => t * 1.15), ...values.map((v) => v * 1.15));
  const step = top > 8 ? 2 : top > 4 ? 1 : 0.5;
  const yOf = (v: number) => plotTop + plotH - (Math.min(v, top) / top) * plotH;

  // grid and y axis labels
  for (let v = 0; v <= top + 1e-9; v += step) {
    cv.hline(left, Math.round(yOf(v)), right - left, GRID);
    cv.text(left - 8, Math.round(yOf(v)) - 3, `${v.toFixed(1)}X`, INK, 1, 'right');
  }
  cv.hline(left, Math.round(yOf(1)), right - left, PARITY, 2);

  const groupW = (right - left) / RATIO_KEYS.length;
  const barW = Math.min(60, (groupW - 40) / Math.max(1, paired.length));
  RATIO_KEYS.forEach((key, g) => {
    const gx = left + g * groupW;
    const barsW = barW * paired.length;
    const x0 = gx + (groupW - barsW) / 2;
    // the target first: bars and their labels are drawn over it
    const t = targets[g];
    const ty = Math.round(yOf(t));
    cv.hline(gx + 10, ty, groupW - 20, TARGET, 2, 6);
    paired.forEach((c, i) => {
      const v = ratioOf(c, key);
      const x = x0 + i * barW;
      if (!Number.isFinite(v)) {
        cv.text(x + barW / 2, yOf(0) - 12, 'N/A', INK, 1, 'center');
        return;
      }
      const y = yOf(v);
      cv.fill(x + 3, y, barW - 6, yOf(0) - y, BARS[i % BARS.length]);
      const label = `${fmt(v, 2)}X`;
      const lw = Canvas.textWidth(label) + 4;
      cv.fill(x + barW / 2 - lw / 2, Math.round(y) - 14, lw, 11, [255, 255, 255]);
      cv.text(x + barW / 2, Math.round(y) - 12, label, INK, 1, 'center');
    });
    cv.text(gx + groupW / 2, plotTop + plotH + 10, GROUP_LABELS[key], INK, 2, 'center');
    cv.text(gx + groupW / 2, plotTop + plotH + 30, `TARGET ≥ ${t}X`, TARGET, 1, 'center');
  });
  cv.hline(left, plotTop + plotH, right - left, INK, 1);

  // legend
  let y = plotTop + plotH + 54;
  paired.forEach((c, i) => {
    cv.fill(left, y, 14, 14, BARS[i % BARS.length]);
    cv.text(left + 22, y + 1, pairLabel(c) + (c.ours !== c.llama ? ' (LLAMA.CPP CANNOT LOAD I2_S)' : ''), INK, 2);
    y += 22;
  });

  // absolute bounds on our engine
  y += 12;
  cv.text(left, y, 'BITNET-TS BOUNDS:', INK, 2);
  y += 22;
  for (const c of comparisons) {
    const parts = c.checks
      .filter((k) => k.target.kind !== 'ratio-min')
      .map((k) => {
        const label = BOUND_LABELS[k.target.key] ?? k.target.key.toUpperCase();
        const unit = k.target.unit.toUpperCase();
        const state = k.informational ? 'INFO' : k.met === undefined ? 'N/A' : k.met ? 'MET' : 'MISSED';
        const sign = k.target.kind === 'min' ? '≥' : '≤';
        return { text: `${label} ${fmt(k.value, k.target.digits ?? 2)} ${unit} (${sign} ${k.target.value} ${unit} ${state})`, met: k.met };
      });
    let x = left;
    const who = `${c.ours.toUpperCase()}${c.engine === 'ours-q8' ? ' Q8_0 OUT' : c.engine === 'ours-screened' ? ' SCREENED' : ''}:`;
    cv.text(x, y, who, INK, 1);
    x += Math.max(60, Canvas.textWidth(who) + 12);
    for (const p of parts) {
      cv.text(x, y, p.text, p.met === false ? TARGET : p.met ? MET : INK, 1);
      x += Canvas.textWidth(p.text) + 16;
    }
    y += 20;
  }
  return cv.toPng();
}
