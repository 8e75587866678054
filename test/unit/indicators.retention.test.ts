/**
 * Billing (invoice_on_time_pct, invoice_accuracy_pct) and retention (churn_rate_pct,
 * retention_rate_pct) indicators of spec/indicators.md. None of them has a breakdown.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { csv, expectIndicator, expectTrend, describeEngines, openFixture, type Fixture } from './indicators.support.js';
import { type MetricsJson } from '../../functions/metrics/schema.js';

const U = '2026-11-02T00:00:00Z';

/*
 * P = 2026-10 (UTC). Invoices with issued_at in P: I1 I2 I3 I4.
 *  I1 due 10-10 issued 10-10 (equal: on time)  accurate true
 *  I2 due 10-05 issued 10-06 (late)            accurate false
 *  I3 due -     issued 10-07                   accurate 1
 *  I4 due 10-20 issued 10-15 (early)           accurate -
 *  I5 due 10-01 issued -                       (not in any population)
 *  I6 due 09-30 00:00 issued 09-30 23:59:59 (late, September) accurate yes
 *  I7 issued 11-01 00:00 (= P.end, November)
 *  invoice_on_time_pct = |{I1 I4}| / |{I1 I2 I4}| = 200/3 ; invoice_accuracy_pct = |{I1 I3}| / |{I1 I2 I3}| = 200/3
 *  September: on time 0/1, accurate 1/1.
 * The extra `channel` column is not in the contract: it is ignored, and billing has no breakdown.
 */
const INVOICES = csv(
  'invoice_id,due_at,issued_at,is_accurate,channel,updated_at',
  `I1,2026-10-10T00:00:00Z,2026-10-10T00:00:00Z,true,web,${U}`,
  `I2,2026-10-05T00:00:00Z,2026-10-06T00:00:00Z,false,web,${U}`,
  `I3,,2026-10-07T00:00:00Z,1,web,${U}`,
  `I4,2026-10-20T00:00:00Z,2026-10-15T00:00:00Z,,web,${U}`,
  `I5,2026-10-01T00:00:00Z,,true,web,${U}`,
  `I6,2026-09-30T00:00:00Z,2026-09-30T23:59:59Z,yes,web,${U}`,
  `I7,2026-11-05T00:00:00Z,2026-11-01T00:00:00Z,false,web,${U}`,
);

/*
 * Customers. For a period with bounds [s, e):
 *   S = created < s and (churned null or churned >= s); churn = |S with churned in [s, e)| / |S|
 *   E = created < e and (churned null or churned >= e); N = created in [s, e) and (churned null or >= e)
 *   retention = (E - N) / |S|
 *
 *  U12 2019-01-01 churned 2024-06-01 (both before the 23-month window)
 *  U0  2020-01-01 churned 2025-12-15
 *  U1  2025-01-01 -
 *  U2  2026-01-01 churned 2026-10-15 (in P)
 *  U3  2026-02-01 churned 2026-09-30 23:59:59 (just before P.start)
 *  U4  2026-03-01 churned 2026-10-01 00:00 (exactly P.start: still in S, churned in P)
 *  U5  2026-04-01 churned 2026-11-01 00:00 (exactly P.end: in S, not churned in P, in E)
 *  U6  2026-10-01 00:00 (created exactly at P.start: not in S, in E and N) -
 *  U7  2026-10-10 churned 2026-10-20 (created and churned in P: in none of S, E, N)
 *  U8  2026-10-20 churned 2026-12-01 (E, N)
 *  U9  2026-11-01 00:00 (after P) -
 *  U10 2026-05-01 churned 2026-12-15
 *  U11 2026-09-15 -
 *
 *  T        S                         churned in T  E                             N        churn   retention
 *  2025-11  U0 U1 (2)                 -             U0 U1 (2)                     0        0       100
 *  2025-12  U0 U1 (2)                 U0            U1 (1)                        0        50      50
 *  2026-01  U1 (1)                    -             U1 U2 (2)                     U2       0       100
 *  2026-02  U1 U2 (2)                 -             + U3 (3)                      U3       0       100
 *  2026-03  U1 U2 U3 (3)              -             + U4 (4)                      U4       0       100
 *  2026-04  (4)                       -             + U5 (5)                      U5       0       100
 *  2026-05  (5)                       -             + U10 (6)                     U10      0       100
 *  2026-06..08  U1 U2 U3 U4 U5 U10 (6)  -           (6)                           0        0       100
 *  2026-09  (6)                       U3            U1 U2 U4 U5 U10 U11 (6)       U11      100/6   500/6
 *  2026-10  U1 U2 U4 U5 U10 U11 (6)   U2 U4         U1 U5 U6 U8 U10 U11 (6)       U6 U8    200/6   400/6
 */
