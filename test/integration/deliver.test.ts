/**
 * The archive-and-deliver step against real protocols: s3rver (S3 REST) as the archive and
 * smtp-server as the mail server. The sent message is parsed with mailparser.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LocalArchive, S3Archive } from '../../functions/deliver/archive.js';
import { archiveReport, deliverReport, type DeliverInput } from '../../functions/deliver/deliver.js';
import { DeliveryInDoubtError, DeliverySendError, ReportIncompleteError } from '../../functions/deliver/errors.js';
import { reportKeys } from '../../functions/deliver/keys.js';
import { OutboxTransport, SmtpTransport } from '../../functions/deliver/transport.js';
import { startS3, startSmtp, type LocalS3, type LocalSmtp } from '../infra/support/localAws.js';
import { sampleMetrics, tinyPdf } from '../infra/support/fixtures.js';

const BUCKET = 'reports-archive';
const report = { id: 'monthly-service-review', title: 'Monthly customer service review', locale: 'en', recipients: ['lead@example.com', 'ops@example.com'] };

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

function input(period: string, over: Partial<DeliverInput> = {}): DeliverInput {
  return {
    archive: archive(),
    transport: new SmtpTransport(smtp.url),
    report,
    period,
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

async function archived(period: string, pdf = tinyPdf()) {
  const metrics = JSON.stringify(sampleMetrics(report.id, period));
  return archiveReport({ archive: archive(), reportId: report.id, period, pdf, metrics });
}

describe('deliver over SMTP with the archive in S3', () => {
  it('archives under reports/<id>/<period>/ and mails the PDF, which decodes to the archived bytes', async () => {
    // Prepare
    const period = nextPeriod();
    const keys = await archived(period);
    // Act
    const outcome = await deliverReport(input(period));
    // Assess
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
    expect(record).toMatchObject({ status: 'sent', reportId: report.id, period, attached: true, messageId: mail.messageId, attempt: 1 });
    expect(record.recipients).toEqual([
      { address: 'lead@example.com', status: 'accepted', attempt: 1 },
      { address: 'ops@example.com', status: 'accepted', attempt: 1 },
    ]);
  });

  it('sends nothing the second time for the same report and period, and again only with force', async () => {
    const period = nextPeriod();
    await archived(period);
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
    await archived(period, pdf);
    const outcome = await deliverReport(input(period, { attachLimitBytes: 30_000 }));
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
    await archived(period);
    smtp.failNext = { code: 451, message: 'Try again later' };
    await expect(deliverReport(input(period))).rejects.toBeInstanceOf(DeliverySendError);
    expect(smtp.messages).toHaveLength(0);
    expect(await archive().get(reportKeys(report.id, period).delivery)).toBeNull();

    expect((await deliverReport(input(period))).status).toBe('sent');
    expect(smtp.messages).toHaveLength(1);
  });

  it('refuses to send when an earlier attempt never confirmed its send', async () => {
    const period = nextPeriod();
    await archived(period);
    const claim = { reportId: report.id, period, status: 'sending', runId: 'crashed-run', claimedAt: '2026-11-01T04:00:00.000Z' };
    await archive().put(reportKeys(report.id, period).delivery, JSON.stringify(claim), 'application/json');
    await expect(deliverReport(input(period))).rejects.toThrow(DeliveryInDoubtError);
    await expect(deliverReport(input(period))).rejects.toThrow(/crashed-run/);
    expect(smtp.messages).toHaveLength(0);
  });

  it('sends nothing for an incomplete report', async () => {
    const period = nextPeriod();
    const keys = reportKeys(report.id, period);
    await archive().put(keys.metrics, JSON.stringify(sampleMetrics(report.id, period)), 'application/json');
    await expect(deliverReport(input(period))).rejects.toThrow(ReportIncompleteError);

    const truncated = tinyPdf().subarray(0, 200);
    await archive().put(keys.pdf, truncated, 'application/pdf');
    await expect(deliverReport(input(period))).rejects.toThrow(/truncated/);

    await archive().put(keys.pdf, tinyPdf(), 'application/pdf');
    await archive().put(keys.metrics, JSON.stringify(sampleMetrics(report.id, '2020-01')), 'application/json');
    await expect(deliverReport(input(period))).rejects.toThrow(/not this report and period/);

    expect(smtp.messages).toHaveLength(0);
    expect(await archive().get(keys.delivery)).toBeNull();
  });
});

describe('deliver locally: folder archive and .eml outbox', () => {
  it('writes one .eml and nothing on the second run', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'deliver-local-'));
    try {
      const local = new LocalArchive(join(dir, 'archive'));
      const period = '2026-10';
      const pdf = tinyPdf();
      await archiveReport({ archive: local, reportId: report.id, period, pdf, metrics: JSON.stringify(sampleMetrics(report.id, period)) });
      const base = { ...input(period), archive: local, transport: new OutboxTransport(join(dir, 'outbox')) };
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
