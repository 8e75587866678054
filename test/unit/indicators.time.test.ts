/**
 * Period membership across time zones (spec/indicators.md "Conventions", data-contract.md
 * "Value formats"): P.start <= x < P.end comparing instants, P = a calendar month in the report's
 * IANA zone; no offset = UTC, bare date = 00:00 UTC; DST transitions (Europe/Berlin).
 *
 * Each ticket has a team equal to its id, so segments.team lists exactly the tickets created in P.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { csv, expectIndicator, expectPoint, expectTrend, describeEngines, openFixture, sec, type Fixture } from './indicators.support.js';
import { type MetricsJson } from '../../functions/metrics/schema.js';

const U = '2026-11-02T00:00:00Z';

/*
 *  id   created_at (as exported)         instant (UTC)        UTC  Shanghai +8        Moscow +3          New York (EDT -4)
 *  Z1   2026-09-30T16:00:00Z             09-30 16:00          Sep  Oct (= P.start)    Sep (19:00)        Sep
 *  Z2   2026-10-31T16:00:00Z             10-31 16:00          Oct  Nov (= P.end)      Oct (19:00)        Oct
 *  Z3   2026-10-01T02:59:59+03:00        09-30 23:59:59       Sep  Oct                Oct (02:59:59)     Sep
 *  Z4   2026-10-31T20:00:00-05:00        11-01 01:00          Nov  Nov                Nov                Oct (10-31 21:00)
 *  Z5   2026-09-30T20:00:00 (no offset)  09-30 20:00          Sep  Oct (04:00)        Sep (23:00)        Sep
 *  Z6   2026-10-01 (bare date)           10-01 00:00          Oct  Oct                Oct                Sep (09-30 20:00)
 *  Z7   2026-11-01 (bare date)           11-01 00:00          Nov  Nov                Nov                Oct (10-31 20:00)
 *  Z8   2026-10-31 21:00:00.000+00:00    10-31 21:00          Oct  Nov                Nov (= P.end)      Oct
 *  Z9   2026-09-30T21:00:00Z             09-30 21:00          Sep  Oct                Oct (= P.start)    Sep
 *  Z10-Z12 mid-October in every zone; their first responses cross offsets:
 *  Z10  10-15T10:00:00+03:00 -> first response 10-15T09:30:00+02:00       = 0.5 h
 *  Z11  2026-10-15 10:00:00 (UTC) -> 2026-10-15T05:00:00.250-05:00          = 0.25 s
 *  Z12  2026-10-16 (00:00 UTC) -> 2026-10-16T01:30:00.5+01:00               = 0.5 h + 0.5 s
 * (If "no offset" were read as report-local time, Z5 would be September in Shanghai.)
 */
const ZONES = csv(
  'ticket_id,team,created_at,first_response_at,updated_at',
  `Z1,Z1,2026-09-30T16:00:00Z,,${U}`,
  `Z2,Z2,2026-10-31T16:00:00Z,,${U}`,
  `Z3,Z3,2026-10-01T02:59:59+03:00,,${U}`,
  `Z4,Z4,2026-10-31T20:00:00-05:00,,${U}`,
  `Z5,Z5,2026-09-30T20:00:00,,${U}`,
  `Z6,Z6,2026-10-01,,${U}`,
  `Z7,Z7,2026-11-01,,${U}`,
  `Z8,Z8,2026-10-31 21:00:00.000+00:00,,${U}`,
  `Z9,Z9,2026-09-30T21:00:00Z,,${U}`,
  `Z10,Z10,2026-10-15T10:00:00+03:00,2026-10-15T09:30:00+02:00,${U}`,
  `Z11,Z11,2026-10-15 10:00:00,2026-10-15T05:00:00.250-05:00,${U}`,
  `Z12,Z12,2026-10-16,2026-10-16T01:30:00.5+01:00,${U}`,
);
/*
 * Customers: V1 churned at 2026-09-30T16:00:00Z = P.start in Shanghai (still in S, churned in P:
 * churn 1/2), but in September in UTC (not in S: churn 0/1).
 */
