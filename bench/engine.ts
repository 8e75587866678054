/**
 * npm run bench:engine [-- --rows 10000000 --format csv|csv.gz|parquet --engine duckdb|trino]
 *
 * Generates (once, cached under .cache/) a large export dataset over all tables and prints, in
 * one run: the metrics time for one report; a baseline time for one DuckDB query that reads the same
 * files once and casts the columns the indicators use; their ratio (goal <= 2.0); and the peak
 * memory of each (goal < 2 GiB for metrics). Each phase runs in a child process of its own so its
 * peak RSS is its own.
 *
 * With --engine trino it also runs the same report on Trino (bench/trino.ts): the project's local
 * Trino when it is running (`npm run trino -- start`), else TRINO_URL + TRINO_WAREHOUSE. It prints
 * the one-time load (normalize to Parquet + register), the report's metrics time, the bytes Trino
 * read for it (per table, beside the table's Parquet bytes on disk), the bytes of a dashboard-style
 * approach (one query per indicator and month, actually run), their ratio (goal >= 50x), and
 * whether the DuckDB and Trino metrics.json agree (all but generatedAt).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { openDuckDbEngine } from '../functions/engine/duckdbEngine.js';
import { quoteIdent } from '../functions/engine/tableSql.js';
import { CONTRACT, TABLES } from '../functions/pipeline/contract.js';
import type { BenchTrino, TrinoPhaseResult } from './trino.js';
import { computeMetrics } from '../functions/metrics/computeMetrics.js';
import { DEFAULT_TARGETS } from '../functions/metrics/config.js';

const PERIOD = '2026-10';
const TIMEZONE = 'Europe/Moscow';
const COMPUTE = { period: PERIOD, timezone: TIMEZONE, targets: DEFAULT_TARGETS, reportId: 'bench', locale: 'en' } as const;
const program = new Command('bench:engine')
  .option('--rows <n>', 'total rows over all tables (with --engine trino, 1000000 is suggested)', (v) => Number(v), 10_000_000)
  .option('--format <f>', 'csv | csv.gz | parquet', 'csv')
  .option('--engine <e>', 'duckdb | trino (trino: also the same report on Trino, its bytes read, a dashboard-style comparison, agreement)', 'duckdb')
  .option('--trino <from>', 'auto (the local Trino of `npm run trino -- start` when running, else TRINO_URL + TRINO_WAREHOUSE) | local | env', 'auto')
  .option('--dir <dir>', 'dataset folder (default .cache/bench-<rows>-<format>)')
  .option('--runs <n>', 'timed runs per phase (the best is reported)', (v) => Number(v), 1)
  .option('--concurrency <n>', 'dashboard queries run at once on Trino (bytes do not depend on it)', (v) => Number(v), 4)
  .option('--phase <phase>', 'internal: run one phase and print its JSON')
  .option('--out <file>', 'internal: where a metrics phase writes its metrics.json')
  .parse();
const opts = program.opts<{
  rows: number;
  format: 'csv' | 'csv.gz' | 'parquet';
  engine: string;
  trino: string;
  dir?: string;
  runs: number;
  concurrency: number;
  phase?: string;
  out?: string;
}>();
const dir = opts.dir ?? join('.cache', `bench-${opts.rows}-${opts.format}`);
/** Outputs of a run (the metrics.json of each engine), beside the dataset, never inside it. */
const outDir = `${dir}.out`;

const CAST: Record<string, string> = { timestamp: 'TIMESTAMPTZ', int: 'BIGINT', decimal: 'DOUBLE', bool: 'BOOLEAN' };

/** One query: every table read once, each column the indicators use cast to its type and consumed. */
function baselineSql(): string {
  return TABLES.map((t) => {
    const cols = CONTRACT[t].columns.map((c) =>
      c.type === 'string' ? `count(${quoteIdent(c.name)})` : `count(TRY_CAST(${quoteIdent(c.name)} AS ${CAST[c.type]}))`,
    );
    return `SELECT '${t}' AS t, count(*) AS n, ${cols.join(' + ')} AS parsed FROM ${t}`;
  }).join('\nUNION ALL\n');
}

async function phase(name: string): Promise<void> {
  if (name === 'trino') return trinoChild();
  const engine = await openDuckDbEngine({ dataDir: dir });
  const started = performance.now();
  if (name === 'metrics') {
    const m = await computeMetrics({ engine, ...COMPUTE });
    const ms = performance.now() - started;
    if (opts.out) writeFileSync(opts.out, JSON.stringify(m, null, 2));
    const rows = Object.values(m.dataQuality).reduce((a, q) => a + q.rowsRead, 0);
    process.stdout.write(JSON.stringify({ ms, rows, maxRssMb: process.resourceUsage().maxRSS / 1024 }) + '\n');
  } else {
    const r = await engine.query(baselineSql(), 'baseline');
    const rows = r.reduce((a, x) => a + Number(x['n']), 0);
    process.stdout.write(JSON.stringify({ ms: performance.now() - started, rows, maxRssMb: process.resourceUsage().maxRSS / 1024 }) + '\n');
  }
  await engine.close();
}

