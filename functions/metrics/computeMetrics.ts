/**
 * The metrics stage: one query per canonical table on the given engine (plan.ts), then each
 * indicator's formula per period and segment, status against targets, previous, year-ago, trend,
 * breakdowns and data quality → metrics.json (schema.ts).
 */
import type { FailedImport, QueryEngine, SqlRow } from '../engine/engine.js';
import { STATUS, STATUS_NAMES } from '../engine/tableSql.js';
import { TABLES, type RejectReason, type SegmentKind, type TableName } from '../pipeline/contract.js';
import { isoMs, periodRange } from '../pipeline/period.js';
import type { TargetsConfig } from '../pipeline/targets.js';
import type { IndicatorDeclaration, InputValues, Point } from './declare.js';
import { INDICATORS, tablesOf } from './indicators.js';
import { WINDOW_PERIODS, buildTableQuery, planTables, type MeasureRef } from './plan.js';
import type { IndicatorResult, MetricsJson, SegmentResult, TableQuality } from './schema.js';
import { inForce, judge } from './status.js';

export interface ComputeOptions {
  engine: QueryEngine;
  period: string;
  timezone: string;
  targets: TargetsConfig;
  reportId: string;
  locale: string;
  now?: Date;
  onProgress?: (table: TableName, done: number, total: number) => void;
}

const TREND = 12;
/** 'all' for the whole population, else `${kind}:${value}`. */
const ALL = 'all';
const segKey = (kind: SegmentKind, value: string) => `${kind}:${value}`;

type Row = Record<string, number | null>;

/** One table's result rows, by grouping set: segment -> anchor (or '' for row status) -> index -> row. */
class TableResult {
  private readonly data = new Map<string, Map<string, Map<number, Row>>>();
  readonly segmentValues: Record<SegmentKind, Set<string>> = { team: new Set(), channel: new Set() };

  constructor(rows: SqlRow[], anchors: string[], segments: SegmentKind[]) {
    for (const row of rows) {
      const status = row['g_st'] === 0;
      const anchor = status ? '' : anchors.find((a) => row[`g_i_${a}`] === 0);
      if (anchor === undefined) continue;
      const g = status ? row['st'] : row[`i_${anchor}`];
      if (g === null || g === undefined) continue; // the records outside this anchor's population
      const kind = segments.find((s) => row[`g_seg_${s}`] === 0);
      const seg = kind ? segKey(kind, String(row[`seg_${kind}`])) : ALL;
      if (kind) this.segmentValues[kind].add(String(row[`seg_${kind}`]));
      const m: Row = {};
      for (const [k, v] of Object.entries(row)) if (typeof v === 'number' || v === null) m[k] = v;
      let byAnchor = this.data.get(seg);
      if (!byAnchor) this.data.set(seg, (byAnchor = new Map()));
      let byIdx = byAnchor.get(anchor);
      if (!byIdx) byAnchor.set(anchor, (byIdx = new Map()));
      byIdx.set(Number(g), m);
    }
  }

  row(seg: string, anchor: string, i: number): Row | undefined {
    return this.data.get(seg)?.get(anchor)?.get(i);
  }

  /** Records of an anchor (all segments) whose index is below `k`. */
  before(anchor: string, k: number): number {
    let s = 0;
    for (const [g, m] of this.data.get(ALL)?.get(anchor) ?? []) if (g < k) s += m['rows_n'] ?? 0;
    return s;
  }

  statusRows(): [number, Row][] {
    return [...(this.data.get(ALL)?.get('') ?? [])].sort(([a], [b]) => a - b);
  }
}

function quality(t: TableResult | undefined, present: boolean, missingColumns: string[], failedFiles: FailedImport[]): TableQuality {
  const rejected: Partial<Record<RejectReason, number>> = {};
  let rowsRead = 0;
  let duplicates = 0;
  let used = 0;
  let newest: number | null = null;
  // In status order (the contract's order of reasons), whatever order the engine returned the rows in.
  for (const [st, m] of t?.statusRows() ?? []) {
    const rows = m['rows_n'] ?? 0;
    rowsRead += rows;
    if (st === STATUS.ok) {
      used = rows;
      newest = m['newest_ms'] ?? null;
    } else if (st === STATUS.duplicate) duplicates = rows;
    else if (rows > 0) rejected[STATUS_NAMES[st] as RejectReason] = rows;
  }
  return { present, rowsRead, duplicatesDropped: duplicates, rejected, recordsUsed: used, newestUpdatedAt: newest === null ? null : isoMs(newest), missingColumns, failedFiles };
}

