/**
 * The Excel workbook, read back with exceljs: real numbers with their number formats (a rate as a
 * percent, hours and seconds as durations, counts), frozen header rows, the trend, the team
 * breakdown, data quality with the newest record in the report's time zone, headers and status
 * words in the report's language; and `npm run report` writes it beside the PDF, named in run.json.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Logger } from '@aws-lambda-powertools/logger';
import ExcelJS from 'exceljs';
import { describe, expect, it, vi } from 'vitest';
import { runReportJob } from '../../functions/cli/report.js';
import { sha256 } from '../../functions/deliver/deliver.js';
import { createRenderHandler } from '../../functions/handlers/render.js';
import type { MetricsJson } from '../../functions/metrics/schema.js';
import { ReportDefSchema } from '../../functions/pipeline/reportsConfig.js';
import { segmentMetrics } from '../../functions/render/burst.js';
import { buildWorkbook } from '../../functions/render/workbook.js';
import { csv, writeExports } from '../helpers/fixtures.js';
import { sampleMetrics } from '../infra/support/fixtures.js';
import { startS3 } from '../infra/support/localAws.js';

/** The fixture's five rates, plus a duration in hours, one in seconds and a count, with known figures. */
function metrics(locale: string): MetricsJson {
  const m = sampleMetrics('r', '2026-10');
  m.locale = locale;
  const trend = m.indicators.csat_pct!.trend.map((p, k) => ({ ...p, value: k === 0 ? 80 : k === 11 ? 71.4 : null, n: k === 0 || k === 11 ? 120 : 0 }));
  m.indicators.csat_pct = { ...m.indicators.csat_pct!, value: 71.4, previous: 75, yearAgo: 80, trend };
  const base = { n: 200, lowSample: false, trend: m.indicators.nps!.trend, warn: null };
  m.indicators.first_response_median_h = { ...base, value: 3.5, previous: 4.25, yearAgo: 5, unit: 'h', direction: 'lower', category: 'responsiveness', target: 4, status: 'met' };
  m.indicators.answer_speed_avg_s = { ...base, value: 42, previous: 30, yearAgo: null, unit: 's', direction: 'lower', category: 'accessibility', target: 60, status: 'met' };
  m.indicators.ticket_volume = { ...base, value: 1234, n: 1234, previous: 1000, yearAgo: null, unit: 'count', direction: 'neutral', category: 'responsiveness', target: null, status: 'no_target' };
  m.segments.team = { '<b>VIP</b> & Co': { csat_pct: { value: 60, n: 100, status: 'missed', lowSample: false, previous: 70, yearAgo: null, trend } } };
  return m;
}

function report(m: MetricsJson) {
  return ReportDefSchema.parse({ id: 'r', title: 'Service review', timezone: 'Europe/Moscow', locale: m.locale, indicators: Object.keys(m.indicators) });
}

async function read(bytes: Uint8Array): Promise<ExcelJS.Workbook> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(Buffer.from(bytes) as unknown as ArrayBuffer);
  return wb;
}

/** A cell's number; exceljs reads a number under a duration format back as a Date of Excel's 1899-12-30 epoch. */
function serial(cell: ExcelJS.Cell): number | null {
  const v = cell.value;
  if (v instanceof Date) return (v.getTime() - Date.UTC(1899, 11, 30)) / 86_400_000;
  return typeof v === 'number' ? v : null;
}

/** The row whose first cell (the indicator id) is `id`. */
function rowOf(ws: ExcelJS.Worksheet, id: string, column = 1): ExcelJS.Row {
  let found: ExcelJS.Row | undefined;
  ws.eachRow((r) => {
    if (r.getCell(column).value === id) found = r;
  });
  if (!found) throw new Error(`no row ${id} in ${ws.name}`);
  return found;
}