/** The Trino phase: the connection comes from the parent (BENCH_TRINO), which resolved it once. */
async function trinoChild(): Promise<void> {
  const { trinoPhase } = await import('./trino.js');
  const trino = JSON.parse(process.env['BENCH_TRINO'] ?? 'null') as BenchTrino | null;
  if (!trino) throw new Error('the trino phase needs BENCH_TRINO');
  let bar: { start(total: number, v: number): void; update(v: number): void; stop(): void } | undefined;
  if (process.stderr.isTTY) {
    const { SingleBar, Presets } = await import('cli-progress');
    bar = new SingleBar({ format: 'dashboard queries {bar} {value}/{total}', stream: process.stderr, clearOnComplete: true }, Presets.shades_classic);
  }
  const r = await trinoPhase({
    trino,
    dataDir: dir,
    runs: opts.runs,
    metricsOut: opts.out!,
    compute: COMPUTE,
    concurrency: opts.concurrency,
    progress: (done, total) => {
      if (done === 1) bar?.start(total, 0);
      bar?.update(done);
      if (done === total) bar?.stop();
    },
  });
  process.stdout.write(JSON.stringify(r) + '\n');
}

function runChild<T = { ms: number; rows: number; maxRssMb: number }>(name: string, extra: string[] = [], env?: NodeJS.ProcessEnv): T {
  const self = fileURLToPath(import.meta.url);
  const args = ['--import', 'tsx', self, '--phase', name, '--dir', dir, '--runs', String(opts.runs), '--concurrency', String(opts.concurrency), ...extra];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: env ?? process.env, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${name} phase failed (exit ${r.status})`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
}

const line = (k: string, v: string) => process.stdout.write(`${k.padEnd(26)} ${v}\n`);
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/** Read once: the table query read at most its Parquet bytes on disk (+2% for footers read twice). */
const READ_ONCE_SLACK = 1.02;

function printTrino(t: BenchTrino, r: TrinoPhaseResult, duckdbMs: number, duckdbRows: number, agreement: string[]): void {
  line('trino', `${t.url} (${t.source}; catalog ${t.catalog}, warehouse ${t.warehouseDir})`);
  line('trino load (one-time)', `${sec(r.loadMs)} (exports -> Parquet as the ingest does, tables registered; not in the report time)`);
  const vs = r.metricsMs / duckdbMs;
  line('trino metrics (one report)', `${sec(r.metricsMs)} (${vs.toFixed(2)}x DuckDB's ${sec(duckdbMs)}${r.metricsRuns.length > 1 ? `; runs ${r.metricsRuns.map(sec).join(', ')}` : ''})`);
  line('trino bytes, one report', `${bytes(r.report.physicalInputBytes)} physical input in ${r.report.queries} table queries (${r.report.physicalInputBytes.toLocaleString('en')} B; peak query memory ${bytes(r.report.peakMemoryBytes)})`);
  const present = TABLES.filter((x) => r.tables[x]);
  let once = true;
  let disk = 0;
  process.stdout.write(`  ${'table'.padEnd(11)} ${'read'.padStart(10)} ${'on disk'.padStart(10)} ${'read/disk'.padStart(9)} ${'rows read'.padStart(11)}\n`);
  for (const name of present) {
    const x = r.tables[name]!;
    const ratio = x.physicalInputBytes / x.parquetBytes;
    once &&= x.queries === 1 && ratio <= READ_ONCE_SLACK;
    disk += x.parquetBytes;
    process.stdout.write(
      `  ${name.padEnd(11)} ${bytes(x.physicalInputBytes).padStart(10)} ${bytes(x.parquetBytes).padStart(10)} ${ratio.toFixed(3).padStart(9)} ${x.processedRows.toLocaleString('en').padStart(11)}\n`,
    );
  }
  const total = r.report.physicalInputBytes;
  process.stdout.write(`  ${'all'.padEnd(11)} ${bytes(total).padStart(10)} ${bytes(disk).padStart(10)} ${(total / disk).toFixed(3).padStart(9)} ${r.report.processedRows.toLocaleString('en').padStart(11)}\n`);
  if (r.otherQueries.queries > 0) process.stdout.write(`  (also ${r.otherQueries.queries} metadata queries, ${bytes(r.otherQueries.physicalInputBytes)}, not counted)\n`);
  const d = r.dashboard;
  line('dashboard queries', `${d.queries} (${d.indicators} indicators x ${d.months} months P-${d.months - 1}..P, one query each over its table(s), run ${d.queries === d.indicators * d.months ? '' : 'PARTLY '}on Trino in ${sec(d.ms)})`);
  line('dashboard bytes', `${bytes(d.physicalInputBytes)} physical input, summed over the ${d.queries} queries' stats (${d.physicalInputBytes.toLocaleString('en')} B)`);
  const ratio = d.physicalInputBytes / total;
  line('ratio dashboard/report', `${ratio.toFixed(1)}x (goal >= 50x: ${ratio >= 50 ? 'met' : 'NOT met'})`);
  line(
    'each table read once',
    `${once ? 'yes' : 'NO'}: one query per table, reading <= ${READ_ONCE_SLACK}x its Parquet bytes on disk (a second scan would be ~2x)` +
      `${r.report.processedRows === duckdbRows ? '; rows read = the tables\' rows' : `; rows read ${r.report.processedRows} vs ${duckdbRows} table rows`}` +
      `${r.stableBytes ? '' : '; bytes varied between runs'}`,
  );
  line('agreement', agreement.length === 0 ? 'engines agree (metrics.json identical apart from generatedAt)' : `engines DIFFER: ${agreement.join('; ')}`);
}

async function main(): Promise<void> {
  if (opts.phase) return phase(opts.phase);
  const t0 = performance.now();
  if (opts.engine !== 'duckdb' && opts.engine !== 'trino') throw new Error(`--engine: duckdb or trino, not "${opts.engine}"`);
  let trino: BenchTrino | undefined;
  if (opts.engine === 'trino') {
    const { resolveBenchTrino } = await import('./trino.js');
    if (!['auto', 'local', 'env'].includes(opts.trino)) throw new Error(`--trino: auto, local or env, not "${opts.trino}"`);
    const found = await resolveBenchTrino(opts.trino as 'auto' | 'local' | 'env');
    if ('none' in found) {
      process.stdout.write(`${found.none}\n`);
      process.exitCode = 1;
      return;
    }
    trino = found;
  }
  {
    // Generated once; regenerated when the cached one is from another generator version or options.
    const { ensureSampleData } = await import('../functions/sample/generate.js');
    const { SingleBar, Presets } = await import('cli-progress');
    const bar = new SingleBar({ format: 'generating {bar} {percentage}% | {value}/{total} rows', stream: process.stderr }, Presets.shades_classic);
    let started = false;
    const g0 = performance.now();
    const g = await ensureSampleData(dir, {
      endPeriod: PERIOD,
      targetRows: opts.rows,
      format: opts.format,
      onProgress: (done, total) => {
        if (!started) bar.start(total, 0);
        started = true;
        bar.update(done);
      },
    });
    if (started) bar.stop();
    if (g.generated) process.stderr.write(`generated ${dir} in ${((performance.now() - g0) / 1000).toFixed(0)} s\n`);
  }
  const duckdbOut = join(outDir, 'metrics-duckdb.json');
  if (trino) mkdirSync(outDir, { recursive: true });
  const best = (name: string, extra: string[] = []) => {
    const runs = Array.from({ length: opts.runs }, () => runChild(name, extra));
    return runs.reduce((a, b) => (b.ms < a.ms ? b : a));
  };
  const metrics = best('metrics', trino ? ['--out', duckdbOut] : []);
  const baseline = best('baseline');
  const ratio = metrics.ms / baseline.ms;
  const gib = metrics.maxRssMb / 1024;
  line('dataset', `${dir} (${metrics.rows.toLocaleString('en')} rows, ${opts.format})`);
  line('metrics (one report)', `${sec(metrics.ms)}`);
  line('baseline (read + cast)', `${sec(baseline.ms)}`);
  line('ratio metrics/baseline', `${ratio.toFixed(2)} (goal <= 2.0: ${ratio <= 2 ? 'met' : 'NOT met'})`);
  line('peak memory, metrics', `${metrics.maxRssMb.toFixed(0)} MiB (goal < 2048 MiB: ${gib < 2 ? 'met' : 'NOT met'})`);
  line('peak memory, baseline', `${baseline.maxRssMb.toFixed(0)} MiB`);
  if (metrics.rows !== baseline.rows) throw new Error(`row counts differ: metrics ${metrics.rows}, baseline ${baseline.rows}`);
  if (trino) {
    const { diffMetrics } = await import('./trino.js');
    const trinoOut = join(outDir, 'metrics-trino.json');
    const r = runChild<TrinoPhaseResult>('trino', ['--out', trinoOut], { ...process.env, BENCH_TRINO: JSON.stringify(trino) });
    const agreement = diffMetrics(JSON.parse(readFileSync(duckdbOut, 'utf8')), JSON.parse(readFileSync(trinoOut, 'utf8')));
    printTrino(trino, r, metrics.ms, metrics.rows, agreement);
    line('this run took', `${sec(performance.now() - t0)} (wall, incl. dataset generation if any)`);
    if (r.rows !== metrics.rows) throw new Error(`row counts differ: duckdb ${metrics.rows}, trino ${r.rows}`);
  }
}

await main();
