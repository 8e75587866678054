/**
 * Pieces of hand-written metrics.json documents for the render tests: period 2026-10 in
 * Europe/Moscow, trends over its 12 months. Every figure in them is the test's own.
 */
import type { IndicatorResult, MetricsJson, SegmentResult, Status, TableQuality } from '../../functions/metrics/schema.js';

export const TREND_PERIODS = ['2025-11', '2025-12', '2026-01', '2026-02', '2026-03', '2026-04', '2026-05', '2026-06', '2026-07', '2026-08', '2026-09', '2026-10'];

/** A 12-point trend ending 2026-10: `values` oldest first (missing ones null), each over `n` cases. */
export function trendOf(values: (number | null)[] = [], n = 100): IndicatorResult['trend'] {
  return TREND_PERIODS.map((period, i) => ({ period, value: values[i] ?? null, n }));
}

/** A team or channel entry with no history. */
export function segmentEntry(value: number, n: number, status: Status, lowSample = false): SegmentResult {
  return { value, n, status, lowSample, previous: null, yearAgo: null, trend: trendOf() };
}

/** A present table of 1000 clean rows. */
export function tableQuality(over: Partial<TableQuality> = {}): TableQuality {
  return { present: true, rowsRead: 1000, duplicatesDropped: 0, rejected: {}, recordsUsed: 1000, newestUpdatedAt: '2026-10-31T20:00:00.000Z', missingColumns: [], failedFiles: [], ...over };
}

/** A whole document around `indicators`: every table `tableQuality()`, no segments, default settings. */
export function metricsDocument(indicators: Record<string, IndicatorResult>, over: Partial<MetricsJson> = {}): MetricsJson {
  const t = tableQuality();
  return {
    schemaVersion: 1,
    reportId: 'monthly-service-review',
    locale: 'en',
    period: { id: '2026-10', timezone: 'Europe/Moscow', start: '2026-09-30T21:00:00.000Z', end: '2026-10-31T21:00:00.000Z' },
    generatedAt: '2026-11-01T04:00:00.000Z',
    indicators,
    segments: { team: {}, channel: {} },
    dataQuality: { tickets: t, surveys: t, orders: t, complaints: t, invoices: t, customers: t, contacts: t },
    settings: { minSample: 30, sla: { firstResponseHours: 8, complaintResolutionHours: 72 } },
    ...over,
  };
}
