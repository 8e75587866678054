/**
 * How delivery ends when sending goes wrong, against real protocols: a local HTTP server that
 * speaks SES v2's REST protocol (answers 500, 400, or drops the connection after reading the
 * request), an smtp-server that misbehaves on purpose (drops the connection after taking the
 * whole message, or before DATA; refuses one recipient), s3rver for the Lambda handler. Each
 * outcome is one of: not sent (DeliverySendError, the record released), sent (per recipient, in
 * delivery.json), in doubt (DeliveryInDoubtError, the record kept with the evidence).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Logger } from '@aws-lambda-powertools/logger';
import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { LocalArchive, S3Archive } from '../../functions/deliver/archive.js';
import { deliverReport, sha256, type DeliverInput, type DeliveryRecord, type ReportParts } from '../../functions/deliver/deliver.js';
import { DeliveryInDoubtError, DeliverySendError, PartialDeliveryError } from '../../functions/deliver/errors.js';
import { reportKeys, workKeys } from '../../functions/deliver/keys.js';
import { SesTransport, sesSendClient, SmtpTransport } from '../../functions/deliver/transport.js';
import { main as deliverCli } from '../../functions/cli/deliver.js';
import { createDeliverHandler } from '../../functions/handlers/deliver.js';
import { loadReports } from '../../functions/metrics/config.js';
import { startS3, type LocalS3 } from '../infra/support/localAws.js';
import { sampleMetrics, tinyPdf } from '../infra/support/fixtures.js';

const REPORT_ID = 'monthly-service-review';
const report = { id: REPORT_ID, title: 'Monthly customer service review', recipients: ['lead@example.com', 'gone@example.com'] };
const PERIOD = '2026-03';

/** An SMTP server whose misbehaviour each test picks. */
interface Smtp {
  url: string;
  /** Complete messages the server took in (whether or not it answered). */
  received: { to: string[]; raw: Buffer }[];
  /** Addresses refused at RCPT TO with `550 5.1.1 No such user`. */
  refuse: Set<string>;
  /** `after-data`: read the whole message, then drop the connection without a reply. `at-rcpt`: drop it on RCPT TO. */
  drop: 'after-data' | 'at-rcpt' | null;
  stop(): Promise<void>;
}

