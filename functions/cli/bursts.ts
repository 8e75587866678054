/**
 * Burst reports, locally: `npm run report` renders one report per team (or channel) of a report
 * definition with `burst`, after the company report and from its metrics.json, all in one
 * browser; `npm run deliver` then archives and mails each on its own (its own delivery record,
 * so a re-run sends only what is missing). File names: `<reportId>~<kind>=<slug>-<period>.<locale>.pdf`
 * (and `.metrics.json`, `.xlsx` — the team's own workbook, render/workbook.ts — and `.run.json`)
 * beside the company's (functions/deliver/keys.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { Archive } from '../deliver/archive.js';
import { assertSameRun, deliverReport, runNamesWorkbook, type DeliverInput } from '../deliver/deliver.js';
import { reportName } from '../deliver/keys.js';
import type { MailTransport } from '../deliver/transport.js';
import type { MetricsJson } from '../metrics/schema.js';
import type { Locale, ReportDef } from '../pipeline/reportsConfig.js';
import { closeBrowser, launchBrowser } from '../render/browser.js';
import { planBursts, scopedTitles, segmentMetrics, type PlannedBurst } from '../render/burst.js';
import { templatesDirFor } from '../render/messages.js';
import { renderReport } from '../render/renderReport.js';
import { buildWorkbook } from '../render/workbook.js';
import { outputBase, writeFileAtomic, writeRenderedRun } from './runMetrics.js';

/** `<out>/<reportId>~<kind>=<slug>-<period>.<locale>`: the shared part of a burst's file names. */
export function burstBase(out: string, reportId: string, burst: PlannedBurst, period: string, locale: string): string {
  return outputBase(out, reportName(reportId, burst.scope), period, locale);
}

/**
 * Reports rendered at once by default: one per CPU, at most 4 (each page's renderer holds up to
 * about 300 MB before it is recycled, functions/render/browser.ts).
 */
export function defaultBurstConcurrency(): number {
  return Math.min(4, availableParallelism());
}

export interface RenderBurstsInput {
  company: MetricsJson;
  report: ReportDef;
  runId: string;
  out: string;
  locale?: Locale;
  templatesDir?: string;
  /** Per burst. */
  timeoutMs?: number;
  /** Reports rendered at once, each in its own page of the one browser (default: defaultBurstConcurrency). */
  concurrency?: number;
  log: (line: string) => void;
}

