/**
 * The indicator set (spec/indicators.md) pinned on small hand-made fixtures: catalog shape, no_data,
 * and the seven ticket indicators (value, n, status incl. boundaries, lowSample, previous, trend,
 * team/channel breakdowns, SLA threshold, targets that change over time).
 *
 * Every expected number is worked out by hand in the comments next to the fixture rows.
 * Other files: indicators.surveys / .orders / .retention / .time / .quality .test.ts.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  SPEC_CATALOG,
  csv,
  expectIndicator,
  expectPoint,
  expectSegments,
  expectTrend,
  describeEngines, openFixture,
  periodsEndingWith,
  sec,
  type Fixture,
} from './indicators.support.js';
import { type MetricsJson } from '../../functions/metrics/schema.js';

const ALL_IDS = Object.keys(SPEC_CATALOG);

describeEngines('catalog and no_data', (engine) => {
  let absent: Fixture;
  let empty: Fixture;
  let mAbsent: MetricsJson;
  let mEmpty: MetricsJson;
  const TABLE_HEADERS: Record<string, string> = {
    tickets: 'ticket_id,created_at,updated_at',
    surveys: 'response_id,survey_type,sent_at,updated_at',
    orders: 'order_id,ordered_at,updated_at',
    complaints: 'complaint_id,opened_at,updated_at',
    invoices: 'invoice_id,updated_at',
    customers: 'customer_id,created_at,updated_at',
    contacts: 'contact_id,queued_at,updated_at',
  };

  beforeAll(async () => {
    // Six tables absent; invoices present with a header only, as a folder with none of the tables
    // is refused by the reader (test/integration/readerLayouts.test.ts).
    absent = await openFixture({ 'README.txt': 'no other tables', 'invoices/x.csv': csv(TABLE_HEADERS['invoices']!) }, engine);
    // Every table present, every file holding a header only (or nothing at all): present and empty.
    const files: Record<string, string> = {};
    for (const [t, h] of Object.entries(TABLE_HEADERS)) files[`${t}/x.csv`] = csv(h);
    files['tickets/dt=2026-10-01/empty.csv'] = '';
    empty = await openFixture(files, engine);
    [mAbsent, mEmpty] = await Promise.all([absent.run('2026-10'), empty.run('2026-10')]);
  });
  afterAll(async () => {
    await absent.close();
    await empty.close();
  });

  it('lists exactly the indicators of the spec table, with their direction and default target/warn', () => {
    // Version 2: 4 + 2 + 3 + 4 + 5 + 1 + 6 + 3 + 2 + 2 = 32.
    expect(ALL_IDS).toHaveLength(32);
    expect(Object.keys(mAbsent.indicators).sort()).toEqual([...ALL_IDS].sort());
    for (const [id, [direction, target, warn]] of Object.entries(SPEC_CATALOG)) {
      const r = mEmpty.indicators[id]!;
      expect(r.direction, id).toBe(direction);
      expect(r.target, `${id} target`).toBe(target);
      expect(r.warn, `${id} warn`).toBe(warn);
    }
  });

  it.each([
    ['tables absent (invoices only present, empty)', () => mAbsent],
    ['tables present but empty', () => mEmpty],
  ])('%s: every indicator is value null, n 0, no_data, previous null, 12 empty trend points', (_, get) => {
    const m = get();
    for (const id of ALL_IDS) {
      // Literal reading: lowSample = n < min_sample, so n = 0 is a low sample too.
      expectIndicator(m, id, { value: null, n: 0, status: 'no_data', lowSample: true, previous: null });
      expectTrend(m.indicators[id]!.trend, '2026-10', {}, id);
    }
    expect(m.segments).toEqual({ team: {}, channel: {} });
  });

  it('period bounds in UTC and the data-quality section of absent vs empty tables', () => {
    expect(mAbsent.period).toEqual({ id: '2026-10', timezone: 'UTC', start: '2026-10-01T00:00:00.000Z', end: '2026-11-01T00:00:00.000Z' });
    // The headers above name required columns only: the optional columns an indicator's definition
    // reads are missing from every file, so they are listed (an absent table has no files to tell).
    const missing: Record<string, string[]> = {
      tickets: ['first_response_at', 'reopened_count'],
      surveys: ['responded_at'],
      orders: ['returned_at'],
      complaints: ['resolved_at'],
      invoices: [],
      customers: ['churned_at'],
      contacts: ['answered_at'],
    };
    for (const t of Object.keys(TABLE_HEADERS)) {
      const empty = { rowsRead: 0, duplicatesDropped: 0, rejected: {}, recordsUsed: 0, newestUpdatedAt: null };
      if (t !== 'invoices') expect(mAbsent.dataQuality[t as 'tickets'], t).toEqual({ present: false, ...empty, missingColumns: [], failedFiles: [] });
      expect({ ...mEmpty.dataQuality[t as 'tickets'], missingColumns: [...mEmpty.dataQuality[t as 'tickets'].missingColumns].sort() }, t).toEqual({
        present: true,
        ...empty,
        missingColumns: missing[t],
        failedFiles: [],
      });
    }
  });
});

/*
 * Tickets, report period P = 2026-10 in UTC: P.start 2026-10-01T00:00Z, P.end 2026-11-01T00:00Z.
 *
 *  id   created            first response      resolved            chan   team     cc  rc  err
 *  T1   10-01 00:00        +2h                 +24h (10-02)        email  billing  1   0   false
 *  T2   10-05 10:00        +8h exactly         +48h (10-07 10:00)  email  support  2   0   true
 *  T3   10-10 00:00        +8h 0m 1s           -                   chat   billing  -   -   -
 *  T4   10-12 00:00        -                   +84h (10-15 12:00)  ''     ''       0   1   false
 *  T5   10-20 00:00        +0.5h               +6h                 chat   support  1   -   no
 *  T6   09-28 00:00        +1h                 10-03 00:00 (+120h) email  billing  1   2   false
 *  T7   10-31 23:59:59     -                   11-01 00:00 = P.end phone  support  1   0   N
 *  T8   11-01 00:00 = P.end +1h                -                   email  billing  1   0   true
 *  T9   09-10 00:00        +3h                 +24h                email  billing  1   0   false
 *  T10  09-15 00:00        +7h                 -                   fax    legacy   -   -   -
 *  T11  2025-11-01 00:00   +1h                 -                   web    billing  -   -   -
 *  T12  2025-10-31 23:59:59 +1h                2025-11-02 00:00 (+24h 1s)  web billing 1 0 true
 *
 * P: created in P = T1 T2 T3 T4 T5 T7 (6); resolved in P = T1 T2 T4 T5 T6 (5; T7 is at P.end).
 *  first_response_median_h: T1 2, T2 8, T3 8+1/3600, T5 0.5 -> sorted 0.5 2 8 8.0003 -> (2+8)/2 = 5, n 4
 *  first_response_sla_pct : judged in the period its deadline (created + 8 h) falls in (v2): deadlines
 *                           in P = T1 T2 T3 T4 T5 (T7's, 11-01 07:59:59, is in November); <= 8 h:
 *                           T1 T2 (exactly 8) T5 -> 3/5 = 60, n 5
 *  resolution_avg_h       : (24+48+84+6+120)/5 = 56.4, n 5
 *  ticket_volume          : 6
 *  fcr_pct                : contacts set: T1 ok, T2 (2) no, T4 (reopened 1) no, T5 (reopened null = 0) ok, T6 (reopened 2) no -> 2/5 = 40
 *  reopen_rate_pct        : T4, T6 -> 2/5 = 40
 *  service_error_rate_pct : has_error set: T1 f, T2 t, T4 f, T5 f, T7 f (T3 null) -> 1/5 = 20
 * P-1 = 2026-09: created T6 T9 T10 -> volume 3, median(1,3,7) = 3 (odd n), SLA deadlines T6 T9 T10 3/3, resolved T9 24h,
 *  fcr 1/1, reopen 0/1, error: T6 f, T9 f (T10 null) -> 0/2.
 * 2025-11 (P-11, first trend point): created T11 (T12 is before the window) -> volume 1, median 1,
 *  SLA deadlines T11 (11-01 08:00) and T12 (created 10-31 23:59:59, deadline 11-01 07:59:59), both
 *  answered in 1 h -> 2/2; resolved T12: 24h + 1s, fcr 1/1, reopen 0/1; error: T11 null -> n 0.
 */
