/** Small, hand-made report parts for delivery tests (not produced by the code under test). */
import { randomBytes } from 'node:crypto';
import type { MetricsJson } from '../../../functions/pipeline/model.js';

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

export function sampleMetrics(reportId: string, period: string): MetricsJson {
  const ind = (status: 'met' | 'at_risk' | 'missed' | 'no_data', value: number | null) => ({
    value,
    n: 120,
    unit: '%' as const,
    direction: 'higher' as const,
    target: 90,
    warn: 80,
    status,
    lowSample: false,
    previous: null,
    trend: [],
  });
  return {
    schemaVersion: 1,
    reportId,
    locale: 'en',
    period: { id: period, timezone: 'Europe/Moscow', start: '2026-09-30T21:00:00.000Z', end: '2026-10-31T21:00:00.000Z' },
    generatedAt: '2026-11-01T04:00:00.000Z',
    indicators: {
      first_response_sla_pct: ind('met', 93.5),
      fcr_pct: ind('at_risk', 70),
      csat_pct: ind('missed', 71.25),
      nps: ind('met', 45),
      return_rate_pct: ind('no_data', null),
    },
    segments: { team: {}, channel: {} },
    dataQuality: {} as MetricsJson['dataQuality'],
    settings: { minSample: 30, sla: { firstResponseHours: 24, complaintResolutionHours: 72 } },
  };
}
