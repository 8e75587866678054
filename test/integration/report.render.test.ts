/**
 * The report in real Chromium: every value and team name is real text on the page in every
 * locale, every character has a glyph in the embedded fonts, the PDF has title, outline, tags
 * and A4 pages, the page cannot reach the network or the disk, and a timeout kills the browser.
 */
import { createServer, type Server } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MetricsJson } from '../../functions/pipeline/model.js';
import { LOCALES, ReportDefSchema, type Locale } from '../../functions/pipeline/reportsConfig.js';
import { launchBrowser } from '../../functions/render/browser.js';
import { familyCoverage } from '../../functions/render/fonts.js';
import { buildReportModel, renderReport, RenderTimeoutError, type ReportModel } from '../../functions/render/renderReport.js';
import { copyTemplates } from '../support/templatesCopy.js';
import { normalizeSpace, readPdf, type PdfInfo } from './support/pdfText.js';

const fixture = (): MetricsJson => JSON.parse(readFileSync(new URL('../fixtures/metrics.sample.json', import.meta.url), 'utf8'));
const titles: Record<Locale, string> = { en: 'Monthly customer service review', 'zh-CN': '客户服务月度报告', ru: 'Ежемесячный отчёт о качестве обслуживания' };
const reportFor = (locale: Locale) => ReportDefSchema.parse({ id: 'monthly-service-review', title: titles[locale], organisation: 'Northwind Trading', locale, timezone: 'Europe/Moscow' });
const EVIL_TEAM = '<script>alert("pwned")</script>';

let browser: Browser;
const rendered = new Map<Locale, { pdf: PdfInfo; model: ReportModel; blocked: string[] }>();

beforeAll(async () => {
  browser = await launchBrowser();
  const metrics = fixture();
  metrics.segments.team[EVIL_TEAM] = { csat_pct: { value: 55.5, n: 44 } };
  for (const locale of LOCALES) {
    const report = reportFor(locale);
    const { pdf, blocked } = await renderReport({ metrics, report, browser });
    rendered.set(locale, { pdf: await readPdf(pdf), model: buildReportModel(metrics, report, locale), blocked });
  }
});
afterAll(async () => {
  await browser?.close();
});

describe.each(LOCALES)('the %s report', (locale) => {
  const get = () => rendered.get(locale)!;
  const allText = () => get().pdf.pages.map((p) => p.text).join(' ');

  it('is A4, tagged, titled and has bookmarks for every section', () => {
    const { pdf, model } = get();
    for (const size of pdf.pageSizes) {
      expect(size.width).toBeCloseTo(595.3, 0);
      expect(size.height).toBeCloseTo(841.9, 0);
    }
    expect(pdf.title).toBe(`${titles[locale]} · ${model.period.label}`);
    expect(pdf.tagged).toBe(true);
    const summaryTitle = normalizeSpace(String((model.messages.labels as Record<string, string>).summaryTitle));
    expect(pdf.outline).toContain(summaryTitle);
    for (const c of model.categories) expect(pdf.outline).toContain(c.name);
  });

  it('shows every indicator value, formatted, on the one-page executive summary', () => {
    const { pdf, model } = get();
    const summary = pdf.pages[1]!.text;
    for (const ind of Object.values(model.indicators)) {
      expect(summary, ind.id).toContain(normalizeSpace(`${ind.name}`));
      expect(summary, ind.id).toContain(normalizeSpace(ind.valueText));
      expect(summary, ind.id).toContain(ind.statusWord);
    }
    // the page after the summary is the highlights page: the summary did not spill over
    expect(pdf.pages[2]!.text).toContain(normalizeSpace(String((model.messages.labels as Record<string, string>).highlightsTitle)));
  });

  it('shows every team and channel name as text, with every breakdown value', () => {
    const { model } = get();
    // Long names wrap inside their cell: compare with whitespace removed.
    const squash = (s: string) => s.replace(/\s+/gu, '');
    const text = squash(allText());
    const missing: string[] = [];
    for (const ind of Object.values(model.indicators))
      for (const b of ind.breakdowns)
        for (const row of b.rows) if (!text.includes(squash(`${row.label}${row.valueText}`))) missing.push(`${ind.id} / ${row.label} ${row.valueText}`);
    expect(missing).toEqual([]);
    expect(text).toContain(squash(EVIL_TEAM));
  });

  it('draws every character with a glyph of an embedded Noto font', () => {
    const coverage = { sans: familyCoverage('Noto Sans'), sc: familyCoverage('Noto Sans SC') };
    const problems: string[] = [];
    let checked = 0;
    get().pdf.pages.forEach((page, i) => {
      for (const run of page.runs) {
        if (!run.embedded) problems.push(`page ${i + 1}: "${run.str}" in a font that is not embedded (${run.font})`);
        const family = /NotoSansSC/.test(run.font) ? coverage.sc : /NotoSans/.test(run.font) ? coverage.sans : null;
        if (!family) problems.push(`page ${i + 1}: "${run.str}" in ${run.font}, not Noto Sans / Noto Sans SC`);
        for (const ch of run.str) {
          if (/\s/u.test(ch)) continue;
          checked++;
          if (!family?.has(ch.codePointAt(0)!)) problems.push(`page ${i + 1}: "${ch}" (U+${ch.codePointAt(0)!.toString(16)}) has no glyph in ${run.font}`);
        }
      }
    });
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(3000);
  });

  it('asked for nothing outside the page', () => {
    expect(get().blocked).toEqual([]);
  });
});

describe('the renderer sandbox', () => {
  let server: Server;
  let hits: string[] = [];
  let base = '';
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits.push(req.url ?? '');
      res.end('body{background:red}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('blocks every network request and every file outside the report', async () => {
    hits = [];
    const t = copyTemplates();
    try {
      const cover = join(t.dir, 'partials', 'cover.hbs');
      writeFileSync(
        cover,
        `<link rel="stylesheet" href="${base}/style.css"><style>@import url("${base}/import.css");</style>` +
          `<img src="${base}/pixel.png"><img src="file:///etc/hostname"><iframe src="${base}/frame"></iframe>\n${readFileSync(cover, 'utf8')}`,
      );
      const { pdf, blocked } = await renderReport({ metrics: fixture(), report: reportFor('en'), templatesDir: t.dir, browser });
      expect(pdf.byteLength).toBeGreaterThan(10_000);
      expect(hits).toEqual([]);
      expect(blocked).toEqual(expect.arrayContaining([`${base}/style.css`, `${base}/pixel.png`, `${base}/frame`]));
    } finally {
      t.cleanup();
    }
  });

  it('closes the browser it launched when the render times out', async () => {
    const launched = await launchBrowser();
    const proc = launched.process()!;
    const err = await renderReport({ metrics: fixture(), report: reportFor('zh-CN'), timeoutMs: 150, launch: async () => launched }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RenderTimeoutError);
    await new Promise((r) => setTimeout(r, 500));
    expect(launched.connected).toBe(false);
    expect(proc.exitCode !== null || proc.signalCode !== null).toBe(true);
  });

  it('closes a browser that finished starting only after the timeout', async () => {
    let started: Browser | undefined;
    const slowLaunch = async () => {
      const b = await launchBrowser();
      started = b;
      await new Promise((r) => setTimeout(r, 300));
      return b;
    };
    const err = await renderReport({ metrics: fixture(), report: reportFor('en'), timeoutMs: 50, launch: slowLaunch }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RenderTimeoutError);
    await expect.poll(() => started !== undefined && !started.connected, { timeout: 10_000 }).toBe(true);
  });
});