const TICKETS = csv(
  'ticket_id,created_at,first_response_at,resolved_at,channel,team,contacts_count,reopened_count,has_error,updated_at',
  'T1,2026-10-01T00:00:00Z,2026-10-01T02:00:00Z,2026-10-02T00:00:00Z,email,billing,1,0,false,2026-11-02T00:00:00Z',
  'T2,2026-10-05T10:00:00Z,2026-10-05T18:00:00Z,2026-10-07T10:00:00Z,email,support,2,0,true,2026-11-02T00:00:00Z',
  'T3,2026-10-10T00:00:00Z,2026-10-10T08:00:01Z,,chat,billing,,,,2026-11-02T00:00:00Z',
  'T4,2026-10-12T00:00:00Z,,2026-10-15T12:00:00Z,,,0,1,false,2026-11-02T00:00:00Z',
  'T5,2026-10-20T00:00:00Z,2026-10-20T00:30:00Z,2026-10-20T06:00:00Z,chat,support,1,,no,2026-11-02T00:00:00Z',
  'T6,2026-09-28T00:00:00Z,2026-09-28T01:00:00Z,2026-10-03T00:00:00Z,email,billing,1,2,false,2026-11-02T00:00:00Z',
  'T7,2026-10-31T23:59:59Z,,2026-11-01T00:00:00Z,phone,support,1,0,N,2026-11-02T00:00:00Z',
  'T8,2026-11-01T00:00:00Z,2026-11-01T01:00:00Z,,email,billing,1,0,true,2026-11-02T00:00:00Z',
  'T9,2026-09-10T00:00:00Z,2026-09-10T03:00:00Z,2026-09-11T00:00:00Z,email,billing,1,0,false,2026-11-02T00:00:00Z',
  'T10,2026-09-15T00:00:00Z,2026-09-15T07:00:00Z,,fax,legacy,,,,2026-11-02T00:00:00Z',
  'T11,2025-11-01T00:00:00Z,2025-11-01T01:00:00Z,,web,billing,,,,2026-11-02T00:00:00Z',
  'T12,2025-10-31T23:59:59Z,2025-11-01T00:59:59Z,2025-11-02T00:00:00Z,web,billing,1,0,true,2026-11-02T00:00:00Z',
);

