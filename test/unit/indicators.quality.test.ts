/**
 * Data contract (spec/data-contract.md) as seen through metrics.json: deduplication, validation
 * reasons and their order, dataQuality counts and identity, and every value format.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { csv, expectIndicator, expectPoint, describeEngines, openFixture, sec, type Fixture } from './indicators.support.js';
import { type MetricsJson, type TableQuality } from '../../functions/metrics/schema.js';

/** rowsRead = missing_key + bad_updated_at + duplicatesDropped + recordsUsed + other rejected. */
function expectIdentity(q: TableQuality, label: string): void {
  const rejected = Object.values(q.rejected).reduce((a, b) => a + (b ?? 0), 0);
  expect(q.rowsRead, `${label}: identity`).toBe(rejected + q.duplicatesDropped + q.recordsUsed);
}

/*
 * Tickets, one row per line; what each row is counted as:
 *  r1  Q1 newest (10-05), valid                         -> used
 *  r2  Q1 older (10-01)                                 -> duplicate
 *  r3  Q1 older (10-02), contacts 'abc'                 -> duplicate (an older invalid version is not a reject)
 *  r4  Q1 updated_at 'not-a-date'                       -> bad_updated_at (row; never a version)
 *  r5  Q2 newest (10-10), contacts 'two'                -> Q2 rejected bad_value ...
 *  r6  Q2 older (10-01), valid                          -> duplicate (... and NOT used in its place)
 *  r7  key '' and updated_at 'garbage'                  -> missing_key (first reason)
 *  r8  key ''                                           -> missing_key
 *  r9  Q3 updated_at 'yesterday'                        -> bad_updated_at
 *  r10 Q3 updated_at ''                                 -> bad_updated_at
 *  r11 Q4 created_at ''                                 -> missing_required
 *  r12 Q5 contacts -1, updated 12-01 (newest of all)    -> out_of_range (and not newestUpdatedAt)
 *  r13 Q6 resolved before created                       -> inconsistent_times
 *  r14 Q7 created '' and has_error 'maybe'              -> bad_value (before missing_required)
 *  r15 Q8 created '' and reopened -1                    -> missing_required (before out_of_range)
 *  r16 Q9 contacts -2 and first response before created -> out_of_range (before inconsistent_times)
 *  r17 Q10 created '31.12.2023 10:00'                   -> bad_value (unparseable required field is bad_value)
 *  r18 Q11 valid, updated 2026-10-20T10:00:00.123+02:00 -> used; newestUpdatedAt 2026-10-20T08:00:00.123Z
 *  r19 Q12 valid, all three times equal                 -> used (equal times are in order)
 * Second file (dt= partition, BOM, CRLF, upper-case headers in another order, an extra column, a
 * quoted field with a comma, quotes and a line break, blank lines): Q13, Q14 used.
 * Third file (.csv.gz): Q15 used; an older Q13 (duplicate) and a newer Q14 (wins across files: its
 * created_at moves to September; the other file's Q14 becomes a duplicate).
 * rowsRead 24 = missing_key 2 + bad_updated_at 3 + duplicates 5 + used 6 + bad_value 3 +
 *               missing_required 2 + out_of_range 2 + inconsistent_times 1.
 * ticket_volume (created in 2026-10): Q1 Q11 Q12 Q13 Q15 = 5; September: Q14.
 */
