/**
 * The report in real Chromium: every value and team name is real text on the page in every
 * locale, every character has a glyph in the embedded fonts, the PDF has title, outline, tags
 * and A4 pages, the page cannot reach the network or the disk, and a timeout kills the browser.
 */
import { createServer, type Server } from 'node:http';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMetricsJob } from '../../functions/cli/runMetrics.js';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCALES, ReportDefSchema, type Locale } from '../../functions/pipeline/reportsConfig.js';
import { launchBrowser } from '../../functions/render/browser.js';
import { familyCoverage } from '../../functions/render/fonts.js';
import { buildReportModel, renderReport, RenderTimeoutError, type ReportModel } from '../../functions/render/renderReport.js';
import { copyTemplates } from '../support/templatesCopy.js';
import { normalizeSpace, readPdf, type PdfInfo } from './support/pdfText.js';
import { metricsDocument, segmentEntry, tableQuality, trendOf as trendPoints } from '../support/metricsObjects.js';
import { type IndicatorResult, type MetricsJson, type SegmentResult, type TableQuality } from '../../functions/metrics/schema.js';

const fixture = (): MetricsJson => JSON.parse(readFileSync(new URL('../../templates/sample.metrics.json', import.meta.url), 'utf8'));
const titles: Record<Locale, string> = { en: 'Monthly customer service review', 'zh-CN': '客户服务月度报告', ru: 'Ежемесячный отчёт о качестве обслуживания' };
const reportFor = (locale: Locale) => ReportDefSchema.parse({ id: 'monthly-service-review', title: titles[locale], organisation: 'Northwind Trading', locale, timezone: 'Europe/Moscow' });
const EVIL_TEAM = '<script>alert("pwned")</script>';

const trendOf = (values: (number | null)[]) => trendPoints(values, 500);

/**
 * A small metrics.json written by hand: the two accessibility indicators with team and channel
 * figures, the first-response SLA, and reopen rate without data because no tickets file has
 * reopened_count. Its figures as they must print are in SMALL_EXPECTED.
 */
function smallMetrics(): MetricsJson {
  const seg = (value: number, n: number, status: SegmentResult['status']): SegmentResult => ({ ...segmentEntry(value, n, status), trend: trendOf([]) });
  const tbl = (over: Partial<TableQuality> = {}): TableQuality => tableQuality({ newestUpdatedAt: '2026-10-31T18:00:00.000Z', ...over });
  const ind = (over: Partial<IndicatorResult> & Pick<IndicatorResult, 'unit' | 'direction' | 'category'>): IndicatorResult => ({
    value: null, n: 0, status: 'no_data', lowSample: true, previous: null, yearAgo: null, trend: trendOf([]), target: null, warn: null, ...over,
  }); // prettier-ignore
  return metricsDocument(
    {
      first_response_sla_pct: ind({ unit: '%', direction: 'higher', category: 'responsiveness', value: 87.9367, n: 3034, status: 'at_risk', lowSample: false, previous: 87.3736, yearAgo: 71.0372, target: 90, warn: 80, trend: trendOf([80, 81, 83, 84, 85, 85, 86, 86, 87, 87, 87.3736, 87.9367]) }),
      answer_speed_avg_s: ind({ unit: 's', direction: 'lower', category: 'accessibility', value: 37.5754, n: 4435, status: 'at_risk', lowSample: false, previous: 39.1721, yearAgo: 54.6994, target: 30, warn: 60, trend: trendOf([49.3, 60.2, 46.6, 37.1, 35.6, 30.8, 29.9, 31.2, 33.4, 35.0, 39.1721, 37.5754]) }),
      abandon_rate_pct: ind({ unit: '%', direction: 'lower', category: 'accessibility', value: 2.7839, n: 4562, status: 'met', lowSample: false, previous: 3.3066, yearAgo: 5.5628, target: 5, warn: 8, trend: trendOf([7.6, 9.8, 6.1, 4.8, 3.5, 3.6, 2.9, 2.8, 2.8, 3.0, 3.3066, 2.7839]) }),
      reopen_rate_pct: ind({ unit: '%', direction: 'lower', category: 'quality', target: 5, warn: 8 }),
    },
    {
      segments: {
        team: {
          Billing: { answer_speed_avg_s: seg(30.8108, 700, 'at_risk'), abandon_rate_pct: seg(1.3, 709, 'met') },
          'Logistics & Returns': { answer_speed_avg_s: seg(58.9412, 945, 'at_risk'), abandon_rate_pct: seg(4.8338, 993, 'met') },
        },
        channel: {
          social: { answer_speed_avg_s: seg(66.4449, 499, 'missed'), abandon_rate_pct: seg(1.9646, 509, 'met') },
          phone: { answer_speed_avg_s: seg(28.8, 2535, 'met'), abandon_rate_pct: seg(2.8, 2609, 'met') },
        },
      },
      dataQuality: {
        tickets: tbl({ missingColumns: ['reopened_count'] }),
        surveys: tbl(),
        orders: tbl(),
        complaints: tbl(),
        invoices: tbl(),
        customers: tbl(),
        contacts: tbl({ rowsRead: 61920, duplicatesDropped: 1920, rejected: { missing_key: 120, bad_value: 480 }, recordsUsed: 59400 }),
      },
    },
  );
}
const SMALL_INDICATORS = ['first_response_sla_pct', 'answer_speed_avg_s', 'abandon_rate_pct', 'reopen_rate_pct'];

