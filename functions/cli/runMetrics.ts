/**
 * The local metrics job shared by `npm run metrics` and `npm run report`: resolve the report
 * definition, period, time zone, targets and data (sample data when no --data), compute on DuckDB
 * and write `<out>/<reportId>-<period>.metrics.json`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { openDuckDbEngine } from '../engine/duckdbEngine.js';
import { loadMapping } from '../engine/mappings.js';
import { computeMetrics } from '../pipeline/computeMetrics.js';
import type { MetricsJson } from '../pipeline/model.js';
import { assertTimeZone, lastClosedPeriod, parsePeriodId } from '../pipeline/period.js';
import { findReport, loadReports, type ReportDef } from '../pipeline/reportsConfig.js';
import { loadTargets } from '../pipeline/targets.js';

export interface MetricsJobOptions {
  data?: string;
  period?: string;
  timezone?: string;
  out?: string;
  targets?: string;
  report?: string;
  reports?: string;
  mapping?: string;
  locale?: string;
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
  now?: Date;
}

export const DEFAULTS = {
  out: 'out',
  targets: 'config/targets.yaml',
  reports: 'config/reports.yaml',
  sampleDir: join('out', 'sample-data'),
};

/** The flags `metrics` and `report` share. */
export function addMetricsOptions(cmd: Command): Command {
  return cmd
    .option('--data <dir>', 'folder of CRM exports (default: generated sample data)')
    .option('--period <YYYY-MM>', "report month (default: the last closed month in the report's time zone)")
    .option('--timezone <IANA>', "time zone of the period (default: the report's)")
    .option('--out <dir>', 'output folder', DEFAULTS.out)
    .option('--targets <file>', 'targets file', DEFAULTS.targets)
    .option('--report <id>', 'report id in config/reports.yaml (default: the first)')
    .option('--reports <file>', 'report definitions file', DEFAULTS.reports)
    .option('--mapping <file>', 'source mapping for a foreign export (config/mappings/*.yaml)');
}

export async function runMetricsJob(o: MetricsJobOptions): Promise<{ metrics: MetricsJson; metricsPath: string; report: ReportDef }> {
  const log = o.log ?? (() => {});
  const report = findReport(loadReports(o.reports ?? DEFAULTS.reports), o.report);
  const timezone = assertTimeZone(o.timezone ?? report.timezone);
  const period = o.period ?? lastClosedPeriod(timezone, o.now);
  parsePeriodId(period);
  const targets = loadTargets(o.targets ?? DEFAULTS.targets);
  const mapping = o.mapping ? loadMapping(o.mapping) : undefined;

  let dataDir = o.data;
  if (!dataDir) {
    const { ensureSampleData } = await import('../sample/generate.js');
    dataDir = DEFAULTS.sampleDir;
    log(`no --data given: using sample data in ${dataDir} (ending ${period})`);
    await ensureSampleData(dataDir, { endPeriod: period });
  }

  const engine = await openDuckDbEngine({ dataDir, mapping });
  let metrics: MetricsJson;
  try {
    const started = Date.now();
    metrics = await computeMetrics({
      engine,
      period,
      timezone,
      targets,
      reportId: report.id,
      locale: o.locale ?? report.locale,
      now: o.now,
      onProgress: (table, done, total) => log(`  [${done}/${total}] ${table} read and aggregated (${((Date.now() - started) / 1000).toFixed(1)} s)`),
    });
  } finally {
    await engine.close();
  }
  const out = resolve(o.out ?? DEFAULTS.out);
  mkdirSync(out, { recursive: true });
  const metricsPath = join(out, `${report.id}-${period}.metrics.json`);
  writeFileSync(metricsPath, `${JSON.stringify(metrics, null, 2)}\n`);
  return { metrics, metricsPath, report };
}

/** The project's own error classes: their message is the whole story, no stack needed. */
const KNOWN_ERRORS = [
  'ConfigError',
  'PeriodError',
  'ExportError',
  'EngineError',
  'TemplateError',
  'MessageError',
  'RenderTimeoutError',
  'BrowserLaunchError',
];

/** Runs a CLI body: known errors become one line on stderr and exit code 1. */
export async function runCli(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    const err = e as Error;
    const known = KNOWN_ERRORS.includes(err.name);
    process.stderr.write(`error: ${err.message}\n`);
    if (!known && err.stack) process.stderr.write(`${err.stack}\n`);
    process.exitCode = known ? 1 : 2;
  }
}
