/**
 * npm run report -- [--data DIR] [--period YYYY-MM] [--timezone IANA] [--out DIR] [--targets FILE]
 *                   [--report ID] [--locale en|zh-CN|ru] [--templates DIR]
 *
 * Computes metrics.json (the metrics job), renders it to `<out>/<reportId>-<period>.pdf` beside
 * `<out>/<reportId>-<period>.metrics.json`, and prints the PDF's path. With no arguments: the
 * default report on sample data into ./out.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { LOCALES, type Locale } from '../pipeline/reportsConfig.js';
import { renderReport } from '../render/renderReport.js';
import { addMetricsOptions, runCli, runMetricsJob, type MetricsJobOptions } from './runMetrics.js';

export interface ReportJobOptions extends Omit<MetricsJobOptions, 'locale'> {
  locale?: Locale;
  templates?: string;
  timeoutMs?: number;
}

/** The whole local job: metrics.json, then the PDF beside it. */
export async function runReportJob(o: ReportJobOptions): Promise<{ pdfPath: string; metricsPath: string; missingGlyphs: string[]; blocked: string[] }> {
  const log = o.log ?? (() => {});
  const { metrics, metricsPath, report } = await runMetricsJob({ ...o, locale: o.locale });
  const started = Date.now();
  const { pdf, missingGlyphs, blocked } = await renderReport({
    metrics,
    report,
    locale: o.locale,
    templatesDir: o.templates ? resolve(o.templates) : undefined,
    timeoutMs: o.timeoutMs,
  });
  const pdfPath = metricsPath.replace(/\.metrics\.json$/, '.pdf');
  writeFileSync(pdfPath, pdf);
  log(`rendered ${pdf.byteLength} bytes in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (missingGlyphs.length) log(`warning: no embedded font has a glyph for ${missingGlyphs.map((c) => `"${c}" (U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')})`).join(', ')}`);
  if (blocked.length) log(`warning: the templates asked for ${blocked.length} blocked URL(s): ${blocked.slice(0, 5).join(', ')}`);
  return { pdfPath, metricsPath, missingGlyphs, blocked };
}

export function reportCommand(): Command {
  const cmd = new Command('report').description('Compute metrics.json and render the report PDF beside it.');
  addMetricsOptions(cmd)
    .addOption(new Option('--locale <locale>', "report language (default: the report's)").choices([...LOCALES]))
    .option('--templates <dir>', 'templates folder (default: templates/<report.template>)')
    .option('--timeout <ms>', 'render timeout in milliseconds', (v) => Number(v), 60_000);
  return cmd;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await runCli(async () => {
    const cmd = reportCommand().parse(process.argv);
    const o = cmd.opts<ReportJobOptions & { timeout: number }>();
    const { pdfPath } = await runReportJob({ ...o, timeoutMs: o.timeout, log: (l) => process.stderr.write(`${l}\n`) });
    process.stdout.write(`${pdfPath}\n`);
  });
}
