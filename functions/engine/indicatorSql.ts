/**
 * One query per canonical table (Trino dialect, portable functions only) that yields, in a single
 * scan of the table, every aggregate the 32 indicators need for all trend periods and segments,
 * plus the table's data-quality counts.
 *
 * After the record stages (tableSql.ts) every used record gets, per anchor — a timestamp an
 * indicator's population is defined by (tickets: created_at, resolved_at …) — the index of the
 * period that anchor falls in (column i<anchor>, null when outside). One GROUP BY GROUPING SETS
 * then aggregates the measures below by the row status (anchor 0, data quality), and by each
 * anchor's index alone and with each segment. TypeScript (pipeline/indicatorValues.ts) reads each
 * measure from its anchor's grouping set and turns it into indicator values.
 *
 * Period indexes: 0 … K-1 for the K periods P-(K-1) … P; -1 before them, K after them. K = 23
 * because repeat_purchase_rate_pct for the oldest trend point (P-11) looks back 12 periods.
 */
import { SERVQUAL_DIMENSIONS, type SegmentKind, type TableName } from '../pipeline/catalog.js';
import { CONTRACT } from '../pipeline/contract.js';
import { recordStages } from './tableSql.js';

export const WINDOW_PERIODS = 23;

export interface SqlContext {
  /** K+1 boundaries in epoch ms: start of each of the K periods, then the end of the last. */
  bounds: number[];
  firstResponseSlaMs: number;
  complaintSlaMs: number;
}

interface Anchor {
  id: number;
  /** SQL giving the period index of the record for this anchor (null: not in this anchor). */
  idx: string;
  /** Which indexes take part: 'window' = 0…K-1; 'any' = every non-null index (running totals). */
  range: 'window' | 'any';
}

interface Measure {
  name: string;
  kind: 'count' | 'sum' | 'median';
  anchor: number;
  when?: string;
  expr?: string;
}

interface TablePlan {
  anchors: Anchor[];
  measures: Measure[];
  /** An extra stage between rec and the anchor cross join, reading `rec`, named `pre`. */
  pre?: string;
}

/**
 * The period index of an epoch-ms column: 0 … K-1 inside the window; outside it -1 / K when
 * `outside` is 'keep', else null.
 */
export function periodIndexSql(col: string, bounds: number[], outside: 'keep' | 'null' = 'keep'): string {
  const K = bounds.length - 1;
  const whens = bounds.map((b, i) => `WHEN ${col} < ${b} THEN ${i === 0 && outside === 'null' ? 'NULL' : i - 1}`).join(' ');
  return `CASE WHEN ${col} IS NULL THEN NULL ${whens} ELSE ${outside === 'null' ? 'NULL' : K} END`;
}

const count = (name: string, anchor: number, when?: string): Measure => ({ name, kind: 'count', anchor, when });
const sum = (name: string, anchor: number, expr: string, when?: string): Measure => ({ name, kind: 'sum', anchor, expr, when });
const median = (name: string, anchor: number, expr: string): Measure => ({ name, kind: 'median', anchor, expr });
const at = (id: number, col: string, ctx: SqlContext): Anchor => ({ id, idx: periodIndexSql(col, ctx.bounds, 'null'), range: 'window' });

