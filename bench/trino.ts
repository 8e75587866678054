/**
 * The Trino half of `npm run bench:engine -- --engine trino` (see bench/engine.ts).
 *
 * - resolveBenchTrino(): the project's local Trino (`npm run trino -- start`) when it is running,
 *   else TRINO_URL + TRINO_WAREHOUSE (+ TRINO_CATALOG, default hive), else a one-line reason.
 * - trinoPhase(): run in a child process: loads the dataset (loadExportsIntoTrino: normalize to
 *   Parquet, register the tables; timed apart), runs computeMetrics on it (the report, timed, bytes
 *   read per table query from Trino's final query stats), then the dashboard-style queries (one per
 *   indicator and month, each scanning its table(s); run and their stats summed), and measures
 *   each table's Parquet bytes on disk before the schema is dropped.
 * - diffMetrics(): the first differing field paths of two metrics.json, `generatedAt` aside.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { QueryStats } from 'trino-client';
import type { LocalTrinoCatalog } from '../functions/engine/trinoLocalData.js';
import { quoteIdent, recordStages } from '../functions/engine/tableSql.js';
import { ANCHORS, anchorDef } from '../functions/metrics/anchors.js';
import { computeMetrics, type ComputeOptions } from '../functions/metrics/computeMetrics.js';
import type { PlanContext } from '../functions/metrics/declare.js';
import { INDICATORS } from '../functions/metrics/indicators.js';
import { TABLES, type TableName } from '../functions/pipeline/contract.js';
import { periodRange } from '../functions/pipeline/period.js';

// ---------------------------------------------------------------------------------------------
// Which Trino
// ---------------------------------------------------------------------------------------------

export interface BenchTrino extends LocalTrinoCatalog {
  /** Where it came from, for the output line. */
  source: string;
}

async function answers(url: string): Promise<boolean> {
  try {
    const r = await fetch(new URL('/v1/info', url), { signal: AbortSignal.timeout(3000) });
    if (!r.ok) return false;
    const info = (await r.json()) as { starting?: boolean };
    return info.starting === false;
  } catch {
    return false;
  }
}

/** The Trino to bench on, or why there is none (one line). */
export async function resolveBenchTrino(
  from: 'auto' | 'local' | 'env' = 'auto',
  env: NodeJS.ProcessEnv = process.env,
): Promise<BenchTrino | { none: string }> {
  if (from !== 'env') {
    try {
      const { localTrinoStatus } = await import('../functions/trino/localServer.js');
      const local = await localTrinoStatus();
      if (local) return { url: local.url, catalog: local.catalog, warehouseDir: local.warehouseDir, source: `local Trino ${local.version}, pid ${local.pid}` };
    } catch {
      // no usable local-server module: fall through to the environment
    }
  }
  if (from === 'local') return { none: 'no Trino available: the local one is not running; start it with `npm run trino -- start`' };
  const url = env['TRINO_URL'];
  const warehouseDir = env['TRINO_WAREHOUSE'];
  const hint = 'start one with `npm run trino -- start`, or set TRINO_URL and TRINO_WAREHOUSE (the local folder of a Hive catalog on the native local file system; TRINO_CATALOG, default hive)';
  if (!url) return { none: `no Trino available: ${from === 'auto' ? 'the local one is not running and ' : ''}TRINO_URL is not set; ${hint}` };
  if (!warehouseDir) return { none: `no Trino available: TRINO_URL is set but TRINO_WAREHOUSE is not; ${hint}` };
  if (!(await answers(url))) return { none: `no Trino available: ${url} (TRINO_URL) does not answer /v1/info as a started server; ${hint}` };
  return { url, catalog: env['TRINO_CATALOG'] || 'hive', warehouseDir, source: 'TRINO_URL' };
}

// ---------------------------------------------------------------------------------------------
// The dashboard-style queries
// ---------------------------------------------------------------------------------------------

/**
 * The months a report shows: the trend P-11 … P (the current value is P, the previous P-1, both in
 * the trend) and the year-ago value P-12: 13 distinct months, P-12 … P.
 */
export const DASHBOARD_MONTHS = 13;

export interface DashboardQuery {
  indicator: string;
  month: string;
  tables: TableName[];
  sql: string;
}