const ZONE_CUSTOMERS = csv(
  'customer_id,created_at,churned_at,updated_at',
  `V1,2026-01-01T00:00:00Z,2026-09-30T16:00:00Z,${U}`,
  `V2,2026-01-01T00:00:00Z,,${U}`,
);

const MID = ['Z10', 'Z11', 'Z12'];

describeEngines('time zones: P.start <= x < P.end in the report zone', (engine) => {
  let fx: Fixture;
  const runs: Record<string, MetricsJson> = {};
  const zones = ['UTC', 'Asia/Shanghai', 'Europe/Moscow', 'America/New_York'];

  beforeAll(async () => {
    fx = await openFixture({ 'tickets/x.csv': ZONES, 'customers/x.csv': ZONE_CUSTOMERS }, engine);
    const ms = await Promise.all(zones.map((z) => fx.run('2026-10', z)));
    zones.forEach((z, i) => (runs[z] = ms[i]!));
  });
  afterAll(() => fx.close());

  it.each([
    ['UTC', '2026-10-01T00:00:00.000Z', '2026-11-01T00:00:00.000Z', ['Z2', 'Z6', 'Z8'], 4],
    ['Asia/Shanghai', '2026-09-30T16:00:00.000Z', '2026-10-31T16:00:00.000Z', ['Z1', 'Z3', 'Z5', 'Z6', 'Z9'], 0],
    ['Europe/Moscow', '2026-09-30T21:00:00.000Z', '2026-10-31T21:00:00.000Z', ['Z2', 'Z3', 'Z6', 'Z9'], 2],
    ['America/New_York', '2026-10-01T04:00:00.000Z', '2026-11-01T04:00:00.000Z', ['Z2', 'Z4', 'Z7', 'Z8'], 5],
  ] as const)('%s: bounds %s .. %s, tickets created in October', (zone, start, end, inOct, september) => {
    const m = runs[zone]!;
    expect(m.period).toEqual({ id: '2026-10', timezone: zone, start, end });
    const expected = [...inOct, ...MID].sort();
    const listed = Object.keys(m.segments.team).filter((t) => m.segments.team[t]!['ticket_volume']).sort();
    expect(listed).toEqual(expected);
    expectIndicator(m, 'ticket_volume', { value: expected.length, n: expected.length, status: 'no_target', previous: september || null });
    expect(m.indicators['ticket_volume']!.trend[10]).toEqual({ period: '2026-09', value: september || null, n: september, target: null, warn: null });
    // Durations are between instants, whatever offsets the two timestamps were written with.
    expectPoint(m.segments.team['Z10']!['first_response_median_h'], [0.5, 1], 'Z10');
    expectPoint(m.segments.team['Z11']!['first_response_median_h'], [sec(0.25), 1], 'Z11');
    expectPoint(m.segments.team['Z12']!['first_response_median_h'], [0.5 + sec(0.5), 1], 'Z12');
    expectPoint(m.indicators['first_response_median_h'], [0.5, 3], 'median of 3');
  });

  it('churn: a churn exactly at P.start in the report zone counts in P', () => {
    expectIndicator(runs['Asia/Shanghai']!, 'churn_rate_pct', { value: 50, n: 2, status: 'missed' });
    expectIndicator(runs['Asia/Shanghai']!, 'retention_rate_pct', { value: 50, n: 2, status: 'missed' });
    expectIndicator(runs['UTC']!, 'churn_rate_pct', { value: 0, n: 1, status: 'met', previous: 50 });
    expectIndicator(runs['UTC']!, 'retention_rate_pct', { value: 100, n: 1, status: 'met', previous: 50 });
  });
});

/*
 * Europe/Berlin: CET (+1) / CEST (+2). DST starts 2026-03-29 01:00Z, ends 2026-10-25 01:00Z.
 *  2026-03: [2026-02-28T23:00Z, 2026-03-31T22:00Z)   2026-10: [2026-09-30T22:00Z, 2026-10-31T23:00Z)
 *  B1 02-28T23:00:00Z Mar (= start)   B2 02-28T22:59:59Z Feb   B3 03-31T21:59:59Z Mar   B4 03-31T22:00:00Z Apr (= end)
 *  BD 03-29T00:30+01:00 -> first response 03-29T03:30+02:00: 2 h (3 h on the wall clock), March
 *  B7 09-30T22:00:00Z Oct (= start)   B8 09-30T21:59:59Z Sep   B5 10-31T22:30:00Z Oct (23:30 CET)   B6 10-31T23:00:00Z Nov
 *  BF 10-25T01:30+02:00 -> first response 10-25T02:30+01:00: 2 h (1 h on the wall clock), October
 */
