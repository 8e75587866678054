/**
 * npm run bench:render -- [--metrics FILE] [--report ID] [--runs N]
 *
 * Prints, in one run:
 *   1. model -> PDF: report model to PDF bytes for the default report (HTML render, fonts, page
 *      load, page.pdf), median of N warm runs in one running browser;
 *   2. Chromium alone: page.pdf of the same final HTML already loaded in a page, median of N;
 *   3. their ratio (goal <= 1.3);
 *   4. 20 per-team variants of the report rendered one after another with one browser.
 * Browser start-up is printed separately: a Lambda pays it once per container, not per report.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { findReport } from '../functions/pipeline/reportsConfig.js';
import { closeBrowser, DEFAULT_PDF_OPTIONS, htmlToPdf, launchBrowser, loadHtml } from '../functions/render/browser.js';
import { loadMessages } from '../functions/render/messages.js';
import { buildReportModel, renderHtml, templatesDirFor } from '../functions/render/renderReport.js';
import { parseMetricsJsonText, type MetricsJson } from '../functions/metrics/schema.js';
import { loadReports } from '../functions/metrics/config.js';

const opts = new Command('bench:render')
  .option('--metrics <file>', 'metrics.json to render', 'test/fixtures/metrics.sample.json')
  .option('--report <id>', 'report id (default: the first in config/reports.yaml)')
  .option('--runs <n>', 'timed runs per measure', (v) => Number(v), 5)
  .parse()
  .opts<{ metrics: string; report?: string; runs: number }>();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => `${x.toFixed(0)} ms`;
async function time<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t = performance.now();
  const r = await fn();
  return [performance.now() - t, r];
}

/** A per-team variant: the team's own figures (value, status, history) where it has them, titled with the team's name. */
function teamVariant(metrics: MetricsJson, team: string): MetricsJson {
  const own = metrics.segments.team[team] ?? {};
  const indicators = Object.fromEntries(
    Object.entries(metrics.indicators).map(([id, r]) => {
      const s = own[id];
      return [id, s ? { ...r, ...s } : r];
    }),
  );
  return { ...metrics, indicators, segments: { team: { [team]: own }, channel: metrics.segments.channel } };
}

const metrics = parseMetricsJsonText(readFileSync(opts.metrics, 'utf8'), opts.metrics);
const report = findReport(loadReports('config/reports.yaml'), opts.report);
const templatesDir = templatesDirFor(report);
const messages = loadMessages(report.locale, templatesDir);

const [launchMs, browser] = await time(() => launchBrowser());
try {
  const modelToPdf = () => htmlToPdf(browser, renderHtml(buildReportModel(metrics, report, report.locale, messages), templatesDir));
  const [coldMs, first] = await time(modelToPdf);

  const full: number[] = [];
  for (let i = 0; i < opts.runs; i++) full.push((await time(modelToPdf))[0]);

  const html = renderHtml(buildReportModel(metrics, report, report.locale, messages), templatesDir);
  // Chromium alone: the same final HTML loaded into a fresh page (not timed), then page.pdf (timed),
  // so each measure includes Chromium's first print layout of that page, as a real render does.
  const pdfOnly: number[] = [];
  const loadOnly: number[] = [];
  for (let i = 0; i < opts.runs; i++) {
    const [tl, page] = await time(() => loadHtml(browser, html));
    loadOnly.push(tl);
    try {
      pdfOnly.push((await time(() => page.pdf(DEFAULT_PDF_OPTIONS)))[0]);
    } finally {
      await page.close();
    }
  }

  const teams = Object.keys(metrics.segments.team);
  const variants = Array.from({ length: 20 }, (_, i) => teams[i % teams.length]!);
  const renderVariant = (team: string, i: number) => {
    const r = { ...report, title: `${report.title} — ${team}${i >= teams.length ? ` (${Math.floor(i / teams.length) + 1})` : ''}` };
    return htmlToPdf(browser, renderHtml(buildReportModel(teamVariant(metrics, team), r, r.locale, messages), templatesDir));
  };
  const [variantsMs] = await time(async () => {
    for (const [i, team] of variants.entries()) await renderVariant(team, i);
  });
  // The same 20 with four pages of the one browser at work at a time.
  const [variants4Ms] = await time(async () => {
    const queue = [...variants.entries()];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let next = queue.shift(); next; next = queue.shift()) await renderVariant(next[1], next[0]);
      }),
    );
  });

  const fullMs = median(full);
  const pdfMs = median(pdfOnly);
  const loadMs = median(loadOnly);
  const ratio = fullMs / pdfMs;
  const ratioWithLoad = fullMs / (pdfMs + loadMs);
  const lines = [
    `report ${report.id} (${report.locale}), ${Object.keys(metrics.indicators).length} indicators, ${teams.length} teams; ${(html.length / 1024).toFixed(0)} KB of HTML, ${(first.pdf.byteLength / 1024).toFixed(0)} KB of PDF`,
    `browser start                     ${ms(launchMs)}`,
    `first render (cold caches)        ${ms(coldMs)}`,
    `model -> PDF (median of ${opts.runs})        ${ms(fullMs)}`,
    `Chromium page.pdf alone           ${ms(pdfMs)}   (+ loading the final HTML into a page: ${ms(loadMs)})`,
    `ratio model->PDF / page.pdf       ${ratio.toFixed(2)}   (goal <= 1.30: ${ratio <= 1.3 ? 'met' : 'NOT met'})`,
    `ratio model->PDF / (load + pdf)   ${ratioWithLoad.toFixed(2)}   (our own work: templates, charts, fonts, model)`,
    `20 per-team variants, one browser ${ms(variantsMs)}   (${ms(variantsMs / 20)} each, one after another)`,
    `  the same, 4 pages in parallel    ${ms(variants4Ms)}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await closeBrowser(browser);
}
