/**
 * npm run report -- [--data DIR] [--period YYYY-MM] [--timezone IANA] [--out DIR] [--targets FILE]
 *                   [--report ID] [--locale en|zh-CN|ru] [--templates DIR]
 *
 * Computes metrics.json (the metrics job), renders it to `<out>/<reportId>-<period>.<locale>.pdf`
 * beside `<out>/<reportId>-<period>.<locale>.metrics.json`, writes the figures as an Excel workbook
 * `<out>/<reportId>-<period>.<locale>.xlsx`, then `<out>/<reportId>-<period>.<locale>.run.json`
 * (the run id and the three files' SHA-256, which `npm run deliver` checks), each file
 * atomically, and prints the PDF's path. With no arguments:
 * the default report on sample data into ./out.
 */
import { randomBytes } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { LOCALES, type Locale } from '../pipeline/reportsConfig.js';
import { renderReport } from '../render/renderReport.js';
import { commentaryDirFor, readCommentary } from '../render/commentary.js';
import { templatesDirFor } from '../render/messages.js';
import { buildWorkbook } from '../render/workbook.js';
import { renderBursts } from './bursts.js';
import { addMetricsOptions, DEFAULTS, runCli, runMetricsJob, writeRenderedRun, type MetricsJobOptions } from './runMetrics.js';
import { assertTemplatesStrict } from '../render/templates.js';
import { findReport } from '../pipeline/reportsConfig.js';
import { loadReports } from '../metrics/config.js';

/** A local run's id: the time and a random part (`local-20261101T040000Z-1a2b3c4d`). */
export function localRunId(now = new Date()): string {
  return `local-${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(4).toString('hex')}`;
}

export interface ReportJobOptions extends Omit<MetricsJobOptions, 'locale'> {
  locale?: Locale;
  templates?: string;
  /** Folder of the managers' commentary files, `<dir>/<reportId>/<period>.<locale>.md` (default: config/commentary when it exists). */
  commentary?: string;
  timeoutMs?: number;
}

/** The whole local job: metrics.json, then the PDF beside it. */
export async function runReportJob(o: ReportJobOptions): Promise<{ pdfPath: string; metricsPath: string; runPath: string; runId: string; missingGlyphs: string[]; blocked: string[]; bursts: string[] }> {
  const log = o.log ?? (() => {});
  const runId = localRunId(o.now);
  // The templates first, rendered in strict mode against the sample models: a typo fails here, before any data is read.
  const reportDef = findReport(loadReports(o.reports ?? DEFAULTS.reports), o.report);
  assertTemplatesStrict(o.templates ? resolve(o.templates) : templatesDirFor(reportDef), reportDef);
  // metricsText: the bytes this run wrote (another run into the same folder may replace the file).
  const { metrics, metricsPath, metricsText, report } = await runMetricsJob({ ...o, locale: o.locale });
  const started = Date.now();
  const commentaryDir = commentaryDirFor(o.commentary);
  const { pdf, missingGlyphs, blocked } = await renderReport({
    metrics,
    report,
    locale: o.locale,
    commentary: commentaryDir ? readCommentary(commentaryDir, metrics.reportId, metrics.period.id, o.locale ?? report.locale) : null,
    templatesDir: o.templates ? resolve(o.templates) : undefined,
    timeoutMs: o.timeoutMs,
  });
  // The figures as an Excel workbook beside the PDF, in the same words (render/workbook.ts).
  const workbook = await buildWorkbook({ metrics, report, locale: o.locale, templatesDir: o.templates ? resolve(o.templates) : templatesDirFor(report) });
  const base = metricsPath.replace(/\.metrics\.json$/, '');
  writeRenderedRun(base, runId, metrics, metricsText, pdf, workbook);
  const pdfPath = `${base}.pdf`;
  const runPath = `${base}.run.json`;
  log(`rendered ${pdf.byteLength} bytes in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (missingGlyphs.length) log(`warning: no embedded font has a glyph for ${missingGlyphs.map((c) => `"${c}" (U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')})`).join(', ')}`);
  if (blocked.length) log(`warning: the templates asked for ${blocked.length} blocked URL(s): ${blocked.slice(0, 5).join(', ')}`);
  // A report with `burst`: one report per team or channel from this metrics.json, in one browser (cli/bursts.ts).
  const bursts = await renderBursts({ company: metrics, report, runId, out: dirname(metricsPath), locale: o.locale, templatesDir: o.templates ? resolve(o.templates) : undefined, timeoutMs: o.timeoutMs, log });
  return { pdfPath, metricsPath, runPath, runId, missingGlyphs, blocked, bursts };
}

export function reportCommand(): Command {
  const cmd = new Command('report').description('Compute metrics.json and render the report PDF beside it.');
  addMetricsOptions(cmd)
    .addOption(new Option('--locale <locale>', "report language (default: the report's)").choices([...LOCALES]))
    .option('--templates <dir>', 'templates folder (default: templates/<report.template>)')
    .option('--commentary <dir>', "managers' commentary: <dir>/<reportId>/<period>.<locale>.md on the first page (default: config/commentary, if it exists)")
    .option('--timeout <ms>', 'render timeout in milliseconds', (v) => Number(v), 60_000);
  return cmd;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await runCli(async () => {
    const cmd = reportCommand().parse(process.argv);
    const o = cmd.opts<ReportJobOptions & { timeout: number }>();
    const { pdfPath, bursts } = await runReportJob({ ...o, timeoutMs: o.timeout, log: (l) => process.stderr.write(`${l}\n`) });
    process.stdout.write(`${[pdfPath, ...bursts].join('\n')}\n`);
  });
}