const BERLIN = csv(
  'ticket_id,team,created_at,first_response_at,updated_at',
  `B1,B1,2026-02-28T23:00:00Z,,${U}`,
  `B2,B2,2026-02-28T22:59:59Z,,${U}`,
  `B3,B3,2026-03-31T21:59:59Z,,${U}`,
  `B4,B4,2026-03-31T22:00:00Z,,${U}`,
  `BD,BD,2026-03-29T00:30:00+01:00,2026-03-29T03:30:00+02:00,${U}`,
  `B5,B5,2026-10-31T22:30:00Z,,${U}`,
  `B6,B6,2026-10-31T23:00:00Z,,${U}`,
  `B7,B7,2026-09-30T22:00:00Z,,${U}`,
  `B8,B8,2026-09-30T21:59:59Z,,${U}`,
  `BF,BF,2026-10-25T01:30:00+02:00,2026-10-25T02:30:00+01:00,${U}`,
);

describeEngines('DST: Europe/Berlin', (engine) => {
  let fx: Fixture;
  let oct: MetricsJson;
  let mar: MetricsJson;
  beforeAll(async () => {
    fx = await openFixture({ 'tickets/x.csv': BERLIN }, engine);
    [oct, mar] = await Promise.all([fx.run('2026-10', 'Europe/Berlin'), fx.run('2026-03', 'Europe/Berlin')]);
  });
  afterAll(() => fx.close());

  it('October (ends after the switch back to CET): bounds, members, trend with each month own bounds', () => {
    expect(oct.period).toMatchObject({ start: '2026-09-30T22:00:00.000Z', end: '2026-10-31T23:00:00.000Z' });
    // Segments listed: B5, B7, BF created in October; B8 (created 09-30T21:59:59Z, in September)
    // only for first_response_sla_pct: its 8-hour deadline 10-01T05:59:59Z falls in October.
    expect(Object.keys(oct.segments.team).sort()).toEqual(['B5', 'B7', 'B8', 'BF']);
    expect(Object.keys(oct.segments.team['B8']!)).toEqual(['first_response_sla_pct']);
    // B5 (created 10-31T22:30Z) has its deadline 11-01T06:30Z in November: no SLA entry in October.
    expect(Object.keys(oct.segments.team['B5']!)).not.toContain('first_response_sla_pct');
    expectTrend(
      oct.indicators['ticket_volume']!.trend,
      '2026-10',
      { '2026-02': [1, 1], '2026-03': [3, 3], '2026-04': [1, 1], '2026-09': [1, 1], '2026-10': [3, 3] },
      'volume',
    );
    expectTrend(oct.indicators['first_response_median_h']!.trend, '2026-10', { '2026-03': [2, 1], '2026-10': [2, 1] }, 'frm');
  });

  it('March (the switch to CEST): bounds and members', () => {
    expect(mar.period).toMatchObject({ start: '2026-02-28T23:00:00.000Z', end: '2026-03-31T22:00:00.000Z' });
    // B2 (created 02-28T22:59:59Z, February in Berlin) is listed for its SLA deadline 03-01T06:59:59Z;
    // B3 (created 03-31T21:59:59Z) for its creation only: its deadline is April 1.
    expect(Object.keys(mar.segments.team).sort()).toEqual(['B1', 'B2', 'B3', 'BD']);
    expect(Object.keys(mar.segments.team['B2']!)).toEqual(['first_response_sla_pct']);
    expect(Object.keys(mar.segments.team['B3']!)).not.toContain('first_response_sla_pct');
    expectIndicator(mar, 'ticket_volume', { value: 3, n: 3, status: 'no_target', previous: 1 });
    expectIndicator(mar, 'first_response_median_h', { value: 2, n: 1, status: 'met' });
  });
});
