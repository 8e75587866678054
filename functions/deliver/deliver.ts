/**
 * Archive and deliver one report: claim the delivery, then store the run's PDF and metrics.json
 * under `reports/<reportId>/<period>/` and e-mail them exactly once to each recipient, or stop and
 * say why not. The archive changes only for the run that won the claim: a run that finds the
 * report already sent (or in doubt) leaves the archived PDF, metrics.json and run.json as they were,
 * so they stay the bytes that were mailed. `run.json` and the delivery record name the run the
 * archived parts came from and their SHA-256; on S3 they also name the object versions, and a
 * link in the mail names the PDF's version.
 *
 * At-most-once: before sending, the step creates `delivery.json` beside the report with a
 * conditional put (S3 `If-None-Match: *`, in the same versioned bucket as the report it
 * describes: no extra table, strongly consistent, its history kept by the bucket's versions). The
 * record starts as `sending` and lists every recipient with its state (`pending`, `accepted`,
 * `refused` with the server's reply, `in_doubt`). After the send it becomes:
 * - `sent`: every recipient accepted. Later runs send nothing.
 * - `partial`: some recipients refused. The outcome is `partial` (the Lambda throws
 *   PartialDeliveryError, the CLI exits 4). A later run sends only to the recipients not
 *   accepted, claiming `delivery.attempt-<n>.json` with the same conditional put so only one run
 *   re-sends.
 * - `in_doubt`: the send failed in a way that may have delivered it (SES 5xx, a connection lost
 *   after the message was handed over); the evidence is kept in the record. Like a `sending`
 *   record left by a crashed run, only a person can decide (DeliveryInDoubtError, re-run with
 *   `force`).
 * When the server certainly did not take the message, the first attempt's record is removed
 * (a later attempt's is put back to `partial`) so a retry can send: DeliverySendError.
 * `force` ignores the record and sends to every current recipient.
 */
import { createHash } from 'node:crypto';
import { locate, type Archive } from './archive.js';
import { composeReportMessage, emailMessages, newMessageId, workbookKeyOf, XLSX_TYPE, type EmailReport } from './compose.js';
import { ArchiveError, DeliveryInDoubtError, DeliverySendError, ReportIncompleteError } from './errors.js';
import { reportKeys, reportName, type ReportKeys, type Scope } from './keys.js';
import { TransportError, type MailTransport, type SendEvidence } from './transport.js';
import { parseMetricsJsonText, type MetricsJson } from '../metrics/schema.js';
import type { Locale } from '../pipeline/reportsConfig.js';

/** The report definition's fields the mail uses (the model's organisation, breakdowns, indicators...). */
export interface ReportIdentity extends Omit<EmailReport, 'recipients'> {
  id: string;
  title: string;
  /** The title in other locales; the mail uses the one of the locale the report was rendered in (metrics.json). */
  titles?: Partial<Record<Locale, string>>;
  recipients: string[];
}

/** The archived report: which run made it, its parts' SHA-256, and (S3) their object versions. */
export interface ArchivedRun {
  runId: string;
  pdfSha256: string;
  metricsSha256: string;
  pdfVersionId?: string;
  metricsVersionId?: string;
  /** The Excel workbook of the run, archived beside the PDF (absent when the run made none). */
  workbookSha256?: string;
  workbookVersionId?: string;
}

export function sha256(body: Uint8Array | string): string {
  return createHash('sha256').update(body).digest('hex');
}

export interface RecipientState {
  address: string;
  status: 'pending' | 'accepted' | 'refused' | 'in_doubt';
  /** The attempt that last tried this recipient. */
  attempt: number;
  /** The server's reply when it refused the recipient. */
  reply?: string;
}

export interface DeliveryRecord {
  reportId: string;
  period: string;
  status: 'sending' | 'sent' | 'partial' | 'in_doubt';
  /** 1 for the first send; each re-send to the recipients left over adds one. */
  attempt: number;
  runId: string;
  transport: MailTransport['kind'];
  recipients: RecipientState[];
  messageId: string;
  attached: boolean;
  claimedAt: string;
  sentAt?: string;
  providerId?: string;
  forced?: boolean;
  /** Why a send is in doubt (or, for a partial record, why the last re-send failed). */
  evidence?: SendEvidence;
  /** The archived report this delivery mails (absent in records written before it was kept). */
  archived?: ArchivedRun;
}

