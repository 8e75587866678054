/**
 * The metrics stage: one query per canonical table on the given engine, then the indicator
 * formulas, status against targets, previous, trend, breakdowns and data quality → MetricsJson.
 */
import type { QueryEngine, SqlRow } from '../engine/engine.js';
import { WINDOW_PERIODS, buildTableQuery } from '../engine/indicatorSql.js';
import { STATUS, STATUS_NAMES } from '../engine/tableSql.js';
import { INDICATORS, TABLES, type SegmentKind, type TableName } from './catalog.js';
import { evaluateStatus } from './evaluate.js';
import { ALL, FORMULAS, TableAggregates, segKey, type Aggs } from './indicatorValues.js';
import type { IndicatorResult, MetricsJson, RejectReason, SegmentValue, TableQuality } from './model.js';
import { isoMs, periodRange } from './period.js';
import { targetFor, type TargetsConfig } from './targets.js';

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

/** Rows of a table query → aggregates: each row belongs to one grouping set, told by its g_* flags. */
function decode(rows: SqlRow[], anchors: number[], segments: SegmentKind[]): TableAggregates {
  const aggs = new TableAggregates();
  const anchorKey = (a: number) => (a === 0 ? 'st' : `i${a}`);
  for (const row of rows) {
    const a = anchors.find((id) => row[`g_${anchorKey(id)}`] === 0);
    const g = a === undefined ? null : row[anchorKey(a)];
    if (a === undefined || g === null) continue; // the group of records outside this anchor
    const kind = segments.find((s) => row[`g_seg_${s}`] === 0);
    const seg = kind ? segKey(kind, String(row[`seg_${kind}`])) : ALL;
    const m: Record<string, number | null> = {};
    for (const [k, v] of Object.entries(row)) if (typeof v === 'number' || v === null) m[k] = v;
    aggs.add(seg, a, Number(g), m);
  }
  return aggs;
}

function quality(t: TableAggregates | undefined, present: boolean): TableQuality {
  const rejected: Partial<Record<RejectReason, number>> = {};
  let rowsRead = 0;
  let duplicates = 0;
  let used = 0;
  let newest: number | null = null;
  // In status order (the contract's order of reasons), whatever order the engine returned the rows in.
  const byStatus = [...(t?.statusRows() ?? [])].sort(([a], [b]) => a - b);
  for (const [st, m] of byStatus) {
    const rows = m['rows_n'] ?? 0;
    rowsRead += rows;
    if (st === STATUS.ok) {
      used = rows;
      newest = m['newest_ms'] ?? null;
    } else if (st === STATUS.duplicate) duplicates = rows;
    else if (rows > 0) rejected[STATUS_NAMES[st] as RejectReason] = rows;
  }
  return {
    present,
    rowsRead,
    duplicatesDropped: duplicates,
    rejected,
    recordsUsed: used,
    newestUpdatedAt: newest === null ? null : isoMs(newest),
  };
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
  const aggs: Aggs = {};
  let done = 0;
  await Promise.all(
    TABLES.map(async (table) => {
      if (!present.has(table)) return;
      const q = buildTableQuery(table, ctx);
      const rows = await o.engine.query(q.sql, `${table} indicators`);
      aggs[table] = decode(rows, q.anchors, q.segments);
      o.onProgress?.(table, ++done, present.size);
    }),
  );

  const last = WINDOW_PERIODS - 1;
  const trendIdx = Array.from({ length: TREND }, (_, k) => last - TREND + 1 + k);
  const indicators: Record<string, IndicatorResult> = {};
  const segments: MetricsJson['segments'] = { team: {}, channel: {} };

  for (const def of INDICATORS) {
    const available = def.tables.every((t) => present.has(t));
    const f = FORMULAS[def.id]!;
    const at = (seg: string, i: number) => (available ? f(aggs, seg, i) : { value: null, n: 0 });
    const cur = at(ALL, last);
    const { target, warn } = targetFor(o.targets, def.id, o.period);
    indicators[def.id] = {
      value: cur.value,
      n: cur.n,
      unit: def.unit,
      direction: def.direction,
      target: def.direction === 'neutral' ? null : target,
      warn: def.direction === 'neutral' ? null : warn,
      status: evaluateStatus(cur.value, def.direction, target, warn),
      lowSample: cur.n < o.targets.minSample,
      previous: at(ALL, last - 1).value,
      trend: trendIdx.map((i) => ({ period: periods[i]!.id, ...at(ALL, i) })),
    };
    if (!available) continue;
    for (const kind of def.breakdowns) {
      const values = new Set<string>();
      for (const t of def.tables) for (const v of aggs[t]!.segmentValues[kind]) values.add(v);
      for (const v of [...values].sort()) {
        const p: SegmentValue = f(aggs, segKey(kind, v), last);
        if (p.n > 0) (segments[kind][v] ??= {})[def.id] = { value: p.value, n: p.n };
      }
    }
  }

  const dataQuality = Object.fromEntries(TABLES.map((t) => [t, quality(aggs[t], present.has(t))])) as Record<TableName, TableQuality>;
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
