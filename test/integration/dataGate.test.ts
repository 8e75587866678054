/**
 * The data gate, locally: each reason it holds a report for, on export folders written by hand for
 * a report that reads one table (complaints: complaint_resolution_median_h and
 * complaint_resolved_in_sla_pct), period 2026-10 in UTC (it ends 2026-11-01T00:00:00Z). A held
 * `npm run report` exits 5, prints a line per table and each reason, and leaves the last good
 * PDF alone; `--allow-incomplete` renders anyway with the reasons on the first page.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runMetricsJob } from '../../functions/cli/runMetrics.js';
import { runReportJob } from '../../functions/cli/report.js';
import { csv, writeExports } from '../helpers/fixtures.js';
import { readPdf } from './support/pdfText.js';

const AFTER_PERIOD = new Date('2026-11-01T04:00:00Z');

/** reports.yaml with one report reading complaints only. */
function reportsFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gate-config-'));
  const file = join(dir, 'reports.yaml');
  writeFileSync(
    file,
    [
      'reports:',
      '  - id: complaints-review',
      '    title: Complaints review',
      '    timezone: UTC',
      '    indicators: [complaint_resolution_median_h, complaint_resolved_in_sla_pct]',
      '    staleAfterDays: 7',
      '',
    ].join('\n'),
  );
  return file;
}
const REPORTS = reportsFile();

const HEADER = 'complaint_id,opened_at,resolved_at,updated_at';
/** `n` complaints opened on October 1st + i days, each resolved a day later; the last one updated at `lastUpdated`. */
function complaints(n: number, lastUpdated: string, bad: string[] = []): string {
  const rows = Array.from({ length: n }, (_, i) => {
    const day = String(1 + (i % 28)).padStart(2, '0');
    const next = String(2 + (i % 28)).padStart(2, '0');
    const updated = i === n - 1 ? lastUpdated : `2026-10-${next}T12:00:00Z`;
    return `c${i + 1},2026-10-${day}T09:00:00Z,2026-10-${next}T09:00:00Z,${updated}`;
  });
  return csv(HEADER, ...rows, ...bad);
}

const job = (data: string, over: Record<string, unknown> = {}) => ({
  data,
  period: '2026-10',
  reports: REPORTS,
  out: mkdtempSync(join(tmpdir(), 'gate-out-')),
  now: AFTER_PERIOD,
  allowIncomplete: true,
  ...over,
});

