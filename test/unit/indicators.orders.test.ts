/**
 * Order fulfilment and complaint indicators (spec/indicators.md), incl. repeat purchase over 12
 * periods and the complaint rate with the complaints table present-but-empty vs absent.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { csv, expectIndicator, expectSegments, expectTrend, describeEngines, openFixture, sec, type Fixture } from './indicators.support.js';
import { type MetricsJson } from '../../functions/metrics/schema.js';

const U = '2026-11-02T00:00:00Z';

/*
 * P = 2026-10 (UTC).
 *  id  cust chan   ordered  promised delivered   q_ord q_del accurate chg_req chg_acc returned
 *  O1  c1   web    09-25    10-02    10-02 (=promised) 10 10  true     false   -       -
 *  O2  c2   web    10-01    10-03    10-04 (late)  5    3     false    true    true    10-10
 *  O3  c3   store  10-02    -        10-05         4    6     -        true    false   -
 *  O4  c1   ''     10-03    10-10    10-08         -    2     true     true    -       10-20
 *  O5  c4   store  10-05    10-06    11-01 00:00 (P.end) 2 2  true     false   -       -
 *  O6  c5   web    10-20    -        -             3    -     -        yes     yes     -
 *  O7  c6   phone  10-30    -        -             1    -     -        false   true    -
 *  O8  -    web    09-10    09-12    09-12         1    0     true     -       -       -
 *
 * Delivered in P: O1 O2 O3 O4.
 *  on_time_delivery_pct: promised set O1 (on time, equal) O2 (late) O4 (early) -> 2/3
 *  order_fill_rate_pct : both quantities O1 O2 O3 -> (10 + 3 + min(6,4)=4) / (10+5+4) = 17/19, n 3
 *  order_accuracy_pct  : O1 t, O2 f, O4 t -> 2/3
 *  return_rate_pct     : O2, O4 returned -> 2/4
 * Ordered in P: O2 O3 O4 O5 O6 O7 (6).
 *  order_change_flexibility_pct: requested and accommodated set: O2 t, O3 f, O6 t (O4 acc null, O7 not requested) -> 2/3
 * repeat purchase (window 2025-11..2026-10): c1 (O1 Sep, O4 Oct) repeats; c2..c6 once; O8 has no customer -> 1/6.
 *  September (window 2025-10..2026-09): c1 once -> 0/1.
 * September: delivered O8 -> on time 1/1, fill 0/1, accurate 1/1, returned 0/1; ordered O1 O8, no change request -> null.
 *
 *  complaints  chan   opened        resolved
 *  K1          web    10-01 00:00   10-04 00:00  (72 h exactly: in SLA)
 *  K2          web    10-02 00:00   10-05 00:00:01 (72 h + 1 s: not in SLA)
 *  K3          store  10-10         -
 *  K4          ''     09-28 00:00   10-01 12:00  (84 h; opened in September)
 *  K5          chat   10-15 00:00   10-15 06:00  (6 h)
 *  K6          phone  11-01 00:00 (P.end)
 *  complaint_rate_per_1000_orders = 1000 * |{K1 K2 K3 K5}| / 6 orders = 4000/6
 *  complaint_resolved_in_sla_pct  : judged in the period its deadline (opened + 72 h) falls in (v2):
 *                                   deadlines in P = K1 (10-04) K2 (10-05) K3 (10-13) K4 (10-01 00:00 =
 *                                   P.start) K5 (10-18); in SLA K1 K5 -> 2/5 = 40 (K6's is in November)
 *  complaint_resolution_median_h  = resolved in P: K1 72, K2 72+1s, K4 84, K5 6 -> (72 + 72+1s)/2
 *  September: opened K4, rate 1000 * 1 / 2 (O1 O8) = 500; no deadline falls in September (K4's is
 *  P.start), so no SLA value; nothing resolved.
 *  With a 6 h SLA the deadlines move: K4's (09-28 06:00) is in September, so P has K1 K2 K3 K5 and
 *  only K5 (exactly 6 h) is in SLA -> 1/4 = 25.
 */