describeEngines('ticket indicators (UTC, P = 2026-10)', (engine) => {
  let fx: Fixture;
  let m: MetricsJson;
  let boundary: MetricsJson;
  let sla: MetricsJson;
  let changedOct: MetricsJson;
  let changedSep: MetricsJson;
  let nov: MetricsJson;
  let dec: MetricsJson;

  // Targets set exactly at the computed values to pin the boundaries (compare unrounded values).
  const BOUNDARY_TARGETS = `
min_sample: 5
targets:
  first_response_median_h: { target: 5, warn: 8 }         # 5 <= 5 (lower): met at the target
  first_response_sla_pct: { target: 70, warn: 60 }        # 60 >= 60 (higher): at_risk at the warn
  resolution_avg_h: { target: 50, warn: 56.4 }            # 56.4 <= 56.4 (lower): at_risk at the warn
  fcr_pct: { target: 40, warn: 30 }                       # 40 >= 40 (higher): met at the target
  reopen_rate_pct: null                                   # explicitly no target
  service_error_rate_pct: { target: 10, warn: 19.999999 } # 20 > warn (lower): missed
`;
  // Targets that change over time: an old period is judged by the target in force then.
  const CHANGING_TARGETS = `
targets:
  first_response_median_h:
    - { target: 2, warn: 3 }
    - { from: 2026-10, target: 6, warn: 7 }
  resolution_avg_h:
    - { from: 2026-10, target: 10, warn: 20 }
  service_error_rate_pct: { target: 30 }
  fcr_pct:
    - { target: 100, warn: 99 }
    - { from: 2026-11, target: 10, warn: 5 }
`;

  beforeAll(async () => {
    fx = await openFixture({ 'tickets/x.csv': TICKETS }, engine);
    [m, boundary, sla, changedOct, changedSep, nov, dec] = await Promise.all([
      fx.run('2026-10'),
      fx.run('2026-10', 'UTC', BOUNDARY_TARGETS),
      fx.run('2026-10', 'UTC', 'sla: { first_response_hours: 0.5 }\n'),
      fx.run('2026-10', 'UTC', CHANGING_TARGETS),
      fx.run('2026-09', 'UTC', CHANGING_TARGETS),
      fx.run('2026-11'),
      fx.run('2026-12'),
    ]);
  });
  afterAll(() => fx.close());

  it('values, n, default status, lowSample and previous', () => {
    expectIndicator(m, 'first_response_median_h', { value: 5, n: 4, status: 'at_risk', lowSample: true, previous: 3, target: 4, warn: 8 });
    expectIndicator(m, 'first_response_sla_pct', { value: 60, n: 5, status: 'missed', lowSample: true, previous: 100 });
    expectIndicator(m, 'resolution_avg_h', { value: 56.4, n: 5, status: 'at_risk', previous: 24 });
    expectIndicator(m, 'ticket_volume', { value: 6, n: 6, status: 'no_target', previous: 3, target: null, warn: null });
    expectIndicator(m, 'fcr_pct', { value: 40, n: 5, status: 'missed', previous: 100 });
    expectIndicator(m, 'reopen_rate_pct', { value: 40, n: 5, status: 'missed', previous: 0 });
    expectIndicator(m, 'service_error_rate_pct', { value: 20, n: 5, status: 'missed', previous: 0 });
  });

  it('trend: 12 points P-11..P, oldest first, each with its own bounds; empty months are null/0', () => {
    const t = (id: string) => m.indicators[id]!.trend;
    expectTrend(t('ticket_volume'), '2026-10', { '2025-11': [1, 1], '2026-09': [3, 3], '2026-10': [6, 6] }, 'volume');
    expectTrend(t('first_response_median_h'), '2026-10', { '2025-11': [1, 1], '2026-09': [3, 3], '2026-10': [5, 4] }, 'frm');
    expectTrend(t('first_response_sla_pct'), '2026-10', { '2025-11': [100, 2], '2026-09': [100, 3], '2026-10': [60, 5] }, 'sla');
    expectTrend(t('resolution_avg_h'), '2026-10', { '2025-11': [24 + sec(1), 1], '2026-09': [24, 1], '2026-10': [56.4, 5] }, 'res');
    expectTrend(t('fcr_pct'), '2026-10', { '2025-11': [100, 1], '2026-09': [100, 1], '2026-10': [40, 5] }, 'fcr');
    expectTrend(t('reopen_rate_pct'), '2026-10', { '2025-11': [0, 1], '2026-09': [0, 1], '2026-10': [40, 5] }, 'reopen');
    expectTrend(t('service_error_rate_pct'), '2026-10', { '2026-09': [0, 2], '2026-10': [20, 5] }, 'err');
  });

  it('yearAgo: the value for P-12 (2025-10), computed with that period\'s own bounds', () => {
    // 2025-10 holds T12 only (created 10-31 23:59:59, first response after 1 h; its SLA deadline and
    // its resolution fall in 2025-11).
    expectIndicator(m, 'ticket_volume', { value: 6, n: 6, status: 'no_target' });
    expect(m.indicators['ticket_volume']!.yearAgo).toBe(1);
    expect(m.indicators['first_response_median_h']!.yearAgo).toBe(1);
    expect(m.indicators['first_response_sla_pct']!.yearAgo).toBeNull();
    expect(m.indicators['resolution_avg_h']!.yearAgo).toBeNull();
  });

  it('every segment entry has its own status, lowSample, previous, yearAgo and 12-point trend', () => {
    // billing created: 2025-10 T12, 2025-11 T11, 2026-09 T6 T9, 2026-10 T1 T3.
    const volume = m.segments.team['billing']!['ticket_volume']!;
    expect(volume).toMatchObject({ value: 2, n: 2, status: 'no_target', lowSample: true, previous: 2, yearAgo: 1 });
    expectTrend(volume.trend, '2026-10', { '2025-11': [1, 1], '2026-09': [2, 2], '2026-10': [2, 2] }, 'billing volume');
    // billing SLA: deadlines 2025-11 T11 T12 (both in time), 2026-09 T6 T9 (in time), 2026-10 T1 (in time) T3 (late).
    const sla = m.segments.team['billing']!['first_response_sla_pct']!;
    expect(sla).toMatchObject({ value: 50, n: 2, status: 'missed', lowSample: true, previous: 100, yearAgo: null });
    expectTrend(sla.trend, '2026-10', { '2025-11': [100, 2], '2026-09': [100, 2], '2026-10': [50, 2] }, 'billing sla');
    // support's median first response (8 + 0.5) / 2 = 4.25 h: above the target 4, within the warn 8.
    expect(m.segments.team['support']!['first_response_median_h']).toMatchObject({ value: 4.25, status: 'at_risk', previous: null, yearAgo: null });
  });

  it('breakdown by team: null/empty team is "unassigned"; only segments and indicators with a non-empty population in P', () => {
    // billing: created T1 T3, resolved T1 T6. support: created T2 T5 T7, resolved T2 T5, SLA
    // deadlines T2 T5 (T7's is in November). unassigned: T4.
    // 'legacy' (T10, September only) has no population in P and is not listed.
    expectSegments(
      m.segments.team,
      {
        billing: {
          first_response_median_h: [(2 + 8 + sec(1)) / 2, 2],
          first_response_sla_pct: [50, 2],
          resolution_avg_h: [(24 + 120) / 2, 2],
          ticket_volume: [2, 2],
          fcr_pct: [50, 2],
          reopen_rate_pct: [50, 2],
          service_error_rate_pct: [0, 1],
        },
        support: {
          first_response_median_h: [(8 + 0.5) / 2, 2],
          first_response_sla_pct: [100, 2],
          resolution_avg_h: [(48 + 6) / 2, 2],
          ticket_volume: [3, 3],
          fcr_pct: [50, 2],
          reopen_rate_pct: [0, 2],
          service_error_rate_pct: [100 / 3, 3],
        },
        unassigned: {
          first_response_sla_pct: [0, 1],
          resolution_avg_h: [84, 1],
          ticket_volume: [1, 1],
          fcr_pct: [0, 1],
          reopen_rate_pct: [100, 1],
          service_error_rate_pct: [0, 1],
        },
      },
      'team',
    );
  });

  it('breakdown by channel', () => {
    // email: created T1 T2, resolved T1 T2 T6. chat: created T3 T5, resolved T5. phone: created T7 (resolved at P.end).
    expectSegments(
      m.segments.channel,
      {
        email: {
          first_response_median_h: [5, 2],
          first_response_sla_pct: [100, 2],
          resolution_avg_h: [(24 + 48 + 120) / 3, 3],
          ticket_volume: [2, 2],
          fcr_pct: [100 / 3, 3],
          reopen_rate_pct: [100 / 3, 3],
          service_error_rate_pct: [50, 2],
        },
        chat: {
          first_response_median_h: [(8 + sec(1) + 0.5) / 2, 2],
          first_response_sla_pct: [50, 2],
          resolution_avg_h: [6, 1],
          ticket_volume: [2, 2],
          fcr_pct: [100, 1],
          reopen_rate_pct: [0, 1],
          service_error_rate_pct: [0, 1],
        },
        // T7's SLA deadline (11-01 07:59:59) is in November: no SLA entry for phone in October.
        phone: { ticket_volume: [1, 1], service_error_rate_pct: [0, 1] },
        unassigned: {
          first_response_sla_pct: [0, 1],
          resolution_avg_h: [84, 1],
          ticket_volume: [1, 1],
          fcr_pct: [0, 1],
          reopen_rate_pct: [100, 1],
          service_error_rate_pct: [0, 1],
        },
      },
      'channel',
    );
  });

  it('status at the exact boundaries (unrounded), explicit null target, min_sample boundary', () => {
    expectIndicator(boundary, 'first_response_median_h', { value: 5, n: 4, status: 'met', lowSample: true });
    expectIndicator(boundary, 'first_response_sla_pct', { value: 60, n: 5, status: 'at_risk', lowSample: false }); // n = min_sample
    expectIndicator(boundary, 'resolution_avg_h', { value: 56.4, n: 5, status: 'at_risk', lowSample: false }); // n = min_sample
    expectIndicator(boundary, 'fcr_pct', { value: 40, n: 5, status: 'met', lowSample: false });
    expectIndicator(boundary, 'reopen_rate_pct', { value: 40, n: 5, status: 'no_target', target: null, warn: null });
    expectIndicator(boundary, 'service_error_rate_pct', { value: 20, n: 5, status: 'missed', target: 10, warn: 19.999999 });
    expectIndicator(boundary, 'ticket_volume', { value: 6, n: 6, status: 'no_target', lowSample: false });
    expect(boundary.settings.minSample).toBe(5);
  });

  it('sla.first_response_hours from the targets text; the threshold is inclusive', () => {
    // 0.5 h: deadlines in P = T1..T5 (T7's, 11-01 00:29:59, is in November); only T5 (exactly
    // 0.5 h) in time -> 1/5; September T6 T9 T10 at 1, 3, 7 h -> 0/3.
    expect(sla.settings.sla).toEqual({ firstResponseHours: 0.5, complaintResolutionHours: 72 });
    expectIndicator(sla, 'first_response_sla_pct', { value: 20, n: 5, status: 'missed', previous: 0 });
    expectPoint(sla.segments.team['support']!['first_response_sla_pct'], [50, 2], 'support');
    expectPoint(sla.segments.team['billing']!['first_response_sla_pct'], [0, 2], 'billing');
    // The default threshold is 8 h (T2 at exactly 8 h counts; T3 at 8 h 1 s does not): see the 60 above.
    expect(m.settings.sla).toEqual({ firstResponseHours: 8, complaintResolutionHours: 72 });
  });

  it('targets that change from a period: each period is judged by the target in force then', () => {
    // 2026-10: median 5 vs the 2026-10 entry (6/7) -> met; under the old entry (2/3) it would be missed.
    expectIndicator(changedOct, 'first_response_median_h', { value: 5, n: 4, status: 'met', target: 6, warn: 7 });
    // 2026-09: median 3 (odd n) vs the old entry (2/3) -> at_risk; the 2026-10 entry would say met.
    expectIndicator(changedSep, 'first_response_median_h', { value: 3, n: 3, status: 'at_risk', target: 2, warn: 3, previous: null });
    // Only an entry from 2026-10: 2026-10 uses it (56.4 > 20 -> missed) ...
    expectIndicator(changedOct, 'resolution_avg_h', { value: 56.4, n: 5, status: 'missed', target: 10, warn: 20 });
    // ... and 2026-09, before any entry applies, uses the spec default 48/72 (24 -> met). Ambiguity:
    // the spec does not say what applies before the first `from`; we read "the default".
    expectIndicator(changedSep, 'resolution_avg_h', { value: 24, n: 1, status: 'met', target: 48, warn: 72 });
    // An entry without warn has no warn level: 20 > 30? no -> met; (a value above target would be missed).
    expectIndicator(changedOct, 'service_error_rate_pct', { value: 20, n: 5, status: 'met', target: 30, warn: null });
    // An entry from a later period (2026-11) does not apply yet: 40 vs 100/99 -> missed.
    expectIndicator(changedOct, 'fcr_pct', { value: 40, n: 5, status: 'missed', target: 100, warn: 99 });
    // The 2026-09 run's own trend ends with 2026-09.
    expect(changedSep.indicators['ticket_volume']!.trend.map((p) => p.period)).toEqual(periodsEndingWith('2026-09', 12));
    // Its window starts at 2025-10, which now holds T12 (created 2025-10-31 23:59:59).
    expectTrend(changedSep.indicators['ticket_volume']!.trend, '2026-09', { '2025-10': [1, 1], '2025-11': [1, 1], '2026-09': [3, 3] });
    expectPoint(changedSep.segments.team['legacy']!['ticket_volume'], [1, 1], 'legacy');
  });

  it('exactly at P.end belongs to the next period; an empty P with a non-empty P-1', () => {
    // 2026-11: created T8 (11-01 00:00, has_error true, first response +1 h); resolved T7 (created
    // 10-31 23:59:59, resolved 11-01 00:00: 1 s, contacts 1, reopened 0).
    expectIndicator(nov, 'ticket_volume', { value: 1, n: 1, status: 'no_target', previous: 6 });
    expectIndicator(nov, 'first_response_median_h', { value: 1, n: 1, status: 'met', previous: 5 });
    expectIndicator(nov, 'resolution_avg_h', { value: sec(1), n: 1, status: 'met', previous: 56.4 });
    expectIndicator(nov, 'fcr_pct', { value: 100, n: 1, status: 'met', previous: 40 });
    expectIndicator(nov, 'service_error_rate_pct', { value: 100, n: 1, status: 'missed', previous: 20 });
    expect(Object.keys(nov.segments.team)).toEqual(['billing', 'support']);
    // 2026-12: nothing in P -> no_data, but previous is November's value.
    expectIndicator(dec, 'ticket_volume', { value: null, n: 0, status: 'no_data', previous: 1 });
    expectIndicator(dec, 'resolution_avg_h', { value: null, n: 0, status: 'no_data', lowSample: true, previous: sec(1) });
    expectTrend(dec.indicators['ticket_volume']!.trend, '2026-12', { '2026-09': [3, 3], '2026-10': [6, 6], '2026-11': [1, 1] });
    expect(dec.segments).toEqual({ team: {}, channel: {} });
  });

  it('a missed value below a warn-less target (lower is better)', async () => {
    const r = await fx.run('2026-10', 'UTC', 'targets:\n  service_error_rate_pct: { target: 19 }\n');
    expectIndicator(r, 'service_error_rate_pct', { value: 20, n: 5, status: 'missed', target: 19, warn: null });
  });
});