export type DeliveryOutcome =
  /** `sentTo`: the recipients this run mailed (after a partial delivery, only those left over). */
  | { status: 'sent'; record: DeliveryRecord; keys: ReportKeys; sentTo: string[] }
  /** Some recipients were refused; they are in `refused` and in the record. */
  | { status: 'partial'; record: DeliveryRecord; keys: ReportKeys; sentTo: string[]; refused: RecipientState[] }
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

/** A burst's parts are that segment's report (and the company's parts are the company's): one team's PDF never goes to another. */
function assertScope(metrics: MetricsJson, scope: Scope | undefined, reportId: string, period: string): void {
  const has = metrics.scope;
  if (has?.kind === scope?.kind && has?.value === scope?.value) return;
  const name = (s: Scope | undefined) => (s ? `the ${s.kind} "${s.value}" report` : "the company's report");
  throw new ReportIncompleteError(`report ${reportId} ${period}: metrics.json is ${name(has)}, not ${name(scope)}; nothing sent`);
}

/**
 * `<name>.run.json`, written by `npm run report` after the PDF and metrics.json beside it: the run
 * that wrote them and their SHA-256. Two runs into the same folder can interleave; this record
 * says whether the two files on disk are still one run's pair.
 */
export interface RunRecord {
  runId: string;
  reportId: string;
  period: string;
  locale: string;
  pdfSha256: string;
  metricsSha256: string;
  /** The `.xlsx` workbook written beside the PDF (absent in records of runs that wrote none). */
  workbookSha256?: string;
}

/** Whether a run record names a workbook (the run wrote one beside the PDF); false when it is not JSON (assertSameRun says so). */
export function runNamesWorkbook(runText: string): boolean {
  try {
    return (JSON.parse(runText) as { workbookSha256?: unknown } | null)?.workbookSha256 !== undefined;
  } catch {
    return false;
  }
}

/**
 * Checks that the PDF and metrics.json (and the workbook, when the record names one) are the files
 * `run` names; throws ReportIncompleteError if not.
 */
export function assertSameRun(runText: string, pdf: Uint8Array, metrics: Uint8Array | string, where: string, workbook?: Uint8Array | null): RunRecord {
  let run: RunRecord;
  try {
    run = JSON.parse(runText) as RunRecord;
  } catch (e) {
    throw new ReportIncompleteError(`${where}: not a run record (${(e as Error).message})`, { cause: e });
  }
  if (typeof run?.runId !== 'string' || typeof run.pdfSha256 !== 'string' || typeof run.metricsSha256 !== 'string') {
    throw new ReportIncompleteError(`${where}: not a run record (runId, pdfSha256, metricsSha256)`);
  }
  const wrong = [
    sha256(pdf) !== run.pdfSha256 ? 'the PDF' : '',
    sha256(metrics) !== run.metricsSha256 ? 'metrics.json' : '',
    run.workbookSha256 !== undefined && (!workbook || sha256(workbook) !== run.workbookSha256) ? 'the workbook' : '',
  ].filter(Boolean);
  if (wrong.length) {
    throw new ReportIncompleteError(
      `${wrong.join(' and ')} ${wrong.length > 1 ? 'are' : 'is'} not from run ${run.runId} (${where}): another run overwrote ${wrong.length > 1 ? 'them' : 'it'}; run \`npm run report\` again; nothing sent`,
    );
  }
  return run;
}

/** The report one run produced, to be archived and mailed. */
export interface ReportParts {
  pdf: Uint8Array;
  metrics: Uint8Array | string;
  /** The run's Excel workbook (`.xlsx`), archived and mailed with the PDF. */
  workbook?: Uint8Array;
}

/**
 * Stores a run's report (metrics.json, the PDF, then run.json naming the run and both parts'
 * SHA-256). Called by deliverReport only after it won the claim, or for a report with no
 * recipients (nothing is mailed, so nothing mailed can be overwritten).
 */
async function storeReport(archive: Archive, keys: ReportKeys, parts: ReportParts, runId: string): Promise<ArchivedRun> {
  const meta = { 'run-id': runId };
  const m = await archive.put(keys.metrics, parts.metrics, 'application/json; charset=utf-8', meta);
  const p = await archive.put(keys.pdf, parts.pdf, 'application/pdf', meta);
  const w = parts.workbook ? await archive.put(workbookKeyOf(keys.pdf), parts.workbook, XLSX_TYPE, meta) : null;
  const run: ArchivedRun = {
    runId,
    pdfSha256: sha256(parts.pdf),
    metricsSha256: sha256(parts.metrics),
    ...(p.versionId ? { pdfVersionId: p.versionId } : {}),
    ...(m.versionId ? { metricsVersionId: m.versionId } : {}),
    ...(parts.workbook ? { workbookSha256: sha256(parts.workbook) } : {}),
    ...(w?.versionId ? { workbookVersionId: w.versionId } : {}),
  };
  await archive.put(keys.run, JSON.stringify(run, null, 2), 'application/json', meta);
  return run;
}

