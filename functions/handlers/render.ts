/**
 * Render state: metrics.json from the run's scratch space -> the report PDF and the Excel workbook
 * of its figures (`report.xlsx`, ../render/workbook.ts), written beside it. For a report with
 * `burst` the company render also lists the team (or channel) reports for the state machine's Map;
 * each of those renders, from the same metrics.json, its segment's metrics.json and PDF into
 * `work/<runId>/<kind>=<slug>/` (../render/burst.ts), with its own workbook.
 * The company report's first page carries the analyst's commentary when the archive bucket holds
 * `commentary/<reportId>/<period>.<locale>.md` (../render/commentary.ts, as `npm run report
 * --commentary` reads it locally): no object, no commentary block; an object that cannot be read
 * (access denied, not UTF-8 text, ...) fails the render with an error naming its key.
 * The renderer (../render/renderReport.ts) is passed in, so this adapter is testable without
 * Chromium.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '@aws-lambda-powertools/logger';
import { workKeys } from '../deliver/keys.js';
import { workbookKeyOf, XLSX_TYPE } from '../deliver/compose.js';
import type { ReportDef, ReportsFile } from '../pipeline/reportsConfig.js';
import { InvalidEventError, parseEvent, reportById, StepEventSchema, type StepEvent } from './runtime.js';
import { planBursts, segmentMetrics } from '../render/burst.js';
import { parseMetricsJsonText, type MetricsJson } from '../metrics/schema.js';
import { commentaryKey, commentaryText } from '../render/commentary.js';

export type RenderFn = (opts: { metrics: MetricsJson; report: ReportDef; commentary: string | null }) => Promise<{ pdf: Uint8Array; workbook?: Uint8Array }>;

/** An analyst's commentary object that exists but cannot be read; its message names the key. */
export class CommentaryReadError extends Error {
  override name = 'CommentaryReadError';
}

/** The commentary's Markdown from `s3://<bucket>/commentary/...`, or null when there is no object (or it is blank). */
export async function readCommentaryObject(s3: S3Client, bucket: string, reportId: string, period: string, locale: string): Promise<string | null> {
  const key = commentaryKey(reportId, period, locale);
  const where = `s3://${bucket}/${key}`;
  let bytes: Uint8Array;
  try {
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    bytes = await got.Body!.transformToByteArray();
  } catch (e) {
    if ((e as { name?: string }).name === 'NoSuchKey') return null;
    throw new CommentaryReadError(`commentary ${where} cannot be read: ${(e as Error).message || (e as Error).name}`, { cause: e });
  }
  try {
    return commentaryText(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new CommentaryReadError(`commentary ${where} cannot be read: not UTF-8 text`, { cause: e });
  }
}

export interface RenderDeps {
  s3: S3Client;
  reports: ReportsFile;
  archiveBucket: string;
  render: RenderFn;
  logger: Logger;
}

export interface RenderResult extends StepEvent {
  pdfKey: string;
  pdfBytes: number;
  /**
   * The company report of a report with `burst`: one step event per team or channel report, for
   * the state machine's Map (empty otherwise), and one line per value nobody owns or owner without
   * data, for the ops notice.
   */
  bursts?: StepEvent[];
  burstWarnings?: string[];
  /** The workbook beside the PDF, when the renderer made one. */
  workbookKey?: string;
}

export function createRenderHandler(deps: RenderDeps) {
  return async (event: unknown): Promise<RenderResult> => {
    const e = parseEvent(StepEventSchema, event);
    deps.logger.appendKeys({ reportId: e.reportId, period: e.period, runId: e.runId, ...(e.burst ? { burst: `${e.burst.kind}=${e.burst.value}` } : {}) });
    try {
      const report = reportById(deps.reports, e.reportId);
      const company = workKeys(e.runId);
      const got = await deps.s3.send(new GetObjectCommand({ Bucket: deps.archiveBucket, Key: company.metrics }));
      const companyMetrics = parseMetricsJsonText(await got.Body!.transformToString('utf8'), `s3://${deps.archiveBucket}/${company.metrics}`);
      // A burst: that team's or channel's report, from the run's one company metrics.json, in its own folder.
      if (e.burst && report.burst?.by !== e.burst.kind) throw new InvalidEventError(`report ${report.id} does not burst by ${e.burst.kind}`);
      const keys = e.burst ? workKeys(e.runId, e.burst) : company;
      const metrics = e.burst ? segmentMetrics(companyMetrics, e.burst) : companyMetrics;
      if (e.burst) await deps.s3.send(new PutObjectCommand({ Bucket: deps.archiveBucket, Key: keys.metrics, Body: `${JSON.stringify(metrics, null, 2)}\n`, ContentType: 'application/json' }));
      // The analyst's commentary goes on the company report (a team's report has none, as locally).
      const commentary = e.burst ? null : await readCommentaryObject(deps.s3, deps.archiveBucket, report.id, metrics.period.id, metrics.locale);
      const started = Date.now();
      const rendered = await deps.render({ metrics, report, commentary });
      const pdf = rendered.pdf;
      // Each report has its workbook beside its PDF: a team's is built from the team's metrics.json (as locally, docs/burst.md).
      const workbook = rendered.workbook;
      await deps.s3.send(new PutObjectCommand({ Bucket: deps.archiveBucket, Key: keys.pdf, Body: pdf, ContentType: 'application/pdf' }));
      const workbookKey = workbookKeyOf(keys.pdf);
      if (workbook) await deps.s3.send(new PutObjectCommand({ Bucket: deps.archiveBucket, Key: workbookKey, Body: workbook, ContentType: XLSX_TYPE }));
      deps.logger.info('report rendered', { pdfKey: keys.pdf, bytes: pdf.byteLength, workbookBytes: workbook?.byteLength, commentary: commentary !== null, ms: Date.now() - started });
      const plan = !e.burst && report.burst ? planBursts(metrics, report.burst) : undefined;
      if (plan?.warnings.length) deps.logger.warn('burst recipients do not match the data', { burstWarnings: plan.warnings });
      const burstFields = plan ? { bursts: plan.bursts.map((b) => ({ ...e, burst: b.scope })), burstWarnings: plan.warnings } : {};
      return { ...e, pdfKey: keys.pdf, pdfBytes: pdf.byteLength, ...(workbook ? { workbookKey } : {}), ...burstFields };
    } finally {
      deps.logger.removeKeys(['reportId', 'period', 'runId', 'burst']);
    }
  };
}
