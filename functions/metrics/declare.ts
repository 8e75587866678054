/**
 * The vocabulary an indicator is declared in (indicators.ts). An indicator names its table's
 * anchors (anchors.ts) and declares its measures inline; everything else is derived from the
 * declarations: the per-table SQL plan (plan.ts), the formulas' inputs, the catalog.
 *
 * - An anchor is a per-record instant whose period decides which period's population the record
 *   belongs to (tickets: `created_at`, `resolved_at`, the first-response deadline ...).
 * - A measure is an aggregate of the records of one anchor's population: a count of the records
 *   meeting a condition, a sum, or an exact median. The formula reads them by their declared names,
 *   typed, so a misspelt measure or anchor fails the type check.
 */
import type { ColumnOf, SegmentKind, TableName } from '../pipeline/contract.js';

/** A column of the data contract as `table.column`. */
export type QualifiedColumn = { [T in TableName]: `${T}.${ColumnOf<T>}` }[TableName];
import type { AnchorName } from './anchors.js';

/** Settings the SQL of anchors and measures may depend on. */
export interface PlanContext {
  /** K+1 boundaries in epoch ms: start of each of the K periods, then the end of the last. */
  bounds: number[];
  firstResponseSlaMs: number;
  complaintSlaMs: number;
}

type Sql = string | ((c: PlanContext) => string);
export const sqlOf = (s: Sql, c: PlanContext): string => (typeof s === 'function' ? s(c) : s);

export type MeasureKind = 'count' | 'sum' | 'median';
export interface MeasureDef {
  kind: MeasureKind;
  /** Records taking part (all records of the anchor's population when absent). */
  when?: Sql;
  /** The value summed or whose median is taken. */
  expr?: Sql;
}
/** Records of the population meeting `when`. */
export const count = (when?: Sql): MeasureDef => ({ kind: 'count', when });
/** Sum of `expr` over the records meeting `when`: 0 over none. */
export const sum = (expr: Sql, when?: Sql): MeasureDef => ({ kind: 'sum', expr, when });
/** Exact median of the non-null values of `expr` (null over none). */
export const median = (expr: Sql): MeasureDef => ({ kind: 'median', expr });

/** One population an indicator reads: an anchor of a table, and the measures taken over it. */
export interface Input<T extends TableName = TableName, M extends string = string> {
  table: T;
  anchor: AnchorName<T>;
  measures?: Record<M, MeasureDef>;
}
export const input = <T extends TableName, M extends string = never>(table: T, anchor: AnchorName<T>, measures?: Record<M, MeasureDef>): Input<T, M> => ({
  table,
  anchor,
  measures,
});

/** What a formula sees of one input, for one segment and period index. */
export type InputValues<M extends string> = {
  /** Records in the population (the anchor's records in that period and segment). */
  n: number;
  /** Running anchors: records whose index is below `k` (over all segments). */
  before(k: number): number;
} & { readonly [K in M]: number | null };

/** An input of any table (its anchor typed by its own table). */
export type AnyInput = { [T in TableName]: Input<T, string> }[TableName];

type MeasuresOf<I> = I extends { measures?: Record<infer M, MeasureDef> } ? (M extends string ? M : never) : never;
export type FormulaArgs<I extends Record<string, AnyInput>> = { [K in keyof I]: InputValues<MeasuresOf<I[K]>> };

export interface Point {
  value: number | null;
  n: number;
}
/** A point over n records: no value over none. */
export const point = (n: number, value: number | null): Point => ({ n, value: n > 0 ? value : null });
/** A percentage num / n. */
export const pct = (num: number | null, n: number): Point => point(n, (100 * (num ?? 0)) / n);
export const HOUR_MS = 3_600_000;

export const CATEGORIES = ['responsiveness', 'accessibility', 'quality', 'satisfaction', 'fulfilment', 'complaints', 'billing', 'retention'] as const;
export type Category = (typeof CATEGORIES)[number];
export type Direction = 'higher' | 'lower' | 'neutral';
/** Unit of the value: '%', 'h' (hours), 's' (seconds), 'count', 'score', 'points', 'per1000'. */
export type Unit = '%' | 'h' | 's' | 'count' | 'score' | 'points' | 'per1000';

export interface IndicatorDeclaration<I extends Record<string, AnyInput> = Record<string, AnyInput>> {
  id: string;
  category: Category;
  direction: Direction;
  unit: Unit;
  /** Default target and warn level; null where the definition sets none. */
  target: number | null;
  warn: number | null;
  /** Segment kinds the indicator is broken down by. */
  breakdowns: readonly SegmentKind[];
  inputs: I;
  /**
   * Optional columns the definition reads, as `table.column`: when no file of the table has one of
   * them, the indicator is no_data (value null, n 0), overall, per segment and at every trend point.
   */
  reads?: readonly QualifiedColumn[];
  /** The value and n for one segment and period index `i` of the window. */
  formula: (v: FormulaArgs<I>, i: number) => Point;
}

/** Declares an indicator; the type of `formula`'s argument follows from `inputs`. */
export function indicator<I extends Record<string, AnyInput>>(d: IndicatorDeclaration<I>): IndicatorDeclaration {
  return d as unknown as IndicatorDeclaration;
}
