/**
 * Server-rendered SVG charts (d3-scale + d3-shape): a 12-month sparkline for the summary table
 * and a trend chart with the target and warning lines for the category pages. No script in the
 * page; every text in the SVG is escaped here.
 */
import { scaleLinear, scalePoint } from 'd3-scale';
import { line } from 'd3-shape';
import { formatMonthShort, formatTick } from './format.js';
import type { IndicatorModel } from './reportModel.js';

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const r1 = (v: number) => Math.round(v * 10) / 10;

type ChartInd = Pick<IndicatorModel, 'id' | 'name' | 'trend' | 'target' | 'warn' | 'status'>;

/** A 12-month sparkline: the line, and the last point as a dot. */
export function sparklineSvg(ind: ChartInd, opts: { width?: number; height?: number; label?: string } = {}): string {
  const w = opts.width ?? 64;
  const h = opts.height ?? 16;
  const pts = ind.trend.map((p, i) => ({ i, v: p.value }));
  const defined = pts.filter((p) => p.v !== null) as { i: number; v: number }[];
  const label = escapeXml(opts.label ?? ind.name);
  if (defined.length === 0) return `<svg class="spark" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${label}"></svg>`;
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
  return `<svg class="spark" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${label}"><path class="spark-line" d="${path ?? ''}"/>${dot}</svg>`;
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

/** Trend over the 12 periods with the target (dashed) and warning (dotted) lines. */
export function trendChartSvg(ind: ChartInd, opts: TrendChartOptions): string {
  const w = opts.width ?? 330;
  const h = opts.height ?? 140;
  const m = { top: 10, right: 44, bottom: 18, left: 44 };
  const periods = ind.trend.map((p) => p.period);
  const values = ind.trend.map((p) => p.value).filter((v): v is number => v !== null);
  const refs = [ind.target, ind.warn].filter((v): v is number => v !== null);
  const label = escapeXml(ind.name);
  const all = [...values, ...refs];
  let lo = all.length ? Math.min(...all) : 0;
  let hi = all.length ? Math.max(...all) : 1;
  if (lo === hi) [lo, hi] = [lo - Math.max(1, Math.abs(lo) * 0.1), hi + Math.max(1, Math.abs(hi) * 0.1)];
  const pad = (hi - lo) * 0.08;
  const y = scaleLinear().domain([lo - pad, hi + pad]).nice(4).range([h - m.bottom, m.top]);
  const x = scalePoint<string>().domain(periods).range([m.left + 4, w - m.right - 4]);
  const ticks = y.ticks(4);
  const step = ticks.length > 1 ? ticks[1]! - ticks[0]! : 1;
  const parts: string[] = [];
  parts.push(`<svg class="trend" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${label}">`);
  for (const tk of ticks) {
    const yy = r1(y(tk));
    parts.push(`<line class="grid" x1="${m.left}" x2="${w - m.right}" y1="${yy}" y2="${yy}"/>`);
    parts.push(`<text class="tick" x="${m.left - 4}" y="${yy}" dy="0.32em" text-anchor="end">${escapeXml(formatTick(ind.id, tk, step, opts.locale))}</text>`);
  }
  // Month labels: every month when they fit, else every other one (always the last).
  const labels = periods.map((p) => formatMonthShort(p, opts.locale));
  const textWidth = (t: string) => [...t].reduce((w, ch) => w + (ch.codePointAt(0)! > 0x2e80 ? 1 : 0.56), 0) * 7.5;
  const spacing = periods.length > 1 ? (x(periods[1]!)! - x(periods[0]!)!) : Infinity;
  const every = Math.max(...labels.map(textWidth)) + 3 > spacing ? 2 : 1;
  periods.forEach((p, i) => {
    if ((periods.length - 1 - i) % every !== 0) return;
    const xx = r1(x(p)!);
    const isYearStart = p.endsWith('-01') || i === 0;
    const text = labels[i]!;
    parts.push(`<text class="tick${isYearStart ? ' tick-year' : ''}" x="${xx}" y="${h - 5}" text-anchor="middle">${escapeXml(text)}</text>`);
  });
  const refLine = (v: number, cls: string, text: string) => {
    const yy = r1(y(v));
    parts.push(`<line class="${cls}" x1="${m.left}" x2="${w - m.right}" y1="${yy}" y2="${yy}"/>`);
    parts.push(`<text class="ref-label ${cls}-label" x="${w - m.right + 3}" y="${yy}" dy="0.32em">${escapeXml(text)}</text>`);
  };
  if (ind.warn !== null) refLine(ind.warn, 'warn-line', opts.warnLabel);
  if (ind.target !== null) refLine(ind.target, 'target-line', opts.targetLabel);
  const pts = ind.trend.map((p) => ({ p: p.period, v: p.value, low: 'lowSample' in p ? Boolean((p as { lowSample?: boolean }).lowSample) : false }));
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