/** What the small report must print, per locale (compared with whitespace removed: lines wrap). */
const SMALL_EXPECTED: Record<Locale, { section: string; cards: string[]; facts: string[]; rows: string[]; summary: string[]; dataQuality: string[]; appendix: string[] }> = {
  en: {
    section: 'Accessibility Average speed of answer',
    cards: ['Average speed of answer 37.6 sec At risk', 'Abandonment rate 2.8% Met'],
    facts: ['Target 30.0 sec', 'Warning level 1.0 min', 'Previous month 39.2 sec', 'A year ago 54.7 sec', 'Change −1.6 sec', 'Cases (n) 4,435', 'A year ago 5.6%', 'Change −0.5 pp'],
    rows: ['Logistics & Returns 58.9 sec 945 At risk', 'Billing 30.8 sec 700 At risk', 'Social media 1.1 min 499 Missed', 'Phone 28.8 sec 2,535 Met', 'Logistics & Returns 4.8% 993 Met', 'Social media 2.0% 509 Met'],
    summary: ['Accessibility', 'Average speed of answer 37.6 sec 30.0 sec At risk −1.6 sec', 'Abandonment rate 2.8% 5.0% Met −0.5 pp'],
    dataQuality: ['Contacts 61,920 1,920 600 59,400', 'Tickets: no file has the column reopened_count. Shown as no data for that reason: Reopen rate.'],
    appendix: [
      'Durations are in hours, except for indicators whose id ends in _s, which are in seconds.',
      'Tickets whose first-response deadline (creation + 8 h) falls in the period.',
      'Contacts queued in the period that an agent answered.',
      'Mean of (answer − queueing), in seconds.',
      'Share of them that nobody answered, in %.',
    ],
  },
  'zh-CN': {
    section: '可及性 平均应答时间',
    cards: ['平均应答时间 37.6秒 有风险', '放弃率 2.8% 达标'],
    facts: ['目标 30.0秒', '预警线 1.0分钟', '上月 39.2秒', '去年同月 54.7秒', '变化 −1.6秒', '样本数（n） 4,435', '去年同月 5.6%', '变化 −0.5 个百分点'],
    rows: ['Logistics & Returns 58.9秒 945 有风险', 'Billing 30.8秒 700 有风险', '社交媒体 1.1分钟 499 未达标', '电话 28.8秒 2,535 达标', 'Logistics & Returns 4.8% 993 达标', '社交媒体 2.0% 509 达标'],
    summary: ['可及性', '平均应答时间 37.6秒 30.0秒 有风险 −1.6秒', '放弃率 2.8% 5.0% 达标 −0.5 个百分点'],
    dataQuality: ['联络 61,920 1,920 600 59,400', '工单：所有文件均缺少列 reopened_count。因此以下指标无数据：重开率。'],
    appendix: ['时长以小时计；标识以 _s 结尾的指标以秒计。', '首次响应截止时间（创建时间 + 8 小时）落在本期内的工单。', '本期进入队列且已接通的联络。', '（接通时间 − 进入队列时间）的平均值，单位为秒。', '无人接通的联络所占比例（%）。'],
  },
  ru: {
    section: 'Доступность Среднее время ожидания ответа',
    cards: ['Среднее время ожидания ответа 37,6 с Под угрозой', 'Доля потерянных вызовов 2,8 % Выполнено'],
    facts: ['Цель 30,0 с', 'Порог предупреждения 1,0 мин', 'Предыдущий месяц 39,2 с', 'Год назад 54,7 с', 'Изменение −1,6 с', 'Наблюдений (n) 4 435', 'Год назад 5,6 %', 'Изменение −0,5 п. п.'],
    rows: ['Logistics & Returns 58,9 с 945 Под угрозой', 'Billing 30,8 с 700 Под угрозой', 'Соцсети 1,1 мин 499 Не выполнено', 'Телефон 28,8 с 2 535 Выполнено', 'Logistics & Returns 4,8 % 993 Выполнено', 'Соцсети 2,0 % 509 Выполнено'],
    summary: ['Доступность', 'Среднее время ожидания ответа 37,6 с 30,0 с Под угрозой −1,6 с', 'Доля потерянных вызовов 2,8 % 5,0 % Выполнено −0,5 п. п.'],
    dataQuality: ['Контакты 61 920 1 920 600 59 400', 'Обращения: ни в одном файле нет столбца reopened_count. Поэтому без данных: Доля повторно открытых.'],
    appendix: [
      'Длительности — в часах, а у показателей, идентификатор которых оканчивается на _s, — в секундах.',
      'Обращения, у которых срок первого ответа (создание + 8 ч) приходится на период.',
      'Контакты, поставленные в очередь в периоде и принятые оператором.',
      'Среднее (ответ − постановка в очередь), в секундах.',
      'Доля контактов, на которые так и не ответили, в %.',
    ],
  },
};

