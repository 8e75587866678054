/**
 * Server-rendered SVG charts (d3-scale + d3-shape): a 12-month sparkline for the summary table
 * and a trend chart with the target and warning levels (month by month) for the category pages. No script in the
 * page; every text in the SVG is escaped here.
 */
import { scaleLinear, scalePoint } from 'd3-scale';
import { line } from 'd3-shape';
import { axisFormat, formatMonthShort } from './format.js';
import type { IndicatorModel } from './reportModel.js';

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const r1 = (v: number) => Math.round(v * 10) / 10;

type ChartInd = Pick<IndicatorModel, 'id' | 'name' | 'unit' | 'direction' | 'trend' | 'target' | 'warn' | 'status'>;

/** Whether an indicator's values can never be negative (every unit but `points`: NPS and SERVQUAL gaps). */
function nonNegative(ind: Pick<IndicatorModel, 'unit'>): boolean {
  return ind.unit !== 'points';
}

/**
 * A 12-month sparkline: the line, and the last point as a dot. Each month keeps its place in the
 * 12-month frame (a short history sits at the right, where its months are); the frame itself is a
 * faint baseline, so months without a value read as empty rather than as a squeezed chart.
 */
export function sparklineSvg(ind: ChartInd, opts: { width?: number; height?: number; label?: string } = {}): string {
  const w = opts.width ?? 64;
  const h = opts.height ?? 16;
  const pts = ind.trend.map((p, i) => ({ i, v: p.value }));
  const defined = pts.filter((p) => p.v !== null) as { i: number; v: number }[];
  const label = escapeXml(opts.label ?? ind.name);
  const open = `<svg class="spark" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${label}">`;
  if (defined.length === 0) return `${open}</svg>`;
  let [lo, hi] = [Math.min(...defined.map((p) => p.v)), Math.max(...defined.map((p) => p.v))];
  if (lo === hi) [lo, hi] = [lo - 1, hi + 1];
  const x = scaleLinear().domain([0, Math.max(1, pts.length - 1)]).range([2, w - 3]);
  const y = scaleLinear().domain([lo, hi]).range([h - 2.5, 2.5]);
  const path = line<{ i: number; v: number | null }>()
    .defined((p) => p.v !== null)
    .x((p) => r1(x(p.i)))
    .y((p) => r1(y(p.v!)))(pts);
  const last = pts[pts.length - 1];
  const dot = last && last.v !== null ? `<circle class="spark-last" cx="${r1(x(last.i))}" cy="${r1(y(last.v))}" r="1.8"/>` : '';
  // Months without a value: a dotted baseline under each, so the frame shows.
  const gaps = pts.filter((p) => p.v === null);
  const frame = gaps.length
    ? `<path class="spark-gap" fill="none" stroke="#c3c9d4" stroke-width="0.8" stroke-linecap="round" stroke-dasharray="0.1 2.4" d="${gaps.map((p) => `M${r1(x(p.i) - 1)} ${r1(h - 1.5)}H${r1(x(p.i) + 1)}`).join('')}"/>`
    : '';
  return `${open}${frame}<path class="spark-line" d="${path ?? ''}"/>${dot}</svg>`;
}

export interface TrendChartOptions {
  width?: number;
  height?: number;
  locale: string;
  targetLabel: string;
  warnLabel: string;
  /** Written across an empty chart (no value in any month). */
  emptyLabel?: string;
}

/** Width of a text in px at `fontSize` (Noto Sans: about 0.56 em a Latin or Cyrillic letter, 1 em a CJK one). */
function textWidth(t: string, fontSize: number, bold = false): number {
  return [...t].reduce((a, ch) => a + (ch.codePointAt(0)! > 0x2e80 ? 1 : ch === '.' || ch === ' ' ? 0.28 : 0.56), 0) * fontSize * (bold ? 1.06 : 1);
}

/** How the month labels are set: the largest font that fits them all side by side, else turned. */
export function monthLabelLayout(labels: string[], spacing: number): { fontSize: number; rotate: boolean } {
  const widest = (size: number) => Math.max(...labels.map((l) => textWidth(l, size, true)));
  for (const fontSize of [7.5, 7, 6.5]) if (widest(fontSize) + fontSize * 0.25 <= spacing) return { fontSize, rotate: false };
  return { fontSize: 7, rotate: true };
}

/** A per-month level (target, warn) as steps: each month's level across its slot, a vertical where it changes. */
function stepPath(levels: (number | null)[], xs: number[], half: number, left: number, right: number, y: (v: number) => number): string {
  let d = '';
  levels.forEach((v, i) => {
    if (v === null) return;
    const prev = i > 0 ? levels[i - 1] : null;
    const next = i < levels.length - 1 ? levels[i + 1] : null;
    if (prev === null || prev === undefined) d += `M${r1(Math.max(left, xs[i]! - half))} ${r1(y(v))}`;
    else if (prev !== v) d += `V${r1(y(v))}`;
    // A run of months at one level is one horizontal, to the end of its last month's slot.
    if (next !== v) d += `H${r1(Math.min(right, xs[i]! + half))}`;
  });
  return d;
}

