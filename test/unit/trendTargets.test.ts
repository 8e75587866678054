/**
 * The target in force for each month of a trend (functions/metrics/computeMetrics.ts, status.ts):
 * recorded on every trend point of metrics.json, for the company figure and each segment, and
 * re-applied by applyTargets. Run on DuckDB only: targets are applied after the query, the same
 * for every engine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTargets } from '../../functions/metrics/config.js';
import { type MetricsJson } from '../../functions/metrics/schema.js';
import { applyTargets } from '../../functions/metrics/status.js';
import { csv, openFixture, type Fixture } from './indicators.support.js';

const U = '2026-11-02T00:00:00Z';
/*
 * CSAT surveys of team "a", channel "email": September 2026 scores 5 and 2 (1 of 2 satisfied,
 * 50 %), October 2026 scores 5 and 4 (2 of 2, 100 %). P = 2026-10, the trend is 2025-11 … 2026-10.
 * Targets: 85 (warn 80) until 2026-08, 88 (warn 83) from 2026-09, 80 (warn 75) from 2026-10.
 */
const SURVEYS = csv(
  'response_id,survey_type,team,channel,dimension,expectation,score,sent_at,responded_at,updated_at',
  ['S1', 'csat', 'a', 'email', '', '', '5', '2026-09-01T00:00:00Z', '2026-09-02T00:00:00Z', U].join(','),
  ['S2', 'csat', 'a', 'email', '', '', '2', '2026-09-03T00:00:00Z', '2026-09-04T00:00:00Z', U].join(','),
  ['O1', 'csat', 'a', 'email', '', '', '5', '2026-10-01T00:00:00Z', '2026-10-02T00:00:00Z', U].join(','),
  ['O2', 'csat', 'a', 'email', '', '', '4', '2026-10-03T00:00:00Z', '2026-10-04T00:00:00Z', U].join(','),
);
const TARGETS = `targets:
  csat_pct:
    - { target: 85, warn: 80 }
    - { from: 2026-09, target: 88, warn: 83 }
    - { from: 2026-10, target: 80, warn: 75 }
`;
const levels = (trend: { target?: number | null; warn?: number | null }[]) => trend.map((p) => [p.target, p.warn]);
/** Ten months at 85/80, September at 88/83, October at 80/75. */
const STEPS = [...Array<number[]>(10).fill([85, 80]), [88, 83], [80, 75]];

describe('trend points carry the target in force that month', () => {
  let fx: Fixture;
  let m: MetricsJson;
  beforeAll(async () => {
    fx = await openFixture({ 'surveys/x.csv': SURVEYS }, 'duckdb');
    m = await fx.run('2026-10', 'UTC', TARGETS);
  });
  afterAll(() => fx.close());

  it('records each month of the company trend with the target and warn level of that month', () => {
    const csat = m.indicators.csat_pct!;

    expect(csat.trend.map((p) => p.period)).toEqual(['2025-11', '2025-12', '2026-01', '2026-02', '2026-03', '2026-04', '2026-05', '2026-06', '2026-07', '2026-08', '2026-09', '2026-10']);
    expect(levels(csat.trend)).toEqual(STEPS);
    // The values beside them: September 1 of 2 satisfied, October 2 of 2.
    expect(csat.trend.slice(10).map((p) => p.value)).toEqual([50, 100]);
    // P itself is judged by October's target, 80: 100 % is met.
    expect([csat.target, csat.warn, csat.status]).toEqual([80, 75, 'met']);
  });

  it('records the same levels on the trend of each segment', () => {
    expect(levels(m.segments.team.a!.csat_pct!.trend)).toEqual(STEPS);
    expect(levels(m.segments.channel.email!.csat_pct!.trend)).toEqual(STEPS);
  });

  it('records no level for an indicator without a target (neutral, or set to null)', () => {
    expect(new Set(m.indicators.ticket_volume!.trend.map((p) => `${p.target}/${p.warn}`))).toEqual(new Set(['null/null']));
    expect(m.indicators.nps!.trend[0]).toMatchObject({ target: 40, warn: 30 }); // the default of docs/indicators.md
  });

  it('re-applies the levels month by month when another targets file is applied', () => {
    const other = parseTargets('targets:\n  csat_pct:\n    - { target: 70 }\n    - { from: 2026-06, target: 90, warn: 85 }\n', 'other.yaml');

    const out = applyTargets(m, other);

    // 2025-11 … 2026-05 (7 months) at 70 with no warn; 2026-06 … 2026-10 (5 months) at 90/85.
    const expected = [...Array<(number | null)[]>(7).fill([70, null]), ...Array<(number | null)[]>(5).fill([90, 85])];
    expect(levels(out.indicators.csat_pct!.trend)).toEqual(expected);
    expect(levels(out.segments.team.a!.csat_pct!.trend)).toEqual(expected);
    // And P is judged again with 90 / 85: 100 % is met.
    expect(out.indicators.csat_pct!.status).toBe('met');
  });
});
