/**
 * The analyst's commentary on AWS: the render state reads `commentary/<reportId>/<period>.<locale>.md`
 * from the archive bucket (s3rver here) and the company report's first page prints it (real
 * Chromium); no object is no commentary block; an object that cannot be read fails the render with
 * an error naming its key.
 */
import { readFileSync } from 'node:fs';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRenderHandler } from '../../functions/handlers/render.js';
import { createLogger } from '../../functions/handlers/runtime.js';
import { parseReports } from '../../functions/metrics/config.js';
import { closeBrowser, launchBrowser } from '../../functions/render/browser.js';
import { renderReport } from '../../functions/render/renderReport.js';
import { startS3, type LocalS3 } from '../infra/support/localAws.js';
import { readPdf } from './support/pdfText.js';

const BUCKET = 'archive';
// The fixture is the company metrics.json of monthly-service-review, 2026-10, in English.
const KEY = 'commentary/monthly-service-review/2026-10.en.md';
const reports = parseReports(
  `reports:
  - id: monthly-service-review
    title: Monthly customer service review
    timezone: Europe/Moscow
    recipients: [company@example.com]
    burst:
      by: team
      recipients: {}
      fallback: [ops@example.com]
`,
  'reports.yaml',
);
const fixture = readFileSync(new URL('../../templates/sample.metrics.json', import.meta.url), 'utf8');
const logger = createLogger('commentary-test');
logger.setLogLevel('SILENT');
const squash = (s: string) => s.replace(/\s+/gu, '');

let s3: LocalS3;
let browser: Browser;
beforeAll(async () => {
  [s3, browser] = await Promise.all([startS3([BUCKET]), launchBrowser()]);
  for (const run of ['with', 'without', 'denied', 'binary', 'team']) {
    await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `work/${run}/metrics.json`, Body: fixture }));
  }
}, 60_000);
afterAll(async () => {
  await Promise.all([s3?.stop(), browser ? closeBrowser(browser) : undefined]);
});

const handler = () => createRenderHandler({ s3: s3.client, reports, archiveBucket: BUCKET, logger, render: ({ metrics, report, commentary }) => renderReport({ metrics, report, commentary, browser }) });
const event = (runId: string) => ({ reportId: 'monthly-service-review', period: '2026-10', runId });
const firstPage = async (key: string) => {
  const got = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return squash((await readPdf(await got.Body!.transformToByteArray())).pages[0]!.text);
};

describe('the render state on AWS reads the commentary from the archive bucket', () => {
  it('prints commentary/<report>/<period>.<locale>.md on the company report\'s first page, and not on a team\'s', async () => {
    // Prepare: the analyst's file, with a byte-order mark as some editors write it
    await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: KEY, Body: '\uFEFF**Web backlog** cleared late; see the [tracker](https://example.com/t).\n' }));
    // Act
    const company = await handler()(event('with'));
    const team = await handler()({ ...event('team'), burst: { kind: 'team', value: 'Billing' } });
    // Assess
    expect(await firstPage(company.pdfKey)).toContain(squash('Commentary Web backlog cleared late; see the tracker (https://example.com/t).'));
    const teamPage = await firstPage(team.pdfKey);
    expect(teamPage).toContain('Billing');
    expect(teamPage).not.toContain(squash('Web backlog'));
  }, 60_000);

  it('prints no commentary block when there is no object', async () => {
    // Prepare: the bucket holds no commentary for this report
    await s3.client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: KEY }));
    // Act
    const out = await handler()(event('without'));
    // Assess
    const page = await firstPage(out.pdfKey);
    expect(page).not.toContain('Commentary');
    expect(page).not.toContain(squash('Web backlog'));
  }, 60_000);

  it('fails, naming the key, when the object cannot be read', async () => {
    // Prepare: S3 refuses the read
    s3.fault = (method, _bucket, key) => (method === 'GET' && key === KEY ? 'AccessDenied' : undefined);
    try {
      // Act + Assess
      await expect(handler()(event('denied'))).rejects.toThrow(`commentary s3://${BUCKET}/${KEY} cannot be read: `);
    } finally {
      s3.fault = null;
    }
  });

  it('fails, naming the key, when the object is not UTF-8 text', async () => {
    // Prepare: a Windows-1251 file ("Привет" as single bytes)
    await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: KEY, Body: new Uint8Array([0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2]) }));
    // Act + Assess
    await expect(handler()(event('binary'))).rejects.toThrow(`commentary s3://${BUCKET}/${KEY} cannot be read: not UTF-8 text`);
  });
});
