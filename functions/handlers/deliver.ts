/**
 * Archive-and-deliver state: takes the run's metrics.json and PDF from its scratch space
 * (`work/<runId>/`, so both are of this run), checks they form a complete report, claims the
 * delivery, and only then archives them under `reports/<reportId>/<period>/` (with the run id) and
 * e-mails the report through SES at most once (see ../deliver/deliver.ts). A run that finds the
 * report already delivered leaves the archive as it is.
 *
 * With `testTo` in the input (the state machine's start input carries it through), one copy marked
 * as a test goes to that address only: nothing is claimed, archived or recorded, so a later real
 * run still mails every recipient once.
 *
 * The run's workbook (`work/<runId>/report.xlsx`, when the render step wrote one) is archived and
 * mailed with the PDF; the words come from the report's templates folder, shipped with the
 * function, as for the PDF.
 *
 * Errors go to the state machine by name: DeliverySendError (nothing sent) is retried;
 * DeliveryInDoubtError (may have been sent, evidence in delivery.json) and PartialDeliveryError
 * (sent, but recipients refused; thrown after delivery.json records who got it) go to ops.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '@aws-lambda-powertools/logger';
import { S3Archive } from '../deliver/archive.js';
import { deliverReport } from '../deliver/deliver.js';
import { PartialDeliveryError, ReportIncompleteError } from '../deliver/errors.js';
import { workKeys } from '../deliver/keys.js';
import { workbookKeyOf } from '../deliver/compose.js';
import { sendTestCopy } from '../deliver/emailTest.js';
import { templatesDirFor } from '../render/messages.js';
import type { MailTransport } from '../deliver/transport.js';
import type { ReportsFile } from '../pipeline/reportsConfig.js';
import { InvalidEventError, parseEvent, reportById, StepEventSchema, type StepEvent } from './runtime.js';
import { burstRecipients, scopedTitles } from '../render/burst.js';

export interface DeliverDeps {
  s3: S3Client;
  transport: MailTransport;
  reports: ReportsFile;
  archiveBucket: string;
  sender: string;
  attachLimitBytes: number;
  linkExpiresSeconds: number;
  logger: Logger;
}

export interface DeliverResult extends StepEvent {
  /** `test_sent`: a test copy went to `testTo` only. */
  delivery: 'sent' | 'already_sent' | 'no_recipients' | 'test_sent';
  pdfKey: string;
  messageId: string | null;
}

async function getBytes(s3: S3Client, bucket: string, key: string): Promise<Uint8Array>;
async function getBytes(s3: S3Client, bucket: string, key: string, optional: true): Promise<Uint8Array | undefined>;
async function getBytes(s3: S3Client, bucket: string, key: string, optional = false): Promise<Uint8Array | undefined> {
  try {
    const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await r.Body!.transformToByteArray();
  } catch (e) {
    if ((e as Error).name === 'NoSuchKey') {
      if (optional) return undefined;
      throw new ReportIncompleteError(`s3://${bucket}/${key} is missing`, { cause: e });
    }
    throw e;
  }
}

export function createDeliverHandler(deps: DeliverDeps) {
  const archive = new S3Archive({ s3: deps.s3, bucket: deps.archiveBucket });
  return async (event: unknown): Promise<DeliverResult> => {
    const e = parseEvent(StepEventSchema, event);
    deps.logger.appendKeys({ reportId: e.reportId, period: e.period, runId: e.runId, ...(e.burst ? { burst: `${e.burst.kind}=${e.burst.value}` } : {}) });
    try {
      const def = reportById(deps.reports, e.reportId);
      // A burst: that team's or channel's report (own work folder, keys, delivery record), to its recipients or the fallback.
      if (e.burst && def.burst?.by !== e.burst.kind) throw new InvalidEventError(`report ${def.id} does not burst by ${e.burst.kind}`);
      const report = e.burst && def.burst ? { ...scopedTitles(def, e.burst), recipients: burstRecipients(def.burst, e.burst.value) } : def;
      const work = workKeys(e.runId, e.burst);
      const [metrics, pdf, workbook] = await Promise.all([
        getBytes(deps.s3, deps.archiveBucket, work.metrics),
        getBytes(deps.s3, deps.archiveBucket, work.pdf),
        getBytes(deps.s3, deps.archiveBucket, workbookKeyOf(work.pdf), true),
      ]);
      const parts = { pdf, metrics, ...(workbook ? { workbook } : {}) };
      const templatesDir = templatesDirFor(report);
      if (e.testTo) {
        const sent = await sendTestCopy({
          transport: deps.transport,
          report,
          period: e.period,
          parts,
          from: deps.sender,
          to: e.testTo,
          attachLimitBytes: deps.attachLimitBytes,
          templatesDir,
          // The run's own scratch copies (the archive is not touched).
          link: (file) => archive.link(file === 'pdf' ? work.pdf : workbookKeyOf(work.pdf), deps.linkExpiresSeconds),
        });
        deps.logger.info('test copy sent; nothing archived or recorded', { testTo: sent.to, messageId: sent.messageId });
        return { ...e, delivery: 'test_sent', pdfKey: work.pdf, messageId: sent.messageId };
      }
      const outcome = await deliverReport({
        archive,
        transport: deps.transport,
        report,
        scope: e.burst,
        period: e.period,
        parts,
        templatesDir,
        from: deps.sender,
        attachLimitBytes: deps.attachLimitBytes,
        linkExpiresSeconds: deps.linkExpiresSeconds,
        force: e.force,
        runId: e.runId,
        log: (msg, extra) => deps.logger.info(msg, { ...extra }),
      });
      const keys = outcome.keys;
      if (outcome.status === 'partial') {
        deps.logger.error('report partially delivered', { refused: outcome.refused, deliveryKey: keys.delivery });
        throw new PartialDeliveryError(
          `report ${report.id} ${e.period}: sent to ${outcome.sentTo.length - outcome.refused.length} of ${outcome.sentTo.length} recipients; refused: ` +
            `${outcome.refused.map((r) => `${r.address} (${r.reply ?? 'refused'})`).join(', ')}. ` +
            `Fix the addresses, then re-run: only the recipients who did not get it are sent to (record: s3://${deps.archiveBucket}/${keys.delivery})`,
        );
      }
      return {
        ...e,
        delivery: outcome.status,
        pdfKey: keys.pdf,
        messageId: outcome.status === 'no_recipients' ? null : outcome.record.messageId,
      };
    } finally {
      deps.logger.removeKeys(['reportId', 'period', 'runId', 'burst']);
    }
  };
}
