/** S3 conditional-put handling and SES error classification, against mocked AWS clients. */
import { GetObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { simpleParser } from 'mailparser';
import { SendEmailCommand, SESv2Client, TooManyRequestsException } from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { S3Archive } from '../../functions/deliver/archive.js';
import { base64MimeSize } from '../../functions/deliver/compose.js';
import { assertSameRun, deliverReport, sha256, type DeliveryRecord } from '../../functions/deliver/deliver.js';
import { ReportIncompleteError } from '../../functions/deliver/errors.js';
import { reportKeys, workKeys } from '../../functions/deliver/keys.js';
import { SesTransport, sesSendClient, TransportError, type MailTransport } from '../../functions/deliver/transport.js';
import { sampleMetrics, tinyPdf } from '../infra/support/fixtures.js';

const s3Mock = mockClient(S3Client);
const sesMock = mockClient(SESv2Client);

function s3Error(name: string, status: number) {
  return new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: status }, message: name });
}

beforeEach(() => {
  s3Mock.reset();
  sesMock.reset();
});

describe('S3Archive.putIfAbsent', () => {
  const archive = () => new S3Archive({ s3: new S3Client({ region: 'eu-west-1' }), bucket: 'archive', prefix: 'p/' });

  it('sends If-None-Match: * and reports a created object', async () => {
    s3Mock.on(PutObjectCommand).resolves({});
    expect(await archive().putIfAbsent('reports/a/2026-10/delivery.json', '{}', 'application/json')).toBe(true);
    const call = s3Mock.commandCalls(PutObjectCommand)[0]!;
    expect(call.args[0].input).toMatchObject({ Bucket: 'archive', Key: 'p/reports/a/2026-10/delivery.json', IfNoneMatch: '*' });
  });

  it('returns false on 412 PreconditionFailed (the record exists)', async () => {
    s3Mock.on(PutObjectCommand).rejects(s3Error('PreconditionFailed', 412));
    expect(await archive().putIfAbsent('k', '{}', 'application/json')).toBe(false);
  });

  it('tries again after 409 ConditionalRequestConflict and then reports the winner', async () => {
    s3Mock.on(PutObjectCommand).rejectsOnce(s3Error('ConditionalRequestConflict', 409)).rejects(s3Error('PreconditionFailed', 412));
    expect(await archive().putIfAbsent('k', '{}', 'application/json')).toBe(false);
    expect(s3Mock.commandCalls(PutObjectCommand)).toHaveLength(2);
  });

  it('does not hide other errors', async () => {
    s3Mock.on(PutObjectCommand).rejects(s3Error('AccessDenied', 403));
    await expect(archive().putIfAbsent('k', '{}', 'application/json')).rejects.toThrow(/AccessDenied/);
  });
});

describe('deliverReport on a versioned S3 bucket', () => {
  it('archives after the claim and links the PDF by the version its PutObject created', async () => {
    // Prepare: every put answers with a version id of its own
    const versions = new Map([
      ['reports/r/2026-10/delivery.json', 'v-record'],
      ['reports/r/2026-10/metrics.json', 'v-metrics'],
      ['reports/r/2026-10/r-2026-10.pdf', 'v-pdf-7'],
      ['reports/r/2026-10/run.json', 'v-run'],
    ]);
    s3Mock.on(PutObjectCommand).callsFake((input: { Key: string }) => ({ VersionId: versions.get(input.Key) }));
    const sent: Buffer[] = [];
    const transport: MailTransport = {
      kind: 'smtp',
      send: async (raw, envelope) => {
        sent.push(raw);
        return { providerId: 'p-1', accepted: envelope.to, refused: [] };
      },
    };
    const s3 = new S3Client({ region: 'eu-west-1', credentials: { accessKeyId: 'AK', secretAccessKey: 'SK' } });
    const pdf = tinyPdf();
    // Act
    const outcome = await deliverReport({
      archive: new S3Archive({ s3, bucket: 'archive' }),
      transport,
      report: { id: 'r', title: 'R', recipients: ['a@example.com'] },
      period: '2026-10',
      parts: { pdf, metrics: JSON.stringify(sampleMetrics('r', '2026-10')) },
      from: 'reports@example.com',
      attachLimitBytes: 0,
      linkExpiresSeconds: 600,
      runId: 'exec-1',
    });
    // Assess
    expect(outcome.status).toBe('sent');
    const keys = s3Mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input.Key);
    expect(keys).toEqual([
      'reports/r/2026-10/delivery.json',
      'reports/r/2026-10/metrics.json',
      'reports/r/2026-10/r-2026-10.pdf',
      'reports/r/2026-10/run.json',
      'reports/r/2026-10/delivery.json',
    ]);
    expect(s3Mock.commandCalls(PutObjectCommand)[0]!.args[0].input.IfNoneMatch).toBe('*');
    expect(s3Mock.commandCalls(PutObjectCommand)[2]!.args[0].input.Metadata).toEqual({ 'run-id': 'exec-1' });
    const mail = await simpleParser(sent[0]!);
    const url = new URL(/(https:\/\/\S+)/.exec(mail.text ?? '')![1]!);
    expect(url.pathname).toBe('/reports/r/2026-10/r-2026-10.pdf');
    expect(url.searchParams.get('versionId')).toBe('v-pdf-7');
    const record = JSON.parse(String(s3Mock.commandCalls(PutObjectCommand)[4]!.args[0].input.Body)) as DeliveryRecord;
    expect(record.archived).toEqual({ runId: 'exec-1', pdfSha256: sha256(pdf), metricsSha256: expect.any(String), pdfVersionId: 'v-pdf-7', metricsVersionId: 'v-metrics' });
    expect(s3Mock.commandCalls(GetObjectCommand)).toHaveLength(0);
  });
});

