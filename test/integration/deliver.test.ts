/**
 * The archive-and-deliver step against real protocols: s3rver (S3 REST) as the archive and
 * smtp-server as the mail server. The sent message is parsed with mailparser.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { simpleParser } from 'mailparser';
import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { main as deliverCli } from '../../functions/cli/deliver.js';
import { createDeliverHandler } from '../../functions/handlers/deliver.js';
import { createResolvePeriodHandler } from '../../functions/handlers/resolvePeriod.js';
import { parseEvent, StepEventSchema } from '../../functions/handlers/runtime.js';
import { parseReports } from '../../functions/metrics/config.js';
import { LocalArchive, S3Archive } from '../../functions/deliver/archive.js';
import { deliverReport, type DeliverInput, type ReportParts } from '../../functions/deliver/deliver.js';
import { sendTestCopy } from '../../functions/deliver/emailTest.js';
import { DeliveryInDoubtError, DeliverySendError, ReportIncompleteError } from '../../functions/deliver/errors.js';
import { reportKeys, workKeys } from '../../functions/deliver/keys.js';
import { OutboxTransport, SmtpTransport } from '../../functions/deliver/transport.js';
import { startS3, startSmtp, type LocalS3, type LocalSmtp } from '../infra/support/localAws.js';
import { sampleMetrics, tinyPdf } from '../infra/support/fixtures.js';

const BUCKET = 'reports-archive';
const report = {
  id: 'monthly-service-review',
  title: 'Monthly customer service review',
  titles: { ru: 'Ежемесячный обзор клиентского сервиса' },
  recipients: ['lead@example.com', 'ops@example.com'],
};

let s3: LocalS3;
let smtp: LocalSmtp;
let n = 0;

beforeAll(async () => {
  [s3, smtp] = await Promise.all([startS3([BUCKET]), startSmtp()]);
});
afterAll(async () => {
  await Promise.all([s3?.stop(), smtp?.stop()]);
});
beforeEach(() => {
  smtp.messages.length = 0;
});

/** Each test uses its own period so the delivery records do not interfere. */
function nextPeriod(): string {
  n += 1;
  return `2025-${String(n).padStart(2, '0')}`;
}

function archive() {
  return new S3Archive({ s3: s3.client, bucket: BUCKET });
}

/** One run's report: a fresh PDF (random bytes, so two runs differ) and its metrics.json. */
function parts(period: string, pdf = tinyPdf(), locale = 'en'): ReportParts {
  return { pdf, metrics: JSON.stringify({ ...sampleMetrics(report.id, period), locale }) };
}

function input(period: string, over: Partial<DeliverInput> = {}): DeliverInput {
  return {
    archive: archive(),
    transport: new SmtpTransport(smtp.url),
    report,
    period,
    parts: parts(period),
    from: 'Reports <reports@example.com>',
    attachLimitBytes: 5 * 1024 * 1024,
    linkExpiresSeconds: 3600,
    runId: 'test-run',
    ...over,
  };
}

async function s3Bytes(key: string): Promise<Buffer> {
  const r = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}