const TICKETS = csv(
  'ticket_id,created_at,first_response_at,resolved_at,contacts_count,reopened_count,has_error,updated_at',
  'Q1,2026-10-01T00:00:00Z,,,1,0,false,2026-10-05T00:00:00Z',
  'Q1,2026-10-01T00:00:00Z,,,1,0,false,2026-10-01T00:00:00Z',
  'Q1,2026-10-01T00:00:00Z,,,abc,0,false,2026-10-02T00:00:00Z',
  'Q1,2026-10-01T00:00:00Z,,,1,0,false,not-a-date',
  'Q2,2026-10-02T00:00:00Z,,,two,0,false,2026-10-10T00:00:00Z',
  'Q2,2026-10-02T00:00:00Z,,,1,0,false,2026-10-01T00:00:00Z',
  ',2026-10-03T00:00:00Z,,,1,0,false,garbage',
  ',2026-10-03T00:00:00Z,,,1,0,false,2026-10-01T00:00:00Z',
  'Q3,2026-10-03T00:00:00Z,,,1,0,false,yesterday',
  'Q3,2026-10-03T00:00:00Z,,,1,0,false,',
  'Q4,,,,1,0,false,2026-10-01T00:00:00Z',
  'Q5,2026-10-04T00:00:00Z,,,-1,0,false,2026-12-01T00:00:00Z',
  'Q6,2026-10-05T00:00:00Z,,2026-10-04T00:00:00Z,1,0,false,2026-10-01T00:00:00Z',
  'Q7,,,,1,0,maybe,2026-10-01T00:00:00Z',
  'Q8,,,,1,-1,false,2026-10-01T00:00:00Z',
  'Q9,2026-10-06T00:00:00Z,2026-10-05T00:00:00Z,,-2,0,false,2026-10-01T00:00:00Z',
  'Q10,31.12.2023 10:00,,,1,0,false,2026-10-01T00:00:00Z',
  'Q11,2026-10-07T00:00:00Z,,,1,0,false,2026-10-20T10:00:00.123+02:00',
  'Q12,2026-10-08T00:00:00Z,2026-10-08T00:00:00Z,2026-10-08T00:00:00Z,0,0,false,2026-10-06T00:00:00Z',
);
const TICKETS_PART =
  '\uFEFFUPDATED_AT,Ticket_ID,Status,Created_At,Extra\r\n' +
  '2026-10-06T00:00:00Z,Q13,"solved, really\r\nmultiline ""quoted""",2026-10-09T00:00:00Z,x\r\n' +
  '\r\n' +
  '2026-10-06T00:00:00Z,Q14,open,2026-10-09T12:00:00Z,y\r\n' +
  '\r\n';
const TICKETS_GZ = gzipSync(
  Buffer.from(
    csv(
      'ticket_id,created_at,updated_at',
      'Q15,2026-10-10T00:00:00Z,2026-10-06T00:00:00Z',
      'Q13,2026-10-09T00:00:00Z,2026-10-01T00:00:00Z', // older than the other file's Q13: duplicate
      'Q14,2026-09-15T00:00:00Z,2026-10-07T00:00:00Z', // newer than the other file's Q14: wins (created moves to September)
    ),
  ),
);

/*
 * Surveys (all sent 10-01, responded 10-02 unless said):
 *  used: V1 csat 5, V2 nps 0, V3 nps 10, V4 servqual reliability exp 1 score 7, V5 servqual tangibles
 *        exp 7 score 1, V24 servqual with no dimension (see below), V25 csat 1, V26 csat unanswered -> 8
 *  out_of_range: V6 type 'ces', V7 type 'CSAT' (literal: not one of csat/nps/servqual), V8 csat 6,
 *        V9 csat 0, V10 nps 11, V11 nps -1, V12 servqual score 8, V13 servqual score 0,
 *        V14 expectation 8, V15 expectation 0, V16 dimension 'speed', V23 csat 9 + responded before sent -> 12
 *  missing_required: V17 type '', V18 sent_at '', V22 type 'ces' + sent_at '' -> 3
 *  inconsistent_times: V19 responded before sent -> 1
 *  bad_value: V20 score 'five', V21 score '4.0' -> 2
 * Indicators: csat V1 5, V25 1 -> 50 n 2; nps V2 detractor, V3 promoter -> 0 n 2;
 *  reliability 7-1 = 6, tangibles 1-7 = -6 -> servqual_gap 0, n 2.
 * V24 (servqual, dimension empty): ambiguity. The contract flags a servqual `dimension` "outside the
 * five"; an empty field is null, and (like every other range rule) null is not a value outside the
 * range. We read it as accepted: used, but in no dimension.
 */
const S = (id: string, type: string, dim: string, exp: string, score: string, sent = '2026-10-01T00:00:00Z', resp = '2026-10-02T00:00:00Z') =>
  [id, type, dim, exp, score, sent, resp, '2026-10-03T00:00:00Z'].join(',');
