/**
 * npm run bench:engine [-- --rows 10000000 --format csv|csv.gz|parquet]
 *
 * Generates (once, cached under .cache/) a large export dataset over the six tables and prints, in
 * one run: the metrics time for one report; a baseline time for one DuckDB query that reads the same
 * files once and casts the columns the indicators use; their ratio (goal <= 2.0); and the peak
 * memory of each (goal < 2 GiB for metrics). Each phase runs in a child process of its own so its
 * peak RSS is its own.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { openDuckDbEngine } from '../functions/engine/duckdbEngine.js';
import { quoteIdent } from '../functions/engine/tableSql.js';
import { TABLES } from '../functions/pipeline/catalog.js';
import { computeMetrics } from '../functions/pipeline/computeMetrics.js';
import { CONTRACT } from '../functions/pipeline/contract.js';
import { DEFAULT_TARGETS } from '../functions/pipeline/targets.js';

const PERIOD = '2026-10';
const program = new Command('bench:engine')
  .option('--rows <n>', 'total rows over the six tables', (v) => Number(v), 10_000_000)
  .option('--format <f>', 'csv | csv.gz | parquet', 'csv')
  .option('--dir <dir>', 'dataset folder (default .cache/bench-<rows>-<format>)')
  .option('--runs <n>', 'timed runs per phase (the best is reported)', (v) => Number(v), 1)
  .option('--phase <phase>', 'internal: run one phase and print its JSON')
  .parse();
const opts = program.opts<{ rows: number; format: 'csv' | 'csv.gz' | 'parquet'; dir?: string; runs: number; phase?: string }>();
const dir = opts.dir ?? join('.cache', `bench-${opts.rows}-${opts.format}`);

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
  const engine = await openDuckDbEngine({ dataDir: dir });
  const started = performance.now();
  if (name === 'metrics') {
    const m = await computeMetrics({ engine, period: PERIOD, timezone: 'Europe/Moscow', targets: DEFAULT_TARGETS, reportId: 'bench', locale: 'en' });
    const rows = Object.values(m.dataQuality).reduce((a, q) => a + q.rowsRead, 0);
    process.stdout.write(JSON.stringify({ ms: performance.now() - started, rows, maxRssMb: process.resourceUsage().maxRSS / 1024 }) + '\n');
  } else {
    const r = await engine.query(baselineSql(), 'baseline');
    const rows = r.reduce((a, x) => a + Number(x['n']), 0);
    process.stdout.write(JSON.stringify({ ms: performance.now() - started, rows, maxRssMb: process.resourceUsage().maxRSS / 1024 }) + '\n');
  }
  await engine.close();
}

function runChild(name: string): { ms: number; rows: number; maxRssMb: number } {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, ['--import', 'tsx', self, '--phase', name, '--dir', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`${name} phase failed (exit ${r.status})`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

async function main(): Promise<void> {
  if (opts.phase) return phase(opts.phase);
  if (!existsSync(join(dir, '_sample.json'))) {
    const { generateSampleData } = await import('../functions/sample/generate.js');
    const { SingleBar, Presets } = await import('cli-progress');
    const bar = new SingleBar({ format: 'generating {bar} {percentage}% | {value}/{total} rows', stream: process.stderr }, Presets.shades_classic);
    bar.start(opts.rows, 0);
    const t0 = performance.now();
    await generateSampleData(dir, { endPeriod: PERIOD, targetRows: opts.rows, format: opts.format, onProgress: (done) => bar.update(done) });
    bar.stop();
    process.stderr.write(`generated ${dir} in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  }
  const best = (name: string) => {
    const runs = Array.from({ length: opts.runs }, () => runChild(name));
    return runs.reduce((a, b) => (b.ms < a.ms ? b : a));
  };
  const metrics = best('metrics');
  const baseline = best('baseline');
  const ratio = metrics.ms / baseline.ms;
  const gib = metrics.maxRssMb / 1024;
  const line = (k: string, v: string) => process.stdout.write(`${k.padEnd(26)} ${v}\n`);
  line('dataset', `${dir} (${metrics.rows.toLocaleString('en')} rows, ${opts.format})`);
  line('metrics (one report)', `${(metrics.ms / 1000).toFixed(2)} s`);
  line('baseline (read + cast)', `${(baseline.ms / 1000).toFixed(2)} s`);
  line('ratio metrics/baseline', `${ratio.toFixed(2)} (goal <= 2.0: ${ratio <= 2 ? 'met' : 'NOT met'})`);
  line('peak memory, metrics', `${metrics.maxRssMb.toFixed(0)} MiB (goal < 2048 MiB: ${gib < 2 ? 'met' : 'NOT met'})`);
  line('peak memory, baseline', `${baseline.maxRssMb.toFixed(0)} MiB`);
  if (metrics.rows !== baseline.rows) throw new Error(`row counts differ: metrics ${metrics.rows}, baseline ${baseline.rows}`);
}

await main();
