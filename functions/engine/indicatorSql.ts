/**
 * One query per canonical table (Trino dialect, portable functions only) that yields, in a single
 * scan of the table, every aggregate the 32 indicators need for all trend periods and segments,
 * plus the table's data-quality counts.
 *
 * After the record stages (tableSql.ts) each record is crossed with the table's anchors — the
 * timestamps an indicator's population is defined by (tickets: created_at, resolved_at …) — and
 * mapped to the index of the period that anchor falls in. Anchor 0 is data quality: its group key
 * is the row status. One GROUP BY over (anchor, period index [, segment]) then computes the
 * measures below; TypeScript (pipeline/indicatorValues.ts) turns them into indicator values.
 *
 * Period indexes: 0 … K-1 for the K periods P-(K-1) … P; -1 before them, K after them. K = 23
 * because repeat_purchase_rate_pct for the oldest trend point (P-11) looks back 12 periods.
 */
import { SERVQUAL_DIMENSIONS, type SegmentKind, type TableName } from '../pipeline/catalog.js';
import { CONTRACT } from '../pipeline/contract.js';
import { recordStages, sqlString } from './tableSql.js';

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

/** The period index of an epoch-ms column. */
export function periodIndexSql(col: string, bounds: number[]): string {
  const whens = bounds.map((b, i) => `WHEN ${col} < ${b} THEN ${i - 1}`).join(' ');
  return `CASE WHEN ${col} IS NULL THEN NULL ${whens} ELSE ${bounds.length - 1} END`;
}

const count = (name: string, anchor: number, when?: string): Measure => ({ name, kind: 'count', anchor, when });
const sum = (name: string, anchor: number, expr: string, when?: string): Measure => ({ name, kind: 'sum', anchor, expr, when });
const median = (name: string, anchor: number, expr: string): Measure => ({ name, kind: 'median', anchor, expr });
const at = (id: number, col: string, ctx: SqlContext): Anchor => ({ id, idx: periodIndexSql(col, ctx.bounds), range: 'window' });

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
          sum('fill_delivered', 1, 'least(quantity_delivered, quantity_ordered)', 'quantity_ordered IS NOT NULL AND quantity_delivered IS NOT NULL'),
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
  measures: string[];
  segments: SegmentKind[];
}

export function buildTableQuery(table: TableName, ctx: SqlContext): TableQuery {
  const p = plan(table, ctx);
  const segments = tableSegments(table);
  const K = ctx.bounds.length - 1;
  const last = p.pre ? 'pre' : 'rec';
  const anchorValues = [0, ...p.anchors.map((a) => a.id)].map((id) => `(${id})`).join(', ');
  const gCase = `CASE a WHEN 0 THEN st ${p.anchors.map((a) => `WHEN ${a.id} THEN ${a.idx}`).join(' ')} END`;
  const inRange = p.anchors
    .map((a) => (a.range === 'window' ? `(a = ${a.id} AND g BETWEEN 0 AND ${K - 1})` : `(a = ${a.id} AND g IS NOT NULL)`))
    .join(' OR ');
  const segCols = segments.map((s) => `coalesce(${s}, 'unassigned') AS seg_${s}`).join(', ');

  const aggs: string[] = ['CAST(count(*) AS double) AS rows_n', `max(CASE WHEN a = 0 AND st = 0 THEN u END) AS newest_ms`];
  const outs: string[] = ['rows_n', 'newest_ms'];
  for (const m of p.measures) {
    const cond = `a = ${m.anchor}${m.when ? ` AND (${m.when})` : ''}`;
    if (m.kind === 'count') {
      aggs.push(`CAST(count(CASE WHEN ${cond} THEN 1 END) AS double) AS ${m.name}`);
      outs.push(m.name);
    } else if (m.kind === 'sum') {
      aggs.push(`CAST(sum(CASE WHEN ${cond} THEN ${m.expr} END) AS double) AS ${m.name}`);
      outs.push(m.name);
    } else {
      const nn = `${cond} AND (${m.expr}) IS NOT NULL`;
      aggs.push(`array_agg(CAST(${m.expr} AS double) ORDER BY CAST(${m.expr} AS double)) FILTER (WHERE ${nn}) AS ${m.name}_arr`);
      aggs.push(`CAST(count(CASE WHEN ${nn} THEN 1 END) AS double) AS ${m.name}_n`);
      outs.push(`${m.name}_n`);
      outs.push(
        `CASE WHEN ${m.name}_n > 0 THEN (${m.name}_arr[CAST(floor((${m.name}_n + 1) / 2.0) AS bigint)] + ${m.name}_arr[CAST(floor(${m.name}_n / 2.0) AS bigint) + 1]) / 2.0 END AS ${m.name}`,
      );
    }
  }

  const groupCols = ['a', 'g'];
  const groupBy = segments.length
    ? `GROUPING SETS ((a, g), ${segments.map((s) => `(a, g, seg_${s})`).join(', ')})`
    : 'a, g';
  const gsExpr = segments.length ? `grouping(${segments.map((s) => `seg_${s}`).join(', ')})` : '0';
  const segSelect = segments.map((s) => `seg_${s}`);

  const sql = `WITH ${recordStages(table)},${p.pre ? `\n${p.pre},` : ''}
x AS (
  SELECT ${last}.*, an.a AS a${segCols ? `, ${segCols}` : ''}
  FROM ${last} CROSS JOIN (VALUES ${anchorValues}) AS an(a)
),
y AS (
  SELECT x.*, ${gCase} AS g
  FROM x
),
z AS (
  SELECT *
  FROM y
  WHERE a = 0 OR (st = 0 AND (${inRange || 'false'}))
),
agg AS (
  SELECT ${groupCols.join(', ')}, ${gsExpr} AS gs${segSelect.length ? `, ${segSelect.join(', ')}` : ''},
    ${aggs.join(',\n    ')}
  FROM z
  GROUP BY ${groupBy}
)
SELECT a, g, gs${segSelect.length ? `, ${segSelect.join(', ')}` : ''},
  ${outs.join(',\n  ')}
FROM agg`;
  return { sql, measures: [...outs.map((o) => o.replace(/^.* AS /s, ''))], segments };
}

export { sqlString };
