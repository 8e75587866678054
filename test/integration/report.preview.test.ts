/** npm run preview in real headless Chromium: change a template, a target, break a template. */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
let server: PreviewServer;
let browser: Browser;
let page: Page;

const bodyText = () => page.evaluate(() => document.body.innerText);
const waitForText = (text: string) => page.waitForFunction((t) => document.body.innerText.includes(t), { timeout: 15_000 }, text);

beforeAll(async () => {
  copyFileSync('config/targets.yaml', targets);
  server = await startPreview({ port: 0, templates: templates.dir, targets, metrics: 'test/fixtures/metrics.sample.json' });
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
    expect(await statusOfCsat()).toBe('Met');
    writeFileSync(targets, readFileSync(targets, 'utf8').replace(/^ {2}csat_pct: .*$/m, '  csat_pct: { target: 95, warn: 90 }'));
    await page.waitForFunction(
      () => [...document.querySelectorAll('.summary-table tr')].find((r) => r.textContent?.includes('Customer satisfaction (CSAT)'))?.querySelector('.status')?.textContent?.trim() === 'Missed',
      { timeout: 15_000 },
    );
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
