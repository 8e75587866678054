/**
 * From the indicator declarations to one query per table (Trino dialect, portable functions only)
 * that yields, in a single scan, every measure of every indicator reading the table, for every
 * period of the window and every segment, plus the table's data-quality counts.
 *
 * After the record stages (engine/tableSql.ts) every used record gets the period index of each
 * anchor in use (column i_<anchor>). One GROUP BY GROUPING SETS then aggregates the measures by
 * row status (data quality), by each anchor's index alone, and for window anchors with each
 * segment of the table. Identical measures of different indicators are computed once.
 *
 * Period indexes: 0 … K-1 for the K periods P-(K-1) … P. K = 23 because
 * repeat_purchase_rate_pct for the oldest trend point (P-11) looks back 12 periods.
 */
import { recordStages } from '../engine/tableSql.js';
import { CONTRACT, SEGMENT_KINDS, TABLES, type SegmentKind, type TableName } from '../pipeline/contract.js';
import { ANCHORS, anchorDef } from './anchors.js';
import { sqlOf, type IndicatorDeclaration, type MeasureDef, type PlanContext } from './declare.js';
import { INDICATORS } from './indicators.js';

export const WINDOW_PERIODS = 23;

/** Where one declared measure of one indicator input is found in its table's result rows. */
export interface MeasureRef {
  anchor: string;
  column: string;
  kind: MeasureDef['kind'];
}

export interface TableQuery {
  table: TableName;
  sql: string;
  segments: SegmentKind[];
  /** Anchors in use, in column order. */
  anchors: string[];
}

/** Segment columns a table can be broken down by. */
export function tableSegments(table: TableName): SegmentKind[] {
  const names = CONTRACT[table].columns.map((c) => c.name);
  return SEGMENT_KINDS.filter((s) => names.includes(s));
}

interface TablePlan {
  anchors: string[];
  /** Distinct measures by signature: [anchor, measure, column]. */
  measures: { anchor: string; def: MeasureDef; column: string }[];
  /** indicator id -> input key -> measure name -> ref */
  refs: Map<string, Record<string, Record<string, MeasureRef>>>;
}

/** The plans of all tables for a context: which anchors and measures each indicator needs. */
export function planTables(ctx: PlanContext, indicators: readonly IndicatorDeclaration[] = INDICATORS): Record<TableName, TablePlan> {
  const plans = Object.fromEntries(TABLES.map((t) => [t, { anchors: [], measures: [], refs: new Map() } as TablePlan])) as Record<TableName, TablePlan>;
  const bySignature = new Map<string, string>();
  for (const ind of indicators) {
    for (const [key, inp] of Object.entries(ind.inputs)) {
      const p = plans[inp.table];
      if (!p.anchors.includes(inp.anchor)) p.anchors.push(inp.anchor);
      for (const [name, def] of Object.entries(inp.measures ?? {}) as [string, MeasureDef][]) {
        const when = def.when === undefined ? '' : sqlOf(def.when, ctx);
        const expr = def.expr === undefined ? '' : sqlOf(def.expr, ctx);
        const sig = `${inp.table}|${inp.anchor}|${def.kind}|${when}|${expr}`;
        let column = bySignature.get(sig);
        if (!column) {
          column = `m${p.measures.length}`;
          bySignature.set(sig, column);
          p.measures.push({ anchor: inp.anchor, def, column });
        }
        const forInd = p.refs.get(ind.id) ?? {};
        (forInd[key] ??= {})[name] = { anchor: inp.anchor, column, kind: def.kind };
        p.refs.set(ind.id, forInd);
      }
    }
  }
  return plans;
}

export function buildTableQuery(table: TableName, ctx: PlanContext, plan: TablePlan = planTables(ctx)[table]): TableQuery {
  const segments = tableSegments(table);
  const pre = (ANCHORS[table] as { pre?: (c: PlanContext) => string }).pre;
  const last = pre ? 'pre' : 'rec';
  const idxCols = plan.anchors.map((a) => `CASE WHEN st = 0 THEN ${anchorDef(table, a).idx(ctx)} END AS i_${a}`);
  const segCols = segments.map((s) => `coalesce(${s}, 'unassigned') AS seg_${s}`);

  const aggs: string[] = ['CAST(count(*) AS double) AS rows_n', 'max(CASE WHEN st = 0 THEN u END) AS newest_ms'];
  const outs: string[] = ['rows_n', 'newest_ms'];
  const medians: string[] = [];
  for (const { anchor, def, column } of plan.measures) {
    const when = def.when === undefined ? 'true' : `(${sqlOf(def.when, ctx)})`;
    const expr = def.expr === undefined ? '' : sqlOf(def.expr, ctx);
    if (def.kind === 'count') {
      aggs.push(`CAST(count(CASE WHEN ${when} THEN 1 END) AS double) AS ${column}`);
      outs.push(column);
    } else if (def.kind === 'sum') {
      aggs.push(`CAST(sum(CASE WHEN ${when} THEN ${expr} END) AS double) AS ${column}`);
      outs.push(column);
    } else {
      // Collected in every grouping set, sorted only where it is read: its anchor's sets. The
      // subscripts stay within 1..n (Trino fails out of range where DuckDB gives null).
      aggs.push(`array_agg(CAST(${expr} AS double)) FILTER (WHERE (${expr}) IS NOT NULL) AS ${column}_all`);
      aggs.push(`CAST(count(${expr}) AS double) AS ${column}_n`);
      aggs.push(`grouping(i_${anchor}) AS ${column}_set`);
      medians.push(`CASE WHEN ${column}_set = 0 AND ${column}_n > 0 THEN array_sort(${column}_all) END AS ${column}_sorted`);
      outs.push(
        `(${column}_sorted[CAST(floor((${column}_n + 1) / 2.0) AS bigint)] + ${column}_sorted[CAST(floor(${column}_n / 2.0) AS bigint) + 1]) / 2.0 AS ${column}`,
      );
    }
  }

  const keys = ['st', ...plan.anchors.map((a) => `i_${a}`), ...segments.map((s) => `seg_${s}`)];
  const sets = [
    '(st)',
    ...plan.anchors.flatMap((a) => [`(i_${a})`, ...(anchorDef(table, a).range === 'window' ? segments.map((s) => `(i_${a}, seg_${s})`) : [])]),
  ];
  const groupings = keys.map((k) => `grouping(${k}) AS g_${k}`);

  const sql = `WITH ${recordStages(table)},${pre ? `\n${pre(ctx)},` : ''}
x AS (
  SELECT ${last}.*,
    ${[...idxCols, ...segCols].join(',\n    ')}
  FROM ${last}
),
agg AS (
  SELECT ${keys.join(', ')}, ${groupings.join(', ')},
    ${aggs.join(',\n    ')}
  FROM x
  GROUP BY GROUPING SETS (${sets.join(', ')})
),
med AS (
  SELECT agg.*${medians.length ? `,\n    ${medians.join(',\n    ')}` : ''}
  FROM agg
)
SELECT ${keys.join(', ')}, ${keys.map((k) => `g_${k}`).join(', ')},
  ${outs.join(',\n  ')}
FROM med`;
  return { table, sql, segments, anchors: plan.anchors };
}
