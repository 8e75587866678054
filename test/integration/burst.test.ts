/**
 * A report that bursts by team, end to end on generated sample data: `npm run report` writes one
 * PDF per team (each with its own metrics.json, workbook and run.json) from the one company metrics.json,
 * every figure in a team's report is that team's entry of the company metrics.json, and
 * `npm run deliver` mails each team's PDF to that team's recipients only, once; a burst nobody
 * owns goes to the fallback with a warning, and a re-run sends only what is missing.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import ExcelJS from 'exceljs';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main as deliverCli } from '../../functions/cli/deliver.js';
import { runReportJob } from '../../functions/cli/report.js';
import type { MetricsJson } from '../../functions/metrics/schema.js';
import { formatValue } from '../../functions/render/format.js';
import { generateSampleData } from '../../functions/sample/generate.js';
import { startSmtp, type LocalSmtp } from '../infra/support/localAws.js';
import { readPdf, type PdfInfo } from './support/pdfText.js';

const REPORTS_YAML = `reports:
  - id: team-review
    title: Team review
    timezone: Europe/Moscow
    recipients: [company@example.com]
    # The small sample's complaints and customers end days before the month does.
    gate: { dataEndToleranceHours: 240 }
    burst:
      by: team
      recipients:
        Billing: [billing-lead@example.com]
        "Техподдержка": [support-lead@example.com]
        "售后服务": [cn-lead@example.com, cn-deputy@example.com]
        "Key Accounts <b>VIP</b>": [vip@example.com]
        Ghost Team: [ghost@example.com]
      fallback: [ops@example.com]
`;

// File names written by hand: the team's slug and `printf '%s' TEAM | sha256sum | cut -c1-8`.
const PDF_OF: Record<string, string> = {
  Billing: 'team-review~team=billing-3ac8bbca-2026-10.en.pdf',
  Техподдержка: 'team-review~team=техподдержка-5284bd72-2026-10.en.pdf',
  售后服务: 'team-review~team=售后服务-f34999bc-2026-10.en.pdf',
  'Key Accounts <b>VIP</b>': 'team-review~team=key-accounts-b-vip-b-1c905d1d-2026-10.en.pdf',
  'Logistics & Returns': 'team-review~team=logistics-returns-f72fd95b-2026-10.en.pdf',
  unassigned: 'team-review~team=unassigned-2f23e841-2026-10.en.pdf',
};
const COMPANY_PDF = 'team-review-2026-10.en.pdf';
// Who must receive which PDF, once each.
const EXPECTED_INBOX: Record<string, string[]> = {
  'company@example.com': [COMPANY_PDF],
  'billing-lead@example.com': [PDF_OF.Billing!],
  'support-lead@example.com': [PDF_OF['Техподдержка']!],
  'cn-lead@example.com': [PDF_OF['售后服务']!],
  'cn-deputy@example.com': [PDF_OF['售后服务']!],
  'vip@example.com': [PDF_OF['Key Accounts <b>VIP</b>']!],
  'ops@example.com': [PDF_OF['Logistics & Returns']!, PDF_OF.unassigned!].sort(),
};
const EN_NAMES: Record<string, { name: string }> = JSON.parse(readFileSync(new URL('../../templates/locales/en.json', import.meta.url), 'utf8')).indicators;
const squash = (s: string) => s.replace(/\s+/gu, '');
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** A cell's number; exceljs reads a number under a duration format back as a Date of Excel's 1899-12-30 epoch. */
const serial = (cell: ExcelJS.Cell): number | null => {
  const v = cell.value;
  if (v instanceof Date) return (v.getTime() - Date.UTC(1899, 11, 30)) / 86_400_000;
  return typeof v === 'number' ? v : null;
};

let work: string;
let out: string;
let cfg: string;
let smtp: LocalSmtp;
let company: MetricsJson;
let log: string[];
let burstPaths: string[];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'burst-'));
  out = join(work, 'out');
  cfg = join(work, 'config');
  mkdirSync(cfg);
  writeFileSync(join(cfg, 'reports.yaml'), REPORTS_YAML);
  await generateSampleData(join(work, 'data'), { endPeriod: '2026-10', months: 15, scale: 0.05 });
  smtp = await startSmtp();
  log = [];
  const job = await runReportJob({ data: join(work, 'data'), period: '2026-10', out, reports: join(cfg, 'reports.yaml'), report: 'team-review', log: (l) => log.push(l) });
  burstPaths = job.bursts;
  company = JSON.parse(readFileSync(job.metricsPath, 'utf8'));
}, 240_000);
afterAll(async () => {
  await smtp?.stop();
});

