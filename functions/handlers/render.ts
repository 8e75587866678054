/**
 * Render state: metrics.json from the run's scratch space -> the report PDF and the Excel workbook
 * of its figures (`report.xlsx`, ../render/workbook.ts), written beside it.
 * The renderer (../render/renderReport.ts) is passed in, so this adapter is testable without
 * Chromium.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '@aws-lambda-powertools/logger';
import { workKeys } from '../deliver/keys.js';
import { workbookKeyOf, XLSX_TYPE } from '../deliver/compose.js';
import type { ReportDef, ReportsFile } from '../pipeline/reportsConfig.js';
import { parseEvent, reportById, StepEventSchema, type StepEvent } from './runtime.js';
import { parseMetricsJsonText, type MetricsJson } from '../metrics/schema.js';

export type RenderFn = (opts: { metrics: MetricsJson; report: ReportDef }) => Promise<{ pdf: Uint8Array; workbook?: Uint8Array }>;

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
  /** The workbook beside the PDF, when the renderer made one. */
  workbookKey?: string;
}

export function createRenderHandler(deps: RenderDeps) {
  return async (event: unknown): Promise<RenderResult> => {
    const e = parseEvent(StepEventSchema, event);
    deps.logger.appendKeys({ reportId: e.reportId, period: e.period, runId: e.runId });
    try {
      const report = reportById(deps.reports, e.reportId);
      const keys = workKeys(e.runId);
      const got = await deps.s3.send(new GetObjectCommand({ Bucket: deps.archiveBucket, Key: keys.metrics }));
      const metrics = parseMetricsJsonText(await got.Body!.transformToString('utf8'), `s3://${deps.archiveBucket}/${keys.metrics}`);
      const started = Date.now();
      const { pdf, workbook } = await deps.render({ metrics, report });
      await deps.s3.send(new PutObjectCommand({ Bucket: deps.archiveBucket, Key: keys.pdf, Body: pdf, ContentType: 'application/pdf' }));
      const workbookKey = workbookKeyOf(keys.pdf);
      if (workbook) await deps.s3.send(new PutObjectCommand({ Bucket: deps.archiveBucket, Key: workbookKey, Body: workbook, ContentType: XLSX_TYPE }));
      deps.logger.info('report rendered', { pdfKey: keys.pdf, bytes: pdf.byteLength, workbookBytes: workbook?.byteLength, ms: Date.now() - started });
      return { ...e, pdfKey: keys.pdf, pdfBytes: pdf.byteLength, ...(workbook ? { workbookKey } : {}) };
    } finally {
      deps.logger.removeKeys(['reportId', 'period', 'runId']);
    }
  };
}