const CUSTOMERS = csv(
  'customer_id,segment,region,created_at,churned_at,updated_at',
  `U12,smb,eu,2019-01-01T00:00:00Z,2024-06-01T00:00:00Z,${U}`,
  `U0,smb,eu,2020-01-01T00:00:00Z,2025-12-15T00:00:00Z,${U}`,
  `U1,smb,eu,2025-01-01T00:00:00Z,,${U}`,
  `U2,smb,eu,2026-01-01T00:00:00Z,2026-10-15T00:00:00Z,${U}`,
  `U3,smb,eu,2026-02-01T00:00:00Z,2026-09-30T23:59:59Z,${U}`,
  `U4,smb,eu,2026-03-01T00:00:00Z,2026-10-01T00:00:00Z,${U}`,
  `U5,smb,eu,2026-04-01T00:00:00Z,2026-11-01T00:00:00Z,${U}`,
  `U6,smb,eu,2026-10-01T00:00:00Z,,${U}`,
  `U7,smb,eu,2026-10-10T00:00:00Z,2026-10-20T00:00:00Z,${U}`,
  `U8,smb,eu,2026-10-20T00:00:00Z,2026-12-01T00:00:00Z,${U}`,
  `U9,smb,eu,2026-11-01T00:00:00Z,,${U}`,
  `U10,smb,eu,2026-05-01T00:00:00Z,2026-12-15T00:00:00Z,${U}`,
  `U11,smb,eu,2026-09-15T00:00:00Z,,${U}`,
);

describeEngines('billing and retention (UTC, P = 2026-10)', (engine) => {
  let fx: Fixture;
  let m: MetricsJson;
  let tuned: MetricsJson;
  beforeAll(async () => {
    fx = await openFixture({ 'invoices/x.csv': INVOICES, 'customers/x.csv': CUSTOMERS }, engine);
    [m, tuned] = await Promise.all([
      fx.run('2026-10'),
      // 100*2/3 written as the shortest round-tripping decimal: equality with the target is met.
      fx.run('2026-10', 'UTC', 'min_sample: 3\ntargets:\n  invoice_on_time_pct: { target: 66.66666666666667, warn: 60 }\n  churn_rate_pct: { target: 30, warn: 33.333333333333336 }\n'),
    ]);
  });
  afterAll(() => fx.close());

  it('invoices on time (issued_at <= due_at) and accuracy', () => {
    expectIndicator(m, 'invoice_on_time_pct', { value: 200 / 3, n: 3, status: 'missed', lowSample: true, previous: 0 });
    expectIndicator(m, 'invoice_accuracy_pct', { value: 200 / 3, n: 3, status: 'missed', previous: 100 });
    expectTrend(m.indicators['invoice_on_time_pct']!.trend, '2026-10', { '2026-09': [0, 1], '2026-10': [200 / 3, 3] });
    expectTrend(m.indicators['invoice_accuracy_pct']!.trend, '2026-10', { '2026-09': [100, 1], '2026-10': [200 / 3, 3] });
    expectIndicator(tuned, 'invoice_on_time_pct', { value: 200 / 3, n: 3, status: 'met', lowSample: false });
  });

  it('churn and retention: value, n, status, previous', () => {
    expectIndicator(m, 'churn_rate_pct', { value: 200 / 6, n: 6, status: 'missed', previous: 100 / 6 });
    expectIndicator(m, 'retention_rate_pct', { value: 400 / 6, n: 6, status: 'missed', previous: 500 / 6 });
    expectIndicator(tuned, 'churn_rate_pct', { value: 200 / 6, n: 6, status: 'at_risk' });
  });

  it('churn and retention trend, each point with its own bounds', () => {
    const n = [2, 2, 1, 2, 3, 4, 5, 6, 6, 6, 6, 6];
    const churn = [0, 50, 0, 0, 0, 0, 0, 0, 0, 0, 100 / 6, 200 / 6];
    const retention = [100, 50, 100, 100, 100, 100, 100, 100, 100, 100, 500 / 6, 400 / 6];
    const periods = ['2025-11', '2025-12', '2026-01', '2026-02', '2026-03', '2026-04', '2026-05', '2026-06', '2026-07', '2026-08', '2026-09', '2026-10'];
    expectTrend(m.indicators['churn_rate_pct']!.trend, '2026-10', Object.fromEntries(periods.map((p, i) => [p, [churn[i]!, n[i]!]])), 'churn');
    expectTrend(m.indicators['retention_rate_pct']!.trend, '2026-10', Object.fromEntries(periods.map((p, i) => [p, [retention[i]!, n[i]!]])), 'retention');
  });

  it('no breakdowns for billing and retention', () => {
    expect(m.segments).toEqual({ team: {}, channel: {} });
  });
});
