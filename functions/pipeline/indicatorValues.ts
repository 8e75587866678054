/**
 * From the per-table aggregates of indicatorSql.ts to indicator values: the formulas of
 * spec/indicators.md applied to counts and sums, per period index and segment. Pure functions.
 */
import { SERVQUAL_DIMENSIONS, type SegmentKind, type TableName } from './catalog.js';

export type Measures = Record<string, number | null>;

/** 'all' for the whole population, else `${kind}:${value}`. */
export type SegmentKey = string;
export const ALL: SegmentKey = 'all';
export const segKey = (kind: SegmentKind, value: string): SegmentKey => `${kind}:${value}`;

/** Aggregates of one table: segment -> anchor -> period index (or status for anchor 0) -> measures. */
export class TableAggregates {
  private readonly data = new Map<SegmentKey, Map<number, Map<number, Measures>>>();
  readonly segmentValues: Record<SegmentKind, Set<string>> = { team: new Set(), channel: new Set() };

  add(seg: SegmentKey, anchor: number, g: number, m: Measures): void {
    let byAnchor = this.data.get(seg);
    if (!byAnchor) this.data.set(seg, (byAnchor = new Map()));
    let byG = byAnchor.get(anchor);
    if (!byG) byAnchor.set(anchor, (byG = new Map()));
    byG.set(g, m);
    if (seg !== ALL && anchor !== 0) {
      const [kind, ...rest] = seg.split(':');
      this.segmentValues[kind as SegmentKind].add(rest.join(':'));
    }
  }

  /** A measure (0 when the group is empty). */
  m(seg: SegmentKey, anchor: number, g: number, name: string): number {
    return this.data.get(seg)?.get(anchor)?.get(g)?.[name] ?? 0;
  }

  /** A measure that may be null even in a non-empty group (medians). */
  raw(seg: SegmentKey, anchor: number, g: number, name: string): number | null {
    return this.data.get(seg)?.get(anchor)?.get(g)?.[name] ?? null;
  }

  /** Sum of a measure over all indexes g < below of an anchor (running totals). */
  sumBelow(anchor: number, below: number, name = 'rows_n'): number {
    let s = 0;
    for (const [g, m] of this.data.get(ALL)?.get(anchor) ?? []) if (g < below) s += m[name] ?? 0;
    return s;
  }

  statusRows(): Map<number, Measures> {
    return this.data.get(ALL)?.get(0) ?? new Map();
  }
}

export interface Point {
  value: number | null;
  n: number;
}

const HOUR_MS = 3_600_000;
const pt = (n: number, value: number | null): Point => ({ n, value: n > 0 ? value : null });
const pct = (num: number, n: number) => pt(n, (100 * num) / n);

export type Aggs = Partial<Record<TableName, TableAggregates>>;

type Formula = (a: Aggs, seg: SegmentKey, i: number) => Point;

/** A formula over one table's aggregates. */
const on =
  (table: TableName) =>
  (f: (t: TableAggregates, s: SegmentKey, i: number) => Point): Formula =>
  (a, s, i) =>
    f(a[table]!, s, i);
const tickets = on('tickets');
const surveys = on('surveys');
const orders = on('orders');
const complaints = on('complaints');
const invoices = on('invoices');

function servqualDim(d: string): Formula {
  return surveys((t, s, i) => {
    const n = t.m(s, 1, i, `sq_${d}_n`);
    return pt(n, t.m(s, 1, i, `sq_${d}_gap`) / n);
  });
}

function customers(a: Aggs, i: number) {
  const t = a.customers!;
  const s = t.sumBelow(1, i) - t.sumBelow(2, i);
  const createdIn = t.m(ALL, 1, i, 'rows_n');
  const churnedIn = t.m(ALL, 2, i, 'rows_n');
  const both = t.m(ALL, 3, i, 'rows_n');
  const e = t.sumBelow(1, i + 1) - t.sumBelow(2, i + 1);
  return { s, churned: churnedIn - both, e, newKept: createdIn - both };
}