/** Renders and writes every burst of the report (metrics.json, PDF, workbook, run.json each), in one browser; returns their PDF paths. */
export async function renderBursts(o: RenderBurstsInput): Promise<string[]> {
  if (!o.report.burst) return [];
  const plan = planBursts(o.company, o.report.burst);
  for (const w of plan.warnings) o.log(`warning: ${w}`);
  if (plan.bursts.length === 0) return [];
  const started = Date.now();
  const browser = await launchBrowser();
  const written: string[] = new Array(plan.bursts.length);
  let done = 0;
  const renderOne = async (i: number) => {
    const burst = plan.bursts[i]!;
    const t = Date.now();
    const metrics = segmentMetrics(o.company, burst.scope);
    const metricsText = `${JSON.stringify(metrics, null, 2)}\n`;
    const { pdf } = await renderReport({ metrics, report: o.report, locale: o.locale, templatesDir: o.templatesDir, timeoutMs: o.timeoutMs, browser }).catch((e: unknown) => {
      // The error keeps its name (and so its exit code); its message names the team.
      if (e instanceof Error) e.message = `${burst.scope.kind} "${burst.scope.value}": ${e.message}`;
      throw e;
    });
    // The team's own workbook, from the team's metrics.json, in the words of the PDF.
    const workbook = await buildWorkbook({ metrics, report: o.report, locale: o.locale, templatesDir: o.templatesDir ?? templatesDirFor(o.report) });
    const base = burstBase(resolve(o.out), o.report.id, burst, metrics.period.id, metrics.locale);
    writeFileAtomic(`${base}.metrics.json`, metricsText);
    writeRenderedRun(base, o.runId, metrics, metricsText, pdf, workbook);
    written[i] = `${base}.pdf`;
    o.log(`  [${++done}/${plan.bursts.length}] ${burst.scope.kind} "${burst.scope.value}": ${base}.pdf (${((Date.now() - t) / 1000).toFixed(1)} s)`);
  };
  // A few pages of the one browser at work at once: while Chromium lays out one report, this
  // process builds the next, and each page has a renderer process of its own.
  const workers = Math.max(1, Math.min(o.concurrency ?? defaultBurstConcurrency(), plan.bursts.length));
  let next = 0;
  try {
    await Promise.all(Array.from({ length: workers }, async () => {
      while (next < plan.bursts.length) await renderOne(next++);
    }));
  } finally {
    await closeBrowser(browser);
  }
  o.log(`rendered ${written.length} ${o.report.burst.by} reports in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return written;
}

export interface DeliverBurstsInput extends Pick<DeliverInput, 'archive' | 'transport' | 'from' | 'attachLimitBytes' | 'linkExpiresSeconds' | 'force'> {
  archive: Archive;
  transport: MailTransport;
  company: MetricsJson;
  report: ReportDef;
  out: string;
  /** Replaces every burst's recipients (like --to for the company report). */
  to?: string[];
  /** The run that made the company report: a burst's files must be of the same run. */
  runId?: string;
  /** Templates folder whose locales/ override the mail's words. */
  templatesDir?: string;
  log: (line: string) => void;
  warn: (line: string) => void;
}

/**
 * Archives and mails each burst of the company report `company` on its own: its files must be one
 * run's (run.json), and it goes to its own recipients (or the fallback) at most once. One burst's
 * failure does not stop the others. Returns the CLI exit code (0 when every burst is sent, already
 * sent or has nobody to go to; otherwise the deliver CLI's code of the worst outcome).
 */
export async function deliverBursts(o: DeliverBurstsInput): Promise<number> {
  if (!o.report.burst) return 0;
  const plan = planBursts(o.company, o.report.burst);
  for (const w of plan.warnings) o.warn(`warning: ${w}`);
  let code = 0;
  for (const burst of plan.bursts) {
    const label = `${burst.scope.kind} "${burst.scope.value}"`;
    const base = burstBase(o.out, o.report.id, burst, o.company.period.id, o.company.locale);
    try {
      if (!existsSync(`${base}.run.json`)) throw Object.assign(new Error(`no ${base}.pdf with its .run.json: run \`npm run report\` first; nothing sent`), { exit: 2 });
      const pdf = new Uint8Array(readFileSync(`${base}.pdf`));
      const metrics = readFileSync(`${base}.metrics.json`);
      const runText = readFileSync(`${base}.run.json`, 'utf8');
      // The team's workbook travels with its PDF when the run that wrote the PDF wrote it too.
      if (runNamesWorkbook(runText) && !existsSync(`${base}.xlsx`)) throw Object.assign(new Error(`no ${base}.xlsx that ${base}.run.json names: run \`npm run report\` again; nothing sent`), { exit: 2 });
      const workbook = runNamesWorkbook(runText) ? new Uint8Array(readFileSync(`${base}.xlsx`)) : undefined;
      const run = assertSameRun(runText, pdf, metrics, `${base}.run.json`, workbook);
      if (o.runId && run.runId !== o.runId) {
        throw Object.assign(new Error(`${base}.pdf is of run ${run.runId}, not of run ${o.runId} that made the company report: run \`npm run report\` again; nothing sent`), { exit: 2 });
      }
      const recipients = o.to ?? burst.recipients;
      const outcome = await deliverReport({
        archive: o.archive,
        transport: o.transport,
        report: { ...scopedTitles(o.report, burst.scope), recipients },
        scope: burst.scope,
        period: o.company.period.id,
        parts: { pdf, metrics, ...(workbook ? { workbook } : {}) },
        from: o.from,
        attachLimitBytes: o.attachLimitBytes,
        linkExpiresSeconds: o.linkExpiresSeconds,
        force: o.force,
        runId: run.runId,
        ...(o.templatesDir ? { templatesDir: o.templatesDir } : {}),
      });
      if (outcome.status === 'sent') o.log(`${label}: sent to ${outcome.sentTo.join(', ')} via ${o.transport.kind}`);
      else if (outcome.status === 'already_sent') o.log(`${label}: not sent, already delivered at ${outcome.record.sentAt}`);
      else if (outcome.status === 'no_recipients') o.log(`${label}: archived, not sent (nobody receives it)`);
      else {
        o.warn(`${label}: partially delivered; refused: ${outcome.refused.map((r) => `${r.address} (${r.reply ?? 'refused'})`).join(', ')}; a re-run sends only to them`);
        code = worstExit(code, 4);
      }
    } catch (e) {
      const err = e as Error & { exit?: number };
      o.warn(`${label}: ${err.message}`);
      code = worstExit(code, err.exit ?? (err.name === 'DeliveryInDoubtError' ? 3 : 2));
    }
  }
  return code;
}

/** The deliver CLI's exit code of two outcomes together: in doubt (3) over not sent (2) over partial (4) over done (0). */
export function worstExit(a: number, b: number): number {
  const rank = [0, 4, 2, 3];
  return rank.indexOf(a) >= rank.indexOf(b) ? a : b;
}
