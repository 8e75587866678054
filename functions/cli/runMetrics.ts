/**
 * The local metrics job shared by `npm run metrics` and `npm run report`: resolve the report
 * definition, period, time zone, targets and data (sample data when no --data), compute on DuckDB
 * (or on Trino with --engine trino), judge the result with the data gate (metrics/gate.ts) and
 * write `<out>/<reportId>-<period>.<locale>.metrics.json`. A held report writes nothing (the last
 * good files stay) and ends with exit code 5, unless --allow-incomplete.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { openDuckDbEngine } from '../engine/duckdbEngine.js';
import { EngineError, type QueryEngine } from '../engine/engine.js';
import { loadMapping, type Mapping } from '../engine/mappings.js';
import { createTrinoEngine, describeConnection, trinoConnectionFromEnv, type TrinoConnection } from '../engine/trinoEngine.js';
import { loadExportsIntoTrino } from '../engine/trinoLocalData.js';
import { assertTimeZone, lastClosedPeriod, parsePeriodId } from '../pipeline/period.js';
import { findReport, type ReportDef } from '../pipeline/reportsConfig.js';
import { computeMetrics } from '../metrics/computeMetrics.js';
import { type MetricsJson } from '../metrics/schema.js';
import type { TableName } from '../pipeline/contract.js';
import { gateSummary, judgeGate, ReportHeldError } from '../metrics/gate.js';
import { loadReports, loadTargets } from '../metrics/config.js';
import { sha256, type RunRecord } from '../deliver/deliver.js';

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
  /** Query engine: embedded DuckDB (default) or Trino. */
  engine?: EngineChoice;
  /** Trino: a cluster of your own (default: the local Trino of `npm run trino -- start`). */
  trinoUrl?: string;
  trinoCatalog?: string;
  trinoSchema?: string;
  trinoUser?: string;
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
  now?: Date;
  /** Write (and render) a report the data gate holds, its reasons recorded in metrics.json's `gate`. */
  allowIncomplete?: boolean;
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
    .option('--mapping <file>', 'source mapping for a foreign export (config/mappings/*.yaml)')
    .option('--allow-incomplete', 'write the report even when the data gate holds it, its reasons on the first page', false)
    .addOption(new Option('--engine <engine>', 'query engine').choices([...ENGINES]).default('duckdb'))
    .option('--trino-url <url>', 'Trino coordinator of your own, tables already loaded (env TRINO_URL; default: the local Trino with --data)')
    .option('--trino-catalog <name>', 'catalog of the canonical tables on --trino-url (env TRINO_CATALOG)')
    .option('--trino-schema <name>', 'schema of the canonical tables on --trino-url (env TRINO_SCHEMA)')
    .option('--trino-user <name>', 'Trino user (env TRINO_USER; password from env TRINO_PASSWORD only)');
}

export const ENGINES = ['duckdb', 'trino'] as const;
export type EngineChoice = (typeof ENGINES)[number];

/**
 * The engine of a metrics job. Trino: a cluster of the user's own whose canonical tables exist
 * (--trino-url, catalog and schema), or the local Trino over a --data folder loaded the way the
 * AWS ingest loads exports.
 */
async function openJobEngine(o: MetricsJobOptions, dataDir: () => Promise<string>, mapping: Mapping | undefined, log: (l: string) => void): Promise<QueryEngine> {
  if ((o.engine ?? 'duckdb') === 'duckdb') return openDuckDbEngine({ dataDir: await dataDir(), mapping, log });
  const conn = trinoConnectionFromEnv({ url: o.trinoUrl, catalog: o.trinoCatalog, schema: o.trinoSchema, user: o.trinoUser });
  if (conn.url) {
    if (o.data || mapping) throw new EngineError('--data and --mapping load exports into the local Trino only; on --trino-url the canonical tables must already exist (see README, "Trino")');
    if (!conn.catalog || !conn.schema) throw new EngineError('--trino-url needs --trino-catalog and --trino-schema (or TRINO_CATALOG and TRINO_SCHEMA): where the canonical tables are');
    const c = conn as TrinoConnection;
    log(`trino: ${describeConnection(c)}`);
    return createTrinoEngine(c);
  }
  const { localTrinoStatus } = await import('../trino/localServer.js');
  const local = await localTrinoStatus();
  if (!local) throw new EngineError('no local Trino is running: start it with `npm run trino -- start`, or give --trino-url');
  const dir = await dataDir();
  log(`trino: loading ${dir} into the local Trino at ${local.url}`);
  return loadExportsIntoTrino({ trino: local, dataDir: dir, mapping, user: conn.user, log });
}

/**
 * The output files of one report, period and locale share this path: `<base>.metrics.json`,
 * `<base>.pdf` and `<base>.run.json` (`npm run report`). The locale is in the name, so reports in
 * two languages sit side by side.
 */
