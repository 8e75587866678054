/**
 * Archive and deliver one report: store the PDF and metrics.json under
 * `reports/<reportId>/<period>/`, then e-mail it at most once.
 *
 * At-most-once: before sending, the step creates `delivery.json` beside the report with a
 * conditional put (S3 `If-None-Match: *`, in the same versioned bucket as the report it
 * describes: no extra table, strongly consistent, its history kept by the bucket's versions). The
 * record starts as `sending` and becomes `sent` once the mail server accepted the message. A run
 * that finds a record does not send: `sent` means done; `sending` means an earlier attempt may or
 * may not have sent, which only a person can decide (DeliveryInDoubtError, re-run with `force`).
 * When the server clearly refused the message, the record is removed so a retry can send.
 */
import type { Archive } from './archive.js';
import { composeReportMessage } from './compose.js';
import { DeliveryInDoubtError, DeliverySendError, ReportIncompleteError } from './errors.js';
import { reportKeys, type ReportKeys } from './keys.js';
import { TransportError, type MailTransport } from './transport.js';
import { parseMetricsJsonText, type MetricsJson } from '../metrics/schema.js';

export interface ReportIdentity {
  id: string;
  title: string;
  locale: string;
  recipients: string[];
}

export interface DeliveryRecord {
  reportId: string;
  period: string;
  status: 'sending' | 'sent';
  runId: string;
  transport: MailTransport['kind'];
  recipients: string[];
  messageId: string;
  attached: boolean;
  claimedAt: string;
  sentAt?: string;
  providerId?: string;
  forced?: boolean;
}

export type DeliveryOutcome =
  | { status: 'sent'; record: DeliveryRecord; keys: ReportKeys }
  | { status: 'already_sent'; record: DeliveryRecord; keys: ReportKeys }
  | { status: 'no_recipients'; keys: ReportKeys };

type Log = (message: string, extra?: Record<string, unknown>) => void;

/** Checks that the two parts belong together and are whole; throws ReportIncompleteError if not. */
export function assertCompleteReport(reportId: string, period: string, pdf: Uint8Array | null, metricsText: Uint8Array | string | null): MetricsJson {
  if (!pdf || pdf.byteLength === 0) throw new ReportIncompleteError(`report ${reportId} ${period}: the PDF is missing or empty`);
  const head = Buffer.from(pdf.subarray(0, 5)).toString('latin1');
  const tail = Buffer.from(pdf.subarray(Math.max(0, pdf.byteLength - 1024))).toString('latin1');
  if (head !== '%PDF-' || !tail.includes('%%EOF')) throw new ReportIncompleteError(`report ${reportId} ${period}: the PDF is truncated or not a PDF`);
  if (metricsText === null) throw new ReportIncompleteError(`report ${reportId} ${period}: metrics.json is missing`);
  let metrics: MetricsJson;
  try {
    metrics = parseMetricsJsonText(typeof metricsText === 'string' ? metricsText : Buffer.from(metricsText).toString('utf8'), 'metrics.json');
  } catch (e) {
    throw new ReportIncompleteError(`report ${reportId} ${period}: ${(e as Error).message}`, { cause: e });
  }
  if (metrics.reportId !== reportId || metrics.period?.id !== period) {
    throw new ReportIncompleteError(
      `report ${reportId} ${period}: metrics.json is for ${metrics.reportId} ${metrics.period?.id}, not this report and period`,
    );
  }
  return metrics;
}

export interface ArchiveInput {
  archive: Archive;
  reportId: string;
  period: string;
  pdf: Uint8Array;
  metrics: Uint8Array | string;
}

/** Stores a complete report (metrics.json first, the PDF last) and returns its keys. */
export async function archiveReport(input: ArchiveInput): Promise<ReportKeys> {
  assertCompleteReport(input.reportId, input.period, input.pdf, input.metrics);
  const keys = reportKeys(input.reportId, input.period);
  await input.archive.put(keys.metrics, input.metrics, 'application/json; charset=utf-8');
  await input.archive.put(keys.pdf, input.pdf, 'application/pdf');
  return keys;
}