export const FORMULAS: Record<string, Formula> = {
  first_response_median_h: tickets((t, s, i) => pt(t.m(s, 1, i, 'first_response_n'), (t.raw(s, 1, i, 'first_response') ?? 0) / HOUR_MS)),
  first_response_sla_pct: tickets((t, s, i) => pct(t.m(s, 1, i, 'sla_met'), t.m(s, 1, i, 'rows_n'))),
  resolution_avg_h: tickets((t, s, i) => {
    const n = t.m(s, 2, i, 'rows_n');
    return pt(n, t.m(s, 2, i, 'resolution_ms') / n / HOUR_MS);
  }),
  ticket_volume: tickets((t, s, i) => {
    const n = t.m(s, 1, i, 'rows_n');
    return pt(n, n);
  }),
  fcr_pct: tickets((t, s, i) => pct(t.m(s, 2, i, 'fcr'), t.m(s, 2, i, 'fcr_n'))),
  reopen_rate_pct: tickets((t, s, i) => pct(t.m(s, 2, i, 'reopened'), t.m(s, 2, i, 'rows_n'))),
  service_error_rate_pct: tickets((t, s, i) => pct(t.m(s, 1, i, 'error'), t.m(s, 1, i, 'error_n'))),

  csat_pct: surveys((t, s, i) => pct(t.m(s, 1, i, 'csat_satisfied'), t.m(s, 1, i, 'csat_n'))),
  csat_avg: surveys((t, s, i) => {
    const n = t.m(s, 1, i, 'csat_n');
    return pt(n, t.m(s, 1, i, 'csat_score') / n);
  }),
  nps: surveys((t, s, i) => {
    const n = t.m(s, 1, i, 'nps_n');
    return pt(n, (100 * (t.m(s, 1, i, 'nps_promoters') - t.m(s, 1, i, 'nps_detractors'))) / n);
  }),
  survey_response_rate_pct: surveys((t, s, i) => pct(t.m(s, 2, i, 'sent_responded'), t.m(s, 2, i, 'sent_n'))),
  ...Object.fromEntries(SERVQUAL_DIMENSIONS.map((d) => [`servqual_gap_${d}`, servqualDim(d)])),
  servqual_gap: (a, s, i) => {
    const dims = SERVQUAL_DIMENSIONS.map((d) => servqualDim(d)(a, s, i)).filter((p) => p.value !== null);
    const n = dims.reduce((acc, p) => acc + p.n, 0);
    return pt(n, dims.reduce((acc, p) => acc + p.value!, 0) / dims.length);
  },

  on_time_delivery_pct: orders((t, s, i) => pct(t.m(s, 1, i, 'on_time'), t.m(s, 1, i, 'on_time_n'))),
  order_fill_rate_pct: orders((t, s, i) => pt(t.m(s, 1, i, 'fill_n'), (100 * t.m(s, 1, i, 'fill_delivered')) / t.m(s, 1, i, 'fill_ordered'))),
  order_accuracy_pct: orders((t, s, i) => pct(t.m(s, 1, i, 'accurate'), t.m(s, 1, i, 'accurate_n'))),
  order_change_flexibility_pct: orders((t, s, i) => pct(t.m(s, 2, i, 'change_ok'), t.m(s, 2, i, 'change_n'))),
  return_rate_pct: orders((t, s, i) => pct(t.m(s, 1, i, 'returned'), t.m(s, 1, i, 'rows_n'))),
  repeat_purchase_rate_pct: orders((t, _s, i) => {
    const active = t.sumBelow(3, i + 1) - t.sumBelow(4, i + 1);
    const repeaters = t.sumBelow(5, i + 1) - t.sumBelow(6, i + 1);
    return pct(repeaters, active);
  }),

  complaint_rate_per_1000_orders: (a, s, i) => {
    const n = a.orders!.m(s, 2, i, 'rows_n');
    return pt(n, (1000 * a.complaints!.m(s, 1, i, 'rows_n')) / n);
  },
  complaint_resolution_median_h: complaints((t, s, i) => pt(t.m(s, 2, i, 'resolution_n'), (t.raw(s, 2, i, 'resolution') ?? 0) / HOUR_MS)),
  complaint_resolved_in_sla_pct: complaints((t, s, i) => pct(t.m(s, 1, i, 'in_sla'), t.m(s, 1, i, 'rows_n'))),

  invoice_on_time_pct: invoices((t, s, i) => pct(t.m(s, 1, i, 'on_time'), t.m(s, 1, i, 'on_time_n'))),
  invoice_accuracy_pct: invoices((t, s, i) => pct(t.m(s, 1, i, 'accurate'), t.m(s, 1, i, 'accurate_n'))),

  churn_rate_pct: (a, _s, i) => {
    const c = customers(a, i);
    return pct(c.churned, c.s);
  },
  retention_rate_pct: (a, _s, i) => {
    const c = customers(a, i);
    return pt(c.s, (100 * (c.e - c.newKept)) / c.s);
  },
};