export async function computeMetrics(o: ComputeOptions): Promise<MetricsJson> {
  const periods = periodRange(o.period, o.timezone, WINDOW_PERIODS);
  const bounds = [...periods.map((p) => p.startMs), periods[periods.length - 1]!.endMs];
  const ctx = {
    bounds,
    firstResponseSlaMs: o.targets.sla.firstResponseHours * 3_600_000,
    complaintSlaMs: o.targets.sla.complaintResolutionHours * 3_600_000,
  };
  const present = await o.engine.presentTables();
  const plans = planTables(ctx);
  const results: Partial<Record<TableName, TableResult>> = {};
  let done = 0;
  await Promise.all(
    TABLES.map(async (table) => {
      if (!present.has(table) || !plans[table].anchors.length) return;
      const q = buildTableQuery(table, ctx, plans[table]);
      const rows = await o.engine.query(q.sql, `${table} indicators`);
      results[table] = new TableResult(rows, q.anchors, q.segments);
      o.onProgress?.(table, ++done, present.size);
    }),
  );
  const missing = await missingColumns(o.engine, present);
  const failed = await failedImports(o.engine, periods[periods.length - 1]!.startMs);

  /** The formula of `d` for a segment and period index, or no data when a table or column is absent. */
  const evaluate = (d: IndicatorDeclaration, seg: string, i: number): Point => {
    if (!tablesOf(d).every((t) => present.has(t))) return { value: null, n: 0 };
    if ((d.reads ?? []).some((qc) => missing.has(qc))) return { value: null, n: 0 };
    const args: Record<string, InputValues<string>> = {};
    for (const [key, inp] of Object.entries(d.inputs)) {
      const t = results[inp.table]!;
      const row = t.row(seg, inp.anchor, i);
      const v: Record<string, unknown> = { n: row?.['rows_n'] ?? 0, before: (k: number) => t.before(inp.anchor, k) };
      const measures = plans[inp.table].refs.get(d.id)?.[key] ?? {};
      for (const [name, ref] of Object.entries(measures) as [string, MeasureRef][]) {
        const r = t.row(seg, ref.anchor, i);
        v[name] = ref.kind === 'median' ? (r?.[ref.column] ?? null) : (r?.[ref.column] ?? 0);
      }
      args[key] = v as InputValues<string>;
    }
    return d.formula(args, i);
  };

  const last = WINDOW_PERIODS - 1;
  const trendIdx = Array.from({ length: TREND }, (_, k) => last - TREND + 1 + k);
  /** value, n, previous, year-ago and trend of `d` over one segment (or all). */
  const history = (d: IndicatorDeclaration, seg: string) => {
    // Each month with the target and warn level in force then (a chart draws them as steps).
    const trend = trendIdx.map((i) => ({ period: periods[i]!.id, ...evaluate(d, seg, i), ...inForce(d, o.targets, periods[i]!.id) }));
    // The trend ends with P and P-1: they are the value and the previous value.
    const cur = trend[TREND - 1]!;
    return { value: cur.value, n: cur.n, previous: trend[TREND - 2]!.value, yearAgo: evaluate(d, seg, last - TREND).value, trend };
  };

  const indicators: Record<string, IndicatorResult> = {};
  const segments: MetricsJson['segments'] = { team: {}, channel: {} };
  for (const d of INDICATORS) {
    const h = history(d, ALL);
    const j = judge(d, h.value, h.n, o.targets, o.period);
    indicators[d.id] = { ...h, unit: d.unit, direction: d.direction, category: d.category, target: j.target, warn: j.warn, status: j.status, lowSample: j.lowSample };
    for (const kind of d.breakdowns) {
      const values = new Set<string>();
      for (const t of tablesOf(d)) for (const v of results[t]?.segmentValues[kind] ?? []) values.add(v);
      for (const v of [...values].sort()) {
        const s = history(d, segKey(kind, v));
        if (s.n === 0) continue; // listed only where the population in P is not empty
        const js = judge(d, s.value, s.n, o.targets, o.period);
        const entry: SegmentResult = { value: s.value, n: s.n, status: js.status, lowSample: js.lowSample, previous: s.previous, yearAgo: s.yearAgo, trend: s.trend };
        (segments[kind][v] ??= {})[d.id] = entry;
      }
    }
  }

  const dataQuality = Object.fromEntries(
    TABLES.map((t) => [t, quality(results[t], present.has(t), [...missing].filter((qc) => qc.startsWith(`${t}.`)).map((qc) => qc.slice(t.length + 1)), failed[t])]),
  ) as Record<TableName, TableQuality>;
  const p = periods[last]!;
  return {
    schemaVersion: 1,
    reportId: o.reportId,
    locale: o.locale,
    period: { id: o.period, timezone: o.timezone, start: isoMs(p.startMs), end: isoMs(p.endMs) },
    generatedAt: (o.now ?? new Date()).toISOString(),
    indicators,
    segments,
    dataQuality,
    settings: {
      minSample: o.targets.minSample,
      sla: { firstResponseHours: o.targets.sla.firstResponseHours, complaintResolutionHours: o.targets.sla.complaintResolutionHours },
    },
  };
}

/** Optional columns (as `table.column`) that no file of a present table has. */
async function missingColumns(engine: QueryEngine, present: Set<TableName>): Promise<Set<string>> {
  const out = new Set<string>();
  if (!engine.columnsPresent) return out;
  for (const t of present) {
    const cols = await engine.columnsPresent(t);
    if (!cols) continue;
    for (const d of INDICATORS) for (const qc of d.reads ?? []) if (qc.startsWith(`${t}.`) && !cols.has(qc.slice(t.length + 1))) out.add(qc);
  }
  return out;
}

/**
 * The raw exports of each table that could not be imported and may hold records of the period
 * starting at `periodStartMs` ([] everywhere when the engine cannot tell).
 */
async function failedImports(engine: QueryEngine, periodStartMs: number): Promise<Record<TableName, FailedImport[]>> {
  const entries = await Promise.all(
    TABLES.map(async (t) => [t, engine.failedImports ? (await engine.failedImports(t, { startMs: periodStartMs })).map((f) => ({ file: f.file, error: f.error })) : []] as const),
  );
  return Object.fromEntries(entries) as Record<TableName, FailedImport[]>;
}
