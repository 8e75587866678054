/**
 * The SVG charts (functions/render/charts.ts): the target and warn levels drawn month by month as
 * they were in force, value axes that do not run below zero, short histories at their true place
 * in the 12-month frame, every month labelled in Russian, the minus sign on negative ticks. Every
 * expected coordinate is worked out by hand in the comments from the chart's fixed geometry.
 */
import { describe, expect, it } from 'vitest';
import { sparklineSvg, trendChartSvg } from '../../functions/render/charts.js';
import type { IndicatorModel } from '../../functions/render/reportModel.js';
import { TREND_PERIODS } from '../support/metricsObjects.js';

type Level = number | null;
/** An indicator as the chart reads it: 12 months ending 2026-10, values oldest first. */
function ind(id: string, unit: IndicatorModel['unit'], values: (number | null)[], levels: { target?: Level[]; warn?: Level[] } = {}): IndicatorModel {
  const trend = TREND_PERIODS.map((period, i) => ({
    period,
    value: values[i] ?? null,
    n: 100,
    valueText: '',
    lowSample: false,
    ...(levels.target ? { target: levels.target[i] ?? null } : {}),
    ...(levels.warn ? { warn: levels.warn[i] ?? null } : {}),
  }));
  return { id, name: id, unit, trend, target: levels.target?.[11] ?? null, warn: levels.warn?.[11] ?? null, status: 'met' } as unknown as IndicatorModel;
}
const chart = (i: IndicatorModel, locale = 'en', width = 330) => trendChartSvg(i, { width, height: 140, locale, targetLabel: 'Target', warnLabel: 'Warning' });
const attr = (svg: string, cls: string, name: string) => new RegExp(`<path class="${cls}"[^>]* ${name}="([^"]*)"`).exec(svg)?.[1];
/** The tick labels of the value axis (right-aligned texts), bottom to top. */
const yTicks = (svg: string) => [...svg.matchAll(/<text class="tick" x="40" y="[\d.]+" dy="0.32em" text-anchor="end">([^<]*)<\/text>/g)].map((m) => m[1]);
const circles = (svg: string) => [...svg.matchAll(/<circle class="pt[^"]*" cx="([\d.]+)"/g)].map((m) => Number(m[1]));
const eleven = <T>(v: T, last: T) => [...Array<T>(11).fill(v), last];

/*
 * Geometry of a 330 × 140 chart: margins left 44, right 44, top 10, bottom 18. Months on
 * x = 48 … 282 (4 px inside the plot), 11 gaps of 234 / 11 = 21.2727 px: month i at 48 + 21.2727 i.
 * A month's slot spans half a gap either side, clipped to the plot [44, 286].
 */
describe('trendChartSvg: target and warn levels month by month', () => {
  it('draws a target changed in the last month as a step, each month at the level in force then', () => {
    // CSAT 90 % every month; target 85 (warn 80) until 2026-09, 80 (warn 75) in 2026-10.
    const i = ind('csat_pct', '%', eleven(90, 90), { target: eleven(85, 80), warn: eleven(80, 75) });

    const svg = chart(i);

    // Values and levels span 75 … 90; padded by 8 % (1.2) to 73.8 … 91.2, made nice with 4 ticks:
    // 70 … 95. y = 122 − (v − 70) / 25 × 112: 85 -> 54.8, 80 -> 77.2, 75 -> 99.6.
    // The change falls between months 10 and 11: x = 48 + 10.5 × 21.2727 = 271.36.
    expect(attr(svg, 'target-line', 'd')).toBe('M44 54.8H271.4V77.2H286');
    expect(attr(svg, 'warn-line', 'd')).toBe('M44 77.2H271.4V99.6H286');
    expect(attr(svg, 'target-line', 'fill')).toBe('none');
    // The label sits beside the level in force last.
    expect(svg).toContain('<text class="ref-label target-line-label" x="289" y="77.2" dy="0.32em">Target</text>');
  });

  it('draws an unchanged target as one flat line across the plot', () => {
    const i = ind('csat_pct', '%', eleven(90, 90), { target: eleven(85, 85), warn: eleven(80, 80) });

    const svg = chart(i);

    // 80 … 90 padded to 79.2 … 90.8, made nice (d3 repeats until stable: 78 … 92, then step 5):
    // 75 … 95. y(85) = 122 − 10 / 20 × 112 = 66.
    expect(attr(svg, 'target-line', 'd')).toBe('M44 66H286');
  });

  it('leaves out the months with no target in force', () => {
    // No target before 2026-10 (e.g. the indicator had none), 80 from then.
    const i = ind('csat_pct', '%', eleven(90, 90), { target: eleven<Level>(null, 80), warn: eleven<Level>(null, null) });

    const svg = chart(i);

    // 80 … 90 padded to 79.2 … 90.8, nice 75 … 95 (as above): y(80) = 122 − 5 / 20 × 112 = 94.
    // Only the last month's slot: from the midpoint 271.4 to the plot's edge.
    expect(attr(svg, 'target-line', 'd')).toBe('M271.4 94H286');
    expect(svg).not.toContain('warn-line');
  });

  it('draws the current target across the plot for a metrics.json without per-month targets', () => {
    const i = ind('csat_pct', '%', eleven(90, 90));
    (i as { target: number }).target = 85;

    const svg = chart(i);

    // 85 … 90 padded to 84.6 … 90.4, nice (step 2): 84 … 92. y(85) = 122 − 1 / 8 × 112 = 108.
    expect(attr(svg, 'target-line', 'd')).toBe('M44 108H286');
  });
});

describe('trendChartSvg: level labels', () => {
  it('sets the target and warning labels apart when their levels are closer than a line of text', () => {
    // CSAT 90 %, target 85, warn 84.5: 84.5 … 90 padded by 0.44 to 84.06 … 90.44, nice (step 2):
    // 84 … 92. y = 122 − (v − 84) / 8 × 112: 85 -> 108, 84.5 -> 115, 7 px apart (less than 8):
    // both moved 4 px from their middle 111.5, the target above.
    const i = ind('csat_pct', '%', eleven(90, 90), { target: eleven(85, 85), warn: eleven(84.5, 84.5) });

    const svg = chart(i);

    expect(svg).toContain('<text class="ref-label target-line-label" x="289" y="107.5" dy="0.32em">Target</text>');
    expect(svg).toContain('<text class="ref-label warn-line-label" x="289" y="115.5" dy="0.32em">Warning</text>');
    // The lines themselves stay at their levels.
    expect(attr(svg, 'target-line', 'd')).toBe('M44 108H286');
    expect(attr(svg, 'warn-line', 'd')).toBe('M44 115H286');
  });
});

describe('trendChartSvg: value axes', () => {
  it('does not run below zero for a duration, whatever the padding', () => {
    // The call-centre export: first response 0.0189, 0.0185, 0.0192 h (about 1.1 min) in the last
    // three months, target 4 h, warn 8 h: the axis counts hours (its largest value, 8 h).
    const i = ind('first_response_median_h', 'h', [...Array(9).fill(null), 0.0189, 0.0185, 0.0192], { target: eleven(4, 4), warn: eleven(8, 8) });

    const ticks = yTicks(chart(i));

    // 0.0185 … 8 padded by 0.6385: −0.62 … 8.64, which made nice ran from −2 hr; clamped at 0:
    // 0 … 8.64, nice with step 2: 0 … 10.
    expect(ticks).toEqual(['0\u00a0hr', '2\u00a0hr', '4\u00a0hr', '6\u00a0hr', '8\u00a0hr', '10\u00a0hr']);
  });

  it('starts a flat small duration at zero instead of a negative hour', () => {
    // 0.2 h = 12 min every month: flat, widened by max(1, 10 %) = 1 min to 11 … 13 min. A
    // duration at 0.01 min would have gone below zero; here: the lowest tick is ≥ 0.
    const i = ind('first_response_median_h', 'h', eleven(0.0003, 0.0003));

    const ticks = yTicks(chart(i));

    // 1.08 s flat: widened to 0.08 … 2.08 s, padded 0 (clamped) … 2.24, nice 0 … 2.5: ticks 0, 0.5, … 2.5 s.
    expect(ticks[0]).toBe('0.0\u00a0sec');
    expect(ticks.some((t) => t!.includes('\u2212'))).toBe(false);
  });

  it('starts a count at zero', () => {
    // Ticket volume 1772, 1616, 1612 in the last three months (the call-centre export).
    const i = ind('ticket_volume', 'count', [...Array(9).fill(null), 1772, 1616, 1612]);

    const ticks = yTicks(chart(i));

    // 0 … 1772 padded to 1913.8, nice with 4 ticks: 0, 500, 1,000, 1,500, 2,000.
    expect(ticks).toEqual(['0', '500', '1,000', '1,500', '2,000']);
  });

  it('counts a duration axis in the unit that suits its largest value', () => {
    // First response 0.08 h = 4.8 min; target 0.25 h = 15 min, warn 0.5 h = 30 min: minutes.
    const i = ind('first_response_median_h', 'h', eleven(0.08, 0.08), { target: eleven(0.25, 0.25), warn: eleven(0.5, 0.5) });

    const ticks = yTicks(chart(i));

    // 4.8 … 30 min padded (2.016) to 2.784 … 32.016, nice with step 10: 0 … 40.
    expect(ticks).toEqual(['0\u00a0min', '10\u00a0min', '20\u00a0min', '30\u00a0min', '40\u00a0min']);
  });

  it('writes negative ticks with the minus sign', () => {
    // NPS −10, 0, 20 (points may be negative).
    const i = ind('nps', 'points', [-10, 0, 20, ...Array(9).fill(null)]);

    const ticks = yTicks(chart(i));

    // −10 … 20 padded by 2.4: −12.4 … 22.4, nice with 4 ticks (step 10): −20 … 30, no decimals.
    expect(ticks).toEqual(['\u221220', '\u221210', '0', '10', '20', '30']);
  });
});

describe('short histories in the 12-month frame', () => {
  it('puts a three-month history of the trend chart on its own months, the nine before empty', () => {
    const i = ind('ticket_volume', 'count', [...Array(9).fill(null), 1772, 1616, 1612]);

    const svg = chart(i);

    // Months 9, 10, 11: x = 48 + 21.2727 × 9 = 239.45, 260.73, 282.
    expect(circles(svg)).toEqual([239.5, 260.7, 282]);
    expect(svg.match(/class="tick tick-month/g)).toHaveLength(12);
  });

  it('puts a three-month sparkline on its own months and marks the nine empty ones', () => {
    const i = ind('ticket_volume', 'count', [...Array(9).fill(null), 1772, 1616, 1612]);

    const svg = sparklineSvg(i, { width: 64, height: 16 });

    // x = 2 + i × 59 / 11: months 9, 10, 11 at 50.27, 55.64, 61. y over 1612 … 1772 onto 13.5 … 2.5.
    const xs = [...(/class="spark-line" d="([^"]*)"/.exec(svg)?.[1] ?? '').matchAll(/[ML]([\d.]+),/g)].map((m) => Number(m[1]));
    expect(xs).toEqual([50.3, 55.6, 61]);
    // Each empty month (0 … 8) gets a dot on the baseline, centred on its place: month 0 at x = 2.
    const gaps = /class="spark-gap"[^>]* d="([^"]*)"/.exec(svg)?.[1] ?? '';
    expect(gaps.match(/M/g)).toHaveLength(9);
    expect(gaps.startsWith('M1 14.5H3')).toBe(true);
  });

  it('draws no gap marks when every month has a value', () => {
    const svg = sparklineSvg(ind('csat_pct', '%', eleven(80, 81)), { width: 64, height: 16 });

    expect(svg).not.toContain('spark-gap');
  });
});

describe('month labels', () => {
  it('labels every one of the twelve months in Russian, in a smaller font where they would collide', () => {
    const i = ind('csat_pct', '%', eleven(90, 90));

    const svg = chart(i, 'ru', 310);

    const labels = [...svg.matchAll(/<text class="tick tick-month[^"]*"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(labels).toEqual(['нояб.', 'дек.', 'янв.', 'февр.', 'март', 'апр.', 'май', 'июнь', 'июль', 'авг.', 'сент.', 'окт.']);
    // 310 px wide: 11 gaps of (310 − 88 − 8) / 11 = 19.45 px; "нояб." is about 5 × 0.56 em wide,
    // 22 px at 7.5 px: too wide, so the labels are set smaller.
    expect(svg).toMatch(/class="tick tick-month[^"]*"[^>]* style="font-size:(6\.5|7)px"/);
  });

  it('turns the labels when even the smallest size does not fit, and makes room under the axis', () => {
    const svg = chart(ind('csat_pct', '%', eleven(90, 90)), 'ru', 200);

    // 200 px wide: gaps of (200 − 96) / 11 = 9.45 px, less than any Russian month at 6.5 px. Turned
    // at 7 px, the widest ("нояб.", 4 letters of 0.56 em and a dot of 0.28 em, bold 6 % wider:
    // 18.70 px) needs 8 + 18.70 × 0.72 = 21.5 -> 22 px under the axis: the axis at 140 − 22 = 118.
    expect(svg.match(/class="tick tick-month[^"]*"[^>]* transform="rotate\(-45 /g)).toHaveLength(12);
    expect(svg).toContain('<line class="axis" x1="44" x2="156" y1="118" y2="118"/>');
  });

  it('keeps the usual size in English, where the labels fit', () => {
    const svg = chart(ind('csat_pct', '%', eleven(90, 90)), 'en', 310);

    expect(svg.match(/class="tick tick-month/g)).toHaveLength(12);
    expect(svg).not.toContain('font-size:');
  });
});