describeEngines('lowSample against the default min_sample (30)', (engine) => {
  let fx: Fixture;
  let oct: MetricsJson;
  let sep: MetricsJson;
  beforeAll(async () => {
    // 30 tickets created in October, 29 in September: n = 30 is not below 30; n = 29 is.
    const rows: string[] = [];
    // first_response_at is present (empty): every deadline (created + 8 h, the same day) is missed.
    for (let i = 1; i <= 30; i++) rows.push(`O${i},2026-10-${String(i).padStart(2, '0')}T12:00:00Z,,2026-11-02T00:00:00Z`);
    for (let i = 1; i <= 29; i++) rows.push(`S${i},2026-09-${String(i).padStart(2, '0')}T12:00:00Z,,2026-11-02T00:00:00Z`);
    fx = await openFixture({ 'tickets/x.csv': csv('ticket_id,created_at,first_response_at,updated_at', ...rows) }, engine);
    [oct, sep] = await Promise.all([fx.run('2026-10'), fx.run('2026-09')]);
  });
  afterAll(() => fx.close());

  it('n = 30 -> false, n = 29 -> true', () => {
    expectIndicator(oct, 'ticket_volume', { value: 30, n: 30, status: 'no_target', lowSample: false, previous: 29 });
    expectIndicator(oct, 'first_response_sla_pct', { value: 0, n: 30, status: 'missed', lowSample: false });
    expectIndicator(sep, 'ticket_volume', { value: 29, n: 29, status: 'no_target', lowSample: true });
    expect(oct.settings.minSample).toBe(30);
  });
});

