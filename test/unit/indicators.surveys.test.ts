/**
 * Satisfaction indicators (spec/indicators.md): csat_pct, csat_avg, nps, survey_response_rate_pct,
 * the five servqual_gap_<dimension> and servqual_gap. Expected values worked out by hand below.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { csv, expectIndicator, expectSegments, expectTrend, describeEngines, openFixture, type Fixture } from './indicators.support.js';
import { type MetricsJson } from '../../functions/metrics/schema.js';

const U = '2026-11-02T00:00:00Z';
const row = (...cells: string[]) => [...cells, U].join(',');

/*
 * P = 2026-10 (UTC). csat/nps population: responded_at in P and score set; response rate: csat+nps
 * with sent_at in P (servqual excluded), responded = responded_at set (in any period).
 *
 *  id  type  team chan  score sent        responded
 *  C1  csat  a    email 5     09-30 23:00 10-01      csat P
 *  C2  csat  a    web   4     10-02       10-02      csat P, sent P
 *  C3  csat  b    email 3     10-03       10-04      csat P, sent P
 *  C4  csat  ''   email 1     10-05       10-06      csat P, sent P
 *  C5  csat  b    web   -     10-06       10-07      sent P, responded (no score: not in csat n)
 *  C6  csat  a    chat  -     10-08       -          sent P, not responded
 *  C7  csat  a    chat  5     10-20       11-01 00:00 (P.end)  sent P, responded (later)
 *  C8  csat  a    email 2     09-10       09-11      September
 *  N1  nps   a    email 10    10-01       10-01      promoter
 *  N2  nps   b    chat  9     10-02       10-02      promoter
 *  N3  nps   a    email 8     10-03       10-03      passive
 *  N4  nps   b    web   7     10-04       10-04      passive
 *  N5  nps   a    web   6     10-05       10-05      detractor
 *  N6  nps   ''   chat  0     10-06       10-06      detractor
 *  N7  nps   b    email -     10-09       -          sent P, not responded
 *  N8  nps   b    email 9     09-30 12:00 10-02      promoter in P; sent in September
 *  N9  nps   a    email 10    09-05       09-06      September
 *
 *  csat_pct = 100 * |{C1 5, C2 4}| / |{C1,C2,C3,C4}| = 50, n 4; csat_avg = (5+4+3+1)/4 = 3.25
 *  nps = 100 * (3 promoters N1 N2 N8 - 2 detractors N5 N6) / 7 = 100/7, n 7
 *  survey_response_rate_pct: sent in P = C2..C7 (6) + N1..N7 (7) = 13; responded C2 C3 C4 C5 C7 + N1..N6 = 11
 *  September: csat C8 -> 0 % / avg 2, n 1; nps N9 -> 100 (all promoters), n 1;
 *             sent in Sep: C1 C8 N8 N9, all responded -> 100, n 4.
 *
 * servqual (team 'sq', channel 'sqchan': servqual has no breakdown, so these segment values never appear)
 *  S1 reliability exp 6 score 5 -> -1 ; S2 reliability 4/7 -> +3          => reliability (−1+3)/2 = 1, n 2
 *  S3 responsiveness 5/3 -> -2                                            => -2, n 1
 *  S4 assurance exp null score 4 -> excluded                              => null, n 0
 *  S5 empathy 6/6 -> 0 ; S6 empathy score null -> excluded ; S7 3/2 -> -1 => -0.5, n 2
 *  S8 tangibles 5/5 -> 0 ; S9 tangibles unanswered (sent in P)            => 0, n 1
 *  S10 reliability 7/1 responded in September                             => Sep reliability -6
 *  servqual_gap = mean(1, -2, -0.5, 0) = -0.375 (assurance has no value), n = 2+1+2+1 = 6
 */