/**
 * One query per indicator and month, as a dashboard tile or chart point would run it: each table
 * the indicator reads is parsed from its VARCHAR columns (recordStages: parse, dedup, validate) and
 * the used records of the indicator's populations in that month are counted: for each input anchor
 * of the declaration (anchors.ts), its period index computed over that one month, = 0 for a window
 * anchor (instant in the month), <= 0 for a running one (before the month's end). One subquery per
 * table (complaint_rate_per_1000_orders reads two), all of a table's anchors counted in it. The
 * counts are population sizes, not the indicator values (for repeat_purchase_rate_pct's running
 * pieces over a one-month window they mean little): what is measured is that every such query
 * scans its table(s), parsing the VARCHAR columns again.
 */
export function dashboardQueries(period: string, timezone: string, sla: Omit<PlanContext, 'bounds'>): DashboardQuery[] {
  const months = periodRange(period, timezone, DASHBOARD_MONTHS);
  const out: DashboardQuery[] = [];
  for (const d of INDICATORS) {
    const byTable = new Map<TableName, Set<string>>();
    for (const inp of Object.values(d.inputs)) {
      const set = byTable.get(inp.table) ?? new Set<string>();
      set.add(inp.anchor);
      byTable.set(inp.table, set);
    }
    for (const m of months) {
      const ctx: PlanContext = { ...sla, bounds: [m.startMs, m.endMs] };
      const parts = [...byTable].map(([t, anchors], i) => {
        const defs = [...anchors].map((a) => ({ a, def: anchorDef(t, a) }));
        const conds = defs.map(({ a, def }) => ({ a, cond: `(${def.idx(ctx)}) ${def.range === 'window' ? '= 0' : '<= 0'}` }));
        // The orders `pre` stage (customer order history) only where a running anchor reads it.
        const pre = defs.some(({ def }) => def.range === 'running') ? (ANCHORS[t] as { pre?: (c: PlanContext) => string }).pre : undefined;
        return `(WITH ${recordStages(t)}${pre ? `,\n${pre(ctx)}` : ''}
  SELECT ${conds.map((c) => `count(CASE WHEN ${c.cond} THEN 1 END) AS ${quoteIdent(`${t}_${c.a}`)}`).join(', ')}
  FROM ${pre ? 'pre' : 'rec'}
  WHERE st = 0 AND (${conds.map((c) => c.cond).join(' OR ')})) t${i}`;
      });
      out.push({ indicator: d.id, month: m.id, tables: [...byTable.keys()], sql: `SELECT *\nFROM ${parts.join('\nCROSS JOIN ')}` });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The phase (run in a child process)
// ---------------------------------------------------------------------------------------------

export interface QueryFigures {
  queries: number;
  physicalInputBytes: number;
  processedBytes: number;
  processedRows: number;
  /** Max over the queries. */
  peakMemoryBytes: number;
}

export interface TrinoPhaseResult {
  loadMs: number;
  /** Best of the runs. */
  metricsMs: number;
  metricsRuns: number[];
  /** The table queries (labelled `<table> indicators`) of the first report run. */
  report: QueryFigures;
  /** Any other query computeMetrics ran in that run (metadata), kept out of `report`. */
  otherQueries: QueryFigures;
  /** Per table: the table query of the first report run, and the table's Parquet bytes on disk. */
  tables: Partial<Record<TableName, QueryFigures & { parquetBytes: number; parquetFiles: number }>>;
  /** True when every report run read the same bytes (Trino caches no data here). */
  stableBytes: boolean;
  dashboard: QueryFigures & { ms: number; indicators: number; months: number };
  rows: number;
  maxRssMb: number;
}

const zero = (): QueryFigures => ({ queries: 0, physicalInputBytes: 0, processedBytes: 0, processedRows: 0, peakMemoryBytes: 0 });
function add(f: QueryFigures, s: QueryStats): void {
  f.queries += 1;
  f.physicalInputBytes += s.physicalInputBytes;
  f.processedBytes += s.processedBytes;
  f.processedRows += s.processedRows;
  f.peakMemoryBytes = Math.max(f.peakMemoryBytes, s.peakMemoryBytes);
}

function filesUnder(dir: string): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile() || e.name.startsWith('.')) continue;
    bytes += statSync(join(e.parentPath, e.name)).size;
    files += 1;
  }
  return { bytes, files };
}