/*
 * An absent column is unknown, not empty (v2): every table below has only its required columns,
 * one record in P (2026-10) and one in P-1, so the indicators whose definitions read an optional
 * column are no_data overall, per segment and at every trend point, while the others are computed.
 * The same tickets with first_response_at and reopened_count present but empty give 0 %.
 */
const REQUIRED_ONLY: Record<string, string> = {
  'tickets/x.csv': csv('ticket_id,team,created_at,resolved_at,updated_at', 'A1,red,2026-10-02T00:00:00Z,2026-10-03T00:00:00Z,2026-11-02', 'A2,red,2026-09-02T00:00:00Z,2026-09-03T00:00:00Z,2026-11-02'),
  'surveys/x.csv': csv('response_id,survey_type,team,sent_at,updated_at', 'S1,csat,red,2026-10-02T00:00:00Z,2026-11-02'),
  'orders/x.csv': csv('order_id,channel,ordered_at,delivered_at,updated_at', 'O1,web,2026-10-01T00:00:00Z,2026-10-02T00:00:00Z,2026-11-02'),
  'complaints/x.csv': csv('complaint_id,channel,opened_at,updated_at', 'C1,web,2026-09-20T00:00:00Z,2026-11-02'),
  'customers/x.csv': csv('customer_id,created_at,updated_at', 'U1,2026-01-01T00:00:00Z,2026-11-02'),
  'contacts/x.csv': csv('contact_id,team,queued_at,updated_at', 'K1,red,2026-10-02T00:00:00Z,2026-11-02'),
};
const READS_ABSENT = [
  'first_response_sla_pct',
  'reopen_rate_pct',
  'survey_response_rate_pct',
  'return_rate_pct',
  'complaint_resolved_in_sla_pct',
  'churn_rate_pct',
  'retention_rate_pct',
  'abandon_rate_pct',
  // Not in the definition's list of v2, but its population needs answered_at too: no data either way.
  'answer_speed_avg_s',
];