describe('the data gate holds a report', () => {
  it('passes complete data: every table the report reads is present, clean and reaches the end of the period', async () => {
    // Prepare: 10 complaints, the newest updated 4 h before the end; no orders at all (not read by this report)
    const data = writeExports({ 'complaints/a.csv': complaints(10, '2026-10-31T20:00:00Z') });
    // Act
    const { metrics } = await runMetricsJob(job(data));
    // Assess
    expect(metrics.gate).toEqual({ held: false, allowIncomplete: false, tables: ['complaints'], reasons: [] });
  });

  it('when a table the report needs has no files', async () => {
    const data = writeExports({ 'tickets/a.csv': csv('ticket_id,created_at,updated_at', 't1,2026-10-02T00:00:00Z,2026-10-31T23:00:00Z') });
    const { metrics } = await runMetricsJob(job(data));
    expect(metrics.gate).toEqual({ held: true, allowIncomplete: true, tables: ['complaints'], reasons: [{ code: 'table_missing', table: 'complaints' }] });
  });

  it('when its files hold no rows', async () => {
    const data = writeExports({ 'complaints/a.csv': csv(HEADER) });
    const { metrics } = await runMetricsJob(job(data));
    expect(metrics.gate?.reasons).toEqual([{ code: 'table_empty', table: 'complaints' }]);
  });

  it('when more than maxRejectedShare (5 %) of its rows are rejected: 2 of 20 rows with dates in a foreign format', async () => {
    // 18 good rows and 2 whose updated_at is dd.MM.yyyy: 2 / 20 = 10 %
    const data = writeExports({ 'complaints/a.csv': complaints(18, '2026-10-31T20:00:00Z', ['x1,2026-10-03T09:00:00Z,,03.10.2026 10:00:00', 'x2,2026-10-04T09:00:00Z,,04.10.2026 10:00:00']) });
    const { metrics } = await runMetricsJob(job(data));
    expect(metrics.gate?.reasons).toEqual([{ code: 'rejected_share', table: 'complaints', rejected: 2, rowsRead: 20, share: 0.1, limit: 0.05 }]);
  });

  it('but not at 1 of 20 rows (5 %, not more than the limit)', async () => {
    const data = writeExports({ 'complaints/a.csv': complaints(19, '2026-10-31T20:00:00Z', ['x1,2026-10-03T09:00:00Z,,03.10.2026 10:00:00']) });
    const { metrics } = await runMetricsJob(job(data));
    expect(metrics.gate?.held).toBe(false);
  });

  it('when every row is rejected (the whole export in a foreign date format)', async () => {
    const data = writeExports({ 'complaints/a.csv': csv(HEADER, 'c1,01.10.2026 09:00,,01.10.2026 09:00', 'c2,02.10.2026 09:00,,02.10.2026 09:00', 'c3,03.10.2026 09:00,,03.10.2026 09:00') });
    const { metrics } = await runMetricsJob(job(data));
    expect(metrics.gate?.reasons).toEqual([{ code: 'rejected_share', table: 'complaints', rejected: 3, rowsRead: 3, share: 1, limit: 0.05 }]);
  });

  it('when its newest record is more than staleAfterDays (7) days older than the end of the period', async () => {
    // newest 2026-10-20T00:00Z: 12 days (288 h) before 2026-11-01T00:00Z; the whole export ends there too
    const data = writeExports({ 'complaints/a.csv': complaints(3, '2026-10-20T00:00:00Z') });
    const { metrics } = await runMetricsJob(job(data));
    expect(metrics.gate?.reasons).toEqual([
      { code: 'stale', table: 'complaints', newest: '2026-10-20T00:00:00.000Z', hoursBeforeEnd: 288, limit: 7 },
      { code: 'data_ends_early', newest: '2026-10-20T00:00:00.000Z', hoursBeforeEnd: 288, limit: 24 },
    ]);
  });

  it('when the data ends more than dataEndToleranceHours (24) before the period does', async () => {
    // newest 2026-10-30T12:00Z: 36 h before the end, 1 whole day: not stale
    const data = writeExports({ 'complaints/a.csv': complaints(3, '2026-10-30T12:00:00Z') });
    const { metrics } = await runMetricsJob(job(data));
    expect(metrics.gate?.reasons).toEqual([{ code: 'data_ends_early', newest: '2026-10-30T12:00:00.000Z', hoursBeforeEnd: 36, limit: 24 }]);
  });

  it("when the period has not ended yet in the report's time zone", async () => {
    // Moscow: October ends 2026-10-31T21:00Z. At 20:59Z it is still running there; at 21:00Z it has ended.
    const data = writeExports({ 'complaints/a.csv': complaints(3, '2026-10-31T20:30:00Z') });
    const running = await runMetricsJob(job(data, { timezone: 'Europe/Moscow', now: new Date('2026-10-31T20:59:00Z') }));
    const ended = await runMetricsJob(job(data, { timezone: 'Europe/Moscow', now: new Date('2026-10-31T21:00:00Z') }));
    expect(running.metrics.gate?.reasons).toEqual([{ code: 'period_not_ended' }]);
    expect(ended.metrics.gate?.held).toBe(false);
  });
});