function plan(table: TableName, ctx: SqlContext): TablePlan {
  switch (table) {
    case 'tickets':
      return {
        anchors: [at(1, 'created_at', ctx), at(2, 'resolved_at', ctx)],
        measures: [
          count('sla_met', 1, `first_response_at IS NOT NULL AND first_response_at - created_at <= ${ctx.firstResponseSlaMs}`),
          median('first_response', 1, 'first_response_at - created_at'),
          count('error_n', 1, 'has_error IS NOT NULL'),
          count('error', 1, 'has_error'),
          sum('resolution_ms', 2, 'resolved_at - created_at'),
          count('fcr_n', 2, 'contacts_count IS NOT NULL'),
          count('fcr', 2, 'contacts_count IS NOT NULL AND contacts_count <= 1 AND coalesce(reopened_count, 0) = 0'),
          count('reopened', 2, 'reopened_count > 0'),
        ],
      };
    case 'surveys': {
      const scored = (type: string) => `survey_type = '${type}' AND score IS NOT NULL`;
      const sq = (d: string) => `survey_type = 'servqual' AND dimension = '${d}' AND score IS NOT NULL AND expectation IS NOT NULL`;
      return {
        anchors: [at(1, 'responded_at', ctx), at(2, 'sent_at', ctx)],
        measures: [
          count('csat_n', 1, scored('csat')),
          count('csat_satisfied', 1, `${scored('csat')} AND score >= 4`),
          sum('csat_score', 1, 'score', scored('csat')),
          count('nps_n', 1, scored('nps')),
          count('nps_promoters', 1, `${scored('nps')} AND score >= 9`),
          count('nps_detractors', 1, `${scored('nps')} AND score <= 6`),
          ...SERVQUAL_DIMENSIONS.flatMap((d) => [count(`sq_${d}_n`, 1, sq(d)), sum(`sq_${d}_gap`, 1, 'score - expectation', sq(d))]),
          count('sent_n', 2, `survey_type IN ('csat', 'nps')`),
          count('sent_responded', 2, `survey_type IN ('csat', 'nps') AND responded_at IS NOT NULL`),
        ],
      };
    }
    case 'orders': {
      // repeat_purchase_rate_pct: for trend point T a customer counts when an order's month index m
      // lies in [T-11, T]. Per customer, ordered by m, order i newly covers the T in
      // [max(m, m1 + 12), m + 11] (m1 = previous order's index) — these pieces are disjoint, so the
      // customers counted at T = pieces covering T. Likewise "two orders in the window" holds for
      // T in [m, m1 + 11], newly covered from max(m, m2 + 12). Anchors 3-6 emit the pieces' start
      // and end+1 indexes; TypeScript takes the running sums.
      const activeStart = 'CASE WHEN m1 IS NULL THEN m WHEN m1 + 12 > m THEN m1 + 12 ELSE m END';
      const repeatStart = 'CASE WHEN m2 IS NULL THEN m WHEN m2 + 12 > m THEN m2 + 12 ELSE m END';
      const part = (cond: string, idx: string) => `CASE WHEN q AND ${cond} THEN ${idx} END`;
      return {
        pre: `ord AS (
  SELECT rec.*, ${periodIndexSql('ordered_at', ctx.bounds)} AS m,
    st = 0 AND customer_id IS NOT NULL AND ordered_at >= ${ctx.bounds[0]} AND ordered_at < ${ctx.bounds[ctx.bounds.length - 1]} AS q
  FROM rec
),
pre AS (
  SELECT ord.*,
    lag(m, 1) OVER (PARTITION BY q, CASE WHEN q THEN customer_id ELSE k END ORDER BY m) AS m1,
    lag(m, 2) OVER (PARTITION BY q, CASE WHEN q THEN customer_id ELSE k END ORDER BY m) AS m2
  FROM ord
)`,
        anchors: [
          at(1, 'delivered_at', ctx),
          at(2, 'ordered_at', ctx),
          { id: 3, idx: part(`${activeStart} <= m + 11`, activeStart), range: 'any' },
          { id: 4, idx: part(`${activeStart} <= m + 11`, 'm + 12'), range: 'any' },
          { id: 5, idx: part(`m1 IS NOT NULL AND ${repeatStart} <= m1 + 11`, repeatStart), range: 'any' },
          { id: 6, idx: part(`m1 IS NOT NULL AND ${repeatStart} <= m1 + 11`, 'm1 + 12'), range: 'any' },
        ],
        measures: [
          count('on_time_n', 1, 'promised_at IS NOT NULL'),
          count('on_time', 1, 'promised_at IS NOT NULL AND delivered_at <= promised_at'),
          count('fill_n', 1, 'quantity_ordered IS NOT NULL AND quantity_delivered IS NOT NULL'),
          sum('fill_delivered', 1, 'CASE WHEN quantity_delivered < quantity_ordered THEN quantity_delivered ELSE quantity_ordered END', 'quantity_ordered IS NOT NULL AND quantity_delivered IS NOT NULL'),
          sum('fill_ordered', 1, 'quantity_ordered', 'quantity_ordered IS NOT NULL AND quantity_delivered IS NOT NULL'),
          count('accurate_n', 1, 'is_accurate IS NOT NULL'),
          count('accurate', 1, 'is_accurate'),
          count('returned', 1, 'returned_at IS NOT NULL'),
          count('change_n', 2, 'change_requested AND change_accommodated IS NOT NULL'),
          count('change_ok', 2, 'change_requested AND change_accommodated'),
        ],
      };
    }
    case 'complaints':
      return {
        anchors: [at(1, 'opened_at', ctx), at(2, 'resolved_at', ctx)],
        measures: [
          count('in_sla', 1, `resolved_at IS NOT NULL AND resolved_at - opened_at <= ${ctx.complaintSlaMs}`),
          median('resolution', 2, 'resolved_at - opened_at'),
        ],
      };
    case 'invoices':
      return {
        anchors: [at(1, 'issued_at', ctx)],
        measures: [
          count('on_time_n', 1, 'due_at IS NOT NULL'),
          count('on_time', 1, 'due_at IS NOT NULL AND issued_at <= due_at'),
          count('accurate_n', 1, 'is_accurate IS NOT NULL'),
          count('accurate', 1, 'is_accurate'),
        ],
      };
    case 'customers': {
      // Running totals: customers created / churned before each period bound (index -1 = before
      // the window), and those created and churned in the same period.
      const created = periodIndexSql('created_at', ctx.bounds);
      const churned = periodIndexSql('churned_at', ctx.bounds);
      return {
        anchors: [
          { id: 1, idx: created, range: 'any' },
          { id: 2, idx: churned, range: 'any' },
          { id: 3, idx: `CASE WHEN ${churned} = ${created} THEN ${created} END`, range: 'any' },
        ],
        measures: [],
      };
    }
  }
}