async function startSmtp(): Promise<Smtp> {
  const sockets = new Set<Socket>();
  const state: Smtp = { url: '', received: [], refuse: new Set(), drop: null, stop: async () => {} };
  const dropAll = () => sockets.forEach((s) => s.destroy());
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(address, _session, callback) {
      if (state.drop === 'at-rcpt') return dropAll();
      if (state.refuse.has(address.address)) return callback(Object.assign(new Error('5.1.1 No such user'), { responseCode: 550 }));
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        state.received.push({ to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks) });
        if (state.drop === 'after-data') return dropAll();
        callback();
      });
    },
  });
  server.server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  state.url = `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  state.stop = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return state;
}

/** A stand-in for the SES v2 endpoint: counts the requests and answers as told. */
interface FakeSes {
  endpoint: string;
  requests: number;
  answer: 'ok' | '500' | '400' | 'drop';
  stop(): Promise<void>;
}

async function startSes(): Promise<FakeSes> {
  const state: FakeSes = { endpoint: '', requests: 0, answer: 'ok', stop: async () => {} };
  const server: Server = createServer((req, res) => {
    state.requests += 1;
    req.resume();
    req.on('end', () => {
      if (state.answer === 'drop') return req.socket.destroy();
      const json = (status: number, headers: Record<string, string>, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(body));
      };
      if (state.answer === 'ok') return json(200, { 'x-amzn-requestid': 'req-200' }, { MessageId: 'ses-msg-1' });
      if (state.answer === '500') return json(500, { 'x-amzn-requestid': 'req-500', 'x-amzn-errortype': 'InternalFailure' }, { message: 'internal' });
      return json(400, { 'x-amzn-requestid': 'req-400', 'x-amzn-errortype': 'MessageRejected' }, { message: 'Email address is not verified.' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  state.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

let smtp: Smtp;
let ses: FakeSes;
let dir: string;
let archive: LocalArchive;
/** The report of the run under test. */
let parts: ReportParts;

beforeAll(async () => {
  [smtp, ses] = await Promise.all([startSmtp(), startSes()]);
});
afterAll(async () => {
  await Promise.all([smtp?.stop(), ses?.stop()]);
});
beforeEach(async () => {
  smtp.received.length = 0;
  smtp.refuse.clear();
  smtp.drop = null;
  ses.requests = 0;
  ses.answer = 'ok';
  dir = await mkdtemp(join(tmpdir(), 'deliver-failures-'));
  archive = new LocalArchive(join(dir, 'archive'));
  parts = { pdf: tinyPdf(), metrics: JSON.stringify(sampleMetrics(REPORT_ID, PERIOD)) };
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const deliveryPath = () => join(dir, 'archive', 'reports', REPORT_ID, PERIOD, 'delivery.json');

async function record(): Promise<DeliveryRecord | null> {
  const bytes = await archive.get(reportKeys(REPORT_ID, PERIOD).delivery);
  return bytes ? (JSON.parse(Buffer.from(bytes).toString('utf8')) as DeliveryRecord) : null;
}

function input(over: Partial<DeliverInput> = {}): DeliverInput {
  return {
    archive,
    transport: new SmtpTransport(smtp.url),
    report,
    period: PERIOD,
    parts,
    from: 'Reports <reports@example.com>',
    attachLimitBytes: 5 * 1024 * 1024,
    linkExpiresSeconds: 3600,
    runId: 'run-1',
    ...over,
  };
}

function sesTransport() {
  return new SesTransport(sesSendClient({ endpoint: ses.endpoint, region: 'eu-west-1', credentials: { accessKeyId: 'AK', secretAccessKey: 'SK' } }));
}

describe('SES: one request per send, a 5xx or a dropped connection is in doubt', () => {
  it('answers 500: one request, in doubt, the evidence recorded, and a re-run sends nothing', async () => {
    // Prepare
    ses.answer = '500';
    // Act
    const first = await deliverReport(input({ transport: sesTransport() })).catch((e) => e);
    const again = await deliverReport(input({ transport: sesTransport(), runId: 'run-2' })).catch((e) => e);
    // Assess
    expect(first).toBeInstanceOf(DeliveryInDoubtError);
    expect(again).toBeInstanceOf(DeliveryInDoubtError);
    expect(ses.requests).toBe(1);
    const r = await record();
    expect(r).toMatchObject({ status: 'in_doubt', runId: 'run-1', attempt: 1 });
    expect(r!.recipients).toEqual([
      { address: 'lead@example.com', status: 'in_doubt', attempt: 1 },
      { address: 'gone@example.com', status: 'in_doubt', attempt: 1 },
    ]);
    expect(r!.evidence).toEqual({ transport: 'ses', phase: 'request', error: 'InternalFailure', message: 'internal', httpStatus: 500, requestId: 'req-500' });
  });

  it('drops the connection after reading the request: one request, in doubt, no HTTP status in the evidence', async () => {
    // Prepare
    ses.answer = 'drop';
    // Act
    const e = await deliverReport(input({ transport: sesTransport() })).catch((err) => err);
    // Assess
    expect(e).toBeInstanceOf(DeliveryInDoubtError);
    expect(ses.requests).toBe(1);
    const r = await record();
    expect(r!.status).toBe('in_doubt');
    expect(r!.evidence).toMatchObject({ transport: 'ses', phase: 'request' });
    expect(r!.evidence!.httpStatus).toBeUndefined();
  });

  it('answers 400 MessageRejected: one request, not sent, the record released so a retry sends', async () => {
    // Prepare
    ses.answer = '400';
    // Act
    const refused = await deliverReport(input({ transport: sesTransport() })).catch((e) => e);
    const recordAfterRefusal = await record();
    ses.answer = 'ok';
    const retry = await deliverReport(input({ transport: sesTransport(), runId: 'run-2' }));
    // Assess
    expect(refused).toBeInstanceOf(DeliverySendError);
    expect(refused.message).toContain('MessageRejected (HTTP 400)');
    expect(recordAfterRefusal).toBeNull();
    expect(retry.status).toBe('sent');
    expect(ses.requests).toBe(2);
    expect((await record())!.status).toBe('sent');
  });
});

describe('SMTP: where the send broke decides', () => {
  it('the server takes the whole message and drops the connection without a reply: in doubt, kept, not sent again unless forced', async () => {
    // Prepare
    smtp.drop = 'after-data';
    // Act
    const first = await deliverReport(input()).catch((e) => e);
    const recordAfter = await record();
    smtp.drop = null;
    const again = await deliverReport(input({ runId: 'run-2' })).catch((e) => e);
    const receivedBeforeForce = smtp.received.length;
    const forced = await deliverReport(input({ runId: 'run-3', force: true }));
    // Assess
    expect(first).toBeInstanceOf(DeliveryInDoubtError);
    expect(first.message).toBe(
      `report ${REPORT_ID} ${PERIOD}: sending failed midway (${first.cause.message}); the message may have been accepted. ` +
        `Check whether recipients received it, then re-run with force if they did not (record: ${deliveryPath()})`,
    );
    expect(recordAfter).toMatchObject({ status: 'in_doubt', evidence: { transport: 'smtp', phase: 'message', code: 'ECONNECTION' } });
    expect(again).toBeInstanceOf(DeliveryInDoubtError);
    expect(receivedBeforeForce).toBe(1);
    expect(forced.status).toBe('sent');
    expect(smtp.received).toHaveLength(2);
  });

  it('the connection drops at RCPT TO, before any message data: not sent, the record released, a retry sends', async () => {
    // Prepare
    smtp.drop = 'at-rcpt';
    // Act
    const first = await deliverReport(input()).catch((e) => e);
    const recordAfter = await record();
    smtp.drop = null;
    const retry = await deliverReport(input({ runId: 'run-2' }));
    // Assess
    expect(first).toBeInstanceOf(DeliverySendError);
    expect(first.cause.evidence).toMatchObject({ transport: 'smtp', phase: 'envelope' });
    expect(recordAfter).toBeNull();
    expect(retry.status).toBe('sent');
    expect(smtp.received).toHaveLength(1);
  });

  it('nothing listens on the port: not sent, no record', async () => {
    // Prepare: a port that was free a moment ago
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    // Act
    const e = await deliverReport(input({ transport: new SmtpTransport(`smtp://127.0.0.1:${port}`) })).catch((err) => err);
    // Assess
    expect(e).toBeInstanceOf(DeliverySendError);
    expect(e.cause.evidence).toMatchObject({ phase: 'connect', code: 'ESOCKET' });
    expect(await record()).toBeNull();
  });
});