/**
 * Trend over the 12 periods with the target (dashed) and warning (dotted) levels, each drawn month
 * by month as it was in force then (a step where a target changed). The value axis never runs
 * below zero for a measure that cannot be negative, starts at zero for counts, ends at 100 % for
 * rates, and counts durations in the unit that suits them. Every month of the 12 keeps its place.
 */
export function trendChartSvg(ind: ChartInd, opts: TrendChartOptions): string {
  const w = opts.width ?? 330;
  const h = opts.height ?? 140;
  const periods = ind.trend.map((p) => p.period);
  const raw = ind.trend.map((p) => p.value);
  // The level in force each month; a metrics.json written before they were recorded has the current one.
  const levelOf = (p: ChartInd['trend'][number], key: 'target' | 'warn') => (p[key] !== undefined ? p[key] : ind[key]);
  const targets = ind.target === null && ind.trend.every((p) => p.target == null) ? periods.map(() => null) : ind.trend.map((p) => levelOf(p, 'target'));
  const warns = ind.warn === null && ind.trend.every((p) => p.warn == null) ? periods.map(() => null) : ind.trend.map((p) => levelOf(p, 'warn'));
  const label = escapeXml(ind.name);
  const known = [...raw, ...targets, ...warns].filter((v): v is number => v !== null);
  const axis = axisFormat(ind.id, known.length ? Math.max(...known.map(Math.abs)) : 0, opts.locale);
  const sc = (v: number) => v * axis.scale;
  const values = raw.filter((v): v is number => v !== null).map(sc);
  const all = known.map(sc);
  let lo = all.length ? Math.min(...all) : 0;
  let hi = all.length ? Math.max(...all) : 1;
  if (lo === hi) [lo, hi] = [lo - Math.max(1, Math.abs(lo) * 0.1), hi + Math.max(1, Math.abs(hi) * 0.1)];
  const pad = (hi - lo) * 0.08;
  lo -= pad;
  hi += pad;
  if (ind.unit === 'count') lo = 0;
  else if (nonNegative(ind)) lo = Math.max(0, lo);
  const y0 = scaleLinear().domain([lo, hi]).nice(4);
  let [d0, d1] = y0.domain() as [number, number];
  if (ind.unit === '%') d1 = Math.min(100, d1);
  if (d1 <= d0) d1 = d0 + 1;

  // Month labels: all twelve, in a smaller font or turned when they would not fit side by side.
  const labels = periods.map((p) => formatMonthShort(p, opts.locale));
  const m = { top: 10, right: 44, bottom: 18, left: 44 };
  const slot = periods.length > 1 ? (w - m.right - 4 - (m.left + 4)) / (periods.length - 1) : Infinity;
  const layout = monthLabelLayout(labels, slot);
  if (layout.rotate) m.bottom = Math.ceil(8 + Math.max(...labels.map((l) => textWidth(l, layout.fontSize, true))) * 0.72);
  const y = scaleLinear().domain([d0, d1]).range([h - m.bottom, m.top]);
  const x = scalePoint<string>().domain(periods).range([m.left + 4, w - m.right - 4]);
  const ticks = y.ticks(4);
  const step = ticks.length > 1 ? ticks[1]! - ticks[0]! : 1;
  const parts: string[] = [];
  parts.push(`<svg class="trend" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${label}">`);
  for (const tk of ticks) {
    const yy = r1(y(tk));
    parts.push(`<line class="grid" x1="${m.left}" x2="${w - m.right}" y1="${yy}" y2="${yy}"/>`);
    parts.push(`<text class="tick" x="${m.left - 4}" y="${yy}" dy="0.32em" text-anchor="end">${escapeXml(axis.format(tk, step))}</text>`);
  }
  const fontStyle = layout.fontSize !== 7.5 ? ` style="font-size:${layout.fontSize}px"` : '';
  periods.forEach((p, i) => {
    const xx = r1(x(p)!);
    const isYearStart = p.endsWith('-01') || i === 0;
    const cls = `tick tick-month${isYearStart ? ' tick-year' : ''}`;
    const text = escapeXml(labels[i]!);
    if (layout.rotate) {
      const yy = h - m.bottom + 8;
      parts.push(`<text class="${cls}" x="${xx}" y="${yy}" text-anchor="end" transform="rotate(-45 ${xx} ${yy})"${fontStyle}>${text}</text>`);
    } else parts.push(`<text class="${cls}" x="${xx}" y="${h - 5}" text-anchor="middle"${fontStyle}>${text}</text>`);
  });
  const xs = periods.map((p) => x(p)!);
  const half = x.step() / 2;
  // Each label beside the level in force last; two labels closer than a line of text are set apart.
  const lastOf = (levels: (number | null)[]) => [...levels].reverse().find((v): v is number => v !== null);
  const [tLast, wLast] = [lastOf(targets), lastOf(warns)];
  let tY = tLast === undefined ? 0 : y(sc(tLast));
  let wY = wLast === undefined ? 0 : y(sc(wLast));
  const gap = 8;
  if (tLast !== undefined && wLast !== undefined && Math.abs(tY - wY) < gap) {
    const mid = (tY + wY) / 2;
    // Keep their order; at one height the target goes on the better side (above when higher is better).
    const targetAbove = tY !== wY ? tY < wY : ind.direction !== 'lower';
    [tY, wY] = targetAbove ? [mid - gap / 2, mid + gap / 2] : [mid + gap / 2, mid - gap / 2];
  }
  const refLine = (levels: (number | null)[], cls: string, text: string, labelY: number) => {
    const d = stepPath(levels.map((v) => (v === null ? null : sc(v))), xs, half, m.left, w - m.right, y);
    if (!d) return;
    parts.push(`<path class="${cls}" fill="none" d="${d}"/>`);
    parts.push(`<text class="ref-label ${cls}-label" x="${w - m.right + 3}" y="${r1(labelY)}" dy="0.32em">${escapeXml(text)}</text>`);
  };
  refLine(warns, 'warn-line', opts.warnLabel, wY);
  refLine(targets, 'target-line', opts.targetLabel, tY);
  const pts = ind.trend.map((p) => ({ p: p.period, v: p.value === null ? null : sc(p.value), low: 'lowSample' in p ? Boolean((p as { lowSample?: boolean }).lowSample) : false }));
  const path = line<{ p: string; v: number | null }>()
    .defined((d) => d.v !== null)
    .x((d) => r1(x(d.p)!))
    .y((d) => r1(y(d.v!)))(pts);
  parts.push(`<path class="trend-line" d="${path ?? ''}"/>`);
  pts.forEach((d, i) => {
    if (d.v === null) return;
    const last = i === pts.length - 1;
    parts.push(`<circle class="pt${d.low ? ' pt-low' : ''}${last ? ' pt-last' : ''}" cx="${r1(x(d.p)!)}" cy="${r1(y(d.v))}" r="${last ? 3 : 2}"/>`);
  });
  parts.push(`<line class="axis" x1="${m.left}" x2="${w - m.right}" y1="${h - m.bottom}" y2="${h - m.bottom}"/>`);
  if (values.length === 0 && opts.emptyLabel) {
    parts.push(`<text class="empty-label" x="${r1((m.left + w - m.right) / 2)}" y="${r1((m.top + h - m.bottom) / 2)}" dy="0.32em" text-anchor="middle">${escapeXml(opts.emptyLabel)}</text>`);
  }
  parts.push('</svg>');
  return parts.join('');
}