export interface DeliverInput {
  archive: Archive;
  /** A burst report: the team or channel whose report this is (its own keys and delivery record); its metrics.json must say so. */
  scope?: Scope;
  transport: MailTransport;
  report: ReportIdentity;
  period: string;
  /**
   * The PDF and metrics.json this run produced (checked to belong together by the caller). They
   * are archived only when this run wins the claim; a re-send after a partial delivery mails the
   * archived report instead, which the earlier recipients got.
   */
  parts: ReportParts;
  from: string;
  attachLimitBytes: number;
  linkExpiresSeconds: number;
  /** Send even when a delivery record exists (replaces it). */
  force?: boolean;
  /** The report's templates folder: its locale files override the mail's words, as they do the PDF's. */
  templatesDir?: string;
  /** Identifies the run in the delivery record and run.json (the execution name on AWS). */
  runId: string;
  now?: () => Date;
  log?: Log;
}

async function readRecord(archive: Archive, key: string): Promise<DeliveryRecord | null> {
  const bytes = await archive.get(key);
  return bytes ? (JSON.parse(Buffer.from(bytes).toString('utf8')) as DeliveryRecord) : null;
}

/** The archived report, checked to be whole and (when the record names them) the bytes it names. */
async function readArchived(archive: Archive, keys: ReportKeys, reportId: string, period: string, expected: ArchivedRun | undefined, runId: string) {
  const [pdf, metricsBytes, workbook] = await Promise.all([
    archive.get(keys.pdf),
    archive.get(keys.metrics),
    expected?.workbookSha256 ? archive.get(workbookKeyOf(keys.pdf)) : Promise.resolve(null),
  ]);
  const metrics = assertCompleteReport(reportId, period, pdf, metricsBytes);
  const found: ArchivedRun = { runId, pdfSha256: sha256(pdf!), metricsSha256: sha256(metricsBytes!), ...(workbook ? { workbookSha256: sha256(workbook) } : {}) };
  if (
    expected &&
    (found.pdfSha256 !== expected.pdfSha256 || found.metricsSha256 !== expected.metricsSha256 || found.workbookSha256 !== expected.workbookSha256)
  ) {
    throw new ReportIncompleteError(
      `report ${reportId} ${period}: the archived PDF, metrics.json or workbook is not what run ${expected.runId} archived and mailed (SHA-256 differs); nothing sent`,
    );
  }
  return { pdf: pdf!, metrics, workbook: workbook ?? undefined, run: expected ?? found };
}

/**
 * E-mails the run's report of `period` to the report's recipients, at most once, archiving it
 * after the claim is won.
 */