const SURVEYS = csv(
  'response_id,survey_type,team,channel,dimension,expectation,score,sent_at,responded_at,updated_at',
  row('C1', 'csat', 'a', 'email', '', '', '5', '2026-09-30T23:00:00Z', '2026-10-01T01:00:00Z'),
  row('C2', 'csat', 'a', 'web', '', '', '4', '2026-10-02T00:00:00Z', '2026-10-02T05:00:00Z'),
  row('C3', 'csat', 'b', 'email', '', '', '3', '2026-10-03T00:00:00Z', '2026-10-04T00:00:00Z'),
  row('C4', 'csat', '', 'email', '', '', '1', '2026-10-05T00:00:00Z', '2026-10-06T00:00:00Z'),
  row('C5', 'csat', 'b', 'web', '', '', '', '2026-10-06T00:00:00Z', '2026-10-07T00:00:00Z'),
  row('C6', 'csat', 'a', 'chat', '', '', '', '2026-10-08T00:00:00Z', ''),
  row('C7', 'csat', 'a', 'chat', '', '', '5', '2026-10-20T00:00:00Z', '2026-11-01T00:00:00Z'),
  row('C8', 'csat', 'a', 'email', '', '', '2', '2026-09-10T00:00:00Z', '2026-09-11T00:00:00Z'),
  row('N1', 'nps', 'a', 'email', '', '', '10', '2026-10-01T00:00:00Z', '2026-10-01T00:00:00Z'),
  row('N2', 'nps', 'b', 'chat', '', '', '9', '2026-10-02T00:00:00Z', '2026-10-02T00:00:00Z'),
  row('N3', 'nps', 'a', 'email', '', '', '8', '2026-10-03T00:00:00Z', '2026-10-03T00:00:00Z'),
  row('N4', 'nps', 'b', 'web', '', '', '7', '2026-10-04T00:00:00Z', '2026-10-04T00:00:00Z'),
  row('N5', 'nps', 'a', 'web', '', '', '6', '2026-10-05T00:00:00Z', '2026-10-05T00:00:00Z'),
  row('N6', 'nps', '', 'chat', '', '', '0', '2026-10-06T00:00:00Z', '2026-10-06T00:00:00Z'),
  row('N7', 'nps', 'b', 'email', '', '', '', '2026-10-09T00:00:00Z', ''),
  row('N8', 'nps', 'b', 'email', '', '', '9', '2026-09-30T12:00:00Z', '2026-10-02T00:00:00Z'),
  row('N9', 'nps', 'a', 'email', '', '', '10', '2026-09-05T00:00:00Z', '2026-09-06T00:00:00Z'),
  row('S1', 'servqual', 'sq', 'sqchan', 'reliability', '6', '5', '2026-10-03T00:00:00Z', '2026-10-04T00:00:00Z'),
  row('S2', 'servqual', 'sq', 'sqchan', 'reliability', '4', '7', '2026-10-03T00:00:00Z', '2026-10-04T00:00:00Z'),
  row('S3', 'servqual', 'sq', 'sqchan', 'responsiveness', '5', '3', '2026-10-03T00:00:00Z', '2026-10-04T00:00:00Z'),
  row('S4', 'servqual', 'sq', 'sqchan', 'assurance', '', '4', '2026-10-03T00:00:00Z', '2026-10-04T00:00:00Z'),
  row('S5', 'servqual', 'sq', 'sqchan', 'empathy', '6', '6', '2026-10-03T00:00:00Z', '2026-10-04T00:00:00Z'),
  row('S6', 'servqual', 'sq', 'sqchan', 'empathy', '5', '', '2026-10-03T00:00:00Z', '2026-10-04T00:00:00Z'),
  row('S7', 'servqual', 'sq', 'sqchan', 'empathy', '3', '2', '2026-10-03T00:00:00Z', '2026-10-04T00:00:00Z'),
  row('S8', 'servqual', 'sq', 'sqchan', 'tangibles', '5', '5', '2026-10-03T00:00:00Z', '2026-10-04T00:00:00Z'),
  row('S9', 'servqual', 'sq', 'sqchan', 'tangibles', '5', '', '2026-10-10T00:00:00Z', ''),
  row('S10', 'servqual', 'sq', 'sqchan', 'reliability', '7', '1', '2026-09-03T00:00:00Z', '2026-09-04T00:00:00Z'),
);