let browser: Browser;
const rendered = new Map<Locale, { pdf: PdfInfo; model: ReportModel; blocked: string[] }>();
const small = new Map<Locale, PdfInfo>();

beforeAll(async () => {
  browser = await launchBrowser();
  const metrics = fixture();
  metrics.segments.team[EVIL_TEAM] = { csat_pct: { value: 55.5, n: 44, status: 'at_risk', lowSample: false, previous: null, yearAgo: null, trend: trendOf([]) } };
  for (const locale of LOCALES) {
    const report = reportFor(locale);
    const { pdf, blocked } = await renderReport({ metrics, report, browser });
    rendered.set(locale, { pdf: await readPdf(pdf), model: buildReportModel(metrics, report, locale), blocked });
    const { pdf: smallPdf } = await renderReport({ metrics: smallMetrics(), report: { ...report, indicators: SMALL_INDICATORS }, browser });
    small.set(locale, await readPdf(smallPdf));
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

  it('tells the month on page 1: the verdict, what needs attention with its changes and driver', () => {
    const { pdf, model } = get();
    const squash = (s: string) => s.replace(/\s+/gu, '');
    const first = squash(pdf.pages[0]!.text);

    expect(first).toContain(squash(model.verdict.text));
    expect(first).toContain(squash(String((model.messages.labels as Record<string, string>).attentionTitle)));
    expect(model.attention.length).toBeGreaterThan(0);
    for (const i of model.attention) {
      expect(first, i.id).toContain(squash(`${i.name}${i.statusWord}${i.valueText}`));
      expect(first, i.id).toContain(squash(`${i.change.text}`));
      expect(first, i.id).toContain(squash(`${i.yoy.text}`));
      if (i.driver) expect(first, i.id).toContain(squash(i.driver.text));
    }
  });

  it('leaves no page blank', () => {
    const bare = get().pdf.pages.map((p, i) => ({ page: i + 1, chars: p.text.replace(/\s+/gu, '').length })).filter((p) => p.chars < 200);

    expect(bare).toEqual([]);
  });

  it('asked for nothing outside the page', () => {
    expect(get().blocked).toEqual([]);
  });
});

describe.each(LOCALES)('the %s report of v2 indicators on hand-written figures', (locale) => {
  const squash = (s: string) => s.replace(/\s+/gu, '');
  const expected = SMALL_EXPECTED[locale];
  const pages = () => small.get(locale)!.pages.map((p) => squash(p.text));
  const pageWith = (text: string) => pages().find((p) => p.includes(squash(text))) ?? '';

  it('has an Accessibility section with both cards, their facts and their team and channel rows', () => {
    // Categories flow (a card is never split): the section may go on onto the next page.
    // After the first page, the summary and the highlights (the summary also lists the category and its first indicator).
    const at = pages().findIndex((p, i) => i > 2 && p.includes(squash(expected.section)));
    const page = at < 0 ? '' : pages().slice(at, at + 2).join('');

    expect(page).not.toBe('');
    const missing = [...expected.cards, ...expected.facts, ...expected.rows].filter((t) => !page.includes(squash(t)));
    expect(missing).toEqual([]);
  });

  it('lists the Accessibility category and its two indicators on the executive summary', () => {
    const summary = pages()[1]!;

    const missing = expected.summary.filter((t) => !summary.includes(squash(t)));

    expect(missing).toEqual([]);
  });

  it('shows the contacts table and the missing column on the data-quality page', () => {
    const page = pageWith(expected.dataQuality[0]!);

    const missing = expected.dataQuality.filter((t) => !page.includes(squash(t)));

    expect(missing).toEqual([]);
  });

  it('defines durations in seconds, the SLA by its deadline and both accessibility indicators in the appendix', () => {
    const appendix = pages().slice(-2).join('');

    const missing = expected.appendix.filter((t) => !appendix.includes(squash(t)));

    expect(missing).toEqual([]);
  });

  it('has a bookmark for the Accessibility section', () => {
    const outline = small.get(locale)!.outline;

    expect(outline).toContain(expected.summary[0]);
  });
});

const DATASETS = join('..', 'shared', 'datasets');

describe.skipIf(!existsSync(DATASETS))('a foreign export with most indicators unmeasured (the call-centre dataset)', () => {
  it('has no blank page, says on page 1 how many are not measured, and lists them with their reasons in one line', async () => {
    const { metrics, report } = await runMetricsJob({
      data: join(DATASETS, 'call-center'),
      mapping: 'config/mappings/call-center.yaml',
      period: '2021-03',
      timezone: 'UTC',
      out: join(tmpdir(), 'render-cc'),
      allowIncomplete: true,
    });
    const squash = (s: string) => s.replace(/\s+/gu, '');

    const pdfs = new Map<Locale, PdfInfo>();
    for (const locale of LOCALES) pdfs.set(locale, await readPdf((await renderReport({ metrics, report, locale, browser })).pdf));
    const pdf = pdfs.get('en')!;

    // A page holding only its running header and footer (or one stray line) is a blank page to a reader.
    const bare = [...pdfs].flatMap(([locale, p]) => p.pages.map((page, i) => ({ locale, page: i + 1, chars: squash(page.text).length })).filter((x) => x.chars < 200));
    expect(bare).toEqual([]);
    // The export has calls only: no orders, complaints, invoices or customers, and no reopened_count.
    const unmeasured = Object.values(metrics.indicators).filter((i) => i.value === null).length;
    expect(unmeasured).toBeGreaterThan(15);
    expect(squash(pdf.pages[0]!.text)).toContain(squash(`${unmeasured} indicators are not measured for lack of data`));
    const summary = squash(pdf.pages[1]!.text);
    expect(summary).toContain(squash(`Not measured (${unmeasured}): Reopen rate (the Tickets table has no column reopened_count);`));
    expect(summary).toContain(squash('(the exports have no Orders table)'));
    // A whole category without data is one line, not a page of empty cards.
    const all = squash(pdf.pages.map((p) => p.text).join(' '));
    expect(all).toContain(squash('Billing Not measured (2): Invoices issued on time, Invoice accuracy (the exports have no Invoices table).'));
    expect(all).not.toContain(squash('Invoices issued on time —'));
  });
});

describe('the commentary on page 1', () => {
  it('prints the manager\'s Markdown, raw HTML as text, and fetches nothing', async () => {
    const squash = (s: string) => s.replace(/\s+/gu, '');
    const commentary = '**Web backlog** cleared late.\n\n<script>alert(1)</script> ![chart](http://127.0.0.1:9/c.png)';

    const { pdf, blocked } = await renderReport({ metrics: fixture(), report: reportFor('en'), browser, commentary });

    const first = squash((await readPdf(pdf)).pages[0]!.text);
    expect(first).toContain(squash('Commentary Web backlog cleared late. <script>alert(1)</script> chart'));
    expect(blocked).toEqual([]);
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