export async function deliverReport(input: DeliverInput): Promise<DeliveryOutcome> {
  const { archive, transport, report, period } = input;
  const now = input.now ?? (() => new Date());
  const log: Log = input.log ?? (() => {});
  const keys = reportKeys(report.id, period, input.scope);

  const ownMetrics = assertCompleteReport(report.id, period, input.parts.pdf, input.parts.metrics);
  assertScope(ownMetrics, input.scope, report.id, period);
  try {
    emailMessages(ownMetrics.locale, input.templatesDir);
  } catch (e) {
    throw new ReportIncompleteError(`report ${report.id} ${period}: ${(e as Error).message}`, { cause: e });
  }
  if (report.recipients.length === 0) {
    await storeReport(archive, keys, input.parts, input.runId);
    log('report has no recipients; archived, nothing sent', { reportId: report.id, period });
    return { status: 'no_recipients', keys };
  }
  const own: ArchivedRun = {
    runId: input.runId,
    pdfSha256: sha256(input.parts.pdf),
    metricsSha256: sha256(input.parts.metrics),
    ...(input.parts.workbook ? { workbookSha256: sha256(input.parts.workbook) } : {}),
  };
  const messageId = newMessageId(input.from);

  const json = (r: DeliveryRecord) => JSON.stringify(r, null, 2);
  const where = locate(archive, keys.delivery);
  const fresh = (attempt: number, recipients: RecipientState[], archived: ArchivedRun): DeliveryRecord => ({
    reportId: report.id,
    period,
    status: 'sending',
    attempt,
    runId: input.runId,
    transport: transport.kind,
    recipients,
    messageId,
    attached: false,
    claimedAt: now().toISOString(),
    ...(input.force ? { forced: true } : {}),
    archived,
  });
  const pendingAll = (attempt: number): RecipientState[] => report.recipients.map((address) => ({ address, status: 'pending', attempt }));
  const inDoubt = (existing: DeliveryRecord | null) =>
    new DeliveryInDoubtError(
      `report ${report.id} ${period}: run ${existing?.runId ?? '?'} started sending at ${existing?.claimedAt ?? '?'} and never confirmed; ` +
        `check whether recipients received it, then re-run with force to send again (record: ${where})`,
    );

  // Claim: who sends, to whom, and which report. Nothing is archived before the claim is won.
  let record: DeliveryRecord | null = null;
  /** The record to put back if this attempt certainly sent nothing (null: remove it). */
  let before: DeliveryRecord | null = null;
  /** What is mailed: this run's parts (first attempt, force) or the archived report (a re-send). */
  let content: { pdf: Uint8Array; metrics: MetricsJson; workbook?: Uint8Array } = { pdf: input.parts.pdf, metrics: ownMetrics, workbook: input.parts.workbook };
  /** True when this run's parts go into the archive once the claim is won. */
  let store = true;
  if (input.force) {
    before = await readRecord(archive, keys.delivery);
    const attempt = (before?.attempt ?? 0) + 1;
    record = fresh(attempt, pendingAll(attempt), own);
    await archive.put(keys.delivery, json(record), 'application/json');
  } else {
    for (let round = 0; round < 3 && !record; round++) {
      const first = fresh(1, pendingAll(1), own);
      if (await archive.putIfAbsent(keys.delivery, json(first), 'application/json')) {
        record = first;
        break;
      }
      const existing = await readRecord(archive, keys.delivery);
      if (!existing) continue; // released by a run whose send was refused: claim again
      if (existing.status === 'sent') {
        log('already delivered; nothing sent', { reportId: report.id, period, sentAt: existing.sentAt, runId: existing.runId });
        return { status: 'already_sent', record: existing, keys };
      }
      if (existing.status !== 'partial') throw inDoubt(existing);
      // Partial: send only to the current recipients nobody has confirmed.
      const got = new Set(existing.recipients.filter((r) => r.status === 'accepted').map((r) => r.address.toLowerCase()));
      const left = report.recipients.filter((a) => !got.has(a.toLowerCase()));
      if (left.length === 0) {
        log('every recipient already has it; nothing sent', { reportId: report.id, period, runId: existing.runId });
        return { status: 'already_sent', record: existing, keys };
      }
      // They get the report the others got: the archived one, still the bytes the record names.
      const stored = await readArchived(archive, keys, report.id, period, existing.archived, existing.runId);
      content = stored;
      store = false;
      const attempt = existing.attempt + 1;
      const next = fresh(
        attempt,
        [...existing.recipients.filter((r) => r.status === 'accepted'), ...left.map((address): RecipientState => ({ address, status: 'pending', attempt }))],
        stored.run,
      );
      if (!(await archive.putIfAbsent(keys.deliveryAttempt(attempt), json(next), 'application/json'))) {
        const now2 = await readRecord(archive, keys.delivery);
        if (now2 && now2.attempt === existing.attempt) throw inDoubt(await readRecord(archive, keys.deliveryAttempt(attempt)));
        continue; // another run finished that attempt: look again
      }
      await archive.put(keys.delivery, json(next), 'application/json');
      record = next;
      before = existing;
    }
    if (!record) throw inDoubt(await readRecord(archive, keys.delivery));
  }

  /** Nothing was sent: put the record back as it was, so a retry sends. */
  const release = async (attempt: number, evidence?: SendEvidence) => {
    if (before) await archive.put(keys.delivery, json({ ...before, attempt, ...(evidence ? { evidence } : {}) }), 'application/json');
    else await archive.remove(keys.delivery);
  };

  // The claim is this run's: only now does its report go into the archive.
  let archived = record.archived!;
  if (store) {
    try {
      archived = await storeReport(archive, keys, input.parts, input.runId);
    } catch (e) {
      await release(record.attempt).catch(() => {});
      throw e instanceof ArchiveError ? e : new ArchiveError(`report ${report.id} ${period}: ${(e as Error).message}`, { cause: e });
    }
    log('report archived', { pdfKey: keys.pdf, runId: input.runId, pdfVersionId: archived.pdfVersionId });
  }

  let message: Awaited<ReturnType<typeof composeReportMessage>>;
  try {
    const { recipients: _r, ...def } = report;
    const workbook = content.workbook;
    message = await composeReportMessage({
      from: input.from,
      to: report.recipients,
      report: def,
      period,
      metrics: content.metrics,
      messages: emailMessages(content.metrics.locale, input.templatesDir),
      pdf: content.pdf,
      pdfName: keys.pdfName,
      ...(workbook
        ? {
            workbook: {
              bytes: workbook,
              name: workbookKeyOf(keys.pdfName),
              link: () => archive.link(workbookKeyOf(keys.pdf), input.linkExpiresSeconds, archived.workbookVersionId),
            },
          }
        : {}),
      attachLimitBytes: input.attachLimitBytes,
      link: () => archive.link(keys.pdf, input.linkExpiresSeconds, archived.pdfVersionId),
      messageId,
    });
  } catch (e) {
    await release(record.attempt).catch(() => {});
    throw e;
  }
  record = { ...record, attached: message.attached, archived };

  const claimed: DeliveryRecord = record;
  const to = claimed.recipients.filter((r) => r.status === 'pending').map((r) => r.address);
  let result: Awaited<ReturnType<MailTransport['send']>>;
  try {
    result = await transport.send(message.raw, { from: input.from, to }, `${reportName(report.id, input.scope)}-${period}`);
  } catch (e) {
    const evidence: SendEvidence =
      e instanceof TransportError ? e.evidence : { transport: transport.kind, phase: 'request', error: (e as Error).name, message: (e as Error).message };
    if (e instanceof TransportError && e.definite) {
      await release(claimed.attempt, evidence);
      throw new DeliverySendError(`report ${report.id} ${period}: ${e.message}`, { cause: e });
    }
    const doubtful: DeliveryRecord = {
      ...claimed,
      status: 'in_doubt',
      recipients: claimed.recipients.map((r) => (r.status === 'pending' ? { ...r, status: 'in_doubt' } : r)),
      evidence,
    };
    try {
      await archive.put(keys.delivery, json(doubtful), 'application/json');
    } catch (w) {
      log('could not record the in-doubt send; the record still says sending', { error: (w as Error).message });
    }
    throw new DeliveryInDoubtError(
      `report ${report.id} ${period}: sending failed midway (${(e as Error).message}); the message may have been accepted. ` +
        `Check whether recipients received it, then re-run with force if they did not (record: ${where})`,
      { cause: e },
    );
  }

  const accepted = new Set(result.accepted.map((a) => a.toLowerCase()));
  const refusedBy = new Map(result.refused.map((r) => [r.address.toLowerCase(), r.reply]));
  const recipients = claimed.recipients.map((r): RecipientState => {
    if (r.status !== 'pending') return r;
    const key = r.address.toLowerCase();
    if (accepted.has(key)) return { ...r, status: 'accepted' };
    // Not in either list: the server said nothing clear about this one.
    return refusedBy.has(key) ? { ...r, status: 'refused', reply: refusedBy.get(key)! } : { ...r, status: 'in_doubt' };
  });
  const status: DeliveryRecord['status'] = recipients.some((r) => r.status === 'in_doubt')
    ? 'in_doubt'
    : recipients.some((r) => r.status === 'refused')
      ? 'partial'
      : 'sent';
  const { evidence: _old, ...rest } = claimed;
  const done: DeliveryRecord = { ...rest, status, recipients, sentAt: now().toISOString(), providerId: result.providerId };
  await archive.put(keys.delivery, json(done), 'application/json');
  if (status === 'in_doubt') {
    throw new DeliveryInDoubtError(
      `report ${report.id} ${period}: the server accepted the message but did not report on ` +
        `${recipients.filter((r) => r.status === 'in_doubt').map((r) => r.address).join(', ')}; check, then re-run with force (record: ${where})`,
    );
  }
  const refused = recipients.filter((r) => r.status === 'refused');
  log(status === 'sent' ? 'report delivered' : 'report partially delivered', {
    reportId: report.id,
    period,
    transport: transport.kind,
    attached: message.attached,
    recipients: to.length,
    refused: refused.map((r) => `${r.address}: ${r.reply}`),
  });
  if (status === 'partial') return { status: 'partial', record: done, keys, sentTo: to, refused };
  return { status: 'sent', record: done, keys, sentTo: to };
}
