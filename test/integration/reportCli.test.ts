/**
 * The report CLI as a user sees it: a failure is one line naming the problem, exit code 1, no
 * stack; reports in two languages sit side by side, and deliver mails each in its own language.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { describe, expect, it, vi } from 'vitest';
import { main as deliverCli } from '../../functions/cli/deliver.js';
import { runReportJob } from '../../functions/cli/report.js';
import { sha256 } from '../../functions/deliver/deliver.js';
import { ReportIncompleteError } from '../../functions/deliver/errors.js';
import { csv, writeExports } from '../helpers/fixtures.js';

describe('npm run report', () => {
  it('reports a render that runs out of time in one line with exit code 1', () => {
    const data = writeExports({ 'complaints/a.csv': csv('complaint_id,opened_at,updated_at', 'c1,2026-10-02,2026-10-03') });
    const out = mkdtempSync(join(tmpdir(), 'report-out-'));
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'functions/cli/report.ts', '--data', data, '--period', '2026-10', '--timezone', 'UTC', '--out', out, '--timeout', '1', '--allow-incomplete'],
      { encoding: 'utf8' },
    );
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('error: ') || l.startsWith('    at '));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: .*(took longer than 1 ms|timed out)/);
  });
});

describe('npm run report, then npm run deliver, in two languages', () => {
  it('writes <id>-<period>.<locale>.* side by side, mails each in its language, and refuses a mismatched pair', async () => {
    // Prepare
    const data = writeExports({ 'complaints/a.csv': csv('complaint_id,opened_at,updated_at', 'c1,2026-10-02,2026-10-03') });
    const out = mkdtempSync(join(tmpdir(), 'report-locales-'));
    // complaints only: held by the data gate unless allowed (dataGate.test.ts)
    const job = { data, period: '2026-10', timezone: 'UTC', out, report: 'monthly-service-review', allowIncomplete: true };
    const base = join(out, 'monthly-service-review-2026-10');
    const quiet = [vi.spyOn(console, 'log').mockImplementation(() => {}), vi.spyOn(console, 'error').mockImplementation(() => {})];
    try {
      // Act 1: the default locale (en), then Russian, into the same folder
      const en = await runReportJob(job);
      const ru = await runReportJob({ ...job, locale: 'ru' });
      // Assess 1
      expect([en.pdfPath, en.metricsPath, en.runPath]).toEqual([`${base}.en.pdf`, `${base}.en.metrics.json`, `${base}.en.run.json`]);
      expect([ru.pdfPath, ru.metricsPath, ru.runPath]).toEqual([`${base}.ru.pdf`, `${base}.ru.metrics.json`, `${base}.ru.run.json`]);
      expect(readdirSync(out).filter((f) => f.endsWith('.pdf')).sort()).toEqual(['monthly-service-review-2026-10.en.pdf', 'monthly-service-review-2026-10.ru.pdf']);
      expect(JSON.parse(readFileSync(`${base}.ru.metrics.json`, 'utf8')).locale).toBe('ru');
      expect(JSON.parse(readFileSync(`${base}.en.run.json`, 'utf8'))).toMatchObject({ runId: en.runId, locale: 'en', pdfSha256: sha256(readFileSync(en.pdfPath)) });
      expect(en.runId).not.toBe(ru.runId);

      // Act 2: deliver the Russian report
      const code = await deliverCli(['--report', 'monthly-service-review', '--period', '2026-10', '--locale', 'ru', '--out', out, '--archive', join(out, 'archive'), '--outbox', join(out, 'outbox')]);
      // Assess 2
      expect(code).toBe(0);
      const mail = await simpleParser(readFileSync(join(out, 'outbox', 'monthly-service-review-2026-10.eml')));
      expect(mail.subject).toBe('Ежемесячный отчёт о качестве обслуживания: Октябрь 2026 г.');
      expect(mail.text).toContain('Готов отчёт «Ежемесячный отчёт о качестве обслуживания». Период: Октябрь 2026 г.');
      expect(Buffer.compare(mail.attachments[0]!.content, readFileSync(ru.pdfPath))).toBe(0);
      const record = JSON.parse(readFileSync(join(out, 'archive', 'reports', 'monthly-service-review', '2026-10', 'delivery.json'), 'utf8'));
      expect(record).toMatchObject({ status: 'sent', runId: ru.runId, archived: { runId: ru.runId } });

      // Act 3: the English metrics.json beside the English PDF of another run
      copyFileSync(`${base}.ru.metrics.json`, `${base}.en.metrics.json`);
      const refused = await deliverCli(['--report', 'monthly-service-review', '--period', '2026-10', '--out', out, '--archive', join(out, 'archive2'), '--outbox', join(out, 'outbox2')]).catch((e: Error) => e);
      // Assess 3
      expect(refused).toBeInstanceOf(ReportIncompleteError);
      expect((refused as Error).message).toBe(`metrics.json is not from run ${en.runId} (${base}.en.run.json): another run overwrote it; run \`npm run report\` again; nothing sent`);
      expect(existsSync(join(out, 'outbox2'))).toBe(false);
      expect(existsSync(join(out, 'archive2'))).toBe(false);
    } finally {
      quiet.forEach((s) => s.mockRestore());
    }
  }, 120_000);
});