/** Runs npm run deliver's main with the test's folders; console output kept for assertions. */
async function deliver(archive = 'archive'): Promise<{ code: number; stdout: string; stderr: string }> {
  const lines = { stdout: [] as string[], stderr: [] as string[] };
  const spies = [
    vi.spyOn(console, 'log').mockImplementation((...a) => void lines.stdout.push(a.join(' '))),
    vi.spyOn(console, 'error').mockImplementation((...a) => void lines.stderr.push(a.join(' '))),
  ];
  try {
    const code = await deliverCli(['--report', 'team-review', '--period', '2026-10', '--out', out, '--archive', join(work, archive), '--smtp', smtp.url, '--config', cfg]);
    return { code, stdout: lines.stdout.join('\n'), stderr: lines.stderr.join('\n') };
  } finally {
    spies.forEach((s) => s.mockRestore());
  }
}

/** recipient -> names of the PDFs mailed to them, from what the SMTP server received. */
async function inbox(messages: LocalSmtp['messages']): Promise<Record<string, string[]>> {
  const got: Record<string, string[]> = {};
  for (const m of messages) {
    const mail = await simpleParser(m.raw);
    const pdfs = mail.attachments.filter((a) => a.contentType === 'application/pdf');
    expect(pdfs).toHaveLength(1);
    const name = Object.entries({ ...PDF_OF, company: COMPANY_PDF }).find(([, file]) => Buffer.compare(readFileSync(join(out, file)), pdfs[0]!.content) === 0)?.[1];
    for (const to of m.to) (got[to] ??= []).push(name ?? `unknown attachment ${pdfs[0]!.filename}`);
  }
  for (const k of Object.keys(got)) got[k]!.sort();
  return got;
}