describe('deliver over SMTP with the archive in S3', () => {
  it('archives under reports/<id>/<period>/ and mails the PDF, which decodes to the archived bytes', async () => {
    // Prepare
    const period = nextPeriod();
    const run = parts(period);
    // Act
    const outcome = await deliverReport(input(period, { parts: run, runId: 'run-a' }));
    // Assess
    const keys = outcome.keys;
    expect(keys.pdf).toBe(`reports/${report.id}/${period}/${report.id}-${period}.pdf`);
    expect(outcome.status).toBe('sent');
    expect(smtp.messages).toHaveLength(1);
    const sent = smtp.messages[0]!;
    expect(sent.to.sort()).toEqual([...report.recipients].sort());
    const mail = await simpleParser(sent.raw);
    expect(mail.subject).toContain(report.title);
    expect(mail.text).toContain('2 met, 1 at risk, 1 missed');
    expect(mail.attachments).toHaveLength(1);
    const att = mail.attachments[0]!;
    expect(att.filename).toBe(`${report.id}-${period}.pdf`);
    expect(att.contentType).toBe('application/pdf');
    expect(Buffer.compare(att.content, await s3Bytes(keys.pdf))).toBe(0);
    const record = JSON.parse((await s3Bytes(keys.delivery)).toString('utf8'));
    expect(record).toMatchObject({ status: 'sent', reportId: report.id, period, attached: true, messageId: mail.messageId, attempt: 1, runId: 'run-a' });
    expect(Buffer.compare(await s3Bytes(keys.pdf), Buffer.from(run.pdf))).toBe(0);
    expect((await s3Bytes(keys.metrics)).toString('utf8')).toBe(run.metrics);
    const runJson = JSON.parse((await s3Bytes(keys.run)).toString('utf8'));
    expect(runJson).toMatchObject({ runId: 'run-a', pdfSha256: record.archived.pdfSha256, metricsSha256: record.archived.metricsSha256 });
    expect(record.archived.runId).toBe('run-a');
    const head = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: keys.pdf }));
    expect(head.Metadata?.['run-id']).toBe('run-a');
    expect(record.recipients).toEqual([
      { address: 'lead@example.com', status: 'accepted', attempt: 1 },
      { address: 'ops@example.com', status: 'accepted', attempt: 1 },
    ]);
  });

  it('sends nothing the second time for the same report and period, and again only with force', async () => {
    const period = nextPeriod();
    expect((await deliverReport(input(period))).status).toBe('sent');

    const again = await deliverReport(input(period, { runId: 'a-retry' }));
    expect(again.status).toBe('already_sent');
    expect(smtp.messages).toHaveLength(1);

    const forced = await deliverReport(input(period, { runId: 'forced', force: true }));
    expect(forced.status).toBe('sent');
    expect(smtp.messages).toHaveLength(2);
    const record = JSON.parse((await s3Bytes(reportKeys(report.id, period).delivery)).toString('utf8'));
    expect(record).toMatchObject({ status: 'sent', runId: 'forced', forced: true });
  });

  it('sends a link instead of the PDF when the encoded PDF exceeds the limit, and the link serves the PDF', async () => {
    const period = nextPeriod();
    const pdf = tinyPdf(40_000);
    const outcome = await deliverReport(input(period, { attachLimitBytes: 30_000, parts: parts(period, pdf) }));
    expect(outcome.status).toBe('sent');
    const mail = await simpleParser(smtp.messages[0]!.raw);
    expect(mail.attachments).toHaveLength(0);
    const url = /(http:\/\/127\.0\.0\.1:\d+\/\S+)/.exec(mail.text ?? '')?.[1];
    expect(url).toBeDefined();
    expect(url).toContain('X-Amz-Signature=');
    const res = await fetch(url!);
    expect(res.status).toBe(200);
    expect(Buffer.compare(Buffer.from(await res.arrayBuffer()), Buffer.from(pdf))).toBe(0);
  });

  it('releases the claim when the server refuses the message, so a retry sends it', async () => {
    const period = nextPeriod();
    smtp.failNext = { code: 451, message: 'Try again later' };
    await expect(deliverReport(input(period))).rejects.toBeInstanceOf(DeliverySendError);
    expect(smtp.messages).toHaveLength(0);
    expect(await archive().get(reportKeys(report.id, period).delivery)).toBeNull();

    expect((await deliverReport(input(period))).status).toBe('sent');
    expect(smtp.messages).toHaveLength(1);
  });

  it('refuses to send when an earlier attempt never confirmed its send', async () => {
    const period = nextPeriod();
    const claim = { reportId: report.id, period, status: 'sending', runId: 'crashed-run', claimedAt: '2026-11-01T04:00:00.000Z' };
    await archive().put(reportKeys(report.id, period).delivery, JSON.stringify(claim), 'application/json');
    await expect(deliverReport(input(period))).rejects.toThrow(DeliveryInDoubtError);
    await expect(deliverReport(input(period))).rejects.toThrow(/crashed-run/);
    expect(smtp.messages).toHaveLength(0);
  });

  it('sends and archives nothing for an incomplete report', async () => {
    const period = nextPeriod();
    const keys = reportKeys(report.id, period);
    await expect(deliverReport(input(period, { parts: parts(period, new Uint8Array()) }))).rejects.toThrow(ReportIncompleteError);
    await expect(deliverReport(input(period, { parts: parts(period, tinyPdf().subarray(0, 200)) }))).rejects.toThrow(/truncated/);
    await expect(deliverReport(input(period, { parts: parts('2020-01') }))).rejects.toThrow(/not this report and period/);

    expect(smtp.messages).toHaveLength(0);
    expect(await archive().get(keys.delivery)).toBeNull();
    expect(await archive().get(keys.pdf)).toBeNull();
    expect(await archive().get(keys.metrics)).toBeNull();
  });

  it('a refused re-run leaves the archived PDF and metrics.json byte-identical to what was mailed', async () => {
    // Prepare: run A is delivered
    const period = nextPeriod();
    const a = parts(period);
    await deliverReport(input(period, { parts: a, runId: 'run-a' }));
    const keys = reportKeys(report.id, period);
    const runJsonBefore = await s3Bytes(keys.run);
    // Act: run B, with other bytes, finds the report sent
    const b = parts(period, tinyPdf(), 'ru');
    const outcome = await deliverReport(input(period, { parts: b, runId: 'run-b' }));
    // Assess
    expect(outcome.status).toBe('already_sent');
    expect(smtp.messages).toHaveLength(1);
    expect(Buffer.compare(await s3Bytes(keys.pdf), Buffer.from(a.pdf))).toBe(0);
    expect((await s3Bytes(keys.metrics)).toString('utf8')).toBe(a.metrics);
    expect(Buffer.compare(await s3Bytes(keys.run), runJsonBefore)).toBe(0);
    expect(JSON.parse((await s3Bytes(keys.delivery)).toString('utf8'))).toMatchObject({ runId: 'run-a', archived: { runId: 'run-a' } });
  });

  it('a run whose claim finds a send in doubt leaves the archive alone', async () => {
    // Prepare: a crashed run left its claim; the archive holds nothing yet
    const period = nextPeriod();
    const keys = reportKeys(report.id, period);
    await archive().put(keys.delivery, JSON.stringify({ reportId: report.id, period, status: 'sending', runId: 'crashed-run', claimedAt: '2026-11-01T04:00:00.000Z' }), 'application/json');
    // Act
    const e = await deliverReport(input(period)).catch((err) => err);
    // Assess
    expect(e).toBeInstanceOf(DeliveryInDoubtError);
    expect(await archive().get(keys.pdf)).toBeNull();
    expect(await archive().get(keys.metrics)).toBeNull();
  });

  it('writes the subject and body in the locale of the report (metrics.json), with the title of that locale', async () => {
    // Prepare
    const period = '2026-10';
    // Act
    await deliverReport(input(period, { parts: parts(period, tinyPdf(), 'ru') }));
    // Assess
    const mail = await simpleParser(smtp.messages[0]!.raw);
    // The month as the PDF prints it (formatPeriod), from the same catalogue
    expect(mail.subject).toBe('Ежемесячный обзор клиентского сервиса: Октябрь 2026 г.');
    expect(mail.text).toContain('Показатели: выполнено 2, под угрозой 1, не выполнено 1.');
    expect(mail.text).toContain('Полный отчёт — в PDF-файле во вложении.');
    expect(mail.html).toContain('Требует внимания');
  });

  it('archives the workbook beside the PDF and mails both, naming its SHA-256 in run.json and the record', async () => {
    // Prepare
    const period = nextPeriod();
    const workbook = new Uint8Array(randomBytes(5000));
    const run = { ...parts(period), workbook };
    // Act
    const outcome = await deliverReport(input(period, { parts: run, runId: 'run-w' }));
    // Assess
    expect(outcome.status).toBe('sent');
    const xlsxKey = `reports/${report.id}/${period}/${report.id}-${period}.xlsx`;
    expect(Buffer.compare(await s3Bytes(xlsxKey), Buffer.from(workbook))).toBe(0);
    const mail = await simpleParser(smtp.messages[0]!.raw);
    expect(mail.attachments.map((a) => a.filename)).toEqual([`${report.id}-${period}.pdf`, `${report.id}-${period}.xlsx`]);
    expect(Buffer.compare(mail.attachments[1]!.content, Buffer.from(workbook))).toBe(0);
    const hash = createHash('sha256').update(workbook).digest('hex');
    expect(JSON.parse((await s3Bytes(outcome.keys.run)).toString('utf8')).workbookSha256).toBe(hash);
    expect(JSON.parse((await s3Bytes(outcome.keys.delivery)).toString('utf8')).archived.workbookSha256).toBe(hash);
  });
});

