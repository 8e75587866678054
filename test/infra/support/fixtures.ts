/** Small, hand-made report parts for delivery tests (not produced by the code under test). */
import { randomBytes } from 'node:crypto';
import { type MetricsJson } from '../../../functions/metrics/schema.js';

/** A structurally valid one-page PDF padded with `extraBytes` random binary bytes in a stream. */
export function tinyPdf(extraBytes = 2048): Uint8Array {
  const payload = randomBytes(extraBytes);
  const head = Buffer.from(
    '%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n' +
      '2 0 obj <</Type /Pages /Kids [3 0 R] /Count 1>> endobj\n' +
      '3 0 obj <</Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]>> endobj\n' +
      `4 0 obj <</Length ${payload.length}>> stream\n`,
    'latin1',
  );
  const tail = Buffer.from('\nendstream endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n', 'latin1');
  return new Uint8Array(Buffer.concat([head, payload, tail]));
}

/** The twelve periods P-11 … P ending with `period` (YYYY-MM), oldest first. */
function windowOf(period: string): string[] {
  const [y, m] = period.split('-').map(Number) as [number, number];
  return Array.from({ length: 12 }, (_, i) => {
    const k = y * 12 + (m - 1) - 11 + i;
    return `${Math.floor(k / 12)}-${String((k % 12) + 1).padStart(2, '0')}`;
  });
}

/**
 * A valid metrics.json (it passes the schema, as the archive requires) with five indicators of
 * known status: 2 met, 1 at risk, 1 missed, 1 without data.
 */
export function sampleMetrics(reportId: string, period: string): MetricsJson {
  const trend = windowOf(period).map((p) => ({ period: p, value: null, n: 0 }));
  const ind = (status: 'met' | 'at_risk' | 'missed' | 'no_data', value: number | null, category: 'responsiveness' | 'quality' | 'satisfaction' | 'fulfilment') => ({
    value,
    n: value === null ? 0 : 120,
    unit: '%' as const,
    direction: 'higher' as const,
    category,
    target: 90,
    warn: 80,
    status,
    lowSample: value === null,
    previous: null,
    yearAgo: null,
    trend,
  });
  const table = { present: true, rowsRead: 120, duplicatesDropped: 0, rejected: {}, recordsUsed: 120, newestUpdatedAt: '2026-10-31T12:00:00.000Z', missingColumns: [], failedFiles: [] };
  return {
    schemaVersion: 1,
    reportId,
    locale: 'en',
    period: { id: period, timezone: 'Europe/Moscow', start: '2026-09-30T21:00:00.000Z', end: '2026-10-31T21:00:00.000Z' },
    generatedAt: '2026-11-01T04:00:00.000Z',
    indicators: {
      first_response_sla_pct: ind('met', 93.5, 'responsiveness'),
      fcr_pct: ind('at_risk', 70, 'quality'),
      csat_pct: ind('missed', 71.25, 'satisfaction'),
      nps: ind('met', 45, 'satisfaction'),
      return_rate_pct: ind('no_data', null, 'fulfilment'),
    },
    segments: { team: {}, channel: {} },
    dataQuality: { tickets: table, surveys: table, orders: table, complaints: table, invoices: table, customers: table, contacts: table },
    settings: { minSample: 30, sla: { firstResponseHours: 24, complaintResolutionHours: 72 } },
  };
}