describe('SMTP: a refused recipient is recorded, reported, and the only one sent to again', () => {
  it('records who got it, and later runs send only to the refused recipient', async () => {
    // Prepare
    smtp.refuse.add('gone@example.com');
    // Act 1: one recipient refused
    const first = await deliverReport(input());
    const afterFirst = await record();
    // Act 2: still refused: the re-send to gone@ alone is refused outright, nothing sent
    const second = await deliverReport(input({ runId: 'run-2' })).catch((e) => e);
    const afterSecond = await record();
    // Act 3: the address is fixed on the server's side
    smtp.refuse.clear();
    const third = await deliverReport(input({ runId: 'run-3' }));
    const afterThird = await record();
    // Act 4: nothing left to send
    const fourth = await deliverReport(input({ runId: 'run-4' }));
    // Assess
    expect(first.status).toBe('partial');
    expect(afterFirst!.status).toBe('partial');
    expect(afterFirst!.recipients).toEqual([
      { address: 'lead@example.com', status: 'accepted', attempt: 1 },
      { address: 'gone@example.com', status: 'refused', attempt: 1, reply: '550 5.1.1 No such user' },
    ]);
    expect(second).toBeInstanceOf(DeliverySendError);
    expect(afterSecond).toMatchObject({ status: 'partial', attempt: 2 });
    expect(third.status).toBe('sent');
    expect(third.status === 'sent' && third.sentTo).toEqual(['gone@example.com']);
    expect(afterThird!.status).toBe('sent');
    expect(afterThird!.attempt).toBe(3);
    expect(afterThird!.recipients).toEqual([
      { address: 'lead@example.com', status: 'accepted', attempt: 1 },
      { address: 'gone@example.com', status: 'accepted', attempt: 3 },
    ]);
    expect(fourth.status).toBe('already_sent');
    expect(smtp.received.map((m) => m.to)).toEqual([['lead@example.com'], ['gone@example.com']]);
  });

  it('the re-send mails the workbook the others got (the archived one), not the re-run\'s', async () => {
    // Prepare: run 1 with workbook A; gone@ is refused
    smtp.refuse.add('gone@example.com');
    const workbookA = new Uint8Array(4000).fill(65);
    await deliverReport(input({ parts: { ...parts, workbook: workbookA } }));
    smtp.refuse.clear();
    // Act: run 2 comes with another PDF and workbook B
    const workbookB = new Uint8Array(4000).fill(66);
    const resend = await deliverReport(input({ runId: 'run-2', parts: { pdf: tinyPdf(), metrics: parts.metrics, workbook: workbookB } }));
    // Assess
    expect(resend.status === 'sent' && resend.sentTo).toEqual(['gone@example.com']);
    const first = await simpleParser(smtp.received[0]!.raw);
    const second = await simpleParser(smtp.received[1]!.raw);
    expect(second.attachments.map((a) => a.filename)).toEqual([`${REPORT_ID}-${PERIOD}.pdf`, `${REPORT_ID}-${PERIOD}.xlsx`]);
    expect(Buffer.compare(second.attachments[1]!.content, Buffer.from(workbookA))).toBe(0);
    expect(Buffer.compare(second.attachments[0]!.content, first.attachments[0]!.content)).toBe(0);
  });

  it('only one of two concurrent re-runs re-sends to the refused recipient', async () => {
    // Prepare
    smtp.refuse.add('gone@example.com');
    await deliverReport(input());
    smtp.refuse.clear();
    // Act
    const results = await Promise.allSettled([deliverReport(input({ runId: 'run-a' })), deliverReport(input({ runId: 'run-b' }))]);
    // Assess: one sends; the other finds the claim of attempt 2 and stops (or, if it came
    // after the winner finished, finds nothing left to send)
    const statuses = results.map((r) => (r.status === 'fulfilled' ? r.value.status : (r.reason as Error).name)).sort();
    expect([['DeliveryInDoubtError', 'sent'], ['already_sent', 'sent']]).toContainEqual(statuses);
    expect(smtp.received.map((m) => m.to)).toEqual([['lead@example.com'], ['gone@example.com']]);
  });

  it('CLI: exits 4 and prints the refused address', async () => {
    // Prepare
    smtp.refuse.add('gone@example.com');
    const pdf = join(dir, 'r.pdf');
    const metrics = join(dir, 'r.metrics.json');
    await writeFile(pdf, parts.pdf);
    await writeFile(metrics, parts.metrics);
    const run = { runId: 'local-run-1', reportId: REPORT_ID, period: PERIOD, locale: 'en', pdfSha256: sha256(parts.pdf), metricsSha256: sha256(parts.metrics) };
    await writeFile(join(dir, 'r.run.json'), JSON.stringify(run));
    const out = vi.spyOn(console, 'log').mockImplementation(() => {});
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      // Act
      const code = await deliverCli([
        '--pdf', pdf, '--metrics', metrics, '--archive', join(dir, 'cli-archive'), '--smtp', smtp.url, '--to', 'lead@example.com,gone@example.com',
      ]);
      // Assess
      expect(code).toBe(4);
      const printed = [...out.mock.calls, ...err.mock.calls].map((c) => String(c[0]));
      expect(printed).toContain('partially delivered via smtp: sent to lead@example.com');
      expect(printed).toContain('deliver: refused: gone@example.com (550 5.1.1 No such user)');
      const saved = JSON.parse(await readFile(join(dir, 'cli-archive', 'reports', REPORT_ID, PERIOD, 'delivery.json'), 'utf8')) as DeliveryRecord;
      expect(saved.recipients.map((r) => `${r.address}:${r.status}`)).toEqual(['lead@example.com:accepted', 'gone@example.com:refused']);
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  });
});