describeEngines('an optional column that no file has: its indicators are no_data', (engine) => {
  let absent: Fixture;
  let present: Fixture;
  let m: MetricsJson;
  let p: MetricsJson;
  beforeAll(async () => {
    absent = await openFixture(REQUIRED_ONLY, engine);
    present = await openFixture(
      { 'tickets/x.csv': csv('ticket_id,team,created_at,first_response_at,resolved_at,reopened_count,updated_at', 'A1,red,2026-10-02T00:00:00Z,,2026-10-03T00:00:00Z,,2026-11-02') },
      engine,
    );
    [m, p] = await Promise.all([absent.run('2026-10'), present.run('2026-10')]);
  });
  afterAll(async () => {
    await absent.close();
    await present.close();
  });

  it.each(READS_ABSENT)('%s: value null, n 0, no_data, no segment entry, 12 empty trend points', (id) => {
    expectIndicator(m, id, { value: null, n: 0, status: 'no_data', previous: null });
    expectTrend(m.indicators[id]!.trend, '2026-10', {}, id);
    for (const kind of ['team', 'channel'] as const) for (const [v, byId] of Object.entries(m.segments[kind])) expect(Object.keys(byId), `${kind} ${v}`).not.toContain(id);
  });

  it('the other indicators of the same tables are computed, and data quality names the missing columns', () => {
    // A1 created 10-02, resolved after 24 h; A2 in September.
    expectIndicator(m, 'ticket_volume', { value: 1, n: 1, status: 'no_target', previous: 1 });
    expectIndicator(m, 'resolution_avg_h', { value: 24, n: 1, status: 'met', previous: 24 });
    expectPoint(m.segments.team['red']!['ticket_volume'], [1, 1], 'red volume');
    expect([...m.dataQuality.tickets.missingColumns].sort()).toEqual(['first_response_at', 'reopened_count']);
    expect(m.dataQuality.contacts.missingColumns).toEqual(['answered_at']);
    expect(m.dataQuality.invoices).toMatchObject({ present: false, missingColumns: [] });
  });

  it('the same columns present but empty: the rates are 0 %', () => {
    // A1's deadline 10-02 08:00 is in P with no first response: 0/1; resolved in P, not reopened: 0/1.
    expectIndicator(p, 'first_response_sla_pct', { value: 0, n: 1, status: 'missed' });
    expectIndicator(p, 'reopen_rate_pct', { value: 0, n: 1, status: 'met' });
    expect(p.dataQuality.tickets.missingColumns).toEqual([]);
  });
});