const SURVEYS = csv(
  'response_id,survey_type,dimension,expectation,score,sent_at,responded_at,updated_at',
  S('V1', 'csat', '', '', '5'),
  S('V2', 'nps', '', '', '0'),
  S('V3', 'nps', '', '', '10'),
  S('V4', 'servqual', 'reliability', '1', '7'),
  S('V5', 'servqual', 'tangibles', '7', '1'),
  S('V6', 'ces', '', '', '3'),
  S('V7', 'CSAT', '', '', '3'),
  S('V8', 'csat', '', '', '6'),
  S('V9', 'csat', '', '', '0'),
  S('V10', 'nps', '', '', '11'),
  S('V11', 'nps', '', '', '-1'),
  S('V12', 'servqual', 'reliability', '4', '8'),
  S('V13', 'servqual', 'reliability', '4', '0'),
  S('V14', 'servqual', 'empathy', '8', '4'),
  S('V15', 'servqual', 'empathy', '0', '4'),
  S('V16', 'servqual', 'speed', '4', '4'),
  S('V17', '', '', '', '3'),
  S('V18', 'csat', '', '', '3', ''),
  S('V19', 'csat', '', '', '3', '2026-10-05T00:00:00Z', '2026-10-04T23:59:59Z'),
  S('V20', 'csat', '', '', 'five'),
  S('V21', 'csat', '', '', '4.0'),
  S('V22', 'ces', '', '', '3', ''),
  S('V23', 'csat', '', '', '9', '2026-10-05T00:00:00Z', '2026-10-04T00:00:00Z'),
  S('V24', 'servqual', '', '5', '5'),
  S('V25', 'csat', '', '', '1'),
  S('V26', 'csat', '', '', '', '2026-10-01T00:00:00Z', ''),
);

/*
 * Orders (all ordered 10-01, delivered 10-02, q 2/2 unless said):
 *  used: W1 amount 12.50, W2 -3.25, W3 +0.5, W4 7 (ambiguity: digits without '.' read as a decimal),
 *        W13 quantity_ordered '+2', quantity_delivered '-0' -> 5
 *  bad_value: W5 amount '12,50', W6 '€40', W12 is_accurate 'maybe' -> 3
 *  out_of_range: W7 quantity_ordered 0, W8 quantity_delivered -1 -> 2
 *  inconsistent_times: W9 delivered before ordered, W10 returned before delivered -> 2
 *  missing_required: W11 ordered_at '' -> 1
 * Fill rate: W1 2/2, W2 1/2, W3 2/2, W4 2/2, W13 0/2 -> 7/10 = 70, n 5.
 */
const W = (id: string, o: Partial<Record<'ordered' | 'delivered' | 'qo' | 'qd' | 'acc' | 'ret' | 'amount', string>>) =>
  [
    id,
    'c',
    o.ordered ?? '2026-10-01T00:00:00Z',
    o.delivered ?? '2026-10-02T00:00:00Z',
    o.qo ?? '2',
    o.qd ?? '2',
    o.acc ?? 'true',
    o.ret ?? '',
    o.amount ?? '1.00',
    '2026-10-03T00:00:00Z',
  ].join(',');
const ORDERS = csv(
  'order_id,customer_id,ordered_at,delivered_at,quantity_ordered,quantity_delivered,is_accurate,returned_at,amount,updated_at',
  W('W1', { amount: '12.50' }),
  W('W2', { amount: '-3.25', qd: '1' }),
  W('W3', { amount: '+0.5' }),
  W('W4', { amount: '7' }),
  W('W5', { amount: '"12,50"' }), // RFC 4180 quoted
  W('W6', { amount: '€40' }),
  W('W7', { qo: '0' }),
  W('W8', { qd: '-1' }),
  W('W9', { delivered: '2026-09-30T00:00:00Z' }),
  W('W10', { ret: '2026-10-01T12:00:00Z' }),
  W('W11', { ordered: '' }),
  W('W12', { acc: 'maybe' }),
  W('W13', { qo: '+2', qd: '-0' }),
);