/** Status icon: distinct shapes (circle-check, triangle-!, square-x, dash), never colour alone. */
export function statusIconSvg(status: string, size = 10): string {
  const s = size;
  const body: Record<string, string> = {
    met: `<circle cx="5" cy="5" r="4.6" class="i-met"/><path d="M2.8 5.2 4.4 6.8 7.3 3.6" class="i-stroke"/>`,
    at_risk: `<path d="M5 .6 9.6 9H.4Z" class="i-risk"/><path d="M5 3.6v2.6" class="i-stroke"/><circle cx="5" cy="7.5" r=".6" class="i-dot"/>`,
    missed: `<rect x=".5" y=".5" width="9" height="9" rx="1.4" class="i-missed"/><path d="M3.2 3.2 6.8 6.8M6.8 3.2 3.2 6.8" class="i-stroke"/>`,
    no_target: `<circle cx="5" cy="5" r="4.4" class="i-none"/><path d="M3 5h4" class="i-stroke-dark"/>`,
    no_data: `<circle cx="5" cy="5" r="4.2" class="i-nodata"/>`,
  };
  return `<svg class="status-icon" width="${s}" height="${s}" viewBox="0 0 10 10" aria-hidden="true">${body[status] ?? body.no_data}</svg>`;
}

/** Change arrow, coloured by the tone class (good/bad/neutral news for that indicator). */
export function arrowSvg(arrow: string, tone: string, size = 8): string {
  if (arrow === 'none') return '';
  const d = arrow === 'up' ? 'M4 .8 7.4 5.6H5v2.6H3V5.6H.6Z' : arrow === 'down' ? 'M4 7.2 7.4 2.4H5V-.2H3v2.6H.6Z' : 'M.6 3h4.2V1.2L7.6 4 4.8 6.8V5H.6Z';
  return `<svg class="arrow tone-${escapeXml(tone)}" width="${size}" height="${size}" viewBox="0 0 8 8" aria-hidden="true"><path d="${d}"/></svg>`;
}