function reportCli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'functions/cli/report.ts', '--reports', REPORTS, '--period', '2026-10', ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('npm run report with held data', () => {
  it('exits 5 with a line per table and each reason, and leaves the last good report as it was', () => {
    // Prepare: a good report for October in `out`
    const out = mkdtempSync(join(tmpdir(), 'gate-cli-'));
    const good = writeExports({ 'complaints/a.csv': complaints(10, '2026-10-31T20:00:00Z') });
    const first = reportCli('--data', good, '--out', out);
    expect(first.code, first.stderr).toBe(0);
    const base = join(out, 'complaints-review-2026-10.en');
    const before = ['.pdf', '.metrics.json', '.run.json'].map((ext) => readFileSync(`${base}${ext}`));
    // …then the same month again from an export without its complaints
    const held = writeExports({ 'tickets/a.csv': csv('ticket_id,created_at,updated_at', 't1,2026-10-02T00:00:00Z,2026-10-31T23:00:00Z') });

    // Act
    const r = reportCli('--data', held, '--out', out);

    // Assess
    expect(r.code).toBe(5);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n');
    expect(lines).toContain('  complaints  no files: HELD (table_missing)');
    expect(lines).toContain('  tickets     1 row read, 0 rejected (0.0 %), 1 record used, newest 2026-10-31T23:00:00.000Z: not judged (not read by this report, or not in the mapping)');
    expect(lines).toContain('gate: complaints-review 2026-10 HELD, 1 reason:');
    expect(lines).toContain("  - complaints: no export files (the report's indicators read this table)");
    expect(lines.filter((l) => l.startsWith('error: '))).toEqual([
      'error: report held by the data gate (1 reason above): nothing was written, the last good report is untouched; fix the data, or --allow-incomplete to write it anyway',
    ]);
    const after = ['.pdf', '.metrics.json', '.run.json'].map((ext) => readFileSync(`${base}${ext}`));
    expect(after.map((b, i) => Buffer.compare(b, before[i]!))).toEqual([0, 0, 0]);
  });

  it('writes nothing at all when there is no earlier report', () => {
    const out = mkdtempSync(join(tmpdir(), 'gate-cli-'));
    const data = writeExports({ 'complaints/a.csv': csv(HEADER) });
    const r = reportCli('--data', data, '--out', out);
    expect(r.code).toBe(5);
    expect(existsSync(join(out, 'complaints-review-2026-10.en.pdf'))).toBe(false);
    expect(existsSync(join(out, 'complaints-review-2026-10.en.metrics.json'))).toBe(false);
  });
});

describe('--allow-incomplete', () => {
  it('renders a held report with its reasons on the first page, in the report language, and records them in metrics.json', async () => {
    // Prepare: complaints end 36 h before the end of October
    const data = writeExports({ 'complaints/a.csv': complaints(3, '2026-10-30T12:00:00Z') });
    const o = job(data);
    // Act
    const en = await runReportJob(o);
    const ru = await runReportJob({ ...o, locale: 'ru' });
    // Assess
    const metrics = JSON.parse(readFileSync(en.metricsPath, 'utf8'));
    expect(metrics.gate).toMatchObject({ held: true, allowIncomplete: true, reasons: [{ code: 'data_ends_early', hoursBeforeEnd: 36 }] });
    const [pdfEn, pdfRu] = [await readPdf(readFileSync(en.pdfPath)), await readPdf(readFileSync(ru.pdfPath))];
    expect(pdfEn.pages[0]!.text).toContain('Incomplete data: this report was produced although the data gate held it');
    expect(pdfEn.pages[0]!.text).toContain('The data ends 36 h before the period does');
    expect(pdfRu.pages[0]!.text).toContain('Неполные данные');
    expect(pdfRu.pages[0]!.text).toContain('Данные заканчиваются за 36 ч до конца периода');
    // Only on the first page
    expect(pdfEn.pages.slice(1).some((p) => p.text.includes('Incomplete data'))).toBe(false);
  });

  it('renders complete data without the notice', async () => {
    const data = writeExports({ 'complaints/a.csv': complaints(10, '2026-10-31T20:00:00Z') });
    const { pdfPath } = await runReportJob(job(data));
    const pdf = await readPdf(readFileSync(pdfPath));
    expect(pdf.pages[0]!.text).not.toContain('Incomplete data');
  });
});