async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export async function trinoPhase(o: {
  trino: LocalTrinoCatalog;
  dataDir: string;
  runs: number;
  metricsOut: string;
  compute: Omit<ComputeOptions, 'engine' | 'now'>;
  concurrency: number;
  progress: (done: number, total: number) => void;
}): Promise<TrinoPhaseResult> {
  const { loadExportsIntoTrino } = await import('../functions/engine/trinoLocalData.js');
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  // The engine reports every finished query's stats here; each step points `sink` at its own collector.
  let sink: (label: string, s: QueryStats) => void = () => undefined;
  const t0 = performance.now();
  const engine = await loadExportsIntoTrino({ trino: o.trino, dataDir: o.dataDir, schema, onStats: (label, s) => sink(label, s) });
  const loadMs = performance.now() - t0;
  try {
    const tables: TrinoPhaseResult['tables'] = {};
    for (const t of TABLES) {
      const dir = join(o.trino.warehouseDir, schema, t);
      try {
        const { bytes, files } = filesUnder(dir);
        tables[t] = { ...zero(), parquetBytes: bytes, parquetFiles: files };
      } catch {
        // table with no files: not present
      }
    }

    const runs: number[] = [];
    const reports: QueryFigures[] = [];
    let rows = 0;
    let otherQueries = zero();
    for (let r = 0; r < o.runs; r++) {
      const report = zero();
      const others = zero();
      sink = (label, s) => {
        const table = /^(\w+) indicators$/.exec(label)?.[1] as TableName | undefined;
        if (!table) return add(others, s);
        add(report, s);
        if (r === 0 && tables[table]) add(tables[table]!, s);
      };
      const started = performance.now();
      const m = await computeMetrics({ ...o.compute, engine });
      runs.push(performance.now() - started);
      reports.push(report);
      if (r === 0) {
        otherQueries = others;
        writeFileSync(o.metricsOut, JSON.stringify(m, null, 2));
        rows = Object.values(m.dataQuality).reduce((a, q) => a + q.rowsRead, 0);
      }
    }

    const sla = {
      firstResponseSlaMs: o.compute.targets.sla.firstResponseHours * 3_600_000,
      complaintSlaMs: o.compute.targets.sla.complaintResolutionHours * 3_600_000,
    };
    const queries = dashboardQueries(o.compute.period, o.compute.timezone, sla);
    const dashboard = zero();
    sink = (_label, s) => add(dashboard, s);
    let done = 0;
    const d0 = performance.now();
    await eachLimited(queries, o.concurrency, async (q) => {
      await engine.query(q.sql, `dashboard ${q.indicator} ${q.month}`);
      o.progress(++done, queries.length);
    });
    const dashboardMs = performance.now() - d0;
    if (dashboard.queries !== queries.length) throw new Error(`stats of ${dashboard.queries} of ${queries.length} dashboard queries`);

    return {
      loadMs,
      metricsMs: Math.min(...runs),
      metricsRuns: runs,
      report: reports[0]!,
      otherQueries,
      tables,
      stableBytes: reports.every((x) => x.physicalInputBytes === reports[0]!.physicalInputBytes),
      dashboard: { ...dashboard, ms: dashboardMs, indicators: INDICATORS.length, months: DASHBOARD_MONTHS },
      rows,
      maxRssMb: process.resourceUsage().maxRSS / 1024,
    };
  } finally {
    sink = () => undefined;
    await engine.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Agreement
// ---------------------------------------------------------------------------------------------

/** Paths where `a` and `b` differ (exact equality; `generatedAt` at the root ignored), at most `limit`. */
export function diffMetrics(a: unknown, b: unknown, limit = 5): string[] {
  const out: string[] = [];
  const show = (v: unknown) => (v === undefined ? 'absent' : JSON.stringify(v));
  const walk = (x: unknown, y: unknown, path: string) => {
    if (out.length >= limit) return;
    if (x !== null && y !== null && typeof x === 'object' && typeof y === 'object' && Array.isArray(x) === Array.isArray(y)) {
      const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
      for (const k of keys) {
        if (path === '' && k === 'generatedAt') continue;
        walk((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], Array.isArray(x) ? `${path}[${k}]` : path ? `${path}.${k}` : k);
      }
      return;
    }
    if (!Object.is(x, y)) out.push(`${path}: duckdb ${show(x)}, trino ${show(y)}`);
  };
  walk(a, b, '');
  return out;
}
