/**
 * Deliberate defects, derived from the contract: a few invalid rows of every rejection reason that
 * can occur in a table, and older duplicate versions of some records. Which records are touched is
 * a fixed, evenly spread pattern over the record index, so the counts are exact and known:
 *   invalid rows per applicable reason = max(1, round(records * 0.002))  (tables of >= 50 records)
 *   duplicate records                  = round(records * 0.03)
 * and every `inconsistent_times` record also gets an older, valid version (which must not win).
 */
import type { ColumnDef, RejectReason, TableDef } from '../pipeline/contract.js';
import { SURVEY_SCALES, EXPECTATION_SCALE } from '../pipeline/contract.js';
import { dayStart, HOUR } from './time.js';

/** The contract's reject reasons (REJECT_REASONS), in the order the generator injects them (fixed: it decides the sample's bytes). */
export const REASONS = [
  'bad_value',
  'missing_required',
  'out_of_range',
  'inconsistent_times',
  'missing_key',
  'bad_updated_at',
] as const satisfies readonly RejectReason[];
export type Reason = RejectReason;

export const INVALID_RATE = 0.002;
export const DUPLICATE_RATE = 0.03;
export const MIN_RECORDS_FOR_DEFECTS = 50;

/** A typed cell: timestamps as epoch ms, bools as booleans, decimals already as text. */
export type Val = string | number | boolean | null;

/** The reasons that a row of this table can be rejected for. */
export function applicableReasons(def: TableDef): Reason[] {
  const extraRequired = def.columns.some((c) => c.required && c.name !== def.key && c.name !== 'updated_at');
  const hasRange = def.name === 'surveys' || def.columns.some((c) => c.min !== undefined);
  return REASONS.filter(
    (r) =>
      (r !== 'missing_required' || extraRequired) &&
      (r !== 'out_of_range' || hasRange) &&
      (r !== 'inconsistent_times' || def.order.length > 0),
  );
}

export interface DefectPlan {
  records: number;
  reasons: Reason[];
  perReason: number;
  duplicates: number;
  /** Rows written: records, plus one older version per duplicate and per inconsistent_times record. */
  rows: number;
}

export function planDefects(def: TableDef, records: number): DefectPlan {
  const reasons = applicableReasons(def);
  const big = records >= MIN_RECORDS_FOR_DEFECTS;
  const perReason = big ? Math.max(1, Math.round(records * INVALID_RATE)) : 0;
  const duplicates = big ? Math.round(records * DUPLICATE_RATE) : 0;
  const extra = duplicates + (reasons.includes('inconsistent_times') ? perReason : 0);
  return { records, reasons, perReason, duplicates, rows: records + extra };
}

export const DUPLICATE = -2;
export const CLEAN = -1;

/**
 * What happens to record i: CLEAN, DUPLICATE, or the index of its reason in plan.reasons.
 * Special slots s = 0..T-1 (T = invalid + duplicates) sit at floor((s + 1/2) * N / T); slot s is
 * invalid when floor((s+1) M / T) > floor(s M / T), its ordinal j = floor(s M / T) and its reason
 * reasons[j mod R] (M = R * perReason invalid slots in all).
 */
export function classify(plan: DefectPlan, i: number): number {
  const n = plan.records;
  const m = plan.reasons.length * plan.perReason;
  const t = m + plan.duplicates;
  if (t === 0) return CLEAN;
  const guess = Math.floor((i * t) / n);
  for (let s = Math.max(0, guess - 1); s <= Math.min(t - 1, guess + 1); s++) {
    if (Math.floor(((2 * s + 1) * n) / (2 * t)) !== i) continue;
    const j = Math.floor((s * m) / t);
    if (Math.floor(((s + 1) * m) / t) > j) return j % plan.reasons.length;
    return DUPLICATE;
  }
  return CLEAN;
}

const GARBAGE: Record<Exclude<ColumnDef['type'], 'string'>, string[]> = {
  timestamp: ['##########', 'yesterday', '31.12.2023 10:00'],
  int: ['two', 'N/A'],
  decimal: ['12,50', '€40'],
  bool: ['maybe', 'unknown'],
};

const nth = <T>(xs: readonly T[], i: number): T => xs[i % xs.length]!;

/** Makes a typed record violate a time-order rule of the table (before formatting). */
export function breakTimeOrder(def: TableDef, col: Record<string, number>, v: Val[], i: number): void {
  let pair = nth(def.order, i);
  if (v[col[pair[1]]!] === null) pair = def.order[0]!;
  const earlier = v[col[pair[1]]!] as number;
  v[col[pair[0]]!] = dayStart(earlier) === earlier ? earlier - (1 + (i % 20)) * 24 * HOUR : earlier - (1 + (i % 47)) * HOUR;
}

/** Applies a defect other than inconsistent_times to a formatted row. */
export function corruptFields(def: TableDef, col: Record<string, number>, f: string[], reason: Reason, i: number): void {
  const others = def.columns.filter((c) => c.name !== def.key && c.name !== 'updated_at');
  switch (reason) {
    case 'bad_value': {
      const c = nth(others.filter((c) => c.type !== 'string'), i);
      f[col[c.name]!] = nth(GARBAGE[c.type as keyof typeof GARBAGE], i >> 2);
      return;
    }
    case 'missing_required':
      f[col[nth(others.filter((c) => c.required), i).name]!] = '';
      return;
    case 'out_of_range':
      if (def.name === 'surveys') return surveyOutOfRange(col, f, i);
      {
        const c = nth(others.filter((c) => c.min !== undefined), i);
        f[col[c.name]!] = String(c.min! - 1 - (i % 3));
      }
      return;
    case 'missing_key':
      f[col[def.key]!] = '';
      return;
    case 'bad_updated_at':
      f[col.updated_at!] = nth(['', 'unknown', '##########'], i);
      return;
    case 'inconsistent_times':
      return;
  }
}

function surveyOutOfRange(col: Record<string, number>, f: string[], i: number): void {
  const type = f[col.survey_type!] as keyof typeof SURVEY_SCALES;
  const options = type === 'servqual' ? ['score', 'expectation', 'dimension', 'survey_type'] : ['score', 'survey_type'];
  switch (nth(options, i)) {
    case 'score':
      f[col.score!] = String(SURVEY_SCALES[type][1] + 1);
      return;
    case 'expectation':
      f[col.expectation!] = String(EXPECTATION_SCALE[1] + 2);
      return;
    case 'dimension':
      f[col.dimension!] = 'speed';
      return;
    default:
      f[col.survey_type!] = 'ces';
  }
}