const ORDERS = csv(
  'order_id,customer_id,channel,ordered_at,promised_at,delivered_at,quantity_ordered,quantity_delivered,is_accurate,change_requested,change_accommodated,returned_at,updated_at',
  `O1,c1,web,2026-09-25T00:00:00Z,2026-10-02T00:00:00Z,2026-10-02T00:00:00Z,10,10,true,false,,,${U}`,
  `O2,c2,web,2026-10-01T00:00:00Z,2026-10-03T00:00:00Z,2026-10-04T00:00:00Z,5,3,false,true,true,2026-10-10T00:00:00Z,${U}`,
  `O3,c3,store,2026-10-02T00:00:00Z,,2026-10-05T00:00:00Z,4,6,,true,false,,${U}`,
  `O4,c1,,2026-10-03T00:00:00Z,2026-10-10T00:00:00Z,2026-10-08T00:00:00Z,,2,true,true,,2026-10-20T00:00:00Z,${U}`,
  `O5,c4,store,2026-10-05T00:00:00Z,2026-10-06T00:00:00Z,2026-11-01T00:00:00Z,2,2,true,false,,,${U}`,
  `O6,c5,web,2026-10-20T00:00:00Z,,,3,,,yes,yes,,${U}`,
  `O7,c6,phone,2026-10-30T00:00:00Z,,,1,,,false,true,,${U}`,
  `O8,,web,2026-09-10T00:00:00Z,2026-09-12T00:00:00Z,2026-09-12T00:00:00Z,1,0,true,,,,${U}`,
);
const COMPLAINTS = csv(
  'complaint_id,channel,opened_at,resolved_at,updated_at',
  `K1,web,2026-10-01T00:00:00Z,2026-10-04T00:00:00Z,${U}`,
  `K2,web,2026-10-02T00:00:00Z,2026-10-05T00:00:01Z,${U}`,
  `K3,store,2026-10-10T00:00:00Z,,${U}`,
  `K4,,2026-09-28T00:00:00Z,2026-10-01T12:00:00Z,${U}`,
  `K5,chat,2026-10-15T00:00:00Z,2026-10-15T06:00:00Z,${U}`,
  `K6,phone,2026-11-01T00:00:00Z,,${U}`,
);

