/**
 * Where a report lives in the archive: `reports/<reportId>/<period>/`. The ids are checked so a
 * crafted report id or period can never point outside that folder.
 */
import { PERIOD_ID_RE } from '../pipeline/period.js';

const REPORT_ID_RE = /^[a-z0-9][a-z0-9-]*$/;

export interface ReportKeys {
  prefix: string;
  pdf: string;
  metrics: string;
  delivery: string;
  /** Which run the archived PDF and metrics.json came from, with their SHA-256 (written after both). */
  run: string;
  /** The claim of delivery attempt `n` (n >= 2): created once, so only one run re-sends. */
  deliveryAttempt(n: number): string;
  /** File name of the PDF (also the attachment's name). */
  pdfName: string;
}

export function assertReportId(reportId: string): string {
  if (!REPORT_ID_RE.test(reportId)) throw new RangeError(`invalid report id "${reportId}": lowercase letters, digits and dashes`);
  return reportId;
}

export function assertPeriod(period: string): string {
  if (!PERIOD_ID_RE.test(period)) throw new RangeError(`invalid period "${period}": expected YYYY-MM`);
  return period;
}

export function reportKeys(reportId: string, period: string): ReportKeys {
  const prefix = `reports/${assertReportId(reportId)}/${assertPeriod(period)}/`;
  const pdfName = `${reportId}-${period}.pdf`;
  return {
    prefix,
    pdf: prefix + pdfName,
    metrics: `${prefix}metrics.json`,
    delivery: `${prefix}delivery.json`,
    run: `${prefix}run.json`,
    deliveryAttempt: (n: number) => `${prefix}delivery.attempt-${n}.json`,
    pdfName,
  };
}

/** Scratch space of one state machine execution (the archive bucket expires it). */
export function workKeys(runId: string): { prefix: string; metrics: string; pdf: string } {
  if (!/^[A-Za-z0-9_.:-]{1,80}$/.test(runId)) throw new RangeError(`invalid run id "${runId}"`);
  const prefix = `work/${runId}/`;
  return { prefix, metrics: `${prefix}metrics.json`, pdf: `${prefix}report.pdf` };
}
