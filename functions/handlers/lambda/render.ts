/** Lambda entry of the render state (see ../render.ts): Chromium from @sparticuz/chromium. */
import { S3Client } from '@aws-sdk/client-s3';
import { renderReport } from '../../render/renderReport.js';
import { templatesDirFor } from '../../render/messages.js';
import { buildWorkbook } from '../../render/workbook.js';
import { createRenderHandler } from '../render.js';
import { createLogger, loadReportsFrom, requireEnv } from '../runtime.js';

// The bundle sits two folders deep in the package, so the renderer finds templates/ beside it.
const env = requireEnv(['CONFIG_DIR', 'ARCHIVE_BUCKET']);
const logger = createLogger('render');

export const handler = createRenderHandler({
  s3: new S3Client({}),
  reports: loadReportsFrom(env.CONFIG_DIR),
  archiveBucket: env.ARCHIVE_BUCKET,
  render: async ({ metrics, report }) => {
    const out = await renderReport({ metrics, report, timeoutMs: 120_000 });
    if (out.blocked.length) logger.warn('the page tried to load blocked URLs', { blocked: out.blocked });
    if (out.missingGlyphs.length) logger.warn('characters without a glyph in the embedded fonts', { missingGlyphs: out.missingGlyphs });
    // The figures as an Excel workbook, in the report's words (templates/<report.template>/locales overrides).
    const workbook = await buildWorkbook({ metrics, report, templatesDir: templatesDirFor(report) });
    return { ...out, workbook };
  },
  logger,
});
