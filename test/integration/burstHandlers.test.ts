/**
 * Bursting on AWS, state by state with the real handlers: s3rver as the archive bucket,
 * smtp-server as the mail server, real Chromium. The company render lists one step event per team
 * (the state machine's Map items) and the recipient warnings (the ops notice); each item's render
 * writes that team's metrics.json, PDF and workbook in its own work folder, and its delivery archives them in
 * the team's own archive folder and mails them to the team's recipients only, once.
 */
import { readFileSync } from 'node:fs';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import ExcelJS from 'exceljs';
import { simpleParser } from 'mailparser';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeliverHandler } from '../../functions/handlers/deliver.js';
import { createRenderHandler } from '../../functions/handlers/render.js';
import { createLogger } from '../../functions/handlers/runtime.js';
import { SmtpTransport } from '../../functions/deliver/transport.js';
import type { MetricsJson } from '../../functions/metrics/schema.js';
import { parseReports } from '../../functions/metrics/config.js';
import { closeBrowser, launchBrowser } from '../../functions/render/browser.js';
import { renderReport } from '../../functions/render/renderReport.js';
import { buildWorkbook } from '../../functions/render/workbook.js';
import { startS3, startSmtp, type LocalS3, type LocalSmtp } from '../infra/support/localAws.js';

const BUCKET = 'archive';
const reports = parseReports(
  `reports:
  - id: monthly-service-review
    title: Monthly customer service review
    timezone: Europe/Moscow
    recipients: [company@example.com]
    burst:
      by: team
      recipients:
        Billing: [billing-lead@example.com]
        "售后服务": [cn-lead@example.com]
        Nobody Here: [ghost@example.com]
      fallback: [ops@example.com]
`,
  'reports.yaml',
);
const fixture = readFileSync(new URL('../../templates/sample.metrics.json', import.meta.url), 'utf8');
const company = JSON.parse(fixture) as MetricsJson;
const logger = createLogger('burst-test');
logger.setLogLevel('SILENT');

let s3: LocalS3;
let smtp: LocalSmtp;
let browser: Browser;
beforeAll(async () => {
  [s3, smtp, browser] = await Promise.all([startS3([BUCKET]), startSmtp(), launchBrowser()]);
  await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'work/exec-1/metrics.json', Body: fixture }));
}, 60_000);
afterAll(async () => {
  await Promise.all([s3?.stop(), smtp?.stop(), browser ? closeBrowser(browser) : undefined]);
});

const render = () =>
  // As the Lambda renders (lambda/render.ts): the PDF, and the workbook of the same metrics.json.
  createRenderHandler({ s3: s3.client, reports, archiveBucket: BUCKET, logger, render: async ({ metrics, report }) => ({ ...(await renderReport({ metrics, report, browser })), workbook: await buildWorkbook({ metrics, report }) }) });
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const deliver = () =>
  createDeliverHandler({ s3: s3.client, transport: new SmtpTransport(smtp.url), reports, archiveBucket: BUCKET, sender: 'Reports <reports@example.com>', attachLimitBytes: 10 * 2 ** 20, linkExpiresSeconds: 3600, logger });