const COMPLAINTS = csv(
  'complaint_id,opened_at,resolved_at,updated_at',
  'K1,2026-10-01T00:00:00Z,2026-10-02T00:00:00Z,2026-10-03T00:00:00Z',
  'K2,2026-10-02T00:00:00Z,2026-10-01T00:00:00Z,2026-10-03T00:00:00Z',
  'K3,,,2026-10-03T00:00:00Z',
);
const INVOICES = csv(
  'invoice_id,issued_at,due_at,is_accurate,amount,updated_at',
  'I1,2026-10-01T00:00:00Z,2026-10-01T00:00:00Z,yes,10.5,2026-10-03T00:00:00Z',
  'I2,2026-10-01T00:00:00Z,2026-10-01T00:00:00Z,x,10.5,2026-10-03T00:00:00Z',
  'I3,2026-10-01T00:00:00Z,2026-10-01T00:00:00Z,no,1.2.3,2026-10-03T00:00:00Z',
  'I4,2026-10-01T00:00:00Z,2026-09-30T00:00:00Z,NO,,2026-10-03T00:00:00Z', // issued after due: no order rule on invoices
);
const CUSTOMERS = csv(
  'customer_id,created_at,churned_at,updated_at',
  'P1,2026-01-01T00:00:00Z,,2026-10-03T00:00:00Z',
  'P2,2026-05-01T00:00:00Z,2026-04-30T23:59:59Z,2026-10-03T00:00:00Z',
  'P3,,,2026-10-03T00:00:00Z',
);

describeEngines('data quality: dedup, validation, counts', (engine) => {
  let fx: Fixture;
  let m: MetricsJson;
  beforeAll(async () => {
    fx = await openFixture({
      'tickets/x.csv': TICKETS,
      'tickets/dt=2026-10-31/part.csv': TICKETS_PART,
      'tickets/dt=2026-11-01/more.csv.gz': TICKETS_GZ,
      'surveys/x.csv': SURVEYS,
      'orders/x.csv': ORDERS,
      'complaints/x.csv': COMPLAINTS,
      'invoices/x.csv': INVOICES,
      'customers/x.csv': CUSTOMERS,
    }, engine);
    m = await fx.run('2026-10');
  });
  afterAll(() => fx.close());

  it('tickets: every reason, first-listed reason wins, greatest updated_at wins, newest invalid version rejects the record', () => {
    expect(m.dataQuality.tickets).toEqual({
      present: true,
      rowsRead: 24,
      duplicatesDropped: 5,
      rejected: { missing_key: 2, bad_updated_at: 3, bad_value: 3, missing_required: 2, out_of_range: 2, inconsistent_times: 1 },
      recordsUsed: 6,
      newestUpdatedAt: '2026-10-20T08:00:00.123Z',
      // Every optional column an indicator reads is in at least one file (x.csv), though not in part.csv.
      missingColumns: [],
      failedFiles: [],
    });
    expectIdentity(m.dataQuality.tickets, 'tickets');
    // Q2's older valid version is not used: only Q1 Q11 Q12 Q13 Q15 count (Q14's newest version is September).
    expectIndicator(m, 'ticket_volume', { value: 5, n: 5, status: 'no_target', previous: 1 });
    // Q12's first response at created_at: 0 h; Q1 Q11..Q15 have none.
    expectIndicator(m, 'first_response_median_h', { value: 0, n: 1, status: 'met' });
  });

  it('surveys: scale ranges per type, expectation 1..7, servqual dimension, survey_type', () => {
    expect(m.dataQuality.surveys).toEqual({
      present: true,
      rowsRead: 26,
      duplicatesDropped: 0,
      rejected: { out_of_range: 12, missing_required: 3, inconsistent_times: 1, bad_value: 2 },
      recordsUsed: 8,
      newestUpdatedAt: '2026-10-03T00:00:00.000Z',
      missingColumns: [],
      failedFiles: [],
    });
    expectIdentity(m.dataQuality.surveys, 'surveys');
    expectIndicator(m, 'csat_pct', { value: 50, n: 2, status: 'missed' });
    expectIndicator(m, 'nps', { value: 0, n: 2, status: 'missed' });
    expectIndicator(m, 'servqual_gap_reliability', { value: 6, n: 1, status: 'met' });
    expectIndicator(m, 'servqual_gap_tangibles', { value: -6, n: 1, status: 'missed' });
    expectIndicator(m, 'servqual_gap', { value: 0, n: 2, status: 'met' });
    // sent in P: V1 V2 V3 V25 V26 (csat/nps, used) -> 4 of 5 responded.
    expectIndicator(m, 'survey_response_rate_pct', { value: 80, n: 5, status: 'met' });
  });

  it('orders: int with sign, decimals, bools, quantity ranges, both time-order rules', () => {
    expect(m.dataQuality.orders).toEqual({
      present: true,
      rowsRead: 13,
      duplicatesDropped: 0,
      rejected: { bad_value: 3, out_of_range: 2, inconsistent_times: 2, missing_required: 1 },
      recordsUsed: 5,
      newestUpdatedAt: '2026-10-03T00:00:00.000Z',
      missingColumns: [],
      failedFiles: [],
    });
    expectIdentity(m.dataQuality.orders, 'orders');
    expectIndicator(m, 'order_fill_rate_pct', { value: 70, n: 5, status: 'missed' });
  });

  it('complaints, invoices, customers', () => {
    expect(m.dataQuality.complaints).toMatchObject({ rowsRead: 3, rejected: { inconsistent_times: 1, missing_required: 1 }, recordsUsed: 1 });
    expect(m.dataQuality.invoices).toMatchObject({ rowsRead: 4, rejected: { bad_value: 2 }, recordsUsed: 2 });
    expect(m.dataQuality.customers).toMatchObject({ rowsRead: 3, rejected: { inconsistent_times: 1, missing_required: 1 }, recordsUsed: 1 });
    for (const t of ['complaints', 'invoices', 'customers'] as const) expectIdentity(m.dataQuality[t], t);
    // I1 on time (equal), I4 late; both accurate flags parsed (yes / NO).
    expectIndicator(m, 'invoice_on_time_pct', { value: 50, n: 2, status: 'missed' });
    expectIndicator(m, 'invoice_accuracy_pct', { value: 50, n: 2, status: 'missed' });
  });
});

