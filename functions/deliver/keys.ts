/**
 * Where a report lives in the archive: `reports/<reportId>/<period>/`, and a burst report (one
 * team's or channel's) in its own folder below it, `reports/<reportId>/<period>/<kind>=<slug>/`,
 * with its own PDF, metrics.json, run.json and delivery record. The ids are checked so a crafted
 * report id, period or team name can never point outside that folder.
 */
import { createHash } from 'node:crypto';
import type { SegmentKind } from '../pipeline/contract.js';
import { PERIOD_ID_RE } from '../pipeline/period.js';

/** A burst report's segment: `team` or `channel`, and the value exactly as the data spells it. */
export interface Scope {
  kind: SegmentKind;
  value: string;
}

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

/**
 * A team or channel name made safe for a file name, an S3 key and a mail attachment, whatever it
 * holds (`<b>VIP</b>`, `A & B / C`, `Техподдержка`, `售后服务`): letters and digits of any script
 * kept (NFKC, lower case, at most 40), every other run of characters one dash, then 8 hex digits
 * of the name's SHA-256, so two names that read alike (`Billing`, `billing`) never share a file.
 */
export function segmentSlug(value: string): string {
  const words = value.normalize('NFKC').toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '-').replace(/^-+|-+$/g, '');
  const cut = [...words].slice(0, 40).join('').replace(/-+$/, '');
  const hash = createHash('sha256').update(value, 'utf8').digest('hex').slice(0, 8);
  return cut ? `${cut}-${hash}` : hash;
}

/** `team=billing-1a2b3c4d`: a burst's folder in the archive and the middle of its file names. */
export function scopeTag(scope: Scope): string {
  if (scope.kind !== 'team' && scope.kind !== 'channel') throw new RangeError(`invalid burst kind "${scope.kind as string}"`);
  return `${scope.kind}=${segmentSlug(scope.value)}`;
}

/**
 * The base name of a report's files (no period, no extension): `<reportId>` for the company,
 * `<reportId>~team=<slug>` for a burst. Local outputs are `<name>-<period>.<locale>.pdf` etc.
 */
export function reportName(reportId: string, scope?: Scope): string {
  return scope ? `${assertReportId(reportId)}~${scopeTag(scope)}` : assertReportId(reportId);
}

export function reportKeys(reportId: string, period: string, scope?: Scope): ReportKeys {
  const prefix = `reports/${assertReportId(reportId)}/${assertPeriod(period)}/${scope ? `${scopeTag(scope)}/` : ''}`;
  const pdfName = `${reportName(reportId, scope)}-${period}.pdf`;
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
export function workKeys(runId: string, scope?: Scope): { prefix: string; metrics: string; pdf: string } {
  if (!/^[A-Za-z0-9_.:-]{1,80}$/.test(runId)) throw new RangeError(`invalid run id "${runId}"`);
  const prefix = `work/${runId}/${scope ? `${scopeTag(scope)}/` : ''}`;
  return { prefix, metrics: `${prefix}metrics.json`, pdf: `${prefix}report.pdf` };
}