describe('npm run report with a burst by team', () => {
  it('writes one PDF, metrics.json and run.json per team of the data, beside the company report', () => {
    expect(Object.keys(company.segments.team).sort()).toEqual(Object.keys(PDF_OF).sort());
    expect(burstPaths.map((p) => p.slice(out.length + 1)).sort()).toEqual(Object.values(PDF_OF).sort());
    const files = readdirSync(out).filter((f) => f.startsWith('team-review~')).sort();
    expect(files).toEqual(Object.values(PDF_OF).flatMap((pdf) => ['.pdf', '.metrics.json', '.xlsx', '.run.json'].map((ext) => pdf.replace(/\.pdf$/, ext))).sort());
  });

  it.each(Object.keys(PDF_OF))("gives team %s its own workbook, named in its run.json, with the team's figures under headers naming the team", async (team) => {
    // Prepare
    const file = join(out, PDF_OF[team]!.replace(/\.pdf$/, '.xlsx'));
    const bytes = readFileSync(file);
    const entry = company.segments.team[team]!;
    // Act
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(bytes as unknown as ArrayBuffer);
    // Assess
    expect(JSON.parse(readFileSync(file.replace(/\.xlsx$/, '.run.json'), 'utf8')).workbookSha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    const s = wb.getWorksheet('Summary')!;
    // The cases without a team are labelled as on the PDF's cover.
    expect(s.getRow(1).getCell(4).value).toBe(`Value (Team: ${team === 'unassigned' ? '(unassigned)' : team})`);
    expect(s.getRow(1).getCell(12).value).toBe('Company');
    const rows = new Map<string, ExcelJS.Row>();
    s.eachRow((r, k) => void (k > 1 && rows.set(String(r.getCell(1).value), r)));
    for (const [id, e] of Object.entries(entry)) {
      // The cell's number by hand: a rate 0..100 is a fraction, hours and seconds are Excel days
      // (read back through a Date: to the millisecond, about 1e-8 of a day).
      const unit = company.indicators[id]!.unit;
      const cell = (v: number) => (unit === '%' ? v / 100 : unit === 'h' ? v / 24 : unit === 's' ? v / 86_400 : v);
      const row = rows.get(id)!;
      if (e.value === null) expect(row.getCell(4).value, id).toBeNull();
      else expect(serial(row.getCell(4)), id).toBeCloseTo(cell(e.value), 7);
      expect(row.getCell(10).value, `${id} n`).toBe(e.n);
      const c = company.indicators[id]!.value;
      if (c !== null) expect(serial(row.getCell(12)), `${id} company`).toBeCloseTo(cell(c), 7);
    }
  });

  it('warns about the teams nobody owns and the owner whose team has no data', () => {
    expect(log).toContain('warning: team "Logistics & Returns" has no recipients in the burst of report team-review: its report goes to the fallback (ops@example.com)');
    expect(log).toContain('warning: team "unassigned" has no recipients in the burst of report team-review: its report goes to the fallback (ops@example.com)');
    expect(log).toContain('warning: team "Ghost Team" named in the burst of report team-review has no data in 2026-10: no report for it');
  });

  it.each(Object.keys(PDF_OF))("holds, for team %s, exactly that team's entry of the company metrics.json beside the company figure", (team) => {
    const own = JSON.parse(readFileSync(join(out, PDF_OF[team]!.replace(/\.pdf$/, '.metrics.json')), 'utf8')) as MetricsJson;
    const entry = company.segments.team[team]!;
    expect(own.scope).toEqual({ kind: 'team', value: team });
    expect(Object.keys(entry).length).toBeGreaterThan(0);
    for (const [id, r] of Object.entries(own.indicators)) {
      const c = company.indicators[id]!;
      expect(r.company, id).toEqual({ value: c.value, status: c.status });
      const e = entry[id];
      if (e) {
        expect({ value: r.value, n: r.n, status: r.status, lowSample: r.lowSample, previous: r.previous, yearAgo: r.yearAgo, trend: r.trend }, id).toEqual(e);
      } else {
        // Not broken down by team (SERVQUAL, orders, complaints, invoices, retention), or no case in the month.
        expect([r.value, r.n, r.status], id).toEqual([null, 0, 'no_data']);
      }
    }
  });

  it.each(Object.keys(PDF_OF))("prints team %s's own figures in its PDF, with the company figure beside them", async (team) => {
    const pdf: PdfInfo = await readPdf(readFileSync(join(out, PDF_OF[team]!)));
    const entry = company.segments.team[team]!;
    expect(pdf.pages[0]!.text).toContain(team);
    const summary = squash(pdf.pages[1]!.text);
    const all = squash(pdf.pages.map((p) => p.text).join(' '));
    for (const [id, e] of Object.entries(entry)) {
      const name = squash(EN_NAMES[id]!.name);
      const teamValue = squash(formatValue(id, e.value, 'en'));
      const companyValue = squash(formatValue(id, company.indicators[id]!.value, 'en'));
      // The summary row: the indicator, then the team's value (a * when the sample is low), the company's a few columns on.
      expect(summary, id).toMatch(new RegExp(`${esc(name)}${esc(teamValue)}${e.lowSample ? '\\*' : ''}.{0,24}?${esc(companyValue)}`, 'u'));
      // The card's facts: the team's previous month, year-ago value and cases.
      if (e.previous !== null) expect(all, `${id} previous`).toContain(squash(`Previous month ${formatValue(id, e.previous, 'en')}`));
      if (e.yearAgo !== null) expect(all, `${id} year ago`).toContain(squash(`A year ago ${formatValue(id, e.yearAgo, 'en')}`));
      expect(all, `${id} n`).toContain(squash(`Cases (n) ${e.n.toLocaleString('en')}`));
    }
  });
});

describe('npm run deliver with a burst by team', () => {
  it("mails each team's PDF to that team's recipients only, once, and the unowned teams' to the fallback; a re-run sends nothing", async () => {
    // Act 1
    smtp.messages.length = 0;
    const first = await deliver();
    // Assess 1
    expect(first.code).toBe(0);
    expect(first.stderr).toContain('warning: team "Ghost Team" named in the burst of report team-review has no data in 2026-10: no report for it');
    expect(await inbox(smtp.messages)).toEqual(EXPECTED_INBOX);
    const record = JSON.parse(readFileSync(join(work, 'archive', 'reports', 'team-review', '2026-10', 'team=billing-3ac8bbca', 'delivery.json'), 'utf8'));
    expect(record).toMatchObject({ status: 'sent', recipients: [{ address: 'billing-lead@example.com', status: 'accepted' }] });
    // Billing's own workbook: attached to Billing's mail and archived in Billing's folder
    const billingXlsx = PDF_OF.Billing!.replace(/\.pdf$/, '.xlsx');
    const billingMail = await Promise.all(smtp.messages.filter((m) => m.to.includes('billing-lead@example.com')).map((m) => simpleParser(m.raw)));
    const sheets = billingMail[0]!.attachments.filter((a) => a.contentType === 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    expect(sheets.map((a) => Buffer.compare(a.content, readFileSync(join(out, billingXlsx))))).toEqual([0]);
    expect(readFileSync(join(work, 'archive', 'reports', 'team-review', '2026-10', 'team=billing-3ac8bbca', billingXlsx.replace('.en.xlsx', '.xlsx')))).toEqual(readFileSync(join(out, billingXlsx)));

    // Act 2: the same again
    smtp.messages.length = 0;
    const again = await deliver();
    // Assess 2
    expect(again.code).toBe(0);
    expect(smtp.messages).toHaveLength(0);
    expect(again.stdout).toContain('team "Billing": not sent, already delivered at');
  }, 120_000);

  it("after a team's mail was refused, a re-run sends only that team's report, and the next nothing", async () => {
    // Prepare: the mail server refuses the first message, the first team's (bursts go first, in the data's order)
    const firstTeam = Object.keys(company.segments.team)[0]!;
    const owners = Object.entries(EXPECTED_INBOX).filter(([, files]) => files.includes(PDF_OF[firstTeam]!)).map(([to]) => to);
    smtp.messages.length = 0;
    smtp.failNext = { code: 451, message: 'try again later' };
    // Act 1
    const first = await deliver('archive-refused');
    // Assess 1: nothing sent for that team, everything else sent
    expect(first.code).toBe(2);
    expect(first.stderr).toContain(`team "${firstTeam}": `);
    const sent1 = await inbox(smtp.messages);
    for (const to of owners) expect(sent1[to] ?? [], to).not.toContain(PDF_OF[firstTeam]);
    // Six team reports and the company's, less the refused one.
    expect(smtp.messages).toHaveLength(6);

    // Act 2
    smtp.messages.length = 0;
    const second = await deliver('archive-refused');
    // Assess 2: exactly the missing one
    expect(second.code).toBe(0);
    expect(smtp.messages).toHaveLength(1);
    expect(await inbox(smtp.messages)).toEqual(Object.fromEntries(owners.map((to) => [to, [PDF_OF[firstTeam]!]])));

    // Act 3
    smtp.messages.length = 0;
    const third = await deliver('archive-refused');
    // Assess 3
    expect(third.code).toBe(0);
    expect(smtp.messages).toHaveLength(0);
  }, 120_000);

  it("delivers one team's files given by --pdf and --metrics to that team's recipients only", async () => {
    // Prepare
    const pdf = join(out, PDF_OF['售后服务']!);
    smtp.messages.length = 0;
    const quiet = [vi.spyOn(console, 'log').mockImplementation(() => {}), vi.spyOn(console, 'error').mockImplementation(() => {})];
    try {
      // Act
      const code = await deliverCli(['--pdf', pdf, '--metrics', pdf.replace(/\.pdf$/, '.metrics.json'), '--archive', join(work, 'archive-one'), '--smtp', smtp.url, '--config', cfg]);
      // Assess
      expect(code).toBe(0);
      expect(await inbox(smtp.messages)).toEqual({ 'cn-lead@example.com': [PDF_OF['售后服务']!], 'cn-deputy@example.com': [PDF_OF['售后服务']!] });
    } finally {
      quiet.forEach((q) => q.mockRestore());
    }
  }, 60_000);

  it("refuses a team's files of another run than the company report's, and sends the others", async () => {
    // Prepare: Billing's run record names another run (its files still match it)
    const runFile = join(out, PDF_OF.Billing!.replace(/\.pdf$/, '.run.json'));
    const original = readFileSync(runFile, 'utf8');
    writeFileSync(runFile, JSON.stringify({ ...JSON.parse(original), runId: 'local-older-run' }));
    smtp.messages.length = 0;
    try {
      // Act
      const r = await deliver('archive-stale');
      // Assess
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`team "Billing": ${join(out, PDF_OF.Billing!)} is of run local-older-run, not of run`);
      const got = await inbox(smtp.messages);
      expect(got['billing-lead@example.com']).toBeUndefined();
      expect(got['vip@example.com']).toEqual([PDF_OF['Key Accounts <b>VIP</b>']!]);
      expect(got['company@example.com']).toEqual([COMPANY_PDF]);
    } finally {
      writeFileSync(runFile, original);
    }
  }, 60_000);
});
