/**
 * npm run bench:render -- [--metrics FILE] [--report ID] [--runs N] [--teams N]
 *
 * Prints, in one run:
 *   1. model -> PDF: report model to PDF bytes for the default report (model, HTML, fonts, page
 *      load, page.pdf), median of N warm runs in one running browser (the fonts cut to the page's
 *      glyphs by an earlier run, as in a burst); then the same with the cut-font cache emptied;
 *   2. Chromium alone: page.pdf of the same final HTML already loaded in a page, median of N;
 *   3. their ratio (goal <= 1.3);
 *   4. a burst of N per-team reports (default 50) the way `npm run report` makes them
 *      (functions/cli/bursts.ts: derived from the one metrics.json, rendered in one browser,
 *      written with metrics.json and run.json): seconds per PDF (goal < 0.4 s on 2 cores) and
 *      the peak memory of this process and Chromium together (goal < 1.5 GiB), sampled every
 *      250 ms as the proportional set size (PSS) of the process tree, and the CPU time the tree
 *      spent per PDF (which, unlike wall time, a busy machine does not inflate much).
 * Browser start-up is printed separately: a Lambda pays it once per container, not per report.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { defaultBurstConcurrency, renderBursts } from '../functions/cli/bursts.js';
import { findReport, type ReportDef } from '../functions/pipeline/reportsConfig.js';
import { closeBrowser, DEFAULT_PDF_OPTIONS, htmlToPdf, launchBrowser, loadHtml } from '../functions/render/browser.js';
import { loadMessages } from '../functions/render/messages.js';
import { buildReportModel, renderHtmlWithReport, templatesDirFor } from '../functions/render/renderReport.js';
import { clearSubsetCache } from '../functions/render/fonts.js';
import { SAMPLE_METRICS_FILE } from '../functions/render/templates.js';
import { parseMetricsJsonText, type MetricsJson } from '../functions/metrics/schema.js';
import { loadReports } from '../functions/metrics/config.js';

const opts = new Command('bench:render')
  .option('--metrics <file>', 'metrics.json to render (default: the templates\' sample)', SAMPLE_METRICS_FILE)
  .option('--report <id>', 'report id (default: the first in config/reports.yaml)')
  .option('--runs <n>', 'timed runs per measure', (v) => Number(v), 5)
  .option('--teams <n>', 'per-team reports in the burst', (v) => Number(v), 50)
  .option('--concurrency <n>', "burst reports rendered at once (default: npm run report's, the CPUs up to 4)", (v) => Number(v))
  .parse()
  .opts<{ metrics: string; report?: string; runs: number; teams: number; concurrency?: number }>();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => `${x.toFixed(0)} ms`;
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
async function time<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t = performance.now();
  const r = await fn();
  return [performance.now() - t, r];
}

const TICKS = 100; // USER_HZ on Linux

/** This process and all its descendants (Chromium and its renderers), from /proc. */
function treePids(): Set<number> {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // the process ended meanwhile
    }
  }
  const tree = new Set([process.pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, ppid] of parent) if (!tree.has(pid) && tree.has(ppid)) (tree.add(pid), (grew = true));
  }
  return tree;
}

/**
 * CPU seconds the tree has used so far: each live process's own user and system time plus that of
 * its children that ended (cutime, cstime: a renderer Chromium closed is counted in Chromium's,
 * Chromium once closed in this process's).
 */
function treeCpu(tree = treePids()): number {
  let sum = 0;
  for (const pid of tree) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      sum += (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / TICKS;
    } catch {
      // gone
    }
  }
  return sum;
}

/** PSS (else RSS) in bytes of the tree. */
function treeMemory(): number {
  const tree = treePids();
  let bytes = 0;
  for (const pid of tree) {
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      const kb = /^Pss:\s+(\d+) kB/m.exec(rollup) ?? /^Rss:\s+(\d+) kB/m.exec(rollup);
      bytes += Number(kb?.[1] ?? 0) * 1024;
    } catch {
      // gone, or not ours to read
    }
  }
  return bytes;
}

/** The company metrics.json with `n` teams: the file's own team entries under n distinct names. */
function withTeams(metrics: MetricsJson, n: number): MetricsJson {
  const own = Object.entries(metrics.segments.team);
  const team = Object.fromEntries(Array.from({ length: n }, (_, i) => [`${own[i % own.length]![0]} ${Math.floor(i / own.length) + 1}`, own[i % own.length]![1]]));
  return { ...metrics, segments: { ...metrics.segments, team } };
}

const metrics = parseMetricsJsonText(readFileSync(opts.metrics, 'utf8'), opts.metrics);
const report = findReport(loadReports('config/reports.yaml'), opts.report);
const templatesDir = templatesDirFor(report);
const messages = loadMessages(report.locale, templatesDir);

