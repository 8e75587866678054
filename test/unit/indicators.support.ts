/**
 * Shared helpers for the indicator spec tests (test/unit/indicators.*.test.ts).
 *
 * Every expected value in those tests is computed by hand from literal CSV fixtures written in the
 * test; nothing here calls the formulas under test. This file only writes export folders, runs the
 * pipeline end to end (an engine + computeMetrics) and compares numbers with a 1e-9 relative
 * tolerance. Every suite runs on both engines (describeEngines): embedded DuckDB over the folder,
 * and the local Trino over the same folder normalized as the AWS ingest does it.
 */
import { rmSync } from 'node:fs';
import { expect } from 'vitest';
import type { QueryEngine } from '../../functions/engine/engine.js';
import { type TargetsConfig } from '../../functions/pipeline/targets.js';
import { writeExports } from '../helpers/fixtures.js';
import { describeEngines, openEngine, type EngineName } from '../support/engines.js';
import { computeMetrics } from '../../functions/metrics/computeMetrics.js';
import { parseMetricsJson, type MetricsJson, type SegmentResult as SegmentValue, type TrendPoint } from '../../functions/metrics/schema.js';
import { DEFAULT_TARGETS, parseTargets } from '../../functions/metrics/config.js';

/** CSV text: one string per line (header first), LF line ends, trailing newline. */
export const csv = (...lines: string[]): string => lines.join('\n') + '\n';

/** Seconds as hours. */
export const sec = (s: number): number => s / 3600;

export { describeEngines, type EngineName };

export interface Fixture {
  root: string;
  engine: QueryEngine;
  /** Runs the whole metrics stage for `period` in `timezone` (targets: YAML text or DEFAULT_TARGETS). */
  run(period: string, timezone?: string, targets?: string | TargetsConfig): Promise<MetricsJson>;
  close(): Promise<void>;
}