const get = async (key: string) => Buffer.from(await (await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray());
const start = { reportId: 'monthly-service-review', period: '2026-10', force: false, runId: 'exec-1' };

describe('a report that bursts by team, on AWS', () => {
  it("lists one Map item per team and the warnings; each item renders and delivers that team's report to its recipients only, once", async () => {
    // Act 1: the company render
    const out = await render()(start);
    // Assess 1
    expect(out.bursts).toEqual(Object.keys(company.segments.team).map((value) => ({ ...start, burst: { kind: 'team', value } })));
    expect(out.burstWarnings).toEqual([
      'team "Key Accounts <b>VIP</b>" has no recipients in the burst of report monthly-service-review: its report goes to the fallback (ops@example.com)',
      'team "Logistics & Returns" has no recipients in the burst of report monthly-service-review: its report goes to the fallback (ops@example.com)',
      'team "unassigned" has no recipients in the burst of report monthly-service-review: its report goes to the fallback (ops@example.com)',
      'team "Техподдержка" has no recipients in the burst of report monthly-service-review: its report goes to the fallback (ops@example.com)',
      'team "Nobody Here" named in the burst of report monthly-service-review has no data in 2026-10: no report for it',
    ]);

    // Act 2: two of the Map's items, as the state machine passes them
    const item = (value: string) => out.bursts!.find((b) => b.burst?.value === value)!;
    const billing = await render()(item('Billing'));
    const cn = await render()(item('售后服务'));
    // Assess 2: each team's own metrics.json and PDF in its own work folder
    expect(billing.pdfKey).toBe('work/exec-1/team=billing-3ac8bbca/report.pdf');
    expect(cn.pdfKey).toBe('work/exec-1/team=售后服务-f34999bc/report.pdf');
    const billingMetrics = JSON.parse((await get('work/exec-1/team=billing-3ac8bbca/metrics.json')).toString('utf8')) as MetricsJson;
    expect(billingMetrics.scope).toEqual({ kind: 'team', value: 'Billing' });
    expect(billingMetrics.indicators.csat_pct!.value).toBe(company.segments.team.Billing!.csat_pct!.value);
    expect(billing.bursts).toBeUndefined();
    expect(out.workbookKey).toBe('work/exec-1/report.xlsx');
    // Billing's own workbook beside its PDF, from Billing's metrics.json: the fixture's Billing CSAT is 29 satisfied of 31 (93.5 %), the company's 75 of 91 (82.4 %)
    expect(billing.workbookKey).toBe('work/exec-1/team=billing-3ac8bbca/report.xlsx');
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load((await get('work/exec-1/team=billing-3ac8bbca/report.xlsx')) as unknown as ArrayBuffer);
    const summary = wb.getWorksheet('Summary')!;
    expect(summary.getRow(1).getCell(4).value).toBe('Value (Team: Billing)');
    const csat = summary.getRows(2, summary.rowCount - 1)!.find((r) => r.getCell(1).value === 'csat_pct')!;
    expect(csat.getCell(4).value).toBeCloseTo(29 / 31, 12);
    expect(csat.getCell(10).value).toBe(31);
    expect(csat.getCell(12).value).toBeCloseTo(75 / 91, 12);

    // Act 3: deliver both, then both again (a retried Map iteration)
    smtp.messages.length = 0;
    const sent = [await deliver()(item('Billing')), await deliver()(item('售后服务'))];
    const messages = [...smtp.messages];
    const again = [await deliver()(item('Billing')), await deliver()(item('售后服务'))];
    // Assess 3
    expect(sent.map((r) => r.delivery)).toEqual(['sent', 'sent']);
    expect(messages.map((m) => m.to)).toEqual([['billing-lead@example.com'], ['cn-lead@example.com']]);
    const billingMail = await simpleParser(messages[0]!.raw);
    expect(billingMail.subject).toContain('Monthly customer service review — Billing');
    const attached = billingMail.attachments.find((a) => a.contentType === 'application/pdf')!;
    expect(attached.filename).toBe('monthly-service-review~team=billing-3ac8bbca-2026-10.pdf');
    expect(Buffer.compare(attached.content, await get('work/exec-1/team=billing-3ac8bbca/report.pdf'))).toBe(0);
    expect(Buffer.compare(attached.content, await get('reports/monthly-service-review/2026-10/team=billing-3ac8bbca/monthly-service-review~team=billing-3ac8bbca-2026-10.pdf'))).toBe(0);
    const sheet = billingMail.attachments.find((a) => a.contentType === XLSX)!;
    expect(sheet.filename).toBe('monthly-service-review~team=billing-3ac8bbca-2026-10.xlsx');
    expect(Buffer.compare(sheet.content, await get('work/exec-1/team=billing-3ac8bbca/report.xlsx'))).toBe(0);
    expect(Buffer.compare(sheet.content, await get('reports/monthly-service-review/2026-10/team=billing-3ac8bbca/monthly-service-review~team=billing-3ac8bbca-2026-10.xlsx'))).toBe(0);
    expect(again.map((r) => r.delivery)).toEqual(['already_sent', 'already_sent']);
    expect(smtp.messages).toHaveLength(2);
  }, 120_000);

  it('refuses a burst item of a kind the report does not burst by, naming it', async () => {
    await expect(render()({ ...start, burst: { kind: 'channel', value: 'email' } })).rejects.toThrow('report monthly-service-review does not burst by channel');
    await expect(deliver()({ ...start, burst: { kind: 'channel', value: 'email' } })).rejects.toThrow('report monthly-service-review does not burst by channel');
  });
});