describeEngines('order and complaint indicators (UTC, P = 2026-10)', (engine) => {
  let fx: Fixture;
  let emptyComplaints: Fixture;
  let noComplaints: Fixture;
  let noOrders: Fixture;
  let m: MetricsJson;
  let sla6: MetricsJson;
  let mEmpty: MetricsJson;
  let mNoComplaints: MetricsJson;
  let mNoOrders: MetricsJson;

  beforeAll(async () => {
    [fx, emptyComplaints, noComplaints, noOrders] = await Promise.all([
      openFixture({ 'orders/x.csv': ORDERS, 'complaints/x.csv': COMPLAINTS }, engine),
      openFixture({ 'orders/x.csv': ORDERS, 'complaints/x.csv': csv('complaint_id,channel,opened_at,resolved_at,updated_at') }, engine),
      openFixture({ 'orders/x.csv': ORDERS }, engine),
      openFixture({ 'complaints/x.csv': COMPLAINTS }, engine),
    ]);
    [m, sla6, mEmpty, mNoComplaints, mNoOrders] = await Promise.all([
      fx.run('2026-10'),
      fx.run('2026-10', 'UTC', 'sla:\n  complaint_resolution_hours: 6\n'),
      emptyComplaints.run('2026-10'),
      noComplaints.run('2026-10'),
      noOrders.run('2026-10'),
    ]);
  });
  afterAll(async () => {
    for (const f of [fx, emptyComplaints, noComplaints, noOrders]) await f.close();
  });

  it('fulfilment values, n, status, previous', () => {
    expectIndicator(m, 'on_time_delivery_pct', { value: 200 / 3, n: 3, status: 'missed', previous: 100 });
    expectIndicator(m, 'order_fill_rate_pct', { value: (100 * 17) / 19, n: 3, status: 'missed', previous: 0 });
    expectIndicator(m, 'order_accuracy_pct', { value: 200 / 3, n: 3, status: 'missed', previous: 100 });
    expectIndicator(m, 'order_change_flexibility_pct', { value: 200 / 3, n: 3, status: 'missed', previous: null });
    expectIndicator(m, 'return_rate_pct', { value: 50, n: 4, status: 'missed', previous: 0 });
    expectIndicator(m, 'repeat_purchase_rate_pct', { value: 100 / 6, n: 6, status: 'missed', previous: 0 });
  });

  it('complaint values, n, status, previous; inclusive 72 h SLA', () => {
    expectIndicator(m, 'complaint_rate_per_1000_orders', { value: 4000 / 6, n: 6, status: 'missed', previous: 500 });
    expectIndicator(m, 'complaint_resolved_in_sla_pct', { value: 40, n: 5, status: 'missed', previous: null });
    expectIndicator(m, 'complaint_resolution_median_h', { value: 72 + sec(1) / 2, n: 4, status: 'at_risk', previous: null });
  });

  it('sla.complaint_resolution_hours from the targets text (inclusive: K5 at exactly 6 h counts)', () => {
    expect(sla6.settings.sla).toEqual({ firstResponseHours: 8, complaintResolutionHours: 6 });
    expectIndicator(sla6, 'complaint_resolved_in_sla_pct', { value: 25, n: 4, status: 'missed' });
  });

  it('trend', () => {
    const t = (id: string) => m.indicators[id]!.trend;
    expectTrend(t('on_time_delivery_pct'), '2026-10', { '2026-09': [100, 1], '2026-10': [200 / 3, 3] }, 'otd');
    expectTrend(t('order_fill_rate_pct'), '2026-10', { '2026-09': [0, 1], '2026-10': [1700 / 19, 3] }, 'fill');
    expectTrend(t('order_accuracy_pct'), '2026-10', { '2026-09': [100, 1], '2026-10': [200 / 3, 3] }, 'acc');
    expectTrend(t('order_change_flexibility_pct'), '2026-10', { '2026-10': [200 / 3, 3] }, 'chg');
    expectTrend(t('return_rate_pct'), '2026-10', { '2026-09': [0, 1], '2026-10': [50, 4] }, 'ret');
    expectTrend(t('repeat_purchase_rate_pct'), '2026-10', { '2026-09': [0, 1], '2026-10': [100 / 6, 6] }, 'rep');
    expectTrend(t('complaint_rate_per_1000_orders'), '2026-10', { '2026-09': [500, 2], '2026-10': [4000 / 6, 6] }, 'rate');
    expectTrend(t('complaint_resolved_in_sla_pct'), '2026-10', { '2026-10': [40, 5] }, 'insla');
    expectTrend(t('complaint_resolution_median_h'), '2026-10', { '2026-10': [72 + sec(1) / 2, 4] }, 'median');
  });

  it('breakdown by channel only (orders and complaints have no team; repeat purchase has no breakdown)', () => {
    // web: delivered O1 O2, ordered O2 O6, complaints opened K1 K2, resolved K1 K2.
    // store: delivered O3, ordered O3 O5, complaint K3 (unresolved).
    // unassigned: delivered/ordered O4; complaint K4 opened in September, resolved in P, its SLA
    // deadline (10-01 00:00) in P.
    // chat: complaint K5 only -> no orders, so no complaint rate. phone: ordered O7, complaint K6 after P.
    expectSegments(
      m.segments.channel,
      {
        web: {
          on_time_delivery_pct: [50, 2],
          order_fill_rate_pct: [(100 * 13) / 15, 2],
          order_accuracy_pct: [50, 2],
          order_change_flexibility_pct: [100, 2],
          return_rate_pct: [50, 2],
          complaint_rate_per_1000_orders: [1000, 2],
          complaint_resolved_in_sla_pct: [50, 2],
          complaint_resolution_median_h: [72 + sec(1) / 2, 2],
        },
        store: {
          order_fill_rate_pct: [100, 1],
          order_change_flexibility_pct: [0, 1],
          return_rate_pct: [0, 1],
          complaint_rate_per_1000_orders: [500, 2],
          complaint_resolved_in_sla_pct: [0, 1],
        },
        unassigned: {
          on_time_delivery_pct: [100, 1],
          order_accuracy_pct: [100, 1],
          return_rate_pct: [100, 1],
          complaint_rate_per_1000_orders: [0, 1],
          complaint_resolution_median_h: [84, 1],
          complaint_resolved_in_sla_pct: [0, 1],
        },
        chat: { complaint_resolved_in_sla_pct: [100, 1], complaint_resolution_median_h: [6, 1] },
        phone: { complaint_rate_per_1000_orders: [0, 1] },
      },
      'channel',
    );
    expect(m.segments.team).toEqual({});
  });

  it('complaints table present but empty: rate 0 where orders exist; the other complaint indicators no_data', () => {
    expectIndicator(mEmpty, 'complaint_rate_per_1000_orders', { value: 0, n: 6, status: 'met', previous: 0 });
    expectTrend(mEmpty.indicators['complaint_rate_per_1000_orders']!.trend, '2026-10', { '2026-09': [0, 2], '2026-10': [0, 6] });
    expectIndicator(mEmpty, 'complaint_resolved_in_sla_pct', { value: null, n: 0, status: 'no_data' });
    expectIndicator(mEmpty, 'complaint_resolution_median_h', { value: null, n: 0, status: 'no_data' });
    const rate = Object.fromEntries(
      Object.entries(mEmpty.segments.channel).flatMap(([seg, inds]) => {
        const r = inds['complaint_rate_per_1000_orders'];
        return r ? [[seg, [r.value, r.n]]] : [];
      }),
    );
    expect(rate).toEqual({ web: [0, 2], store: [0, 2], unassigned: [0, 1], phone: [0, 1] });
  });

  it('complaints table absent: every complaint indicator no_data (orders indicators unaffected)', () => {
    for (const id of ['complaint_rate_per_1000_orders', 'complaint_resolved_in_sla_pct', 'complaint_resolution_median_h']) {
      expectIndicator(mNoComplaints, id, { value: null, n: 0, status: 'no_data', previous: null });
      expectTrend(mNoComplaints.indicators[id]!.trend, '2026-10', {}, id);
      for (const seg of Object.values(mNoComplaints.segments.channel)) expect(seg[id]).toBeUndefined();
    }
    expectIndicator(mNoComplaints, 'return_rate_pct', { value: 50, n: 4, status: 'missed' });
  });

  it('orders table absent: complaint rate no_data; complaint SLA/median still computed', () => {
    expectIndicator(mNoOrders, 'complaint_rate_per_1000_orders', { value: null, n: 0, status: 'no_data' });
    expectIndicator(mNoOrders, 'complaint_resolved_in_sla_pct', { value: 40, n: 5, status: 'missed' });
    expectIndicator(mNoOrders, 'repeat_purchase_rate_pct', { value: null, n: 0, status: 'no_data' });
  });
});