describe('assertSameRun', () => {
  const pdf = tinyPdf();
  const metrics = '{"a":1}';
  const run = (over: object = {}) => JSON.stringify({ runId: 'local-1', pdfSha256: sha256(pdf), metricsSha256: sha256(metrics), ...over });

  it('accepts the pair the run record names', () => {
    expect(assertSameRun(run(), pdf, metrics, 'x.run.json').runId).toBe('local-1');
  });

  it('refuses a metrics.json of another run, in one line naming the run and the file', () => {
    const e = (() => {
      try {
        assertSameRun(run(), pdf, '{"a":2}', 'out/x.run.json');
      } catch (err) {
        return err as Error;
      }
    })();
    expect(e).toBeInstanceOf(ReportIncompleteError);
    expect(e!.message).toBe('metrics.json is not from run local-1 (out/x.run.json): another run overwrote it; run `npm run report` again; nothing sent');
  });

  it('refuses a PDF of another run', () => {
    expect(() => assertSameRun(run(), tinyPdf(), metrics, 'x.run.json')).toThrow(/^the PDF is not from run local-1/);
  });
});

describe('SesTransport', () => {
  it('sends the raw MIME through SendEmail with Content.Raw and reports every recipient accepted', async () => {
    // Prepare
    sesMock.on(SendEmailCommand).resolves({ MessageId: 'ses-1' });
    // Act
    const r = await new SesTransport(sesSendClient({ region: 'eu-west-1' })).send(Buffer.from('raw'), { from: 'a@example.com', to: ['b@example.com'] });
    // Assess
    expect(r).toEqual({ providerId: 'ses-1', accepted: ['b@example.com'], refused: [] });
    const input = sesMock.commandCalls(SendEmailCommand)[0]!.args[0].input;
    expect(input.FromEmailAddress).toBe('a@example.com');
    expect(input.Destination?.ToAddresses).toEqual(['b@example.com']);
    expect(Buffer.from(input.Content!.Raw!.Data!).toString()).toBe('raw');
  });

  it('sesSendClient turns SDK retries off', async () => {
    // Act
    const attempts = await sesSendClient({ region: 'eu-west-1', maxAttempts: 5 }).config.maxAttempts();
    // Assess
    expect(attempts).toBe(1);
  });

  it('refuses to send through a client that retries, and sends nothing', async () => {
    // Prepare
    sesMock.on(SendEmailCommand).resolves({ MessageId: 'ses-1' });
    // Act
    const e = await new SesTransport(new SESv2Client({ region: 'eu-west-1' })).send(Buffer.from('x'), { from: 'a@example.com', to: ['b@example.com'] }).catch((err) => err);
    // Assess
    expect(e).toBeInstanceOf(TransportError);
    expect(e.definite).toBe(true);
    expect(sesMock.commandCalls(SendEmailCommand)).toHaveLength(0);
  });

  it('takes a 4xx answer (throttling) as not sent, with the evidence', async () => {
    // Prepare
    sesMock.on(SendEmailCommand).rejects(new TooManyRequestsException({ message: 'slow down', $metadata: { httpStatusCode: 429, requestId: 'req-429' } }));
    // Act
    const refused = await new SesTransport(sesSendClient({ region: 'eu-west-1' })).send(Buffer.from('x'), { from: 'a@example.com', to: ['b@example.com'] }).catch((e) => e);
    // Assess
    expect(refused).toBeInstanceOf(TransportError);
    expect(refused.definite).toBe(true);
    expect(refused.evidence).toEqual({ transport: 'ses', phase: 'request', error: 'TooManyRequestsException', message: 'slow down', httpStatus: 429, requestId: 'req-429' });
  });

  it('takes a 5xx answer and a broken connection as in doubt', async () => {
    // Prepare
    const ses = sesSendClient({ region: 'eu-west-1' });
    const serverError = Object.assign(new Error('internal'), { name: 'InternalFailure', $metadata: { httpStatusCode: 500, requestId: 'req-500' } });
    sesMock.on(SendEmailCommand).rejectsOnce(serverError).rejectsOnce(Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }));
    // Act
    const failed = await new SesTransport(ses).send(Buffer.from('x'), { from: 'a@example.com', to: ['b@example.com'] }).catch((e) => e);
    const broken = await new SesTransport(ses).send(Buffer.from('x'), { from: 'a@example.com', to: ['b@example.com'] }).catch((e) => e);
    // Assess
    expect(failed.definite).toBe(false);
    expect(failed.evidence).toMatchObject({ error: 'InternalFailure', httpStatus: 500, requestId: 'req-500' });
    expect(broken.definite).toBe(false);
    expect(broken.evidence).toEqual({ transport: 'ses', phase: 'request', error: 'TimeoutError', message: 'socket hang up' });
  });
});

describe('keys', () => {
  it('places a report under reports/<id>/<period>/ and rejects ids that could escape it', () => {
    expect(reportKeys('weekly', '2026-01')).toMatchObject({
      pdf: 'reports/weekly/2026-01/weekly-2026-01.pdf',
      metrics: 'reports/weekly/2026-01/metrics.json',
      delivery: 'reports/weekly/2026-01/delivery.json',
    });
    expect(() => reportKeys('../x', '2026-01')).toThrow(RangeError);
    expect(() => reportKeys('weekly', '2026-13')).toThrow(RangeError);
    expect(() => workKeys('a/../b')).toThrow(RangeError);
  });

  it('measures MIME base64 size: 4 chars per 3 bytes plus CRLF per 76 chars', () => {
    expect(base64MimeSize(3)).toBe(4 + 2);
    expect(base64MimeSize(57)).toBe(76 + 2);
    expect(base64MimeSize(58)).toBe(80 + 4);
  });
});
