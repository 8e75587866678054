/**
 * Bursting: from the one company metrics.json, the metrics.json of one team's (or channel's) own
 * report, and the plan of which segment reports a run makes and who receives each.
 *
 * The figures come from nowhere else: a segment report's indicators hold that segment's entry of
 * `segments.<kind>.<value>` (value, n, status, lowSample, previous, yearAgo, trend), beside the
 * company's value and status (`company`), so one query per table serves the company report and
 * every burst. An indicator that is not broken down by the kind (e.g. invoice accuracy by team)
 * says so (`segmented: false`, its own figures null / no_data) instead of showing the company's
 * figure as the team's.
 */
import { INDICATOR_BY_ID } from '../metrics/indicators.js';
import type { IndicatorResult, MetricsJson } from '../metrics/schema.js';
import type { SegmentKind } from '../pipeline/contract.js';
import type { BurstDef } from '../pipeline/reportsConfig.js';
import type { Scope } from '../deliver/keys.js';

export type { Scope } from '../deliver/keys.js';

/** Whether an indicator is computed per segment of this kind (its declaration's breakdowns). */
export function brokenDownBy(indicatorId: string, kind: SegmentKind): boolean {
  return INDICATOR_BY_ID.get(indicatorId)?.breakdowns.includes(kind) ?? false;
}

/**
 * The metrics.json of one segment's report. Pure: the company document is not changed.
 * - broken down by the kind, with an entry for the segment: the segment's own figures;
 * - broken down, but the segment had no case in the month (metrics.json lists no entry then): no
 *   data (n 0, no history known);
 * - not broken down by the kind: `segmented: false`, no data of its own.
 * `segments` is emptied: the company's breakdowns are not this segment's figures.
 */
export function segmentMetrics(company: MetricsJson, scope: Scope): MetricsJson {
  if (company.scope) throw new RangeError(`metrics.json is already the ${company.scope.kind} "${company.scope.value}" report, not the company's`);
  const own = company.segments[scope.kind][scope.value] ?? {};
  const indicators = Object.fromEntries(
    Object.entries(company.indicators).map(([id, c]): [string, IndicatorResult] => {
      const segmented = brokenDownBy(id, scope.kind);
      const entry = segmented ? own[id] : undefined;
      const figures = entry ?? {
        value: null,
        n: 0,
        status: 'no_data' as const,
        lowSample: false,
        previous: null,
        yearAgo: null,
        // The company's points keep their periods (and any per-month field); the values are not known.
        trend: c.trend.map((p) => ({ ...p, value: null, n: 0 })),
      };
      return [id, { ...c, ...figures, company: { value: c.value, status: c.status }, segmented }];
    }),
  );
  return { ...company, scope: { kind: scope.kind, value: scope.value }, indicators, segments: { team: {}, channel: {} } };
}

/** The addresses `recipients` names for a segment value (exactly as spelt), or undefined. */
export function ownersOf(burst: BurstDef, value: string): string[] | undefined {
  return Object.hasOwn(burst.recipients, value) ? burst.recipients[value] : undefined;
}

/** Who receives a segment's report: its owners, else the fallback. */
export function burstRecipients(burst: BurstDef, value: string): string[] {
  return [...(ownersOf(burst, value) ?? burst.fallback)];
}

/** One burst report of a run: its segment and who receives it. */
export interface PlannedBurst {
  scope: Scope;
  recipients: string[];
  /** False when `recipients` does not name the value (it went to the fallback). */
  owned: boolean;
}

export interface BurstPlan {
  bursts: PlannedBurst[];
  /** One line each, for the log (locally) and the ops notice (AWS). */
  warnings: string[];
}

/**
 * Which segment reports a run makes (one per value of the kind in the company metrics.json, in
 * its order) and their recipients. A value nobody owns goes to the fallback; a recipients key the
 * data does not have makes no report. Both are warnings.
 */
export function planBursts(company: MetricsJson, burst: BurstDef): BurstPlan {
  const kind = burst.by;
  const values = Object.keys(company.segments[kind]);
  const present = new Set(values);
  const warnings: string[] = [];
  const bursts = values.map((value): PlannedBurst => {
    const named = ownersOf(burst, value);
    if (named) return { scope: { kind, value }, recipients: [...named], owned: true };
    warnings.push(
      burst.fallback.length
        ? `${kind} "${value}" has no recipients in the burst of report ${company.reportId}: its report goes to the fallback (${burst.fallback.join(', ')})`
        : `${kind} "${value}" has no recipients in the burst of report ${company.reportId} and there is no fallback: its report is archived, not sent`,
    );
    return { scope: { kind, value }, recipients: [...burst.fallback], owned: false };
  });
  for (const value of Object.keys(burst.recipients)) {
    if (!present.has(value)) {
      warnings.push(`${kind} "${value}" named in the burst of report ${company.reportId} has no data in ${company.period.id}: no report for it`);
    }
  }
  return { bursts, warnings };
}

/**
 * A report definition as one segment's report names itself (mail subject, PDF title): its title
 * in every language followed by the segment, e.g. "Monthly customer service review — Billing".
 */
export function scopedTitles<T extends { title: string; titles?: Partial<Record<string, string>> }>(report: T, scope: Scope): T {
  const add = (t: string) => `${t} — ${scope.value}`;
  const titles = Object.fromEntries(Object.entries(report.titles ?? {}).map(([locale, t]) => [locale, t === undefined ? t : add(t)]));
  return { ...report, title: add(report.title), titles };
}
