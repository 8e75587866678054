/** Lambda entry of the render state (see ../render.ts): Chromium from @sparticuz/chromium. */
import { S3Client } from '@aws-sdk/client-s3';
import type { Browser } from 'puppeteer-core';
import { closeBrowser, launchBrowser } from '../../render/browser.js';
import { renderReport } from '../../render/renderReport.js';
import { templatesDirFor } from '../../render/messages.js';
import { buildWorkbook } from '../../render/workbook.js';
import { createRenderHandler } from '../render.js';
import { createLogger, loadReportsFrom, requireEnv } from '../runtime.js';

// The bundle sits two folders deep in the package, so the renderer finds templates/ beside it.
const env = requireEnv(['CONFIG_DIR', 'ARCHIVE_BUCKET']);
const logger = createLogger('render');

/**
 * One Chromium per container, kept between invocations: a burst's Map calls this function once per
 * team, and a warm container then renders without starting Chromium again. Started on first use,
 * and again when it has gone or a render failed in it.
 */
let warm: Promise<Browser> | undefined;
async function browser(): Promise<Browser> {
  const b = await warm?.catch(() => undefined);
  if (b?.connected) return b;
  warm = launchBrowser();
  return warm;
}

export const handler = createRenderHandler({
  s3: new S3Client({}),
  reports: loadReportsFrom(env.CONFIG_DIR),
  archiveBucket: env.ARCHIVE_BUCKET,
  render: async ({ metrics, report, commentary }) => {
    const b = await browser();
    const out = await renderReport({ metrics, report, commentary, timeoutMs: 120_000, browser: b }).catch(async (e: unknown) => {
      warm = undefined;
      await closeBrowser(b, 1_000);
      throw e;
    });
    if (out.blocked.length) logger.warn('the page tried to load blocked URLs', { blocked: out.blocked });
    if (out.missingGlyphs.length) logger.warn('characters without a glyph in the embedded fonts', { missingGlyphs: out.missingGlyphs });
    // The figures as an Excel workbook, in the report's words (templates/<report.template>/locales overrides).
    const workbook = await buildWorkbook({ metrics, report, templatesDir: templatesDirFor(report) });
    return { ...out, workbook };
  },
  logger,
});