describe('the in-doubt message', () => {
  it('names the record with a whole path', async () => {
    // Prepare
    const claim = { reportId: REPORT_ID, period: PERIOD, status: 'sending', runId: 'crashed-run', claimedAt: '2026-04-01T04:00:00.000Z' };
    await archive.put(reportKeys(REPORT_ID, PERIOD).delivery, JSON.stringify(claim), 'application/json');
    // Act
    const e = await deliverReport(input()).catch((err) => err);
    // Assess
    expect(e).toBeInstanceOf(DeliveryInDoubtError);
    expect(e.message).toBe(
      `report monthly-service-review 2026-03: run crashed-run started sending at 2026-04-01T04:00:00.000Z and never confirmed; ` +
        `check whether recipients received it, then re-run with force to send again (record: ${dir}/archive/reports/monthly-service-review/2026-03/delivery.json)`,
    );
    expect(smtp.received).toHaveLength(0);
  });
});

describe('Lambda handler', () => {
  const BUCKET = 'handler-archive';
  let s3: LocalS3;
  beforeAll(async () => {
    s3 = await startS3([BUCKET]);
  });
  afterAll(async () => {
    await s3?.stop();
  });

  it('throws PartialDeliveryError after recording who was refused', async () => {
    // Prepare
    const config = loadReports(join('config', 'reports.yaml'));
    const def = config.reports.find((r) => r.id === REPORT_ID)!;
    const reports = { ...config, reports: [{ ...def, recipients: ['lead@example.com', 'gone@example.com'] }] };
    const refusedAddress = 'gone@example.com';
    smtp.refuse.add(refusedAddress);
    const runId = 'exec-partial';
    const work = workKeys(runId);
    await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: work.metrics, Body: JSON.stringify(sampleMetrics(REPORT_ID, PERIOD)) }));
    await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: work.pdf, Body: tinyPdf() }));
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
    const e = await handler({ reportId: REPORT_ID, period: PERIOD, runId }).catch((err) => err);
    // Assess
    expect(e).toBeInstanceOf(PartialDeliveryError);
    expect(e.message).toContain(`refused: ${refusedAddress} (550 5.1.1 No such user)`);
    const bytes = await new S3Archive({ s3: s3.client, bucket: BUCKET }).get(reportKeys(REPORT_ID, PERIOD).delivery);
    const saved = JSON.parse(Buffer.from(bytes!).toString('utf8')) as DeliveryRecord;
    expect(saved.status).toBe('partial');
    expect(saved.recipients.find((r) => r.address === refusedAddress)).toEqual({
      address: refusedAddress,
      status: 'refused',
      attempt: 1,
      reply: '550 5.1.1 No such user',
    });
  });
});
