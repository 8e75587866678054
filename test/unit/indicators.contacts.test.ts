/**
 * Accessibility (indicators v2): answer_speed_avg_s and abandon_rate_pct over the contacts table
 * (data contract v2), with breakdowns, previous, year-ago, per-segment history, and the contacts
 * table's own validation (its three order rules, its required queued_at, versions).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type MetricsJson } from '../../functions/metrics/schema.js';
import { csv, describeEngines, expectIndicator, expectPoint, expectSegments, expectTrend, openFixture, type Fixture } from './indicators.support.js';

const U = '2026-11-02T00:00:00Z';

/*
 * P = 2026-10 (UTC). Waits in seconds (answered_at - queued_at).
 *  id   team  channel queued               answered   ended      note
 *  C1   a     phone   10-01 00:00:00       +20 s      +5 min
 *  C2   a     chat    10-05 10:00:00       +40 s      -
 *  C3   b     phone   10-10 00:00:00       -          +60 s      abandoned
 *  C4   ''    phone   10-31 23:59:59       +30 s (11-01 00:00:29: queued in P, answered after it)
 *  C5   b     phone   11-01 00:00:00 = P.end +10 s               November
 *  C6   a     phone   09-15                +90 s                 September
 *  C7   b     chat    09-20                -                     September, abandoned
 *  C8   a     phone   2025-10-10           +15 s                 P-12 (a year earlier)
 *  C9   a     phone   10-03                10-02 (before queued) inconsistent_times
 *  C10  a     phone   10-04 00:00:00       +60 s      +30 s (before answered)  inconsistent_times
 *  C11  a     phone   -                                          missing_required
 *  C12  b     chat    10-02 (two versions: the older unanswered, the newer answered +50 s)
 *
 * Queued in P and valid: C1 C2 C3 C4 C12 (n 5); answered: C1 20, C2 40, C4 30, C12 50.
 *  answer_speed_avg_s = (20 + 40 + 30 + 50) / 4 = 35, n 4 (target 30, warn 60, lower: at_risk)
 *  abandon_rate_pct   = C3 -> 1/5 = 20, n 5 (target 5, warn 8: missed)
 * September: C6 90 s (n 1); abandon C7 1/2 = 50. 2025-10 (year ago): C8 15 s; abandon 0/1 = 0.
 * team a: C1 C2 -> 30 s (n 2), abandon 0/2; previous (C6) 90, year ago (C8) 15.
 * team b: C3 C12 -> 50 s (n 1), abandon 1/2 = 50; previous: C7 abandoned -> speed none, abandon 100.
 * unassigned: C4 -> 30 s, abandon 0/1.
 * channel phone: C1 C3 C4 -> (20 + 30) / 2 = 25 (n 2), abandon 1/3. chat: C2 C12 -> 45 (n 2), abandon 0/2.
 * Data quality: 13 rows = 1 duplicate (C12's older version) + 2 inconsistent_times + 1 missing_required + 9 used.
 */
const CONTACTS = csv(
  'contact_id,team,channel,queued_at,answered_at,ended_at,updated_at',
  `C1,a,phone,2026-10-01T00:00:00Z,2026-10-01T00:00:20Z,2026-10-01T00:05:00Z,${U}`,
  `C2,a,chat,2026-10-05T10:00:00Z,2026-10-05T10:00:40Z,,${U}`,
  `C3,b,phone,2026-10-10T00:00:00Z,,2026-10-10T00:01:00Z,${U}`,
  `C4,,phone,2026-10-31T23:59:59Z,2026-11-01T00:00:29Z,,${U}`,
  `C5,b,phone,2026-11-01T00:00:00Z,2026-11-01T00:00:10Z,,${U}`,
  `C6,a,phone,2026-09-15T00:00:00Z,2026-09-15T00:01:30Z,,${U}`,
  `C7,b,chat,2026-09-20T00:00:00Z,,,${U}`,
  `C8,a,phone,2025-10-10T00:00:00Z,2025-10-10T00:00:15Z,,${U}`,
  `C9,a,phone,2026-10-03T00:00:00Z,2026-10-02T00:00:00Z,,${U}`,
  `C10,a,phone,2026-10-04T00:00:00Z,2026-10-04T00:01:00Z,2026-10-04T00:00:30Z,${U}`,
  `C11,a,phone,,2026-10-04T00:01:00Z,,${U}`,
  `C12,b,chat,2026-10-02T00:00:00Z,,,2026-10-02T01:00:00Z`,
  `C12,b,chat,2026-10-02T00:00:00Z,2026-10-02T00:00:50Z,,2026-10-03T00:00:00Z`,
);

