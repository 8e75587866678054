import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { INDICATOR_IDS } from '../../functions/pipeline/catalog.js';
import type { MetricsJson } from '../../functions/pipeline/model.js';
import { ReportDefSchema } from '../../functions/pipeline/reportsConfig.js';
import { formatChange, formatInt, formatPeriod, formatValue } from '../../functions/render/format.js';
import { buildReportModel, statusOf } from '../../functions/render/reportModel.js';

const fixture = (): MetricsJson => JSON.parse(readFileSync(new URL('../fixtures/metrics.sample.json', import.meta.url), 'utf8'));
const report = ReportDefSchema.parse({ id: 'monthly-service-review', title: 'Monthly review', timezone: 'Europe/Moscow', staleAfterDays: 7 });

describe('formatting', () => {
  it('formats values per unit and locale with Intl', () => {
    expect(formatValue('csat_pct', 87.31, 'en')).toBe('87.3%');
    expect(formatValue('csat_pct', 87.31, 'ru')).toBe('87,3\u00a0%');
    expect(formatValue('csat_pct', 87.31, 'zh-CN')).toBe('87.3%');
    expect(formatValue('ticket_volume', 120345, 'ru')).toBe('120\u00a0345');
    expect(formatValue('first_response_median_h', 3.62, 'ru')).toBe('3,6 ч');
    expect(formatValue('csat_avg', 4.3617, 'en')).toBe('4.36');
    expect(formatValue('servqual_gap', -0.1263, 'en')).toBe('-0.13');
    expect(formatValue('nps', 36.2758, 'en')).toBe('36.3');
    expect(formatValue('csat_pct', null, 'en')).toBe('—');
  });

  it('never emits U+202F, which the embedded fonts cannot draw', () => {
    const samples = [formatPeriod('2026-10', 'ru'), formatInt(1234567, 'ru'), formatValue('first_response_median_h', 1234.5, 'ru'), formatChange('csat_pct', 80, 70, 'ru', '{value} п. п.')];
    for (const s of samples) expect(s).not.toMatch(/\u202f/);
  });

  it('shows changes of rates in percentage points with a sign', () => {
    expect(formatChange('csat_pct', 87.31, 85.9, 'en', '{value} pp')).toBe('+1.4 pp');
    expect(formatChange('resolution_avg_h', 51.37, 55.21, 'en', '{value} pp')).toBe('-3.8 hr');
    expect(formatChange('csat_pct', 87.31, null, 'en', '{value} pp')).toBe('—');
  });
});

describe('statusOf', () => {
  it('follows the spec for higher, lower and neutral', () => {
    expect(statusOf(90, 'higher', 90, 80)).toBe('met');
    expect(statusOf(85, 'higher', 90, 80)).toBe('at_risk');
    expect(statusOf(79.99, 'higher', 90, 80)).toBe('missed');
    expect(statusOf(4, 'lower', 4, 8)).toBe('met');
    expect(statusOf(8.01, 'lower', 4, 8)).toBe('missed');
    expect(statusOf(5, 'neutral', null, null)).toBe('no_target');
    expect(statusOf(null, 'higher', 90, 80)).toBe('no_data');
  });
});

