/**
 * Bursting (functions/render/burst.ts): a segment's metrics.json derived from a hand-made company
 * metrics.json, the plan of who receives which segment report, and the names that keep any team
 * name (HTML, '&', '/', Cyrillic, Chinese) safe in a file name and an S3 key (functions/deliver/keys.ts).
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalArchive } from '../../functions/deliver/archive.js';
import { deliverReport } from '../../functions/deliver/deliver.js';
import { ReportIncompleteError } from '../../functions/deliver/errors.js';
import { OutboxTransport } from '../../functions/deliver/transport.js';
import { sampleMetrics, tinyPdf } from '../infra/support/fixtures.js';
import { reportKeys, reportName, segmentSlug, workKeys } from '../../functions/deliver/keys.js';
import { parseMetricsJson, type IndicatorResult, type MetricsJson } from '../../functions/metrics/schema.js';
import { BurstDefSchema, parseReports } from '../../functions/pipeline/reportsConfig.js';
import { planBursts, segmentMetrics } from '../../functions/render/burst.js';
import { metricsDocument, trendOf } from '../support/metricsObjects.js';

// csat_pct is broken down by team and channel, on_time_delivery_pct by channel only,
// invoice_accuracy_pct by neither (docs/indicators.md, column "by").
const csat: IndicatorResult = {
  value: 86.5, n: 800, status: 'met', lowSample: false, previous: 84.0, yearAgo: 82.5,
  trend: trendOf([80, 81, 82, 83, 84, 85, 85, 84, 83, 84, 84.0, 86.5], 70),
  unit: '%', direction: 'higher', category: 'satisfaction', target: 85, warn: 80,
};
const onTime: IndicatorResult = {
  value: 93.0, n: 500, status: 'at_risk', lowSample: false, previous: 94.0, yearAgo: null,
  trend: trendOf([null, null, 90, 91, 92, 93, 94, 95, 96, 95, 94.0, 93.0], 40),
  unit: '%', direction: 'higher', category: 'fulfilment', target: 95, warn: 90,
};
const invoices: IndicatorResult = {
  value: 99.1, n: 300, status: 'met', lowSample: false, previous: 98.7, yearAgo: 97.0,
  trend: trendOf([97, 97, 98, 98, 98, 98, 99, 99, 99, 99, 98.7, 99.1], 25),
  unit: '%', direction: 'higher', category: 'billing', target: 98, warn: 95,
};
const volume: IndicatorResult = {
  value: 1200, n: 1200, status: 'no_target', lowSample: false, previous: 1100, yearAgo: 900,
  trend: trendOf([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1100, 1200], 5),
  unit: 'count', direction: 'neutral', category: 'responsiveness', target: null, warn: null,
};

const supportCsat = {
  value: 78.0, n: 25, status: 'missed' as const, lowSample: true, previous: 81.0, yearAgo: 79.5,
  trend: trendOf([70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 81.0, 78.0], 20),
};
const supportVolume = {
  value: 310, n: 310, status: 'no_target' as const, lowSample: false, previous: 290, yearAgo: 250,
  trend: trendOf([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 290, 310], 3),
};
const emailOnTime = {
  value: 88.0, n: 120, status: 'missed' as const, lowSample: false, previous: 91.0, yearAgo: null,
  trend: trendOf([null, null, 85, 86, 87, 88, 89, 90, 91, 92, 91.0, 88.0], 10),
};

function company(): MetricsJson {
  return metricsDocument(
    { csat_pct: csat, on_time_delivery_pct: onTime, invoice_accuracy_pct: invoices, ticket_volume: volume },
    {
      segments: {
        team: {
          Техподдержка: { csat_pct: supportCsat, ticket_volume: supportVolume },
          // No CSAT survey answered for this team in the month: no csat_pct entry.
          售后服务: { ticket_volume: { ...supportVolume, value: 12, n: 12 } },
          'Key Accounts <b>VIP</b>': { ticket_volume: { ...supportVolume, value: 40, n: 40 } },
        },
        channel: { email: { on_time_delivery_pct: emailOnTime, csat_pct: supportCsat } },
      },
    },
  );
}

describe('a segment report from the company metrics.json', () => {
  it("holds the team's own value, n, status, low sample, previous, year-ago and trend, beside the company's value and status", () => {
    const team = segmentMetrics(company(), { kind: 'team', value: 'Техподдержка' });

    expect(team.scope).toEqual({ kind: 'team', value: 'Техподдержка' });
    expect(team.indicators.csat_pct).toEqual({
      value: 78.0, n: 25, status: 'missed', lowSample: true, previous: 81.0, yearAgo: 79.5,
      trend: trendOf([70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 81.0, 78.0], 20),
      unit: '%', direction: 'higher', category: 'satisfaction', target: 85, warn: 80,
      company: { value: 86.5, status: 'met' },
      segmented: true,
    });
    expect(team.indicators.ticket_volume).toMatchObject({ value: 310, n: 310, previous: 290, yearAgo: 250, status: 'no_target', company: { value: 1200, status: 'no_target' } });
    // The company's breakdowns are not this team's figures.
    expect(team.segments).toEqual({ team: {}, channel: {} });
    // Still a valid metrics.json, of the same report and period.
    expect(parseMetricsJson(team, 'team').reportId).toBe('monthly-service-review');
    expect(team.period.id).toBe('2026-10');
  });

  it('says an indicator is not broken down by team instead of showing the company figure as the team\'s', () => {
    const team = segmentMetrics(company(), { kind: 'team', value: 'Техподдержка' });

    for (const id of ['invoice_accuracy_pct', 'on_time_delivery_pct']) {
      const r = team.indicators[id]!;
      expect(r.segmented, id).toBe(false);
      expect([r.value, r.n, r.status, r.previous, r.yearAgo, r.lowSample], id).toEqual([null, 0, 'no_data', null, null, false]);
      expect(r.trend.map((p) => p.value), id).toEqual(Array(12).fill(null));
      expect(r.trend.map((p) => p.period), id).toEqual(['2025-11', '2025-12', '2026-01', '2026-02', '2026-03', '2026-04', '2026-05', '2026-06', '2026-07', '2026-08', '2026-09', '2026-10']);
    }
    expect(team.indicators.invoice_accuracy_pct!.company).toEqual({ value: 99.1, status: 'met' });
    expect(team.indicators.on_time_delivery_pct!.company).toEqual({ value: 93.0, status: 'at_risk' });
  });

  it('a channel report takes the channel-only indicators from the channel entry', () => {
    const email = segmentMetrics(company(), { kind: 'channel', value: 'email' });

    expect(email.indicators.on_time_delivery_pct).toMatchObject({ value: 88.0, n: 120, status: 'missed', previous: 91.0, yearAgo: null, segmented: true, company: { value: 93.0, status: 'at_risk' } });
    expect(email.indicators.invoice_accuracy_pct!.segmented).toBe(false);
  });

  it('a team with no case of a broken-down indicator in the month has no data for it (not zero)', () => {
    const team = segmentMetrics(company(), { kind: 'team', value: '售后服务' });

    expect(team.indicators.csat_pct).toMatchObject({ value: null, n: 0, status: 'no_data', segmented: true, company: { value: 86.5, status: 'met' } });
    expect(team.indicators.ticket_volume!.value).toBe(12);
  });

  it('leaves the company document as it was, and refuses to burst a segment report again', () => {
    const before = company();
    const doc = company();
    const team = segmentMetrics(doc, { kind: 'team', value: 'Техподдержка' });

    expect(doc).toEqual(before);
    expect(() => segmentMetrics(team, { kind: 'team', value: 'Техподдержка' })).toThrow(/already the team "Техподдержка" report/);
  });
});

describe('the burst plan', () => {
  const burst = (over: object) => BurstDefSchema.parse({ by: 'team', ...over });

  it('gives each team its own recipients, an unowned team the fallback, and warns about both kinds of mismatch', () => {
    const plan = planBursts(
      company(),
      burst({ recipients: { Техподдержка: ['ivan@example.com'], 'Key Accounts <b>VIP</b>': ['vip@example.com', 'kam@example.com'], Ghosts: ['nobody@example.com'] }, fallback: ['ops@example.com'] }),
    );

    expect(plan.bursts).toEqual([
      { scope: { kind: 'team', value: 'Техподдержка' }, recipients: ['ivan@example.com'], owned: true },
      { scope: { kind: 'team', value: '售后服务' }, recipients: ['ops@example.com'], owned: false },
      { scope: { kind: 'team', value: 'Key Accounts <b>VIP</b>' }, recipients: ['vip@example.com', 'kam@example.com'], owned: true },
    ]);
    expect(plan.warnings).toEqual([
      'team "售后服务" has no recipients in the burst of report monthly-service-review: its report goes to the fallback (ops@example.com)',
      'team "Ghosts" named in the burst of report monthly-service-review has no data in 2026-10: no report for it',
    ]);
  });

  it('without a fallback, an unowned team is archived and not sent, and the warning says so', () => {
    const plan = planBursts(company(), burst({ by: 'channel', recipients: {} }));

    expect(plan.bursts).toEqual([{ scope: { kind: 'channel', value: 'email' }, recipients: [], owned: false }]);
    expect(plan.warnings).toEqual(['channel "email" has no recipients in the burst of report monthly-service-review and there is no fallback: its report is archived, not sent']);
  });

  it('is validated in config/reports.yaml with each problem named by its path', () => {
    const yaml = (b: string) => `reports:\n  - id: r1\n    title: Review\n    timezone: UTC\n    burst:\n${b}`;
    const ok = parseReports(yaml('      by: team\n      recipients: { "售后服务": [cn@example.com] }\n      fallback: [ops@example.com]\n'), 'reports.yaml', []);
    expect(ok.reports[0]!.burst).toEqual({ by: 'team', recipients: { 售后服务: ['cn@example.com'] }, fallback: ['ops@example.com'] });

    expect(() => parseReports(yaml('      by: region\n      recipients: { Billing: [not-an-address], Support: [] }\n      cc: []\n'), 'reports.yaml', [])).toThrow(
      /^reports\.yaml: 4 problems:[\s\S]*reports\.0\.burst\.by[\s\S]*reports\.0\.burst\.recipients\.Billing\.0[\s\S]*reports\.0\.burst\.recipients\.Support: at least one address[\s\S]*reports\.0\.burst: Unrecognized key: "cc"/,
    );
  });
});

describe('names of a burst report', () => {
  it('keeps letters of any script, one dash for anything else, and 8 hex digits of the name', () => {
    // The hex digits: `printf '%s' NAME | sha256sum | cut -c1-8`.
    expect(segmentSlug('Billing')).toBe('billing-3ac8bbca');
    expect(segmentSlug('billing')).toBe('billing-0c95c7ec');
    expect(segmentSlug('Key Accounts <b>VIP</b>')).toBe('key-accounts-b-vip-b-1c905d1d');
    expect(segmentSlug('售后服务')).toBe('售后服务-f34999bc');
    expect(segmentSlug('Техподдержка')).toBe('техподдержка-5284bd72');
    expect(segmentSlug('A / B & C')).toBe('a-b-c-6d6d8e08');
    expect(segmentSlug('../..')).toBe('0cfd1c96');
  });

  it('puts each burst in its own archive folder and file names, inside the report and period', () => {
    const keys = reportKeys('monthly-service-review', '2026-10', { kind: 'team', value: 'A / B & C' });

    expect(keys.prefix).toBe('reports/monthly-service-review/2026-10/team=a-b-c-6d6d8e08/');
    expect(keys.pdf).toBe('reports/monthly-service-review/2026-10/team=a-b-c-6d6d8e08/monthly-service-review~team=a-b-c-6d6d8e08-2026-10.pdf');
    expect(keys.delivery).toBe('reports/monthly-service-review/2026-10/team=a-b-c-6d6d8e08/delivery.json');
    expect(keys.run).toBe('reports/monthly-service-review/2026-10/team=a-b-c-6d6d8e08/run.json');
    expect(reportKeys('monthly-service-review', '2026-10').delivery).toBe('reports/monthly-service-review/2026-10/delivery.json');
    expect(reportName('monthly-service-review', { kind: 'channel', value: 'email' })).toBe('monthly-service-review~channel=email-82244417');
    expect(workKeys('exec-1', { kind: 'team', value: '售后服务' }).pdf).toBe('work/exec-1/team=售后服务-f34999bc/report.pdf');
  });
});

describe("a burst's delivery", () => {
  const attempt = (metrics: MetricsJson, scope?: { kind: 'team'; value: string }) => {
    const dir = mkdtempSync(join(tmpdir(), 'burst-scope-'));
    const run = deliverReport({
      archive: new LocalArchive(join(dir, 'archive')),
      transport: new OutboxTransport(join(dir, 'outbox')),
      report: { id: 'monthly-service-review', title: 'Review', recipients: ['lead@example.com'] },
      scope,
      period: '2026-10',
      parts: { pdf: tinyPdf(), metrics: JSON.stringify(metrics) },
      from: 'reports@example.com',
      attachLimitBytes: 2 ** 20,
      linkExpiresSeconds: 60,
      runId: 'r1',
    });
    return { run, dir };
  };
  const companyDoc = () => sampleMetrics('monthly-service-review', '2026-10');

  it("refuses one team's report sent as another's, or as the company's, and the company's sent as a team's; nothing archived or sent", async () => {
    const billing = { ...companyDoc(), scope: { kind: 'team' as const, value: 'Billing' } };
    const cases = [
      { doc: billing, scope: { kind: 'team' as const, value: 'Техподдержка' }, message: 'report monthly-service-review 2026-10: metrics.json is the team "Billing" report, not the team "Техподдержка" report; nothing sent' },
      { doc: billing, scope: undefined, message: 'report monthly-service-review 2026-10: metrics.json is the team "Billing" report, not the company\'s report; nothing sent' },
      { doc: companyDoc(), scope: { kind: 'team' as const, value: 'Billing' }, message: 'report monthly-service-review 2026-10: metrics.json is the company\'s report, not the team "Billing" report; nothing sent' },
    ];
    for (const c of cases) {
      const { run, dir } = attempt(c.doc, c.scope);
      const err = await run.catch((e: Error) => e);
      expect(err).toBeInstanceOf(ReportIncompleteError);
      expect((err as Error).message).toBe(c.message);
      expect(existsSync(join(dir, 'archive'))).toBe(false);
      expect(existsSync(join(dir, 'outbox'))).toBe(false);
    }
  });

  it("archives a team's report in its own folder with its own delivery record", async () => {
    const { run, dir } = attempt({ ...companyDoc(), scope: { kind: 'team', value: 'Billing' } }, { kind: 'team', value: 'Billing' });
    const outcome = await run;
    expect(outcome.status).toBe('sent');
    expect(existsSync(join(dir, 'archive', 'reports', 'monthly-service-review', '2026-10', 'team=billing-3ac8bbca', 'delivery.json'))).toBe(true);
    expect(existsSync(join(dir, 'archive', 'reports', 'monthly-service-review', '2026-10', 'delivery.json'))).toBe(false);
  });
});