describeEngines('satisfaction indicators (UTC, P = 2026-10)', (engine) => {
  let fx: Fixture;
  let m: MetricsJson;
  let tuned: MetricsJson;

  beforeAll(async () => {
    fx = await openFixture({ 'surveys/x.csv': SURVEYS }, engine);
    [m, tuned] = await Promise.all([
      fx.run('2026-10'),
      fx.run(
        '2026-10',
        'UTC',
        `targets:
  csat_avg: { target: 3.25, warn: 3 }   # met at equality
  csat_pct: { target: 60, warn: 50 }    # at_risk at equality with warn
  servqual_gap: { target: -0.375 }      # met at equality, negative target
  servqual_gap_responsiveness: { target: 0, warn: -2 }  # at_risk at equality with a negative warn
`,
      ),
    ]);
  });
  afterAll(() => fx.close());

  it('csat, nps, response rate: value, n, status, previous', () => {
    expectIndicator(m, 'csat_pct', { value: 50, n: 4, status: 'missed', lowSample: true, previous: 0 });
    expectIndicator(m, 'csat_avg', { value: 3.25, n: 4, status: 'missed', previous: 2 });
    expectIndicator(m, 'nps', { value: 100 / 7, n: 7, status: 'missed', previous: 100 });
    expectIndicator(m, 'survey_response_rate_pct', { value: (100 * 11) / 13, n: 13, status: 'met', previous: 100 });
  });

  it('servqual per dimension and the unweighted mean of the dimensions that have a value', () => {
    expectIndicator(m, 'servqual_gap_reliability', { value: 1, n: 2, status: 'met', previous: -6 });
    expectIndicator(m, 'servqual_gap_responsiveness', { value: -2, n: 1, status: 'missed', previous: null });
    expectIndicator(m, 'servqual_gap_assurance', { value: null, n: 0, status: 'no_data', previous: null });
    expectIndicator(m, 'servqual_gap_empathy', { value: -0.5, n: 2, status: 'at_risk' }); // exactly the warn level
    expectIndicator(m, 'servqual_gap_tangibles', { value: 0, n: 1, status: 'met' }); // exactly the target
    expectIndicator(m, 'servqual_gap', { value: -0.375, n: 6, status: 'at_risk', previous: -6 });
  });

  it('status boundaries with targets from a targets text', () => {
    expectIndicator(tuned, 'csat_avg', { value: 3.25, n: 4, status: 'met', target: 3.25, warn: 3 });
    expectIndicator(tuned, 'csat_pct', { value: 50, n: 4, status: 'at_risk' });
    expectIndicator(tuned, 'servqual_gap', { value: -0.375, n: 6, status: 'met', target: -0.375, warn: null });
    expectIndicator(tuned, 'servqual_gap_responsiveness', { value: -2, n: 1, status: 'at_risk' });
  });

  it('trend', () => {
    const t = (id: string) => m.indicators[id]!.trend;
    expectTrend(t('csat_pct'), '2026-10', { '2026-09': [0, 1], '2026-10': [50, 4] }, 'csat_pct');
    expectTrend(t('csat_avg'), '2026-10', { '2026-09': [2, 1], '2026-10': [3.25, 4] }, 'csat_avg');
    expectTrend(t('nps'), '2026-10', { '2026-09': [100, 1], '2026-10': [100 / 7, 7] }, 'nps');
    expectTrend(t('survey_response_rate_pct'), '2026-10', { '2026-09': [100, 4], '2026-10': [1100 / 13, 13] }, 'rr');
    expectTrend(t('servqual_gap_reliability'), '2026-10', { '2026-09': [-6, 1], '2026-10': [1, 2] }, 'rel');
    expectTrend(t('servqual_gap_responsiveness'), '2026-10', { '2026-10': [-2, 1] }, 'resp');
    expectTrend(t('servqual_gap_assurance'), '2026-10', {}, 'ass');
    expectTrend(t('servqual_gap_empathy'), '2026-10', { '2026-10': [-0.5, 2] }, 'emp');
    expectTrend(t('servqual_gap_tangibles'), '2026-10', { '2026-10': [0, 1] }, 'tan');
    expectTrend(t('servqual_gap'), '2026-10', { '2026-09': [-6, 1], '2026-10': [-0.375, 6] }, 'gap');
  });

  it('breakdown by team (servqual rows have none: team "sq" is never listed)', () => {
    // a: csat C1 C2; nps N1 N3 N5; sent C2 C6 C7 N1 N3 N5 (5 responded).
    // b: csat C3 (C5 no score); nps N2 N4 N8; sent C3 C5 N2 N4 N7 (4 responded).
    // unassigned: csat C4; nps N6 (score 0: -100, the bottom of the scale); sent C4 N6.
    expectSegments(
      m.segments.team,
      {
        a: { csat_pct: [100, 2], csat_avg: [4.5, 2], nps: [0, 3], survey_response_rate_pct: [500 / 6, 6] },
        b: { csat_pct: [0, 1], csat_avg: [3, 1], nps: [200 / 3, 3], survey_response_rate_pct: [80, 5] },
        unassigned: { csat_pct: [0, 1], csat_avg: [1, 1], nps: [-100, 1], survey_response_rate_pct: [100, 2] },
      },
      'team',
    );
  });

  it('breakdown by channel (chat has no csat response in P: csat not listed there)', () => {
    // email: csat C1 C3 C4; nps N1 N3 N8; sent C3 C4 N1 N3 N7. web: csat C2; nps N4 N5; sent C2 C5 N4 N5.
    // chat: nps N2 N6; sent C6 C7 N2 N6.
    expectSegments(
      m.segments.channel,
      {
        email: { csat_pct: [100 / 3, 3], csat_avg: [3, 3], nps: [200 / 3, 3], survey_response_rate_pct: [80, 5] },
        web: { csat_pct: [100, 1], csat_avg: [4, 1], nps: [-50, 2], survey_response_rate_pct: [100, 4] },
        chat: { nps: [0, 2], survey_response_rate_pct: [75, 4] },
      },
      'channel',
    );
    expect(m.segments.channel['sqchan']).toBeUndefined();
  });
});
