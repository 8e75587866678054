/**
 * Status against target: the one rule, and the one way targets are applied to a value. Used by
 * the metrics stage (indicators and each segment) and by the preview when an analyst edits the
 * targets file. Pure.
 *
 * - no_data when the value is null; no_target when no target is set (neutral indicators never
 *   take one).
 * - Higher is better: met when value >= target; else at_risk when a warn level is set and
 *   value >= warn; else missed. Lower is better: the same with <=. The unrounded value is compared.
 * - lowSample when n is below min_sample.
 */
import type { TargetsConfig } from '../pipeline/targets.js';
import { targetFor } from './config.js';
import type { Direction, IndicatorDeclaration } from './declare.js';
import { INDICATOR_BY_ID } from './indicators.js';
import type { MetricsJson, Status } from './schema.js';

export function evaluateStatus(value: number | null, direction: Direction, target: number | null, warn: number | null): Status {
  if (value === null) return 'no_data';
  if (target === null || direction === 'neutral') return 'no_target';
  const better = (v: number, level: number) => (direction === 'higher' ? v >= level : v <= level);
  if (better(value, target)) return 'met';
  if (warn !== null && better(value, warn)) return 'at_risk';
  return 'missed';
}

export interface Judgement {
  target: number | null;
  warn: number | null;
  status: Status;
  lowSample: boolean;
}

/** The target and warn level in force for `period` (none for a neutral indicator). */
export function inForce(d: Pick<IndicatorDeclaration, 'id' | 'direction'>, targets: TargetsConfig, period: string): { target: number | null; warn: number | null } {
  return d.direction === 'neutral' ? { target: null, warn: null } : targetFor(targets, d.id, period);
}

/** `trend` with each month's target and warn level as they were in force then. */
export function withTargets<P extends { period: string }>(d: Pick<IndicatorDeclaration, 'id' | 'direction'>, trend: P[], targets: TargetsConfig): (P & { target: number | null; warn: number | null })[] {
  return trend.map((p) => ({ ...p, ...inForce(d, targets, p.period) }));
}

/** The target in force for `period` (none for a neutral indicator), the status and lowSample of a value. */
export function judge(d: Pick<IndicatorDeclaration, 'id' | 'direction'>, value: number | null, n: number, targets: TargetsConfig, period: string): Judgement {
  const { target, warn } = inForce(d, targets, period);
  return { target, warn, status: evaluateStatus(value, d.direction, target, warn), lowSample: n < targets.minSample };
}

/** metrics.json judged again against another targets file (every indicator and segment entry). */
export function applyTargets(metrics: MetricsJson, targets: TargetsConfig): MetricsJson {
  const period = metrics.period.id;
  const defOf = (id: string) => INDICATOR_BY_ID.get(id) ?? { id, direction: metrics.indicators[id]?.direction ?? 'neutral' };
  const indicators = Object.fromEntries(
    Object.entries(metrics.indicators).map(([id, r]) => [id, { ...r, ...judge(defOf(id), r.value, r.n, targets, period), trend: withTargets(defOf(id), r.trend, targets) }]),
  );
  const segments = Object.fromEntries(
    Object.entries(metrics.segments).map(([kind, byValue]) => [
      kind,
      Object.fromEntries(
        Object.entries(byValue).map(([v, byId]) => [
          v,
          Object.fromEntries(
            Object.entries(byId).map(([id, s]) => {
              const { status, lowSample } = judge(defOf(id), s.value, s.n, targets, period);
              return [id, { ...s, status, lowSample, trend: withTargets(defOf(id), s.trend, targets) }];
            }),
          ),
        ]),
      ),
    ]),
  ) as MetricsJson['segments'];
  return { ...metrics, indicators, segments, settings: { ...metrics.settings, minSample: targets.minSample } };
}
