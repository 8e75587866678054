/**
 * npm run preview -- [--metrics FILE] [--report ID] [--locale L] [--templates DIR]
 *                    [--targets FILE] [--reports FILE] [--commentary DIR] [--port N]
 *
 * Serves the report as HTML on localhost and reloads the page (server-sent events) when a
 * template, locale file, target, report definition, commentary file or the metrics file changes. Targets are
 * re-applied to the metrics in memory (status, target, warn, low sample of every indicator and
 * team/channel figure, by `applyTargets` of functions/metrics/status.ts), so an analyst sees a
 * new target at once; SLA thresholds change the values themselves and need `npm run report`.
 * A template error is shown in the page, with file and line, until it is fixed.
 *
 * Routes: /  the report   /report.pdf  the PDF   /events  change notifications
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { watch } from 'chokidar';
import { Command, Option } from 'commander';
import { findReport, LOCALES, type Locale, type ReportDef } from '../pipeline/reportsConfig.js';
import { escapeXml } from '../render/charts.js';
import { BUILTIN_LOCALES_DIR, loadMessages, localeDirsFor } from '../render/messages.js';
import { buildReportModel, renderHtml, renderReport, templatesDirFor } from '../render/renderReport.js';
import { commentaryDirFor, readCommentary } from '../render/commentary.js';
import { SAMPLE_METRICS_FILE } from '../render/templates.js';
import { parseMetricsJsonText, type MetricsJson } from '../metrics/schema.js';
import { applyTargets } from '../metrics/status.js';
import { loadReports, loadTargets } from '../metrics/config.js';

export interface PreviewOptions {
  metrics?: string;
  report?: string;
  reports?: string;
  targets?: string;
  locale?: Locale;
  templates?: string;
  /** Folder of the managers' commentary files (default: config/commentary when it exists); watched too. */
  commentary?: string;
  port?: number;
  host?: string;
  log?: (line: string) => void;
}

export interface PreviewServer {
  url: string;
  close(): Promise<void>;
}


/** The newest out/<reportId>-*.metrics.json, else the sample metrics (templates/sample.metrics.json). */
function defaultMetricsFile(reportId: string): string {
  const dir = 'out';
  if (existsSync(dir)) {
    const files = readdirSync(dir)
      .filter((f) => f.startsWith(`${reportId}-`) && f.endsWith('.metrics.json'))
      .map((f) => join(dir, f))
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
    if (files[0]) return files[0];
  }
  return SAMPLE_METRICS_FILE;
}

/**
 * The page knows which build it shows; /events sends the current build number on connecting and
 * after each rebuild, and the page reloads when they differ. A rebuild that happens before the
 * page's EventSource has connected (or while it reconnects) is therefore not missed.
 */
const reloadScript = (build: number) => `<script>new EventSource('/events').onmessage = (e) => { if (e.data !== '${build}') location.reload(); };</script>`;
/** On screen only: the A4 content column on a grey desk, pages marked, so the preview reads like the PDF. */
const SCREEN_CSS = `<style media="screen">
html { background: #e6e8ec; }
body { width: 180mm; margin: 8mm auto; background: #fff; padding: 12mm 15mm; box-shadow: 0 1px 6px rgba(0,0,0,.15); box-sizing: content-box; }
.page-start { border-top: 1px dashed #b8bec9; padding-top: 10mm; margin-top: 10mm; }
.cover { height: auto; margin: -12mm -15mm 0; }
</style>`;

function inject(html: string, extra: string): string {
  const at = html.search(/<\/head>/i);
  return at >= 0 ? `${html.slice(0, at)}${extra}${html.slice(at)}` : `${extra}${html}`;
}

