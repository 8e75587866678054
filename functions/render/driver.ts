/**
 * The team or channel that drove an indicator's change since the previous month (page 1 and the
 * cards). Each segment's contribution is its weight times its own change:
 *
 *   contribution(s) = w(s) × (value(s) − previous(s))
 *   w(s) = n(s) / Σ n   over the segments of that breakdown with a value this month
 *        = 1            for a count (ticket volume), whose total is the sum of its segments
 *
 * For a rate or a mean the company value is exactly Σ w(s) × value(s), so the contributions are the
 * part of the change that happened inside each segment (the rest comes from the mix moving between
 * segments, which is not attributed); for a median they are the same weighted approximation. The
 * driver is the segment, of the breakdowns given, with the largest contribution in the direction
 * of the indicator's change. A breakdown with a single segment is skipped (that segment would be the
 * whole change), as is a segment without a previous value.
 */
import type { IndicatorDeclaration } from '../metrics/declare.js';
import type { MetricsJson } from '../metrics/schema.js';
import type { SegmentKind } from '../pipeline/contract.js';

export interface Contribution {
  kind: SegmentKind;
  name: string;
  contribution: number;
}

/** Every segment's contribution to the indicator's change since the previous month, breakdown by breakdown. */
export function contributions(def: Pick<IndicatorDeclaration, 'id' | 'unit'>, segments: MetricsJson['segments'] | undefined, kinds: readonly SegmentKind[]): Contribution[] {
  const out: Contribution[] = [];
  for (const kind of kinds) {
    const entries = Object.entries(segments?.[kind] ?? {})
      .map(([name, byId]) => ({ name, s: byId[def.id] }))
      .filter((e): e is { name: string; s: NonNullable<typeof e.s> } => e.s !== undefined && e.s.value !== null);
    const total = entries.reduce((a, e) => a + e.s.n, 0);
    if (total === 0 || entries.length < 2) continue;
    for (const { name, s } of entries) {
      if (s.previous === null) continue;
      const weight = def.unit === 'count' ? 1 : s.n / total;
      out.push({ kind, name, contribution: weight * (s.value! - s.previous) });
    }
  }
  return out;
}

/**
 * The driver of a change of `direction` (the sign of value − previous): the largest contribution
 * with that sign (ties: the name first in alphabetical order); null when none has it.
 */
export function driverOf(def: Pick<IndicatorDeclaration, 'id' | 'unit'>, direction: number, segments: MetricsJson['segments'] | undefined, kinds: readonly SegmentKind[]): Contribution | null {
  let best: Contribution | null = null;
  for (const c of contributions(def, segments, kinds)) {
    if (c.contribution * direction <= 0) continue;
    const a = Math.abs(c.contribution);
    if (!best || a > Math.abs(best.contribution) || (a === Math.abs(best.contribution) && c.name.localeCompare(best.name) < 0)) best = c;
  }
  return best;
}
