/**
 * The report e-mail as composed (real MJML, nodemailer's MailComposer) and read back with
 * mailparser: the HTML and plain-text parts carry the verdict and the indicators that need
 * attention with their figures, every value from the data is escaped, the words come from the
 * same catalogue as the PDF (a templates folder's locale overrides included), a test copy is
 * marked, and the attachments follow the size limit.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { afterAll, describe, expect, it } from 'vitest';
import { composeReportMessage, emailMessages, type ComposeInput } from '../../functions/deliver/compose.js';
import type { MetricsJson } from '../../functions/metrics/schema.js';
import { sampleMetrics, tinyPdf } from '../infra/support/fixtures.js';

const PERIOD = '2026-10';
const M = '\u2212'; // the minus sign the report prints

/**
 * The fixture's five indicators (first response SLA met, FCR at risk, CSAT missed, NPS met, return
 * rate without data) with a previous month for FCR and CSAT, and CSAT by team: one team fell by
 * 10 points, the other stayed, so that team drove CSAT's fall.
 */
function metrics(locale = 'en'): MetricsJson {
  const m = sampleMetrics('r', PERIOD);
  m.locale = locale;
  m.indicators.csat_pct = { ...m.indicators.csat_pct!, value: 71.4, previous: 75 };
  m.indicators.fcr_pct = { ...m.indicators.fcr_pct!, value: 70, previous: 78 };
  const trend = m.indicators.csat_pct.trend;
  m.segments.team = {
    '<b>VIP</b> & Co': { csat_pct: { value: 60, n: 100, status: 'missed', lowSample: false, previous: 70, yearAgo: null, trend } },
    Billing: { csat_pct: { value: 80, n: 100, status: 'at_risk', lowSample: false, previous: 80, yearAgo: null, trend } },
  };
  return m;
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function compose(over: Partial<ComposeInput> = {}): Promise<ParsedMail> {
  const m = over.metrics ?? metrics();
  const message = await composeReportMessage({
    from: 'Reports <reports@example.com>',
    to: ['lead@example.com'],
    report: { id: 'r', title: 'Service review', titles: { ru: 'Обзор сервиса' }, organisation: 'Northwind' },
    period: PERIOD,
    metrics: m,
    messages: emailMessages(m.locale),
    pdf: tinyPdf(),
    pdfName: 'r-2026-10.pdf',
    attachLimitBytes: 1024 * 1024,
    link: async () => 'https://archive.example/r-2026-10.pdf?sig=1&v=2',
    ...over,
  });
  return simpleParser(message.raw);
}

describe('the report e-mail', () => {
  it('has an HTML part and a plain-text part with the verdict and the indicators needing attention, missed first', async () => {
    // Act
    const mail = await compose();
    // Assess
    const html = mail.html as string;
    expect(mail.subject).toBe('Service review: October 2026');
    expect(html).toMatch(/^<!doctype html>/i);
    expect(html).toContain('1 of 4 indicators missed their target');
    // CSAT (missed) before FCR (at risk, fell 8 points): value, target, change
    const csat = html.indexOf('Customer satisfaction (CSAT)');
    const fcr = html.indexOf('First contact resolution');
    expect(csat).toBeGreaterThan(0);
    expect(fcr).toBeGreaterThan(csat);
    expect(html).toContain('71.4%');
    expect(html).toContain('90.0%');
    expect(html).toContain(`${M}3.6 pp`);
    expect(html).toContain(`${M}8.0 pp`);
    // Met indicators without a fall are not listed
    expect(html).not.toContain('First response within SLA');
    const text = mail.text!;
    expect(text).toContain('1 of 4 indicators missed their target');
    expect(text).toContain(`- Customer satisfaction (CSAT): 71.4% · Target 90.0% · Change ${M}3.6 pp (worse) · Missed`);
    expect(text).toContain(`- First contact resolution: 70.0% · Target 90.0% · Change ${M}8.0 pp (worse) · At risk`);
    expect(text.indexOf('Customer satisfaction')).toBeLessThan(text.indexOf('First contact resolution'));
    expect(text).toContain('Indicators: 2 met, 1 at risk, 1 missed.');
  });

  it('escapes every value from the data: a team named <b>VIP</b> & Co is text, not markup', async () => {
    // Act
    const mail = await compose();
    // Assess: the team drove CSAT's fall (half the cases, 10 points down: -5.0 pp)
    const html = mail.html as string;
    expect(html).not.toContain('<b>VIP</b>');
    expect(html).toContain(`Team &lt;b&gt;VIP&lt;/b&gt; &amp; Co: ${M}5.0 pp`);
    expect(mail.text).toContain(`Team <b>VIP</b> & Co: ${M}5.0 pp`);
  });

  it("takes its words from the same catalogue as the PDF, including a templates folder's locale overrides", async () => {
    // Prepare: a templates folder whose locales/en.json renames an indicator and two e-mail words
    const dir = mkdtempSync(join(tmpdir(), 'email-locales-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'custom', 'locales'), { recursive: true });
    writeFileSync(
      join(dir, 'custom', 'locales', 'en.json'),
      JSON.stringify({ email: { subject: 'Service {period} / {title}', attentionTitle: 'Look here first' }, indicators: { csat_pct: { name: 'Happy customers' } } }),
    );
    // Act
    const mail = await compose({ messages: emailMessages('en', join(dir, 'custom')) });
    // Assess
    expect(mail.subject).toBe('Service October 2026 / Service review');
    expect(mail.html).toContain('Look here first');
    expect(mail.html).toContain('Happy customers');
    expect(mail.html).not.toContain('Customer satisfaction (CSAT)');
    expect(mail.text).toContain('- Happy customers: 71.4%');
  });

  it("is written in the report's locale, with the title and month as the PDF prints them", async () => {
    // Act
    const mail = await compose({ metrics: metrics('ru') });
    // Assess
    expect(mail.subject).toBe('Обзор сервиса: Октябрь 2026 г.');
    const html = mail.html as string;
    expect(html).toMatch(/<html[^>]* lang="ru"/);
    expect(html).toContain('Требует внимания');
    expect(html).toContain('71,4\u00a0%');
    expect(mail.text).toContain('Показатели: выполнено 2, под угрозой 1, не выполнено 1.');
  });

  it('marks a test copy in the subject, with a banner naming the one address, in the locale', async () => {
    // Act
    const en = await compose({ test: { address: 'qa@example.com' } });
    const ru = await compose({ metrics: metrics('ru'), test: { address: 'qa@example.com' } });
    // Assess
    expect(en.subject).toBe('[TEST] Service review: October 2026');
    expect(en.html).toContain('Test copy, sent only to qa@example.com.');
    expect(en.text!.split('\n')[0]).toContain('Test copy, sent only to qa@example.com.');
    expect(en.headers.get('x-report-test')).toBe('true');
    expect(ru.subject).toBe('[ТЕСТ] Обзор сервиса: Октябрь 2026 г.');
    expect(ru.html).toContain('Тестовая копия, отправлена только на qa@example.com.');
  });

  it('attaches the PDF and the workbook while both fit the limit, and links what does not fit', async () => {
    // Prepare: a PDF of about 2.5 KB (3.5 KB as base64) and a 6000-byte workbook (8.2 KB as base64)
    const pdf = tinyPdf(2048);
    const workbook = { bytes: new Uint8Array(6000).fill(7), name: 'r-2026-10.xlsx', link: async () => 'https://archive.example/r-2026-10.xlsx?sig=1&v=2' };
    // Act
    const both = await compose({ pdf, workbook, attachLimitBytes: 20_000 });
    const pdfOnly = await compose({ pdf, workbook, attachLimitBytes: 6_000 });
    const none = await compose({ pdf, workbook, attachLimitBytes: 1_000 });
    // Assess
    expect(both.attachments.map((a) => [a.filename, a.contentType])).toEqual([
      ['r-2026-10.pdf', 'application/pdf'],
      ['r-2026-10.xlsx', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'],
    ]);
    expect(Buffer.compare(both.attachments[1]!.content, Buffer.from(workbook.bytes))).toBe(0);
    expect(both.text).toContain('The figures are attached as an Excel workbook (r-2026-10.xlsx).');
    expect(pdfOnly.attachments.map((a) => a.filename)).toEqual(['r-2026-10.pdf']);
    // The link's & is escaped in the markup (= may be too)
    expect(pdfOnly.html).toMatch(/href="https:\/\/archive\.example\/r-2026-10\.xlsx\?sig(=|&#x3D;)1&amp;v(=|&#x3D;)2"/);
    expect(pdfOnly.html).not.toContain('&v=');
    expect(pdfOnly.text).toContain('The Excel workbook is too large to attach; download it here (the link expires): https://archive.example/r-2026-10.xlsx?sig=1&v=2');
    expect(none.attachments).toHaveLength(0);
    expect(none.text).toContain('download it here (the link expires): https://archive.example/r-2026-10.pdf?sig=1&v=2');
  });
});
