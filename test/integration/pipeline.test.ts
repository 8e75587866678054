/**
 * The AWS pipeline on one machine, handlers in the state machine's order: sample exports land in
 * s3rver, the ingest handler turns them into canonical Parquet, DuckDB over that Parquet stands in
 * for Athena behind the engine interface, the real renderer makes the PDF, and the deliver
 * handler archives it and mails it to smtp-server, once.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { Logger } from '@aws-lambda-powertools/logger';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmtpTransport } from '../../functions/deliver/transport.js';
import { openDuckDbEngine } from '../../functions/engine/duckdbEngine.js';
import { createDeliverHandler } from '../../functions/handlers/deliver.js';
import { createIngestHandler } from '../../functions/handlers/ingest.js';
import { createQueryHandler } from '../../functions/handlers/query.js';
import { createRenderHandler } from '../../functions/handlers/render.js';
import { createResolvePeriodHandler } from '../../functions/handlers/resolvePeriod.js';
import { renderReport } from '../../functions/render/renderReport.js';
import { generateSampleData } from '../../functions/sample/generate.js';
import { startS3, startSmtp, type LocalS3, type LocalSmtp } from '../infra/support/localAws.js';
import { ROOT } from '../infra/support/synth.js';
import { computeMetrics } from '../../functions/metrics/computeMetrics.js';
import { type MetricsJson } from '../../functions/metrics/schema.js';
import { loadReports, loadTargets } from '../../functions/metrics/config.js';

const EXPORTS = 'exports';
const ARCHIVE = 'archive';
const layout = { rawPrefix: 'raw/', curatedPrefix: 'curated', undatedPartition: '2015-01-01' };
const logger = new Logger({ serviceName: 'pipeline-test', logLevel: 'SILENT' });
const reports = loadReports(join(ROOT, 'config', 'reports.yaml'));
const targets = loadTargets(join(ROOT, 'config', 'targets.yaml'));
const report = reports.reports[0]!;
const NOW = new Date('2026-11-01T04:00:05.000Z');

let s3: LocalS3;
let smtp: LocalSmtp;
let work: string;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

async function listKeys(bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const r = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    keys.push(...(r.Contents ?? []).map((o) => o.Key!));
    token = r.NextContinuationToken;
  } while (token);
  return keys;
}

async function getBytes(bucket: string, key: string): Promise<Buffer> {
  const r = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

beforeAll(async () => {
  [s3, smtp] = await Promise.all([startS3([EXPORTS, ARCHIVE]), startSmtp()]);
  work = mkdtempSync(join(tmpdir(), 'pipeline-'));
  await generateSampleData(join(work, 'raw'), { endPeriod: '2026-10', months: 14, scale: 0.03 });
  for (const f of files(join(work, 'raw'))) {
    await s3.client.send(new PutObjectCommand({ Bucket: EXPORTS, Key: `raw/${relative(join(work, 'raw'), f)}`, Body: readFileSync(f) }));
  }
});
afterAll(async () => {
  await Promise.all([s3?.stop(), smtp?.stop()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('pipeline, locally', () => {
  it('ingests, queries, renders, archives and mails the report once', async () => {
    // Ingest: one S3 notification per uploaded export.
    const rawKeys = await listKeys(EXPORTS, 'raw/');
    const ingest = createIngestHandler({ s3: s3.client, bucket: EXPORTS, layout, logger });
    const ingested = await ingest({ Records: rawKeys.map((k) => ({ eventName: 'ObjectCreated:Put', s3: { bucket: { name: EXPORTS }, object: { key: k } } })) });
    expect(ingested.normalized.length).toBe(rawKeys.filter((k) => /\.(csv|csv\.gz|parquet)$/.test(k)).length);
    expect(ingested.skipped.map((s) => s.key)).toEqual(rawKeys.filter((k) => !/\.(csv|csv\.gz|parquet)$/.test(k)));

    // Step 1: the schedule fired at 07:00 on 1 November, Moscow time.
    const resolve = createResolvePeriodHandler({ reports });
    const step1 = await resolve({ start: { reportId: report.id, scheduledTime: '2026-11-01T04:00:00Z' }, runId: 'local-run-1' });
    expect(step1.period).toBe('2026-10');

    // Step 2: query. DuckDB over the curated Parquet (as Athena would read it) stands in for Athena.
    const curatedDir = join(work, 'curated');
    for (const key of await listKeys(EXPORTS, 'curated/')) {
      const file = join(curatedDir, key.slice('curated/'.length));
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, await getBytes(EXPORTS, key));
    }
    const query = createQueryHandler({
      athena: null as never,
      s3: s3.client,
      reports,
      targets,
      workgroup: 'unused',
      database: 'unused',
      curatedBucket: EXPORTS,
      curatedPrefix: 'curated',
      archiveBucket: ARCHIVE,
      logger,
      openEngine: () => openDuckDbEngine({ dataDir: curatedDir }),
      now: () => NOW,
    });
    const step2 = await query(step1);
    const metrics = JSON.parse((await getBytes(ARCHIVE, step2.metricsKey)).toString('utf8')) as MetricsJson;
    // Nothing lost or changed on the way through Parquet: the same numbers as reading the raw exports locally.
    const local = await openDuckDbEngine({ dataDir: join(work, 'raw') });
    try {
      const expected = await computeMetrics({ engine: local, period: '2026-10', timezone: report.timezone, targets, reportId: report.id, locale: report.locale, now: NOW });
      // The query state adds the data gate's verdict (dataGate.test.ts) to what the metrics stage computed.
      const { gate, ...computed } = metrics;
      expect(computed).toEqual(expected);
      expect([gate?.held, step2.gate]).toEqual([false, { held: false }]);
    } finally {
      await local.close();
    }
    expect(metrics.dataQuality.tickets.rowsRead).toBeGreaterThan(100);

    // Step 3: render with the real renderer (Chromium).
    const render = createRenderHandler({ s3: s3.client, reports, archiveBucket: ARCHIVE, logger, render: (o) => renderReport(o) });
    const step3 = await render(step2);
    expect(step3.pdfBytes).toBeGreaterThan(10_000);

    // Step 4: archive and deliver, twice (a retried state): one message.
    const deliver = createDeliverHandler({
      s3: s3.client,
      transport: new SmtpTransport(smtp.url),
      reports,
      archiveBucket: ARCHIVE,
      sender: 'Service reports <reports@example.com>',
      attachLimitBytes: 20 * 1024 * 1024,
      linkExpiresSeconds: 3600,
      logger,
    });
    const step4 = await deliver(step3);
    expect(step4.delivery).toBe('sent');
    expect((await deliver(step3)).delivery).toBe('already_sent');

    expect(smtp.messages).toHaveLength(1);
    expect(smtp.messages[0]!.to).toEqual(report.recipients);
    const mail = await simpleParser(smtp.messages[0]!.raw);
    const archivedPdf = await getBytes(ARCHIVE, `reports/${report.id}/2026-10/${report.id}-2026-10.pdf`);
    expect(archivedPdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(Buffer.compare(mail.attachments[0]!.content, archivedPdf)).toBe(0);
    expect(JSON.parse((await getBytes(ARCHIVE, `reports/${report.id}/2026-10/metrics.json`)).toString('utf8'))).toEqual(metrics);
  });
});