/** Writes files[relativePath] = content under a fresh temp folder and opens the engine on it. */
export async function openFixture(files: Record<string, string | Buffer>, engineName: EngineName = 'duckdb'): Promise<Fixture> {
  const root = writeExports(files);
  let engine: QueryEngine;
  try {
    engine = await openEngine(engineName, root);
  } catch (e) {
    rmSync(root, { recursive: true, force: true });
    throw e;
  }
  return {
    root,
    engine,
    run(period, timezone = 'UTC', targets = DEFAULT_TARGETS) {
      const cfg = typeof targets === 'string' ? parseTargets(targets, 'targets.yaml') : targets;
      // Every metrics.json the spec tests produce must also satisfy its published schema.
      return computeMetrics({ engine, period, timezone, targets: cfg, reportId: 'spec', locale: 'en', now: new Date(0) }).then((m) => parseMetricsJson(m, `spec ${period}`));
    },
    async close() {
      await engine.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

const REL = 1e-9;

/** A number equal to `expected` within 1e-9 relative tolerance (exact for 0), or both null. */
export function approx(actual: number | null | undefined, expected: number | null, label = ''): void {
  if (expected === null) {
    expect(actual ?? null, label).toBeNull();
    return;
  }
  expect(typeof actual, `${label}: expected a number, got ${String(actual)}`).toBe('number');
  const ok = Math.abs((actual as number) - expected) <= REL * Math.abs(expected);
  if (!ok) expect(actual, `${label} (1e-9 relative)`).toBe(expected);
}

/** [value, n] */
export type VN = [number | null, number];

export function expectPoint(actual: { value: number | null; n: number } | undefined, [value, n]: VN, label = ''): void {
  expect(actual, `${label}: missing`).toBeDefined();
  expect(actual!.n, `${label}: n`).toBe(n);
  approx(actual!.value, value, `${label}: value`);
}

/**
 * The 12 trend points ending with `last`, oldest first. `points` lists the non-empty ones by
 * period; every other period must be value null, n 0.
 */
export function expectTrend(trend: TrendPoint[], last: string, points: Record<string, VN>, label = ''): void {
  const periods = periodsEndingWith(last, 12);
  expect(trend.map((p) => p.period), `${label}: trend periods`).toEqual(periods);
  for (const unknown of Object.keys(points)) expect(periods, `${label}: fixture period ${unknown}`).toContain(unknown);
  trend.forEach((p, i) => expectPoint(p, points[periods[i]!] ?? [null, 0], `${label} trend ${periods[i]}`));
}

/** The `count` calendar months ending with `last` (YYYY-MM), oldest first: hand-rolled, not the code under test. */
export function periodsEndingWith(last: string, count: number): string[] {
  const [y, m] = last.split('-').map(Number) as [number, number];
  const out: string[] = [];
  for (let k = count - 1; k >= 0; k--) {
    const idx = y * 12 + (m - 1) - k;
    out.push(`${Math.floor(idx / 12)}-${String((idx % 12) + 1).padStart(2, '0')}`);
  }
  return out;
}

/**
 * A whole breakdown map (segments.team or segments.channel): exactly these segment values, each
 * with exactly these indicators, each [value, n].
 */
export function expectSegments(
  actual: Record<string, Record<string, SegmentValue>>,
  expected: Record<string, Record<string, VN>>,
  label = '',
): void {
  expect(Object.keys(actual).sort(), `${label}: segment values`).toEqual(Object.keys(expected).sort());
  for (const [seg, inds] of Object.entries(expected)) {
    expect(Object.keys(actual[seg]!).sort(), `${label} ${seg}: indicators listed`).toEqual(Object.keys(inds).sort());
    for (const [id, vn] of Object.entries(inds)) expectPoint(actual[seg]![id], vn, `${label} ${seg}.${id}`);
  }
}

/** The spec's catalog (indicators.md), typed in by hand: id -> [direction, default target, default warn]. */
export const SPEC_CATALOG: Record<string, ['higher' | 'lower' | 'neutral', number | null, number | null]> = {
  first_response_median_h: ['lower', 4, 8],
  first_response_sla_pct: ['higher', 90, 80],
  resolution_avg_h: ['lower', 48, 72],
  ticket_volume: ['neutral', null, null],
  answer_speed_avg_s: ['lower', 30, 60],
  abandon_rate_pct: ['lower', 5, 8],
  fcr_pct: ['higher', 75, 65],
  reopen_rate_pct: ['lower', 5, 8],
  service_error_rate_pct: ['lower', 2, 4],
  csat_pct: ['higher', 85, 80],
  csat_avg: ['higher', 4.3, 4.0],
  nps: ['higher', 40, 30],
  survey_response_rate_pct: ['higher', 25, 15],
  servqual_gap_reliability: ['higher', 0, -0.5],
  servqual_gap_responsiveness: ['higher', 0, -0.5],
  servqual_gap_assurance: ['higher', 0, -0.5],
  servqual_gap_empathy: ['higher', 0, -0.5],
  servqual_gap_tangibles: ['higher', 0, -0.5],
  servqual_gap: ['higher', 0, -0.5],
  on_time_delivery_pct: ['higher', 95, 90],
  order_fill_rate_pct: ['higher', 98, 95],
  order_accuracy_pct: ['higher', 99, 97],
  order_change_flexibility_pct: ['higher', 90, 80],
  return_rate_pct: ['lower', 5, 8],
  repeat_purchase_rate_pct: ['higher', 30, 20],
  complaint_rate_per_1000_orders: ['lower', 5, 10],
  complaint_resolution_median_h: ['lower', 48, 96],
  complaint_resolved_in_sla_pct: ['higher', 90, 80],
  invoice_on_time_pct: ['higher', 98, 95],
  invoice_accuracy_pct: ['higher', 99, 97],
  churn_rate_pct: ['lower', 2, 3],
  retention_rate_pct: ['higher', 98, 97],
};

/** Checks value, n, status, target/warn, lowSample and previous of one indicator. */
export function expectIndicator(
  m: MetricsJson,
  id: string,
  e: { value: number | null; n: number; status: string; lowSample?: boolean; previous?: number | null; target?: number | null; warn?: number | null },
): void {
  const r = m.indicators[id];
  expect(r, `${id}: present`).toBeDefined();
  expectPoint(r, [e.value, e.n], id);
  expect(r!.status, `${id}: status`).toBe(e.status);
  if (e.lowSample !== undefined) expect(r!.lowSample, `${id}: lowSample`).toBe(e.lowSample);
  if (e.previous !== undefined) approx(r!.previous, e.previous, `${id}: previous`);
  if (e.target !== undefined) expect(r!.target, `${id}: target`).toBe(e.target);
  if (e.warn !== undefined) expect(r!.warn, `${id}: warn`).toBe(e.warn);
}