/** Segment columns a table can be broken down by. */
export function tableSegments(table: TableName): SegmentKind[] {
  const names = CONTRACT[table].columns.map((c) => c.name);
  return (['team', 'channel'] as const).filter((s) => names.includes(s));
}

export interface TableQuery {
  sql: string;
  segments: SegmentKind[];
  /** Anchor ids (0 = data quality, grouped by row status). */
  anchors: number[];
}

export function buildTableQuery(table: TableName, ctx: SqlContext): TableQuery {
  const p = plan(table, ctx);
  const segments = tableSegments(table);
  const last = p.pre ? 'pre' : 'rec';
  const idxCols = p.anchors.map((a) => `CASE WHEN st = 0 THEN ${a.idx} END AS i${a.id}`);
  const segCols = segments.map((s) => `coalesce(${s}, 'unassigned') AS seg_${s}`);

  const aggs: string[] = ['CAST(count(*) AS double) AS rows_n', 'max(CASE WHEN st = 0 THEN u END) AS newest_ms'];
  const outs: string[] = ['rows_n', 'newest_ms'];
  const medians: string[] = [];
  for (const m of p.measures) {
    const when = m.when ? `(${m.when})` : 'true';
    if (m.kind === 'count') {
      aggs.push(`CAST(count(CASE WHEN ${when} THEN 1 END) AS double) AS ${m.name}`);
      outs.push(m.name);
    } else if (m.kind === 'sum') {
      aggs.push(`CAST(sum(CASE WHEN ${when} THEN ${m.expr} END) AS double) AS ${m.name}`);
      outs.push(m.name);
    } else {
      // Collected in every grouping set, sorted only where it is read: its anchor's sets.
      aggs.push(`array_agg(CAST(${m.expr} AS double)) FILTER (WHERE (${m.expr}) IS NOT NULL) AS ${m.name}_all`);
      aggs.push(`CAST(count(${m.expr}) AS double) AS ${m.name}_n`);
      aggs.push(`grouping(i${m.anchor}) AS ${m.name}_set`);
      medians.push(`CASE WHEN ${m.name}_set = 0 AND ${m.name}_n > 0 THEN array_sort(${m.name}_all) END AS ${m.name}_sorted`);
      outs.push(`${m.name}_n`);
      outs.push(
        `(${m.name}_sorted[CAST(floor((${m.name}_n + 1) / 2.0) AS bigint)] + ${m.name}_sorted[CAST(floor(${m.name}_n / 2.0) AS bigint) + 1]) / 2.0 AS ${m.name}`,
      );
    }
  }

  const keys = ['st', ...p.anchors.map((a) => `i${a.id}`), ...segments.map((s) => `seg_${s}`)];
  const sets = [
    '(st)',
    ...p.anchors.flatMap((a) => [
      `(i${a.id})`,
      ...(a.range === 'window' ? segments.map((s) => `(i${a.id}, seg_${s})`) : []),
    ]),
  ];
  const groupings = keys.map((k) => `grouping(${k}) AS g_${k}`);

  const sql = `WITH ${recordStages(table)},${p.pre ? `\n${p.pre},` : ''}
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
  return { sql, segments, anchors: [0, ...p.anchors.map((a) => a.id)] };
}