describeEngines('accessibility: contacts answered and abandoned (UTC, P = 2026-10)', (engine) => {
  let fx: Fixture;
  let m: MetricsJson;
  beforeAll(async () => {
    fx = await openFixture({ 'contacts/x.csv': CONTACTS }, engine);
    m = await fx.run('2026-10');
  });
  afterAll(() => fx.close());

  it('values, n, status against the default targets, previous and year-ago', () => {
    expectIndicator(m, 'answer_speed_avg_s', { value: 35, n: 4, status: 'at_risk', lowSample: true, previous: 90, target: 30, warn: 60 });
    expectIndicator(m, 'abandon_rate_pct', { value: 20, n: 5, status: 'missed', previous: 50, target: 5, warn: 8 });
    expect(m.indicators['answer_speed_avg_s']).toMatchObject({ unit: 's', direction: 'lower', category: 'accessibility', yearAgo: 15 });
    expect(m.indicators['abandon_rate_pct']).toMatchObject({ unit: '%', category: 'accessibility', yearAgo: 0 });
  });

  it('trend', () => {
    expectTrend(m.indicators['answer_speed_avg_s']!.trend, '2026-10', { '2026-09': [90, 1], '2026-10': [35, 4] });
    expectTrend(m.indicators['abandon_rate_pct']!.trend, '2026-10', { '2026-09': [50, 2], '2026-10': [20, 5] });
  });

  it('broken down by team and by channel', () => {
    expectSegments(m.segments.team, {
      a: { answer_speed_avg_s: [30, 2], abandon_rate_pct: [0, 2] },
      b: { answer_speed_avg_s: [50, 1], abandon_rate_pct: [50, 2] },
      unassigned: { answer_speed_avg_s: [30, 1], abandon_rate_pct: [0, 1] },
    });
    expectSegments(m.segments.channel, {
      phone: { answer_speed_avg_s: [25, 2], abandon_rate_pct: [100 / 3, 3] },
      chat: { answer_speed_avg_s: [45, 2], abandon_rate_pct: [0, 2] },
    });
  });

  it("each segment entry carries its own status, lowSample, previous, year-ago and trend", () => {
    const a = m.segments.team['a']!['answer_speed_avg_s']!;
    // 30 s <= target 30 (lower is better): met; n 2 < min_sample 30.
    expect(a).toMatchObject({ status: 'met', lowSample: true, previous: 90, yearAgo: 15 });
    expectTrend(a.trend, '2026-10', { '2026-09': [90, 1], '2026-10': [30, 2] }, 'team a speed');
    const b = m.segments.team['b']!;
    // b's September: C7 abandoned, so no answered contact (speed none) and abandon 1/1.
    expect(b['answer_speed_avg_s']).toMatchObject({ status: 'at_risk', previous: null, yearAgo: null });
    expect(b['abandon_rate_pct']).toMatchObject({ status: 'missed', previous: 100, yearAgo: null });
    expectTrend(b['abandon_rate_pct']!.trend, '2026-10', { '2026-09': [100, 1], '2026-10': [50, 2] }, 'team b abandon');
  });

  it('validation of the contacts table: its three order rules, required queued_at, the newest version wins', () => {
    expect(m.dataQuality.contacts).toEqual({
      present: true,
      rowsRead: 13,
      duplicatesDropped: 1,
      rejected: { missing_required: 1, inconsistent_times: 2 },
      recordsUsed: 9,
      newestUpdatedAt: U.replace('Z', '.000Z'),
      missingColumns: [],
      failedFiles: [],
    });
    expectPoint(m.segments.channel['chat']!['answer_speed_avg_s'], [45, 2], 'C12 newest version answered');
  });
});