/*
 * repeat_purchase_rate_pct: distinct customers with an order in the 12 periods ending with T, and
 * of those the ones with >= 2 such orders. Each trend point T has its own window T-11..T.
 *
 *  r1: 2026-03, 2026-10              r2: 2025-10-31 23:59:59 (just before P-11), 2026-10
 *  r3: 2025-11-01 00:00 (first instant of P-11)                     r4: 2026-06-01, 2026-06-20 (same month)
 *  r5: 2026-10-31, 2026-11-01 00:00 (= P.end, after P)             r6: 2025-09, 2025-10
 *  r7: 2026-10 valid + 2026-09 with quantity_ordered 0 (rejected)   r8: 2025-01, 2025-12, 2026-09
 *  r9: 2024-11-30 23:59:59, 2024-12-01 00:00 (first instant of P-22)
 *  r10: only a rejected order          r11: one order X1 exported in two versions (counts once)
 *  no customer_id: 2026-01, 2026-02 (not counted)
 *
 *  T        window            active                        repeaters        value
 *  2025-11  2024-12..2025-11  r2 r3 r6 r8 r9 (5)            r6               20
 *  2025-12  2025-01..2025-12  r2 r3 r6 r8 (4)               r6 r8            50
 *  2026-01  2025-02..2026-01  r2 r3 r6 r8 (4)               r6               25
 *  2026-02  2025-03..2026-02  same                          r6               25
 *  2026-03  2025-04..2026-03  + r1 (5)                      r6               20
 *  2026-04, 2026-05           same (5)                      r6               20
 *  2026-06  2025-07..2026-06  r1 r2 r3 r4 r6 r8 (6)         r4 r6            100/3
 *  2026-07, 2026-08           same                          r4 r6            100/3
 *  2026-09  2025-10..2026-09  r1 r2 r3 r4 r6 r8 (6)         r4 r8            100/3
 *  2026-10  2025-11..2026-10  r1 r2 r3 r4 r5 r7 r8 r11 (8)  r1 r4 r8         37.5
 */