describe('a test send (--test-to, testTo)', () => {
  const testInput = (period: string, run: ReportParts) => ({
    transport: new SmtpTransport(smtp.url),
    report,
    period,
    parts: run,
    from: 'Reports <reports@example.com>',
    to: 'qa@example.com',
    attachLimitBytes: 5 * 1024 * 1024,
    link: async () => 'unused: everything fits',
  });

  it('mails one marked copy to that address only, touches neither record nor archive, and the real send still reaches everyone once', async () => {
    // Prepare: a period of its own
    const period = '2024-03';
    const run = parts(period);
    const keys = reportKeys(report.id, period);
    // Act 1: a test send before the real one
    const test = await sendTestCopy(testInput(period, run));
    // Assess 1
    expect(test.to).toBe('qa@example.com');
    expect(smtp.messages.map((m) => m.to)).toEqual([['qa@example.com']]);
    const testMail = await simpleParser(smtp.messages[0]!.raw);
    expect(testMail.subject).toBe('[TEST] Monthly customer service review: March 2024');
    expect(testMail.html).toContain('Test copy, sent only to qa@example.com.');
    expect(Buffer.compare(testMail.attachments[0]!.content, Buffer.from(run.pdf))).toBe(0);
    for (const key of [keys.delivery, keys.pdf, keys.metrics, keys.run]) expect(await archive().get(key)).toBeNull();

    // Act 2: the real send
    const real = await deliverReport(input(period, { parts: run }));
    // Assess 2: every recipient, once, unmarked
    expect(real.status).toBe('sent');
    expect(smtp.messages).toHaveLength(2);
    expect([...smtp.messages[1]!.to].sort()).toEqual([...report.recipients].sort());
    const realMail = await simpleParser(smtp.messages[1]!.raw);
    expect(realMail.subject).not.toContain('[TEST]');
    expect(realMail.html).not.toContain('Test copy');
    const recordAfterSend = await s3Bytes(keys.delivery);

    // Act 3: a test send after the real one, then the real send again
    await sendTestCopy(testInput(period, run));
    const again = await deliverReport(input(period, { parts: run, runId: 'again' }));
    // Assess 3: the record is byte-identical, the test went to its address only, nobody got it twice
    expect(Buffer.compare(await s3Bytes(keys.delivery), recordAfterSend)).toBe(0);
    expect(again.status).toBe('already_sent');
    expect(smtp.messages.map((m) => m.to)).toEqual([['qa@example.com'], expect.any(Array), ['qa@example.com']]);
  });

  it('refuses more than one address, and sends nothing', async () => {
    const period = nextPeriod();
    await expect(sendTestCopy({ ...testInput(period, parts(period)), to: 'a@example.com,b@example.com' })).rejects.toThrow(
      'the test address must be one e-mail address, got "a@example.com,b@example.com"',
    );
    expect(smtp.messages).toHaveLength(0);
  });
});

