/**
 * The anchors of each table: the instants a population is defined by. Each record gets, per
 * anchor, the index of the period that instant falls in (0 … K-1 for the K periods of the window,
 * P-(K-1) … P). Indicators name these anchors (indicators.ts); the plan (plan.ts) emits one
 * period-index column per anchor in use and groups by it.
 *
 * A `window` anchor counts records whose instant lies in a period of the window (and is broken
 * down by segment); a `running` anchor also keeps -1 (before the window) and K (after it) or any
 * index its SQL yields, for running totals over all segments.
 */
import type { TableName } from '../pipeline/contract.js';
import { sqlOf, type PlanContext } from './declare.js';

export interface AnchorDef {
  /** SQL of the period index (null: the record is not in this anchor's population). */
  idx: (c: PlanContext) => string;
  range: 'window' | 'running';
}

export interface TableAnchors {
  /** An extra stage between `rec` and the anchors, reading `rec`, named `pre`. */
  pre?: (c: PlanContext) => string;
  anchors: Record<string, AnchorDef>;
}

/**
 * The period index of an epoch-ms expression: 0 … K-1 inside the window; outside it -1 / K when
 * `outside` is 'keep', else null.
 */
export function periodIndexSql(col: string, bounds: number[], outside: 'keep' | 'null' = 'keep'): string {
  const K = bounds.length - 1;
  const whens = bounds.map((b, i) => `WHEN ${col} < ${b} THEN ${i === 0 && outside === 'null' ? 'NULL' : i - 1}`).join(' ');
  return `CASE WHEN ${col} IS NULL THEN NULL ${whens} ELSE ${outside === 'null' ? 'NULL' : K} END`;
}

/** The records whose instant `expr` (epoch ms) lies in a period of the window. */
const within = (expr: string | ((c: PlanContext) => string)): AnchorDef => ({
  idx: (c) => periodIndexSql(`(${sqlOf(expr, c)})`, c.bounds, 'null'),
  range: 'window',
});
const running = (idx: (c: PlanContext) => string): AnchorDef => ({ idx, range: 'running' });

// repeat_purchase_rate_pct: for trend point T a customer counts when an order's month index m lies
// in [T-11, T]. Per customer, ordered by m, order i newly covers the T in [max(m, m1 + 12), m + 11]
// (m1 = previous order's index): these pieces are disjoint, so the customers counted at T = pieces
// covering T. Likewise "two orders in the window" holds for T in [m, m1 + 11], newly covered from
// max(m, m2 + 12). The anchors emit each piece's start and end+1 index; the formula takes running
// sums.
const ACTIVE_START = 'CASE WHEN m1 IS NULL THEN m WHEN m1 + 12 > m THEN m1 + 12 ELSE m END';
const REPEAT_START = 'CASE WHEN m2 IS NULL THEN m WHEN m2 + 12 > m THEN m2 + 12 ELSE m END';
const piece = (cond: string, idx: string) => running(() => `CASE WHEN q AND ${cond} THEN ${idx} END`);
const ACTIVE = `${ACTIVE_START} <= m + 11`;
const REPEAT = `m1 IS NOT NULL AND ${REPEAT_START} <= m1 + 11`;

export const ANCHORS = {
  tickets: {
    anchors: {
      created: within('created_at'),
      resolved: within('resolved_at'),
      /** The first-response deadline: created_at + sla.first_response_hours. */
      responseDue: within((c) => `created_at + ${c.firstResponseSlaMs}`),
    },
  },
  contacts: {
    anchors: { queued: within('queued_at') },
  },
  surveys: {
    anchors: { responded: within('responded_at'), sent: within('sent_at') },
  },
  orders: {
    pre: (c) => `ord AS (
  SELECT rec.*, ${periodIndexSql('ordered_at', c.bounds)} AS m,
    st = 0 AND customer_id IS NOT NULL AND ordered_at >= ${c.bounds[0]} AND ordered_at < ${c.bounds[c.bounds.length - 1]} AS q
  FROM rec
),
pre AS (
  SELECT ord.*,
    lag(m, 1) OVER (PARTITION BY q, CASE WHEN q THEN customer_id ELSE k END ORDER BY m) AS m1,
    lag(m, 2) OVER (PARTITION BY q, CASE WHEN q THEN customer_id ELSE k END ORDER BY m) AS m2
  FROM ord
)`,
    anchors: {
      delivered: within('delivered_at'),
      ordered: within('ordered_at'),
      activeFrom: piece(ACTIVE, ACTIVE_START),
      activeUntil: piece(ACTIVE, 'm + 12'),
      repeatFrom: piece(REPEAT, REPEAT_START),
      repeatUntil: piece(REPEAT, 'm1 + 12'),
    },
  },
  complaints: {
    anchors: {
      opened: within('opened_at'),
      resolved: within('resolved_at'),
      /** The resolution deadline: opened_at + sla.complaint_resolution_hours. */
      resolutionDue: within((c) => `opened_at + ${c.complaintSlaMs}`),
    },
  },
  invoices: {
    anchors: { issued: within('issued_at') },
  },
  customers: {
    // Running totals: customers created / churned before each period bound (index -1 = before the
    // window), and those created and churned in the same period.
    anchors: {
      created: running((c) => periodIndexSql('created_at', c.bounds)),
      churned: running((c) => periodIndexSql('churned_at', c.bounds)),
      createdAndChurned: running(
        (c) => `CASE WHEN ${periodIndexSql('churned_at', c.bounds)} = ${periodIndexSql('created_at', c.bounds)} THEN ${periodIndexSql('created_at', c.bounds)} END`,
      ),
    },
  },
} satisfies Record<TableName, TableAnchors>;

export type AnchorName<T extends TableName> = keyof (typeof ANCHORS)[T]['anchors'] & string;

export function anchorDef(table: TableName, name: string): AnchorDef {
  const d = (ANCHORS[table].anchors as Record<string, AnchorDef>)[name];
  if (!d) throw new Error(`${table} has no anchor "${name}"`);
  return d;
}
