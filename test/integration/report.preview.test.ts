/** npm run preview in real headless Chromium: change a template, a target, break a template. */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPreview, type PreviewServer } from '../../functions/cli/preview.js';
import { launchBrowser } from '../../functions/render/browser.js';
import { copyTemplates } from '../support/templatesCopy.js';

const templates = copyTemplates();
const dir = mkdtempSync(join(tmpdir(), 'preview-'));
const targets = join(dir, 'targets.yaml');
const commentary = join(dir, 'commentary');
let server: PreviewServer;
let browser: Browser;
let page: Page;

/** Sets an indicator's line in the copied targets file (added under `targets:` when it has none). */
function setTarget(id: string, spec: string) {
  const text = readFileSync(targets, 'utf8');
  const line = new RegExp(`^ {2}${id}: .*$`, 'm');
  writeFileSync(targets, line.test(text) ? text.replace(line, `  ${id}: ${spec}`) : text.replace(/^targets:$/m, `targets:\n  ${id}: ${spec}`));
}
const bodyText = () => page.evaluate(() => document.body.innerText);
const waitForText = (text: string) => page.waitForFunction((t) => document.body.innerText.includes(t), { timeout: 15_000 }, text);

beforeAll(async () => {
  copyFileSync('config/targets.yaml', targets);
  mkdirSync(commentary);
  server = await startPreview({ port: 0, templates: templates.dir, targets, metrics: 'templates/sample.metrics.json', commentary });
  browser = await launchBrowser();
  page = await browser.newPage();
  await page.goto(server.url, { waitUntil: 'load' });
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  templates.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe('npm run preview', () => {
  it('serves the report as HTML', async () => {
    expect(await page.title()).toMatch(/Monthly customer service review/);
    expect(await bodyText()).toContain('Executive summary');
  });

  it('shows the manager\'s commentary on the first page as soon as its file is written', async () => {
    mkdirSync(join(commentary, 'monthly-service-review'));
    writeFileSync(join(commentary, 'monthly-service-review', '2026-10.en.md'), 'CSAT fell because **billing** changed its IVR.');

    await waitForText('CSAT fell because billing changed its IVR.');
    expect(await page.evaluate(() => document.querySelector('.cover .commentary strong')?.textContent)).toBe('billing');
  });

  it('reloads the page when a template changes', async () => {
    const f = join(templates.dir, 'partials', 'summary.hbs');
    writeFileSync(f, readFileSync(f, 'utf8').replace('<h1>{{t "labels.summaryTitle"}}</h1>', '<h1>Summary for the board</h1>'));
    await waitForText('Summary for the board');
    expect(await bodyText()).not.toContain('Executive summary');
  });

  it('reloads with new statuses when a target changes', async () => {
    const statusOfCsat = () =>
      page.evaluate(() => {
        const row = [...document.querySelectorAll('.summary-table tr')].find((r) => r.textContent?.includes('Customer satisfaction (CSAT)'));
        return row?.querySelector('.status')?.textContent?.trim();
      });
    // 82.4% against 85 / 80 in config/targets.yaml
    expect(await statusOfCsat()).toBe('At risk');
    setTarget('csat_pct', '{ target: 95, warn: 90 }');
    await page.waitForFunction(
      () => [...document.querySelectorAll('.summary-table tr')].find((r) => r.textContent?.includes('Customer satisfaction (CSAT)'))?.querySelector('.status')?.textContent?.trim() === 'Missed',
      { timeout: 15_000 },
    );
  });

  it('re-judges the team rows too when a target changes', async () => {
    const teamStatuses = () =>
      page.evaluate(() => {
        const table = [...document.querySelectorAll('#indicator-abandon_rate_pct table.bd')].find((t) => t.querySelector('caption')?.textContent?.startsWith('By team'));
        return [...(table?.querySelectorAll('tbody tr') ?? [])].map((r) => `${r.querySelector('.bd-name')?.textContent?.trim()}: ${r.querySelector('.status')?.textContent?.trim()}`);
      });
    // The sample's abandonment rates by team: 4.8, 2.8, 2.8, 2.4, 1.3 and 0.5%, all within the target of 5%.
    expect(await teamStatuses()).toEqual(['Logistics & Returns: Met', '售后服务: Met', 'Техподдержка: Met', '(unassigned): Met', 'Billing: Met', 'Key Accounts <b>VIP</b>: Met']);

    setTarget('abandon_rate_pct', '{ target: 1, warn: 2 }');

    await page.waitForFunction(() => document.querySelector('#indicator-abandon_rate_pct .card-value .status')?.textContent?.trim() === 'Missed', { timeout: 15_000 });
    expect(await teamStatuses()).toEqual([
      'Logistics & Returns: Missed',
      '售后服务: Missed',
      'Техподдержка: Missed',
      '(unassigned): Missed',
      'Billing: At risk',
      'Key Accounts <b>VIP</b>: Met',
    ]);
  });

  it('shows a template error with file and line, and recovers when it is fixed', async () => {
    const f = join(templates.dir, 'partials', 'cover.hbs');
    const good = readFileSync(f, 'utf8');
    writeFileSync(f, '<section>\n  {{#if title}}\n</section>\n');
    await waitForText('The report cannot be rendered');
    expect(await bodyText()).toMatch(/partials\/cover\.hbs:\d+: syntax error/);
    writeFileSync(f, good);
    await waitForText('Summary for the board');
  });
});