describe('the report workbook', () => {
  it('holds real numbers with number formats: percent, durations, counts, signed changes', async () => {
    // Prepare
    const m = metrics('en');
    // Act
    const wb = await read(await buildWorkbook({ metrics: m, report: report(m) }));
    // Assess
    expect(wb.worksheets.map((w) => w.name)).toEqual(['Summary', 'Trend', 'By team', 'By channel', 'Data quality']);
    const s = wb.getWorksheet('Summary')!;
    expect(s.getRow(1).values).toEqual([
      undefined, 'Id', 'Indicator', 'Category', 'Value', 'Target', 'Status', 'Previous month', 'Change', 'A year ago', 'n', 'Low sample',
    ]);
    const csat = rowOf(s, 'csat_pct');
    expect(csat.getCell(2).value).toBe('Customer satisfaction (CSAT)');
    expect(csat.getCell(4).value).toBeCloseTo(0.714, 10);
    expect(csat.getCell(4).numFmt).toBe('0.0%');
    expect(csat.getCell(5).value).toBeCloseTo(0.9, 10);
    expect(csat.getCell(6).value).toBe('Missed');
    expect(csat.getCell(7).value).toBeCloseTo(0.75, 10);
    expect(csat.getCell(8).value).toBeCloseTo(-3.6, 10); // percentage points
    expect(csat.getCell(8).numFmt).toBe('+0.0" pp";-0.0" pp";0.0" pp"');
    expect(csat.getCell(9).value).toBeCloseTo(0.8, 10);
    expect(csat.getCell(10).value).toBe(120);
    expect(csat.getCell(10).numFmt).toBe('#,##0');
    const hours = rowOf(s, 'first_response_median_h');
    expect(serial(hours.getCell(4))).toBeCloseTo(3.5 / 24, 12); // Excel durations are days
    expect(hours.getCell(4).numFmt).toBe('[h]:mm');
    expect(serial(hours.getCell(8))).toBeCloseTo(-0.75 / 24, 12);
    expect(hours.getCell(8).numFmt).toBe('+[h]:mm;-[h]:mm;[h]:mm');
    const seconds = rowOf(s, 'answer_speed_avg_s');
    expect(serial(seconds.getCell(4))).toBeCloseTo(42 / 86_400, 12);
    expect(seconds.getCell(4).numFmt).toBe('[m]:ss');
    const volume = rowOf(s, 'ticket_volume');
    expect(volume.getCell(4).value).toBe(1234);
    expect(volume.getCell(4).numFmt).toBe('#,##0');
    expect(volume.getCell(5).value).toBeNull(); // no target
    expect(volume.getCell(8).value).toBe(234);
    const noData = rowOf(s, 'return_rate_pct');
    expect(noData.getCell(4).value).toBeNull();
    expect(noData.getCell(6).value).toBe('No data');
  });

  it('freezes the header rows and the indicator columns', async () => {
    // Prepare
    const m = metrics('en');
    // Act
    const wb = await read(await buildWorkbook({ metrics: m, report: report(m) }));
    // Assess
    expect(wb.getWorksheet('Summary')!.views[0]).toMatchObject({ state: 'frozen', xSplit: 2, ySplit: 1 });
    expect(wb.getWorksheet('Trend')!.views[0]).toMatchObject({ state: 'frozen', xSplit: 2, ySplit: 1 });
    expect(wb.getWorksheet('By team')!.views[0]).toMatchObject({ state: 'frozen', xSplit: 3, ySplit: 1 });
    expect(wb.getWorksheet('Data quality')!.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 });
  });

  it('has the 12 months of each indicator, the team breakdown and data quality in the report time zone', async () => {
    // Prepare
    const m = metrics('en');
    // Act
    const wb = await read(await buildWorkbook({ metrics: m, report: report(m) }));
    // Assess: the window is Nov 2025 ... Oct 2026
    const trend = wb.getWorksheet('Trend')!;
    const head = trend.getRow(1).values as unknown[];
    expect(head.slice(1, 4)).toEqual(['Id', 'Indicator', 'Nov 2025']);
    expect(head[14]).toBe('Oct 2026');
    const csat = rowOf(trend, 'csat_pct');
    expect(csat.getCell(3).value).toBeCloseTo(0.8, 10);
    expect(csat.getCell(3).numFmt).toBe('0.0%');
    expect(csat.getCell(4).value).toBeNull();
    expect(csat.getCell(14).value).toBeCloseTo(0.714, 10);
    const team = wb.getWorksheet('By team')!;
    expect(team.getRow(1).values).toEqual([undefined, 'Id', 'Indicator', 'Team', 'Value', 'n', 'Status', 'Low sample']);
    const vip = rowOf(team, '<b>VIP</b> & Co', 3);
    expect(vip.getCell(1).value).toBe('csat_pct');
    expect(vip.getCell(4).value).toBeCloseTo(0.6, 10);
    expect(vip.getCell(5).value).toBe(100);
    expect(vip.getCell(6).value).toBe('Missed');
    const dq = wb.getWorksheet('Data quality')!;
    const tickets = rowOf(dq, 'Tickets');
    expect(tickets.getCell(3).value).toBe(120);
    // 2026-10-31T12:00Z is 15:00 in Moscow: the sheet shows the report's wall clock
    expect(tickets.getCell(7).value).toEqual(new Date('2026-10-31T15:00:00.000Z'));
    expect(tickets.getCell(7).numFmt).toBe('yyyy-mm-dd hh:mm');
  });

  it("a team's workbook holds the team's figures under headers naming the team, the company's value last", async () => {
    // Prepare: the team's report's metrics.json, as the burst makes it from the company's
    const m = metrics('en');
    const team = segmentMetrics(m, { kind: 'team', value: '<b>VIP</b> & Co' });
    // Act
    const wb = await read(await buildWorkbook({ metrics: team, report: report(m) }));
    // Assess: no breakdown sheets (a team's segments are empty)
    expect(wb.worksheets.map((w) => w.name)).toEqual(['Summary', 'Trend', 'Data quality']);
    expect(wb.title).toBe('Service review — Team: <b>VIP</b> & Co — October 2026');
    const s = wb.getWorksheet('Summary')!;
    expect(s.getRow(1).values).toEqual([
      undefined, 'Id', 'Indicator', 'Category', 'Value (Team: <b>VIP</b> & Co)', 'Target', 'Status', 'Previous month', 'Change', 'A year ago', 'n', 'Low sample', 'Company',
    ]);
    // The team's entry: CSAT 60 % of 100, missed, 70 % the month before; the company's 71.4 %
    const csat = rowOf(s, 'csat_pct');
    expect(csat.getCell(4).value).toBeCloseTo(0.6, 10);
    expect(csat.getCell(6).value).toBe('Missed');
    expect(csat.getCell(7).value).toBeCloseTo(0.7, 10);
    expect(csat.getCell(8).value).toBeCloseTo(-10, 10);
    expect(csat.getCell(10).value).toBe(100);
    expect(csat.getCell(12).value).toBeCloseTo(0.714, 10);
    expect(csat.getCell(12).numFmt).toBe('0.0%');
    // Not in the team's entry: no figure of its own, the company's 1,234 beside it
    const volume = rowOf(s, 'ticket_volume');
    expect(volume.getCell(4).value).toBeNull();
    expect(volume.getCell(12).value).toBe(1234);
    expect(wb.getWorksheet('Trend')!.getRow(1).getCell(2).value).toBe('Indicator (Team: <b>VIP</b> & Co)');
  });

  it("writes sheet names, headers and status words in the report's language (Russian)", async () => {
    // Prepare
    const m = metrics('ru');
    // Act
    const wb = await read(await buildWorkbook({ metrics: m, report: report(m) }));
    // Assess
    expect(wb.worksheets.map((w) => w.name)).toEqual(['Сводка', 'Динамика', 'По командам', 'По каналам', 'Качество данных']);
    expect(wb.getWorksheet('Сводка')!.getRow(1).values).toEqual([
      undefined, 'Код', 'Показатель', 'Категория', 'Значение', 'Цель', 'Статус', 'Предыдущий месяц', 'Изменение', 'Год назад', 'n', 'Мало данных',
    ]);
    const csat = rowOf(wb.getWorksheet('Сводка')!, 'csat_pct');
    expect(csat.getCell(2).value).toBe('Удовлетворённость (CSAT)');
    expect(csat.getCell(6).value).toBe('Не выполнено');
    expect(csat.getCell(4).value).toBeCloseTo(0.714, 10);
    expect(wb.getWorksheet('Динамика')!.getRow(1).getCell(3).value).toBe('нояб. 2025 г.');
  });

  it('the render step on AWS writes the workbook beside the PDF in the run\'s scratch space', async () => {
    // Prepare: s3rver holding the run's metrics.json
    const s3 = await startS3(['archive']);
    try {
      const m = metrics('en');
      const def = report(m);
      await s3.client.send(new PutObjectCommand({ Bucket: 'archive', Key: 'work/run-7/metrics.json', Body: JSON.stringify(m) }));
      const workbook = await buildWorkbook({ metrics: m, report: def });
      const handler = createRenderHandler({
        s3: s3.client,
        reports: { reports: [def] },
        archiveBucket: 'archive',
        logger: new Logger({ serviceName: 'workbook-test', logLevel: 'SILENT' }),
        // Chromium is not the point here: the renderer's PDF is a stand-in, its workbook the real one
        render: async () => ({ pdf: new Uint8Array([37, 80, 68, 70]), workbook }),
      });
      // Act
      const out = await handler({ reportId: 'r', period: '2026-10', runId: 'run-7' });
      // Assess
      expect(out).toMatchObject({ pdfKey: 'work/run-7/report.pdf', workbookKey: 'work/run-7/report.xlsx' });
      const got = await s3.client.send(new GetObjectCommand({ Bucket: 'archive', Key: 'work/run-7/report.xlsx' }));
      expect(got.ContentType).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
      const wb = await read(await got.Body!.transformToByteArray());
      expect(wb.worksheets[0]!.name).toBe('Summary');
    } finally {
      await s3.stop();
    }
  });

  it('npm run report writes <id>-<period>.<locale>.xlsx beside the PDF and names it in run.json', async () => {
    // Prepare
    const data = writeExports({ 'complaints/a.csv': csv('complaint_id,opened_at,updated_at', 'c1,2026-10-02,2026-10-03') });
    const out = mkdtempSync(join(tmpdir(), 'report-workbook-'));
    const quiet = [vi.spyOn(console, 'log').mockImplementation(() => {}), vi.spyOn(console, 'error').mockImplementation(() => {})];
    try {
      // Act
      const r = await runReportJob({ data, period: '2026-10', timezone: 'UTC', out, report: 'monthly-service-review', locale: 'ru', allowIncomplete: true });
      // Assess
      const file = join(out, 'monthly-service-review-2026-10.ru.xlsx');
      const bytes = readFileSync(file);
      expect(JSON.parse(readFileSync(r.runPath, 'utf8')).workbookSha256).toBe(sha256(bytes));
      const wb = await read(bytes);
      expect(wb.worksheets[0]!.name).toBe('Сводка');
      expect(wb.worksheets[0]!.getRow(1).getCell(2).value).toBe('Показатель');
    } finally {
      quiet.forEach((q) => q.mockRestore());
    }
  }, 120_000);
});
