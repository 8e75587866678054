/**
 * The indicator set (version 2), one declaration per indicator: identity, direction, unit, default
 * target, breakdowns, the populations it reads (anchors of its tables) with the measures it takes
 * over them, the optional columns its definition needs, and its formula. Adding an indicator is
 * one declaration here plus its words in each locale (templates/locales/*.json).
 *
 * Conventions of the definitions: a record is in period P when its anchor instant x has
 * P.start <= x < P.end; only deduplicated, valid records take part; durations are hours
 * (`_s`: seconds); medians are exact; n is the population the value is computed over, and n = 0
 * gives no value.
 */
import { SERVQUAL_DIMENSIONS, type SegmentKind } from '../pipeline/contract.js';
import { HOUR_MS, count, indicator, input, median, pct, point, sum, type IndicatorDeclaration } from './declare.js';

const TC: SegmentKind[] = ['team', 'channel'];
const C: SegmentKind[] = ['channel'];

const servqual = (d: (typeof SERVQUAL_DIMENSIONS)[number]) =>
  input('surveys', 'responded', {
    n: count(`survey_type = 'servqual' AND dimension = '${d}' AND score IS NOT NULL AND expectation IS NOT NULL`),
    gap: sum('score - expectation', `survey_type = 'servqual' AND dimension = '${d}' AND score IS NOT NULL AND expectation IS NOT NULL`),
  });
const csat = input('surveys', 'responded', {
  n: count(`survey_type = 'csat' AND score IS NOT NULL`),
  satisfied: count(`survey_type = 'csat' AND score IS NOT NULL AND score >= 4`),
  score: sum('score', `survey_type = 'csat' AND score IS NOT NULL`),
});
const customers = {
  created: input('customers', 'created'),
  churned: input('customers', 'churned'),
  both: input('customers', 'createdAndChurned'),
};