export function outputBase(out: string, reportId: string, period: string, locale: string): string {
  return join(out, `${reportId}-${period}.${locale}`);
}

/**
 * The rendered files of one run beside `<base>.metrics.json`: `<base>.pdf`, `<base>.xlsx` and last
 * `<base>.run.json` (the run id and the SHA-256 of the PDF, the metrics.json text and the
 * workbook, which `npm run deliver` checks), each written atomically.
 */
export function writeRenderedRun(base: string, runId: string, metrics: MetricsJson, metricsText: string, pdf: Uint8Array, workbook: Uint8Array): void {
  writeFileAtomic(`${base}.pdf`, pdf);
  writeFileAtomic(`${base}.xlsx`, workbook);
  const run: RunRecord = {
    runId,
    reportId: metrics.reportId,
    period: metrics.period.id,
    locale: metrics.locale,
    pdfSha256: sha256(pdf),
    metricsSha256: sha256(metricsText),
    workbookSha256: sha256(workbook),
  };
  writeFileAtomic(`${base}.run.json`, `${JSON.stringify(run, null, 2)}\n`);
}

/** Writes the whole file under a temporary name beside it, then renames it: readers never see a part. */
export function writeFileAtomic(file: string, body: Uint8Array | string): void {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    writeFileSync(tmp, body, { flag: 'wx' });
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** What a metrics job computed, before anything is written. */
export interface ComputedJob {
  metrics: MetricsJson;
  report: ReportDef;
}

/**
 * Resolves the job's report, period, targets and data, computes metrics.json on the job's engine
 * and judges it with the data gate (metrics.gate). `inspect` runs on the open engine after the
 * metrics, before it is closed (`npm run check` looks for examples of rejected rows there).
 */
export async function computeMetricsJob(o: MetricsJobOptions, inspect?: (engine: QueryEngine, job: ComputedJob) => Promise<void>): Promise<ComputedJob> {
  const log = o.log ?? (() => {});
  const report = findReport(loadReports(o.reports ?? DEFAULTS.reports), o.report);
  const timezone = assertTimeZone(o.timezone ?? report.timezone);
  const period = o.period ?? lastClosedPeriod(timezone, o.now);
  parsePeriodId(period);
  const targets = loadTargets(o.targets ?? DEFAULTS.targets);
  const mapping = o.mapping ? loadMapping(o.mapping) : undefined;

  const dataDir = async (): Promise<string> => {
    if (o.data) return o.data;
    const { ensureSampleData } = await import('../sample/generate.js');
    log(`no --data given: using sample data in ${DEFAULTS.sampleDir} (ending ${period})`);
    await ensureSampleData(DEFAULTS.sampleDir, { endPeriod: period });
    return DEFAULTS.sampleDir;
  };

  const engine = await openJobEngine(o, dataDir, mapping, log);
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
    const provided = mapping ? new Set(Object.keys(mapping.tables) as TableName[]) : undefined;
    metrics.gate = judgeGate(metrics, report, { now: o.now ?? new Date(), allowIncomplete: o.allowIncomplete, provided });
    await inspect?.(engine, { metrics, report });
  } finally {
    await engine.close();
  }
  return { metrics, report };
}

export async function runMetricsJob(o: MetricsJobOptions): Promise<{ metrics: MetricsJson; metricsPath: string; metricsText: string; report: ReportDef }> {
  const log = o.log ?? (() => {});
  const { metrics, report } = await computeMetricsJob(o);
  const gate = metrics.gate!;
  for (const line of gateSummary(metrics, gate)) log(line);
  if (gate.held && !gate.allowIncomplete) {
    throw new ReportHeldError(
      gate,
      `report held by the data gate (${gate.reasons.length} reason${gate.reasons.length === 1 ? '' : 's'} above): nothing was written, the last good report is untouched; fix the data, or --allow-incomplete to write it anyway`,
    );
  }
  const out = resolve(o.out ?? DEFAULTS.out);
  mkdirSync(out, { recursive: true });
  const metricsPath = `${outputBase(out, report.id, metrics.period.id, metrics.locale)}.metrics.json`;
  const metricsText = `${JSON.stringify(metrics, null, 2)}\n`;
  writeFileAtomic(metricsPath, metricsText);
  return { metrics, metricsPath, metricsText, report };
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
  'TrinoSetupError',
  'TrinoStartError',
  'MetricsJsonError',
  'ReportHeldError',
];

/** Exit code of a report held by the data gate (README, "Data gate"). */
export const EXIT_HELD = 5;

/** Runs a CLI body: known errors become one line on stderr and exit code 1; a held report exits 5. */
export async function runCli(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    const err = e as Error;
    const known = KNOWN_ERRORS.includes(err.name);
    process.stderr.write(`error: ${err.message}\n`);
    if (!known && err.stack) process.stderr.write(`${err.stack}\n`);
    process.exitCode = err.name === 'ReportHeldError' ? EXIT_HELD : known ? 1 : 2;
  }
}