describe('deliver locally: folder archive and .eml outbox', () => {
  it('writes one .eml and nothing on the second run', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'deliver-local-'));
    try {
      const local = new LocalArchive(join(dir, 'archive'));
      const period = '2026-10';
      const pdf = tinyPdf();
      const base = { ...input(period, { parts: parts(period, pdf) }), archive: local, transport: new OutboxTransport(join(dir, 'outbox')) };
      expect((await deliverReport(base)).status).toBe('sent');
      expect((await deliverReport(base)).status).toBe('already_sent');
      const files = await readdir(join(dir, 'outbox'));
      expect(files).toEqual([`${report.id}-${period}.eml`]);
      const mail = await simpleParser(await readFile(join(dir, 'outbox', files[0]!)));
      expect(Buffer.compare(mail.attachments[0]!.content, Buffer.from(pdf))).toBe(0);
      expect(await readFile(join(dir, 'archive', 'reports', report.id, period, 'delivery.json'), 'utf8')).toContain('"sent"');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a test send on AWS and from the command line', () => {
  it('the deliver handler with testTo mails the run to that address only, in the words of the templates folder, and records nothing', async () => {
    // Prepare: a report whose templates folder overrides two e-mail words; the run's scratch copies in S3
    const dir = await mkdtemp(join(tmpdir(), 'deliver-templates-'));
    try {
      await mkdir(join(dir, 'mine', 'locales'), { recursive: true });
      await writeFile(join(dir, 'mine', 'locales', 'en.json'), JSON.stringify({ email: { attentionTitle: 'Look here first', testSubject: 'TRIAL: {subject}' } }));
      const reports = parseReports(
        `reports:\n  - id: ${report.id}\n    title: ${report.title}\n    timezone: Europe/Moscow\n    template: ${join(dir, 'mine')}\n    recipients: [lead@example.com]\n`,
        'reports.yaml',
      );
      const period = '2024-04';
      const runId = 'exec-test-send';
      const run = parts(period);
      const work = workKeys(runId);
      await archive().put(work.metrics, run.metrics, 'application/json');
      await archive().put(work.pdf, run.pdf, 'application/pdf');
      const handler = createDeliverHandler({
        s3: s3.client,
        transport: new SmtpTransport(smtp.url),
        reports,
        archiveBucket: BUCKET,
        sender: 'Reports <reports@example.com>',
        attachLimitBytes: 5 * 1024 * 1024,
        linkExpiresSeconds: 3600,
        logger: new Logger({ serviceName: 'deliver-test', logLevel: 'SILENT' }),
      });
      // Act
      const out = await handler({ reportId: report.id, period, runId, testTo: 'qa@example.com' });
      // Assess
      expect(out).toMatchObject({ delivery: 'test_sent', testTo: 'qa@example.com' });
      expect(smtp.messages.map((m) => m.to)).toEqual([['qa@example.com']]);
      const mail = await simpleParser(smtp.messages[0]!.raw);
      expect(mail.subject).toBe('TRIAL: Monthly customer service review: April 2024');
      expect(mail.html).toContain('Look here first');
      const keys = reportKeys(report.id, period);
      for (const key of [keys.delivery, keys.pdf, keys.metrics, keys.run]) expect(await archive().get(key)).toBeNull();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the state machine input carries testTo from the start to the deliver step', async () => {
    // Act
    const resolved = await createResolvePeriodHandler({ reports: parseReports(`reports:\n  - id: r\n    title: R\n    timezone: UTC\n`, 'reports.yaml') })({
      start: { reportId: 'r', period: '2026-10', testTo: 'qa@example.com' },
      runId: 'exec-1',
    });
    // Assess
    expect(resolved).toMatchObject({ reportId: 'r', period: '2026-10', testTo: 'qa@example.com', runId: 'exec-1' });
    expect(parseEvent(StepEventSchema, resolved).testTo).toBe('qa@example.com');
    expect(() => parseEvent(StepEventSchema, { ...resolved, testTo: 'a@x.com, b@x.com' })).toThrow(/testTo/);
  });

  it('npm run deliver --test-to writes one marked message for that address and neither archives nor records', async () => {
    // Prepare: a run's PDF, metrics.json, workbook and run.json, as npm run report leaves them
    const dir = await mkdtemp(join(tmpdir(), 'deliver-cli-test-'));
    const quiet = [vi.spyOn(console, 'log').mockImplementation(() => {}), vi.spyOn(console, 'error').mockImplementation(() => {})];
    try {
      const period = '2026-10';
      const run = parts(period);
      const workbook = new Uint8Array(randomBytes(3000));
      const base = join(dir, `${report.id}-${period}.en`);
      const hash = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
      await writeFile(`${base}.pdf`, run.pdf);
      await writeFile(`${base}.metrics.json`, run.metrics);
      await writeFile(`${base}.xlsx`, workbook);
      await writeFile(`${base}.run.json`, JSON.stringify({ runId: 'local-1', reportId: report.id, period, locale: 'en', pdfSha256: hash(run.pdf), metricsSha256: hash(run.metrics), workbookSha256: hash(workbook) }));
      const args = ['--report', report.id, '--period', period, '--out', dir, '--archive', join(dir, 'archive'), '--outbox', join(dir, 'outbox')];
      // Act
      const code = await deliverCli([...args, '--test-to', 'qa@example.com']);
      // Assess
      expect(code).toBe(0);
      const files = await readdir(join(dir, 'outbox'));
      expect(files).toHaveLength(1);
      const mail = await simpleParser(await readFile(join(dir, 'outbox', files[0]!)));
      expect(mail.subject).toBe('[TEST] Monthly customer service review: October 2026');
      expect(mail.to).toMatchObject({ text: 'qa@example.com' });
      expect(mail.attachments.map((a) => a.filename)).toEqual([`${report.id}-${period}.pdf`, `${report.id}-${period}.xlsx`]);
      await expect(readdir(join(dir, 'archive'))).rejects.toThrow(/ENOENT/);
      // A workbook that is not the run's is refused, nothing sent
      await writeFile(`${base}.xlsx`, new Uint8Array(10));
      await expect(deliverCli([...args, '--test-to', 'qa@example.com'])).rejects.toThrow(/the workbook is not from run local-1/);
      expect(await readdir(join(dir, 'outbox'))).toHaveLength(1);
    } finally {
      quiet.forEach((q) => q.mockRestore());
      await rm(dir, { recursive: true, force: true });
    }
  });
});