export interface DeliverInput {
  archive: Archive;
  transport: MailTransport;
  report: ReportIdentity;
  period: string;
  from: string;
  attachLimitBytes: number;
  linkExpiresSeconds: number;
  /** Send even when a delivery record exists (replaces it). */
  force?: boolean;
  /** Identifies the run in the delivery record (the execution name on AWS). */
  runId: string;
  now?: () => Date;
  log?: Log;
}

async function readRecord(archive: Archive, key: string): Promise<DeliveryRecord | null> {
  const bytes = await archive.get(key);
  return bytes ? (JSON.parse(Buffer.from(bytes).toString('utf8')) as DeliveryRecord) : null;
}

/** E-mails the archived report of `period` to the report's recipients, at most once. */
export async function deliverReport(input: DeliverInput): Promise<DeliveryOutcome> {
  const { archive, transport, report, period } = input;
  const now = input.now ?? (() => new Date());
  const log: Log = input.log ?? (() => {});
  const keys = reportKeys(report.id, period);

  const [pdf, metricsBytes] = await Promise.all([archive.get(keys.pdf), archive.get(keys.metrics)]);
  const metrics = assertCompleteReport(report.id, period, pdf, metricsBytes);
  if (report.recipients.length === 0) {
    log('report has no recipients; nothing sent', { reportId: report.id, period });
    return { status: 'no_recipients', keys };
  }

  const message = await composeReportMessage({
    from: input.from,
    to: report.recipients,
    reportTitle: report.title,
    locale: report.locale,
    period,
    metrics,
    pdf: pdf!,
    pdfName: keys.pdfName,
    attachLimitBytes: input.attachLimitBytes,
    link: () => archive.link(keys.pdf, input.linkExpiresSeconds),
  });

  const record: DeliveryRecord = {
    reportId: report.id,
    period,
    status: 'sending',
    runId: input.runId,
    transport: transport.kind,
    recipients: report.recipients,
    messageId: message.messageId,
    attached: message.attached,
    claimedAt: now().toISOString(),
    ...(input.force ? { forced: true } : {}),
  };
  const json = (r: DeliveryRecord) => JSON.stringify(r, null, 2);

  if (input.force) {
    await archive.put(keys.delivery, json(record), 'application/json');
  } else if (!(await archive.putIfAbsent(keys.delivery, json(record), 'application/json'))) {
    const existing = await readRecord(archive, keys.delivery);
    if (existing?.status === 'sent') {
      log('already delivered; nothing sent', { reportId: report.id, period, sentAt: existing.sentAt, runId: existing.runId });
      return { status: 'already_sent', record: existing, keys };
    }
    throw new DeliveryInDoubtError(
      `report ${report.id} ${period}: run ${existing?.runId ?? '?'} started sending at ${existing?.claimedAt ?? '?'} and never confirmed; ` +
        `check whether recipients received it, then re-run with force to send again (record: ${archive.location}${keys.delivery})`,
    );
  }

  let providerId: string;
  try {
    ({ providerId } = await transport.send(message.raw, { from: input.from, to: report.recipients }, `${report.id}-${period}`));
  } catch (e) {
    if (e instanceof TransportError && e.definite) {
      await archive.remove(keys.delivery);
      throw new DeliverySendError(`report ${report.id} ${period}: ${e.message}`, { cause: e });
    }
    throw new DeliveryInDoubtError(
      `report ${report.id} ${period}: sending failed midway (${(e as Error).message}); the message may have been accepted. ` +
        `Check, then re-run with force if it was not.`,
      { cause: e },
    );
  }

  const sent: DeliveryRecord = { ...record, status: 'sent', sentAt: now().toISOString(), providerId };
  await archive.put(keys.delivery, json(sent), 'application/json');
  log('report delivered', { reportId: report.id, period, transport: transport.kind, attached: message.attached, recipients: report.recipients.length });
  return { status: 'sent', record: sent, keys };
}