/*
 * Value formats on tickets. Each used ticket is its own team, created 2026-10-10T00:00:00Z, so the
 * team's resolution_avg_h is that one ticket's parsed duration.
 *  F1  resolved 2026-10-10T06:00:00Z             6 h       has_error TRUE  -> 1   contacts +1  -> fcr ok
 *  F2  2026-10-10T06:00:00+03:00                 3 h       False           -> 0   -0           ok
 *  F3  2026-10-10T06:00:00-05:00                 11 h      YES             -> 1   0            ok
 *  F4  2026-10-10T06:00:00 (no offset: UTC)      6 h       no              -> 0   1            ok
 *  F5  2026-10-11 (bare date: 00:00 UTC)         24 h      Y               -> 1   007 (= 7)    not ok
 *  F6  2026-10-10 06:00:00Z (space)              6 h       n               -> 0   +0           ok
 *  F7  2026-10-10 06:00:00.5+00:00               6 h 0.5 s 1               -> 1   1, reopened +0  ok
 *  F8  2026-10-10T06:00:00.123Z                  6 h 0.123 s 0             -> 0   1, reopened -0  ok
 *  F9  2026-10-10 06:00:00 (space, no offset)    6 h       yEs             -> 1   1, reopened +1  not ok (reopened)
 *  F10 2026-10-10T06:00:00.250 (no offset)       6 h 0.25 s N              -> 0   1            ok
 * bad_value (14): resolved '2026-10-10T06:00Z' (no seconds), '2026-13-01T00:00:00Z', '2026-02-30',
 *  '10/11/2026', '2026-10-10T06:00:00+0300' (offset without colon), 'yesterday'; has_error 'maybe',
 *  't', '2', 'ja'; contacts_count '1.0', '1e2', '+', 'one'.
 * resolution_avg_h = (6+3+11+6+24+6+6+6+6+6 + (0.5+0.123+0.25)/3600) / 10
 * service_error_rate_pct = 5/10; fcr_pct = 8/10; reopen_rate_pct = 1/10.
 */
const F = (id: string, resolved: string, err: string, contacts = '1', reopened = '0') =>
  [id, id, '2026-10-10T00:00:00Z', resolved, contacts, reopened, err, '2026-10-20T00:00:00Z'].join(',');