export const INDICATORS: readonly IndicatorDeclaration[] = [
  // Responsiveness
  indicator({
    id: 'first_response_median_h',
    category: 'responsiveness',
    direction: 'lower',
    unit: 'h',
    target: 4,
    warn: 8,
    breakdowns: TC,
    inputs: { t: input('tickets', 'created', { answered: count('first_response_at IS NOT NULL'), first: median('first_response_at - created_at') }) },
    formula: ({ t }) => point(t.answered ?? 0, (t.first ?? 0) / HOUR_MS),
  }),
  indicator({
    id: 'first_response_sla_pct',
    category: 'responsiveness',
    direction: 'higher',
    unit: '%',
    target: 90,
    warn: 80,
    breakdowns: TC,
    reads: ['tickets.first_response_at'],
    // Judged in the period its deadline falls in: every ticket counted for P is decided when P ends.
    inputs: {
      t: input('tickets', 'responseDue', {
        met: count((c) => `first_response_at IS NOT NULL AND first_response_at - created_at <= ${c.firstResponseSlaMs}`),
      }),
    },
    formula: ({ t }) => pct(t.met, t.n),
  }),
  indicator({
    id: 'resolution_avg_h',
    category: 'responsiveness',
    direction: 'lower',
    unit: 'h',
    target: 48,
    warn: 72,
    breakdowns: TC,
    inputs: { t: input('tickets', 'resolved', { ms: sum('resolved_at - created_at') }) },
    formula: ({ t }) => point(t.n, (t.ms ?? 0) / t.n / HOUR_MS),
  }),
  indicator({
    id: 'ticket_volume',
    category: 'responsiveness',
    direction: 'neutral',
    unit: 'count',
    target: null,
    warn: null,
    breakdowns: TC,
    inputs: { t: input('tickets', 'created') },
    formula: ({ t }) => point(t.n, t.n),
  }),

  // Accessibility
  indicator({
    id: 'answer_speed_avg_s',
    category: 'accessibility',
    direction: 'lower',
    unit: 's',
    target: 30,
    warn: 60,
    breakdowns: TC,
    reads: ['contacts.answered_at'],
    inputs: { c: input('contacts', 'queued', { answered: count('answered_at IS NOT NULL'), wait: sum('answered_at - queued_at', 'answered_at IS NOT NULL') }) },
    formula: ({ c }) => point(c.answered ?? 0, (c.wait ?? 0) / (c.answered ?? 0) / 1000),
  }),
  indicator({
    id: 'abandon_rate_pct',
    category: 'accessibility',
    direction: 'lower',
    unit: '%',
    target: 5,
    warn: 8,
    breakdowns: TC,
    reads: ['contacts.answered_at'],
    inputs: { c: input('contacts', 'queued', { unanswered: count('answered_at IS NULL') }) },
    formula: ({ c }) => pct(c.unanswered, c.n),
  }),

  // Service quality
  indicator({
    id: 'fcr_pct',
    category: 'quality',
    direction: 'higher',
    unit: '%',
    target: 75,
    warn: 65,
    breakdowns: TC,
    inputs: {
      t: input('tickets', 'resolved', {
        n: count('contacts_count IS NOT NULL'),
        first: count('contacts_count IS NOT NULL AND contacts_count <= 1 AND coalesce(reopened_count, 0) = 0'),
      }),
    },
    formula: ({ t }) => pct(t.first, t.n),
  }),
  indicator({
    id: 'reopen_rate_pct',
    category: 'quality',
    direction: 'lower',
    unit: '%',
    target: 5,
    warn: 8,
    breakdowns: TC,
    reads: ['tickets.reopened_count'],
    inputs: { t: input('tickets', 'resolved', { reopened: count('reopened_count > 0') }) },
    formula: ({ t }) => pct(t.reopened, t.n),
  }),
  indicator({
    id: 'service_error_rate_pct',
    category: 'quality',
    direction: 'lower',
    unit: '%',
    target: 2,
    warn: 4,
    breakdowns: TC,
    inputs: { t: input('tickets', 'created', { n: count('has_error IS NOT NULL'), errors: count('has_error') }) },
    formula: ({ t }) => pct(t.errors, t.n),
  }),

  // Satisfaction
  indicator({
    id: 'csat_pct',
    category: 'satisfaction',
    direction: 'higher',
    unit: '%',
    target: 85,
    warn: 80,
    breakdowns: TC,
    inputs: { s: csat },
    formula: ({ s }) => pct(s.satisfied, s.n),
  }),
  indicator({
    id: 'csat_avg',
    category: 'satisfaction',
    direction: 'higher',
    unit: 'score',
    target: 4.3,
    warn: 4.0,
    breakdowns: TC,
    inputs: { s: csat },
    formula: ({ s }) => point(s.n, (s.score ?? 0) / s.n),
  }),
  indicator({
    id: 'nps',
    category: 'satisfaction',
    direction: 'higher',
    unit: 'points',
    target: 40,
    warn: 30,
    breakdowns: TC,
    inputs: {
      s: input('surveys', 'responded', {
        n: count(`survey_type = 'nps' AND score IS NOT NULL`),
        promoters: count(`survey_type = 'nps' AND score IS NOT NULL AND score >= 9`),
        detractors: count(`survey_type = 'nps' AND score IS NOT NULL AND score <= 6`),
      }),
    },
    formula: ({ s }) => point(s.n, (100 * ((s.promoters ?? 0) - (s.detractors ?? 0))) / s.n),
  }),
  indicator({
    id: 'survey_response_rate_pct',
    category: 'satisfaction',
    direction: 'higher',
    unit: '%',
    target: 25,
    warn: 15,
    breakdowns: TC,
    reads: ['surveys.responded_at'],
    inputs: {
      s: input('surveys', 'sent', {
        n: count(`survey_type IN ('csat', 'nps')`),
        responded: count(`survey_type IN ('csat', 'nps') AND responded_at IS NOT NULL`),
      }),
    },
    formula: ({ s }) => pct(s.responded, s.n),
  }),
  ...SERVQUAL_DIMENSIONS.map((d) =>
    indicator({
      id: `servqual_gap_${d}`,
      category: 'satisfaction',
      direction: 'higher',
      unit: 'points',
      target: 0,
      warn: -0.5,
      breakdowns: [],
      inputs: { s: servqual(d) },
      formula: ({ s }) => point(s.n ?? 0, (s.gap ?? 0) / (s.n ?? 0)),
    }),
  ),
  indicator({
    id: 'servqual_gap',
    category: 'satisfaction',
    direction: 'higher',
    unit: 'points',
    target: 0,
    warn: -0.5,
    breakdowns: [],
    inputs: Object.fromEntries(SERVQUAL_DIMENSIONS.map((d) => [d, servqual(d)])) as Record<(typeof SERVQUAL_DIMENSIONS)[number], ReturnType<typeof servqual>>,
    // The unweighted mean of the dimensions that have a value; n = the sum of their n.
    formula: (v) => {
      const dims = SERVQUAL_DIMENSIONS.map((d) => v[d]).filter((s) => (s.n ?? 0) > 0);
      const n = dims.reduce((acc, s) => acc + (s.n ?? 0), 0);
      return point(n, dims.reduce((acc, s) => acc + (s.gap ?? 0) / (s.n ?? 1), 0) / dims.length);
    },
  }),

  // Order fulfilment
  indicator({
    id: 'on_time_delivery_pct',
    category: 'fulfilment',
    direction: 'higher',
    unit: '%',
    target: 95,
    warn: 90,
    breakdowns: C,
    inputs: { o: input('orders', 'delivered', { n: count('promised_at IS NOT NULL'), onTime: count('promised_at IS NOT NULL AND delivered_at <= promised_at') }) },
    formula: ({ o }) => pct(o.onTime, o.n ?? 0),
  }),
  indicator({
    id: 'order_fill_rate_pct',
    category: 'fulfilment',
    direction: 'higher',
    unit: '%',
    target: 98,
    warn: 95,
    breakdowns: C,
    inputs: {
      o: input('orders', 'delivered', {
        n: count('quantity_ordered IS NOT NULL AND quantity_delivered IS NOT NULL'),
        delivered: sum(
          'CASE WHEN quantity_delivered < quantity_ordered THEN quantity_delivered ELSE quantity_ordered END',
          'quantity_ordered IS NOT NULL AND quantity_delivered IS NOT NULL',
        ),
        ordered: sum('quantity_ordered', 'quantity_ordered IS NOT NULL AND quantity_delivered IS NOT NULL'),
      }),
    },
    formula: ({ o }) => point(o.n ?? 0, (100 * (o.delivered ?? 0)) / (o.ordered ?? 0)),
  }),
  indicator({
    id: 'order_accuracy_pct',
    category: 'fulfilment',
    direction: 'higher',
    unit: '%',
    target: 99,
    warn: 97,
    breakdowns: C,
    inputs: { o: input('orders', 'delivered', { n: count('is_accurate IS NOT NULL'), accurate: count('is_accurate') }) },
    formula: ({ o }) => pct(o.accurate, o.n ?? 0),
  }),
  indicator({
    id: 'order_change_flexibility_pct',
    category: 'fulfilment',
    direction: 'higher',
    unit: '%',
    target: 90,
    warn: 80,
    breakdowns: C,
    inputs: {
      o: input('orders', 'ordered', {
        n: count('change_requested AND change_accommodated IS NOT NULL'),
        accommodated: count('change_requested AND change_accommodated'),
      }),
    },
    formula: ({ o }) => pct(o.accommodated, o.n ?? 0),
  }),
  indicator({
    id: 'return_rate_pct',
    category: 'fulfilment',
    direction: 'lower',
    unit: '%',
    target: 5,
    warn: 8,
    breakdowns: C,
    reads: ['orders.returned_at'],
    inputs: { o: input('orders', 'delivered', { returned: count('returned_at IS NOT NULL') }) },
    formula: ({ o }) => pct(o.returned, o.n),
  }),
  indicator({
    id: 'repeat_purchase_rate_pct',
    category: 'fulfilment',
    direction: 'higher',
    unit: '%',
    target: 30,
    warn: 20,
    breakdowns: [],
    inputs: {
      activeFrom: input('orders', 'activeFrom'),
      activeUntil: input('orders', 'activeUntil'),
      repeatFrom: input('orders', 'repeatFrom'),
      repeatUntil: input('orders', 'repeatUntil'),
    },
    // Distinct customers with an order in the 12 periods ending with period i, and of them those
    // with two or more: running sums of the disjoint pieces of anchors.ts.
    formula: (v, i) => pct(v.repeatFrom.before(i + 1) - v.repeatUntil.before(i + 1), v.activeFrom.before(i + 1) - v.activeUntil.before(i + 1)),
  }),

  // Complaints
  indicator({
    id: 'complaint_rate_per_1000_orders',
    category: 'complaints',
    direction: 'lower',
    unit: 'per1000',
    target: 5,
    warn: 10,
    breakdowns: C,
    inputs: { complaints: input('complaints', 'opened'), orders: input('orders', 'ordered') },
    formula: ({ complaints, orders }) => point(orders.n, (1000 * complaints.n) / orders.n),
  }),
  indicator({
    id: 'complaint_resolution_median_h',
    category: 'complaints',
    direction: 'lower',
    unit: 'h',
    target: 48,
    warn: 96,
    breakdowns: C,
    inputs: { k: input('complaints', 'resolved', { hours: median('resolved_at - opened_at') }) },
    formula: ({ k }) => point(k.n, (k.hours ?? 0) / HOUR_MS),
  }),
  indicator({
    id: 'complaint_resolved_in_sla_pct',
    category: 'complaints',
    direction: 'higher',
    unit: '%',
    target: 90,
    warn: 80,
    breakdowns: C,
    reads: ['complaints.resolved_at'],
    // Judged in the period its deadline falls in: every complaint counted for P is decided when P ends.
    inputs: {
      k: input('complaints', 'resolutionDue', {
        inSla: count((c) => `resolved_at IS NOT NULL AND resolved_at - opened_at <= ${c.complaintSlaMs}`),
      }),
    },
    formula: ({ k }) => pct(k.inSla, k.n),
  }),

  // Billing
  indicator({
    id: 'invoice_on_time_pct',
    category: 'billing',
    direction: 'higher',
    unit: '%',
    target: 98,
    warn: 95,
    breakdowns: [],
    inputs: { b: input('invoices', 'issued', { n: count('due_at IS NOT NULL'), onTime: count('due_at IS NOT NULL AND issued_at <= due_at') }) },
    formula: ({ b }) => pct(b.onTime, b.n ?? 0),
  }),
  indicator({
    id: 'invoice_accuracy_pct',
    category: 'billing',
    direction: 'higher',
    unit: '%',
    target: 99,
    warn: 97,
    breakdowns: [],
    inputs: { b: input('invoices', 'issued', { n: count('is_accurate IS NOT NULL'), accurate: count('is_accurate') }) },
    formula: ({ b }) => pct(b.accurate, b.n ?? 0),
  }),

  // Retention: S = customers created before P.start and not churned before it; E the same at P.end;
  // N = created in P and not churned in P.
  indicator({
    id: 'churn_rate_pct',
    category: 'retention',
    direction: 'lower',
    unit: '%',
    target: 2,
    warn: 3,
    breakdowns: [],
    reads: ['customers.churned_at'],
    inputs: customers,
    formula: (v, i) => pct(v.churned.n - v.both.n, v.created.before(i) - v.churned.before(i)),
  }),
  indicator({
    id: 'retention_rate_pct',
    category: 'retention',
    direction: 'higher',
    unit: '%',
    target: 98,
    warn: 97,
    breakdowns: [],
    reads: ['customers.churned_at'],
    inputs: customers,
    formula: (v, i) => {
      const s = v.created.before(i) - v.churned.before(i);
      const e = v.created.before(i + 1) - v.churned.before(i + 1);
      return point(s, (100 * (e - (v.created.n - v.both.n))) / s);
    },
  }),
];

export const INDICATOR_IDS: readonly string[] = INDICATORS.map((d) => d.id);
export const INDICATOR_BY_ID: ReadonlyMap<string, IndicatorDeclaration> = new Map(INDICATORS.map((d) => [d.id, d]));

export function indicatorDef(id: string): IndicatorDeclaration {
  const d = INDICATOR_BY_ID.get(id);
  if (!d) throw new Error(`unknown indicator id "${id}"`);
  return d;
}

/** The tables an indicator reads: any of them with no files at all makes it no_data. */
export const tablesOf = (d: IndicatorDeclaration) => [...new Set(Object.values(d.inputs).map((i) => i.table))];