const [launchMs, browser] = await time(() => launchBrowser());
const lines: string[] = [];
let html = '';
let firstPdfBytes = 0;
try {
  // The render's own path (renderReport): model, HTML with the fonts cut to the page's glyphs, PDF.
  const finalHtml = async () => (await renderHtmlWithReport(buildReportModel(metrics, report, report.locale, messages), templatesDir)).html;
  const modelToPdf = async () => htmlToPdf(browser, await finalHtml());
  const [coldMs, first] = await time(modelToPdf);
  firstPdfBytes = first.pdf.byteLength;

  const full: number[] = [];
  let cpu0 = treeCpu();
  for (let i = 0; i < opts.runs; i++) full.push((await time(modelToPdf))[0]);
  const fullCpu = (treeCpu() - cpu0) / opts.runs;
  // The same with the per-process cache of cut fonts emptied first: a report whose characters no
  // earlier render of this process drew (the median above reuses the cuts, as a burst does).
  const uncached: number[] = [];
  for (let i = 0; i < opts.runs; i++) {
    clearSubsetCache();
    uncached.push((await time(modelToPdf))[0]);
  }

  html = await finalHtml();
  // Chromium alone: the same final HTML loaded into a fresh page (not timed), then page.pdf (timed),
  // so each measure includes Chromium's first print layout of that page, as a real render does.
  const pdfOnly: number[] = [];
  const loadOnly: number[] = [];
  let pdfCpu = 0;
  for (let i = 0; i < opts.runs; i++) {
    const [tl, page] = await time(() => loadHtml(browser, html));
    loadOnly.push(tl);
    try {
      cpu0 = treeCpu();
      pdfOnly.push((await time(() => page.pdf(DEFAULT_PDF_OPTIONS)))[0]);
      pdfCpu += (treeCpu() - cpu0) / opts.runs;
    } finally {
      await page.close();
    }
  }
  const fullMs = median(full);
  const pdfMs = median(pdfOnly);
  const ratio = fullMs / pdfMs;
  lines.push(
    `report ${report.id} (${report.locale}), ${Object.keys(metrics.indicators).length} indicators; ${(html.length / 1024).toFixed(0)} KB of HTML, ${(firstPdfBytes / 1024).toFixed(0)} KB of PDF; ${cpus().length} CPUs`,
    `browser start                      ${ms(launchMs)}`,
    `first render (cold caches)         ${ms(coldMs)}`,
    `model -> PDF (median of ${opts.runs})         ${ms(fullMs)}   (fonts already cut by an earlier render of this process)`,
    `  the same, cutting the fonts anew     ${ms(median(uncached))}   (ratio to page.pdf ${(median(uncached) / pdfMs).toFixed(2)})`,
    `Chromium page.pdf alone            ${ms(pdfMs)}   (loading the same HTML into a fresh page: ${ms(median(loadOnly))} more)`,
    `ratio model->PDF / page.pdf        ${ratio.toFixed(2)}   (goal <= 1.30: ${ratio <= 1.3 ? 'met' : 'NOT met'})`,
    `  the same in CPU time (this process + Chromium): ${(fullCpu * 1000).toFixed(0)} ms / ${(pdfCpu * 1000).toFixed(0)} ms = ${(fullCpu / pdfCpu).toFixed(2)}   (a busy machine inflates wall time, much less CPU time)`,
  );
} finally {
  await closeBrowser(browser);
}

// The burst, as `npm run report` makes it: its own browser, every file written.
const company = withTeams(metrics, opts.teams);
const bursting: ReportDef = { ...report, burst: { by: 'team', recipients: {}, fallback: ['ops@example.com'] } };
const out = mkdtempSync(join(tmpdir(), 'bench-burst-'));
let peak = treeMemory();
const cpuBefore = treeCpu();
const ownCpuBefore = process.cpuUsage();
// Reading every process's smaps costs this process CPU time: it is measured and left out below.
let samplerCpu = 0;
const sample = () => {
  const t = process.cpuUsage();
  peak = Math.max(peak, treeMemory());
  const d = process.cpuUsage(t);
  samplerCpu += (d.user + d.system) / 1e6;
};
const sampler = setInterval(sample, 250);
try {
  const [burstMs, written] = await time(() => renderBursts({ company, report: bursting, runId: 'bench', out, concurrency: opts.concurrency, log: () => {} }));
  clearInterval(sampler);
  sample();
  const perPdf = burstMs / 1000 / written.length;
  const cpu = treeCpu() - cpuBefore;
  const cpuPerPdf = (cpu - samplerCpu) / written.length;
  const own = process.cpuUsage(ownCpuBefore);
  const ownPerPdf = ((own.user + own.system) / 1e6 - samplerCpu) / written.length;
  lines.push(
    `burst: ${written.length} per-team PDFs, one browser (${opts.concurrency ?? defaultBurstConcurrency()} pages at once)  ${(burstMs / 1000).toFixed(1)} s, ${perPdf.toFixed(2)} s per PDF   (goal < 0.40: ${perPdf < 0.4 ? 'met' : 'NOT met'})`,
    `  CPU time per PDF, this process + Chromium   ${cpuPerPdf.toFixed(2)} s, of which this process (model, HTML, files) ${ownPerPdf.toFixed(2)} s   (on an idle machine the wall time per PDF is about this divided by the cores in use: ${(cpuPerPdf / Math.min(cpus().length, opts.concurrency ?? defaultBurstConcurrency())).toFixed(2)} s)`,
    `  peak memory, this process + Chromium   ${mib(peak)}   (goal < 1536 MiB: ${peak < 1.5 * 2 ** 30 ? 'met' : 'NOT met'})`,
  );
} finally {
  clearInterval(sampler);
  rmSync(out, { recursive: true, force: true });
}
process.stdout.write(`${lines.join('\n')}\n`);