const REPEAT = csv(
  'order_id,customer_id,ordered_at,quantity_ordered,updated_at',
  `A1,r1,2026-03-10T00:00:00Z,1,${U}`,
  `A2,r1,2026-10-05T00:00:00Z,1,${U}`,
  `B1,r2,2025-10-31T23:59:59Z,1,${U}`,
  `B2,r2,2026-10-05T00:00:00Z,1,${U}`,
  `C1,r3,2025-11-01T00:00:00Z,1,${U}`,
  `D1,r4,2026-06-01T00:00:00Z,1,${U}`,
  `D2,r4,2026-06-20T00:00:00Z,1,${U}`,
  `E1,r5,2026-10-31T00:00:00Z,1,${U}`,
  `E2,r5,2026-11-01T00:00:00Z,1,${U}`,
  `F1,r6,2025-09-01T00:00:00Z,1,${U}`,
  `F2,r6,2025-10-15T00:00:00Z,1,${U}`,
  `G1,r7,2026-10-10T00:00:00Z,1,${U}`,
  `G2,r7,2026-09-10T00:00:00Z,0,${U}`,
  `H1,r8,2025-01-10T00:00:00Z,1,${U}`,
  `H2,r8,2025-12-10T00:00:00Z,1,${U}`,
  `H3,r8,2026-09-10T00:00:00Z,1,${U}`,
  `I1,r9,2024-11-30T23:59:59Z,1,${U}`,
  `I2,r9,2024-12-01T00:00:00Z,1,${U}`,
  `J1,r10,2026-10-01T00:00:00Z,0,${U}`,
  `X1,r11,2026-10-02T00:00:00Z,1,2026-10-03T00:00:00Z`,
  `X1,r11,2026-10-02T00:00:00Z,1,2026-10-04T00:00:00Z`,
  `N1,,2026-01-05T00:00:00Z,1,${U}`,
  `N2,,2026-02-05T00:00:00Z,1,${U}`,
);

describeEngines('repeat purchase over 12 periods', (engine) => {
  let fx: Fixture;
  let m: MetricsJson;
  beforeAll(async () => {
    fx = await openFixture({ 'orders/x.csv': REPEAT }, engine);
    m = await fx.run('2026-10');
  });
  afterAll(() => fx.close());

  it('value, n, previous and every trend point with its own window', () => {
    expectIndicator(m, 'repeat_purchase_rate_pct', { value: 37.5, n: 8, status: 'met', previous: 100 / 3 });
    expectTrend(m.indicators['repeat_purchase_rate_pct']!.trend, '2026-10', {
      '2025-11': [20, 5],
      '2025-12': [50, 4],
      '2026-01': [25, 4],
      '2026-02': [25, 4],
      '2026-03': [20, 5],
      '2026-04': [20, 5],
      '2026-05': [20, 5],
      '2026-06': [100 / 3, 6],
      '2026-07': [100 / 3, 6],
      '2026-08': [100 / 3, 6],
      '2026-09': [100 / 3, 6],
      '2026-10': [37.5, 8],
    });
    expect(m.dataQuality.orders).toMatchObject({ rowsRead: 23, duplicatesDropped: 1, rejected: { out_of_range: 2 }, recordsUsed: 20 });
    expect(m.segments).toEqual({ team: {}, channel: {} });
  });
});