describe('buildReportModel', () => {
  const metrics = fixture();
  const model = buildReportModel(metrics, report, 'en');

  it('holds every indicator, grouped by category, formatted', () => {
    expect(Object.keys(model.indicators).sort()).toEqual([...INDICATOR_IDS].sort());
    expect(model.categories.flatMap((c) => c.indicators.map((i) => i.id))).toEqual(INDICATOR_IDS);
    for (const id of INDICATOR_IDS) expect(model.indicators[id]!.valueText).toBe(formatValue(id, metrics.indicators[id]!.value, 'en'));
    expect(model.indicators.csat_pct!.statusWord).toBe('Met');
  });

  it('keeps only the indicators a report lists', () => {
    const m = buildReportModel(metrics, { ...report, indicators: ['csat_pct', 'nps'] }, 'en');
    expect(Object.keys(m.indicators)).toEqual(['csat_pct', 'nps']);
    expect(m.categories.map((c) => c.id)).toEqual(['satisfaction']);
  });

  it('colours a change by whether it is good news for that indicator', () => {
    const m = structuredClone(metrics);
    m.indicators.resolution_avg_h!.value = 50;
    m.indicators.resolution_avg_h!.previous = 55; // lower is better: a fall is good
    m.indicators.csat_pct!.value = 80;
    m.indicators.csat_pct!.previous = 85; // higher is better: a fall is bad
    m.indicators.ticket_volume!.value = 5000;
    m.indicators.ticket_volume!.previous = 4000; // neutral
    m.indicators.fcr_pct!.value = 71.82;
    m.indicators.fcr_pct!.previous = 71.8; // rounds to no change
    const x = buildReportModel(m, report, 'en').indicators;
    expect(x.resolution_avg_h!.change).toMatchObject({ arrow: 'down', tone: 'good' });
    expect(x.csat_pct!.change).toMatchObject({ arrow: 'down', tone: 'bad' });
    expect(x.ticket_volume!.change).toMatchObject({ arrow: 'up', tone: 'neutral' });
    expect(x.fcr_pct!.change).toMatchObject({ arrow: 'flat', tone: 'neutral', text: '0.0 pp' });
  });

  it('sorts breakdowns worst first by the indicator direction, unassigned localized', () => {
    const higher = model.indicators.csat_pct!.breakdowns.find((b) => b.kind === 'team')!.rows.map((r) => r.value!);
    expect(higher).toEqual([...higher].sort((a, b) => a - b));
    const lower = model.indicators.resolution_avg_h!.breakdowns.find((b) => b.kind === 'team')!.rows.map((r) => r.value!);
    expect(lower).toEqual([...lower].sort((a, b) => b - a));
    const labels = model.indicators.csat_pct!.breakdowns[0]!.rows.map((r) => r.label);
    expect(labels).toContain('(unassigned)');
    expect(labels).toContain('<b>VIP</b>');
    const ru = buildReportModel(metrics, report, 'ru');
    expect(ru.indicators.csat_pct!.breakdowns[0]!.rows.map((r) => r.label)).toContain('(не указано)');
  });

  it('flags low-sample segments against settings.minSample', () => {
    const rows = model.indicators.csat_pct!.breakdowns.flatMap((b) => b.rows);
    for (const r of rows) expect(r.lowSample).toBe(r.n < metrics.settings.minSample);
  });

  it('warns about stale and missing tables using report.staleAfterDays', () => {
    const dq = model.dataQuality.tables;
    expect(dq.find((t) => t.table === 'complaints')!.state).toBe('stale'); // newest 14 days before the end
    expect(dq.find((t) => t.table === 'invoices')!.state).toBe('missing');
    expect(dq.find((t) => t.table === 'tickets')!.state).toBe('fresh');
    const lenient = buildReportModel(metrics, { ...report, staleAfterDays: 30 }, 'en');
    expect(lenient.dataQuality.tables.find((t) => t.table === 'complaints')!.state).toBe('fresh');
    expect(model.dataQuality.warnings.join(' ')).toMatch(/Complaints: the newest record is from .*14 days before/);
  });

  it('writes highlights from the data in the report language', () => {
    const count = (s: string) => Object.values(metrics.indicators).filter((i) => i.status === s).length;
    const status = model.highlights[0]!.items[0]!.text;
    expect(status).toBe(`${count('met')} of ${INDICATOR_IDS.length - count('no_target') - count('no_data')} indicators with a target met it; ${count('at_risk')} are at risk and ${count('missed')} missed.`);
    const all = model.highlights.flatMap((g) => g.items.map((i) => i.text)).join('\n');
    expect(all).toMatch(/SERVQUAL gap: responsiveness rests on 23 cases, fewer than 30/);
    expect(all).toMatch(/Invoices: no files were found/);
    const zh = buildReportModel(metrics, report, 'zh-CN').highlights.flatMap((g) => g.items.map((i) => i.text)).join('\n');
    expect(zh).toMatch(/项达标/);
    const ru = buildReportModel(metrics, report, 'ru').highlights.flatMap((g) => g.items.map((i) => i.text)).join('\n');
    expect(ru).toMatch(/2 показателя без данных/);
    expect(ru).toMatch(/за 14 дней до конца периода/);
  });
});