const FORMATS = csv(
  'ticket_id,team,created_at,resolved_at,contacts_count,reopened_count,has_error,updated_at',
  F('F1', '2026-10-10T06:00:00Z', 'TRUE', '+1'),
  F('F2', '2026-10-10T06:00:00+03:00', 'False', '-0'),
  F('F3', '2026-10-10T06:00:00-05:00', 'YES', '0'),
  F('F4', '2026-10-10T06:00:00', 'no'),
  F('F5', '2026-10-11', 'Y', '007'),
  F('F6', '2026-10-10 06:00:00Z', 'n', '+0'),
  F('F7', '2026-10-10 06:00:00.5+00:00', '1', '1', '+0'),
  F('F8', '2026-10-10T06:00:00.123Z', '0', '1', '-0'),
  F('F9', '2026-10-10 06:00:00', 'yEs', '1', '+1'),
  F('F10', '2026-10-10T06:00:00.250', 'N'),
  F('G1', '2026-10-10T06:00Z', 'true'),
  F('G2', '2026-13-01T00:00:00Z', 'true'),
  F('G3', '2026-02-30', 'true'),
  F('G4', '10/11/2026', 'true'),
  F('G5', '2026-10-10T06:00:00+0300', 'true'),
  F('G6', 'yesterday', 'true'),
  F('H1', '2026-10-10T06:00:00Z', 'maybe'),
  F('H2', '2026-10-10T06:00:00Z', 't'),
  F('H3', '2026-10-10T06:00:00Z', '2'),
  F('H4', '2026-10-10T06:00:00Z', 'ja'),
  F('J1', '2026-10-10T06:00:00Z', 'true', '1.0'),
  F('J2', '2026-10-10T06:00:00Z', 'true', '1e2'),
  F('J3', '2026-10-10T06:00:00Z', 'true', '+'),
  F('J4', '2026-10-10T06:00:00Z', 'true', 'one'),
);

describeEngines('a file without a required column', (engine) => {
  it('is a clear error naming the table, the file and the column', async () => {
    await expect(openFixture({ 'tickets/dt=2026-10-01/a.csv': csv('ticket_id,updated_at', 'X,2026-10-01') }, engine)).rejects.toThrow(
      /tickets.*dt=2026-10-01\/a\.csv.*created_at/,
    );
  });
});

describeEngines('value formats', (engine) => {
  let fx: Fixture;
  let m: MetricsJson;
  beforeAll(async () => {
    fx = await openFixture({ 'tickets/x.csv': FORMATS }, engine);
    m = await fx.run('2026-10');
  });
  afterAll(() => fx.close());

  it('timestamps: Z, ±HH:MM, no offset = UTC, bare date = 00:00 UTC, space for T, fractional seconds', () => {
    const hours: Record<string, number> = {
      F1: 6,
      F2: 3,
      F3: 11,
      F4: 6,
      F5: 24,
      F6: 6,
      F7: 6 + sec(0.5),
      F8: 6 + sec(0.123),
      F9: 6,
      F10: 6 + sec(0.25),
    };
    expect(Object.keys(m.segments.team).sort()).toEqual(Object.keys(hours).sort());
    for (const [id, h] of Object.entries(hours)) expectPoint(m.segments.team[id]!['resolution_avg_h'], [h, 1], id);
    expectIndicator(m, 'resolution_avg_h', { value: (80 + sec(0.873)) / 10, n: 10, status: 'met' });
    expect(m.dataQuality.tickets).toMatchObject({ rowsRead: 24, recordsUsed: 10, rejected: { bad_value: 14 } });
  });

  it('bools: true/false, 1/0, yes/no, y/n in any case', () => {
    const err: Record<string, number> = { F1: 100, F2: 0, F3: 100, F4: 0, F5: 100, F6: 0, F7: 100, F8: 0, F9: 100, F10: 0 };
    for (const [id, v] of Object.entries(err)) expectPoint(m.segments.team[id]!['service_error_rate_pct'], [v, 1], id);
    expectIndicator(m, 'service_error_rate_pct', { value: 50, n: 10, status: 'missed' });
  });

  it('ints: optional sign, leading zeros', () => {
    const fcr: Record<string, number> = { F1: 100, F2: 100, F3: 100, F4: 100, F5: 0, F6: 100, F7: 100, F8: 100, F9: 0, F10: 100 };
    for (const [id, v] of Object.entries(fcr)) expectPoint(m.segments.team[id]!['fcr_pct'], [v, 1], id);
    expectIndicator(m, 'fcr_pct', { value: 80, n: 10, status: 'met' });
    expectIndicator(m, 'reopen_rate_pct', { value: 10, n: 10, status: 'missed' });
  });
});