function errorPage(message: string, build: number): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Report preview: error</title>${reloadScript(build)}</head>
<body style="font-family: sans-serif; margin: 3em;"><h1 style="color:#c0392b">The report cannot be rendered</h1>
<pre style="white-space: pre-wrap; background:#fff4f2; padding: 1em; border: 1px solid #f0c4bd;">${escapeXml(message)}</pre>
<p>Fix the file and save: this page reloads by itself.</p></body></html>`;
}

export async function startPreview(o: PreviewOptions = {}): Promise<PreviewServer> {
  const log = o.log ?? (() => {});
  const reportsFile = o.reports ?? 'config/reports.yaml';
  const targetsFile = o.targets ?? 'config/targets.yaml';
  const initialReport = findReport(loadReports(reportsFile), o.report);
  const metricsFile = o.metrics ?? defaultMetricsFile(initialReport.id);
  const templatesDir = (r: ReportDef) => (o.templates ? resolve(o.templates) : templatesDirFor(r));

  let page = '';
  let state: { metrics: MetricsJson; report: ReportDef; commentary: string | null } | undefined;
  const commentaryDir = commentaryDirFor(o.commentary);
  let buildNo = 0;
  const build = () => {
    buildNo++;
    try {
      const report = findReport(loadReports(reportsFile), o.report);
      const raw = parseMetricsJsonText(readFileSync(metricsFile, 'utf8'), metricsFile);
      const metrics = existsSync(targetsFile) ? applyTargets(raw, loadTargets(targetsFile)) : raw;
      const locale = o.locale ?? report.locale;
      const dir = templatesDir(report);
      const commentary = commentaryDir ? readCommentary(commentaryDir, report.id, metrics.period.id, locale) : null;
      const html = renderHtml(buildReportModel(metrics, report, locale, loadMessages(locale, dir), { commentary }), dir);
      state = { metrics, report, commentary };
      page = inject(html, `${SCREEN_CSS}${reloadScript(buildNo)}`);
    } catch (e) {
      page = errorPage((e as Error).message, buildNo);
      log(`error: ${(e as Error).message}`);
    }
  };
  build();

  const clients = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(page);
    } else if (url.pathname === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.write(`data: ${buildNo}\n\n`);
      clients.add(res);
      req.on('close', () => clients.delete(res));
    } else if (url.pathname === '/report.pdf' && state) {
      const { metrics, report, commentary } = state;
      renderReport({ metrics, report, locale: o.locale, templatesDir: templatesDir(report), commentary })
        .then(({ pdf }) => {
          res.writeHead(200, { 'content-type': 'application/pdf' });
          res.end(pdf);
        })
        .catch((e: Error) => {
          res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
          res.end(e.message);
        });
    } else {
      res.writeHead(404).end();
    }
  });

  const watched = [templatesDir(initialReport), BUILTIN_LOCALES_DIR, ...localeDirsFor(templatesDir(initialReport)), targetsFile, reportsFile, metricsFile, ...(commentaryDir ? [commentaryDir] : [])];
  const watcher = watch(watched, { ignoreInitial: true, awaitWriteFinish: { stabilityThreshold: 50, pollInterval: 20 } });
  let timer: NodeJS.Timeout | undefined;
  watcher.on('all', (event, path) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      log(`${event} ${path}: reloading`);
      build();
      for (const c of clients) c.write(`data: ${buildNo}\n\n`);
    }, 30);
  });
  await new Promise<void>((r) => watcher.once('ready', () => r()));

  await new Promise<void>((r) => server.listen(o.port ?? 4173, o.host ?? '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${o.host ?? '127.0.0.1'}:${port}/`,
    async close() {
      clearTimeout(timer);
      await watcher.close();
      for (const c of clients) c.end();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const opts = new Command('preview')
    .description('Serve the report as HTML on localhost; reload on template, target or config changes.')
    .option('--metrics <file>', 'metrics.json (default: the newest out/<report>-*.metrics.json, else templates/sample.metrics.json)')
    .option('--report <id>', 'report id (default: the first)')
    .option('--reports <file>', 'report definitions', 'config/reports.yaml')
    .option('--targets <file>', 'targets file', 'config/targets.yaml')
    .addOption(new Option('--locale <locale>', "language (default: the report's)").choices([...LOCALES]))
    .option('--templates <dir>', 'templates folder (default: templates/<report.template>)')
    .option('--commentary <dir>', "managers' commentary, <dir>/<reportId>/<period>.<locale>.md (default: config/commentary, if it exists)")
    .option('--port <n>', 'port', (v) => Number(v), 4173)
    .parse(process.argv)
    .opts<PreviewOptions>();
  const server = await startPreview({ ...opts, log: (l) => process.stderr.write(`${l}\n`) });
  process.stdout.write(`preview: ${server.url}  (PDF: ${server.url}report.pdf)\n`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
