/**
 * The indicator set of spec/indicators.md (version 1): identity, category, direction, unit,
 * default targets and which breakdowns apply. Formulas live in the SQL (engine/indicatorSql.ts)
 * and in evaluate.ts; this file is the single list every stage iterates over.
 */

export const TABLES = ['tickets', 'surveys', 'orders', 'complaints', 'invoices', 'customers'] as const;
export type TableName = (typeof TABLES)[number];

export const CATEGORIES = [
  'responsiveness',
  'quality',
  'satisfaction',
  'fulfilment',
  'complaints',
  'billing',
  'retention',
] as const;
export type Category = (typeof CATEGORIES)[number];

export type Direction = 'higher' | 'lower' | 'neutral';
export type SegmentKind = 'team' | 'channel';

export interface IndicatorDef {
  id: string;
  category: Category;
  direction: Direction;
  /** Unit shown beside the value: '%', 'h', 'count', 'score', 'points', 'per1000'. */
  unit: '%' | 'h' | 'count' | 'score' | 'points' | 'per1000';
  /** Default target and warn level (spec table); null when the spec sets none. */
  target: number | null;
  warn: number | null;
  /** Segment kinds this indicator is broken down by. */
  breakdowns: SegmentKind[];
  /** Tables the indicator reads: any of them with no files at all makes it no_data. */
  tables: TableName[];
}

const TC: SegmentKind[] = ['team', 'channel'];
const C: SegmentKind[] = ['channel'];

function def(
  id: string,
  category: Category,
  direction: Direction,
  unit: IndicatorDef['unit'],
  target: number | null,
  warn: number | null,
  breakdowns: SegmentKind[],
  tables: TableName[],
): IndicatorDef {
  return { id, category, direction, unit, target, warn, breakdowns, tables };
}

export const SERVQUAL_DIMENSIONS = ['reliability', 'responsiveness', 'assurance', 'empathy', 'tangibles'] as const;

export const INDICATORS: readonly IndicatorDef[] = [
  def('first_response_median_h', 'responsiveness', 'lower', 'h', 4, 8, TC, ['tickets']),
  def('first_response_sla_pct', 'responsiveness', 'higher', '%', 90, 80, TC, ['tickets']),
  def('resolution_avg_h', 'responsiveness', 'lower', 'h', 48, 72, TC, ['tickets']),
  def('ticket_volume', 'responsiveness', 'neutral', 'count', null, null, TC, ['tickets']),

  def('fcr_pct', 'quality', 'higher', '%', 75, 65, TC, ['tickets']),
  def('reopen_rate_pct', 'quality', 'lower', '%', 5, 8, TC, ['tickets']),
  def('service_error_rate_pct', 'quality', 'lower', '%', 2, 4, TC, ['tickets']),

  def('csat_pct', 'satisfaction', 'higher', '%', 85, 80, TC, ['surveys']),
  def('csat_avg', 'satisfaction', 'higher', 'score', 4.3, 4.0, TC, ['surveys']),
  def('nps', 'satisfaction', 'higher', 'points', 40, 30, TC, ['surveys']),
  def('survey_response_rate_pct', 'satisfaction', 'higher', '%', 25, 15, TC, ['surveys']),
  ...SERVQUAL_DIMENSIONS.map((d) => def(`servqual_gap_${d}`, 'satisfaction', 'higher', 'points', 0, -0.5, [], ['surveys'])),
  def('servqual_gap', 'satisfaction', 'higher', 'points', 0, -0.5, [], ['surveys']),

  def('on_time_delivery_pct', 'fulfilment', 'higher', '%', 95, 90, C, ['orders']),
  def('order_fill_rate_pct', 'fulfilment', 'higher', '%', 98, 95, C, ['orders']),
  def('order_accuracy_pct', 'fulfilment', 'higher', '%', 99, 97, C, ['orders']),
  def('order_change_flexibility_pct', 'fulfilment', 'higher', '%', 90, 80, C, ['orders']),
  def('return_rate_pct', 'fulfilment', 'lower', '%', 5, 8, C, ['orders']),
  def('repeat_purchase_rate_pct', 'fulfilment', 'higher', '%', 30, 20, [], ['orders']),

  def('complaint_rate_per_1000_orders', 'complaints', 'lower', 'per1000', 5, 10, C, ['complaints', 'orders']),
  def('complaint_resolution_median_h', 'complaints', 'lower', 'h', 48, 96, C, ['complaints']),
  def('complaint_resolved_in_sla_pct', 'complaints', 'higher', '%', 90, 80, C, ['complaints']),

  def('invoice_on_time_pct', 'billing', 'higher', '%', 98, 95, [], ['invoices']),
  def('invoice_accuracy_pct', 'billing', 'higher', '%', 99, 97, [], ['invoices']),

  def('churn_rate_pct', 'retention', 'lower', '%', 2, 3, [], ['customers']),
  def('retention_rate_pct', 'retention', 'higher', '%', 98, 97, [], ['customers']),
];

export const INDICATOR_IDS = INDICATORS.map((i) => i.id);
export const INDICATOR_BY_ID: ReadonlyMap<string, IndicatorDef> = new Map(INDICATORS.map((i) => [i.id, i]));

export function indicator(id: string): IndicatorDef {
  const d = INDICATOR_BY_ID.get(id);
  if (!d) throw new Error(`unknown indicator id "${id}"`);
  return d;
}
