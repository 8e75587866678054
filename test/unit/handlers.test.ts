/**
 * The Lambda adapters, each with its AWS clients mocked: the query step runs the real indicator
 * SQL through the Athena engine against a mocked Athena whose answers the local Trino produces
 * for each query (test/support/athenaOverTrino.ts, pages of 3 rows here), so metrics.json must
 * equal a direct DuckDB run over the same fixture; plus Athena failure and throttling (skipped
 * without a local Trino), period resolution, and env checks.
 */
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { AthenaClient, GetQueryResultsCommand, StartQueryExecutionCommand, TooManyRequestsException } from '@aws-sdk/client-athena';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Logger } from '@aws-lambda-powertools/logger';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openDuckDbEngine, type DuckDbEngine } from '../../functions/engine/duckdbEngine.js';
import type { AthenaEngineOptions } from '../../functions/engine/athenaEngine.js';
import type { QueryEngine } from '../../functions/engine/engine.js';
import { loadExportsIntoTrino } from '../../functions/engine/trinoLocalData.js';
import { createQueryHandler } from '../../functions/handlers/query.js';
import { createRenderHandler } from '../../functions/handlers/render.js';
import { createResolvePeriodHandler } from '../../functions/handlers/resolvePeriod.js';
import { InvalidEventError, MissingEnvError, requireEnv } from '../../functions/handlers/runtime.js';
import { AthenaOverTrino } from '../support/athenaOverTrino.js';
import { trinoOrSkip } from '../support/trino.js';
import { computeMetrics } from '../../functions/metrics/computeMetrics.js';
import { type MetricsJson } from '../../functions/metrics/schema.js';
import { DEFAULT_TARGETS, parseReports } from '../../functions/metrics/config.js';

const athenaMock = mockClient(AthenaClient);
const s3Mock = mockClient(S3Client);
const logger = new Logger({ serviceName: 'handlers-test', logLevel: 'SILENT' });
const reports = parseReports(
  `reports:
  - id: ops-review
    title: Ops review
    timezone: Europe/Moscow
    recipients: [a@example.com]
  - id: cn-review
    title: CN review
    locale: zh-CN
    timezone: Asia/Shanghai
    recipients: [b@example.com]
`,
  'test-reports.yaml',
);
const NOW = new Date('2026-11-01T05:00:00.000Z');

let dir: string;
let duck: DuckDbEngine;
const trino = trinoOrSkip();
/** The Trino schema holding the fixture (when there is a local Trino), standing for database crm. */
const trinoSchema = `handlers_${randomBytes(4).toString('hex')}`;
let onTrino: QueryEngine | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'handlers-'));
  mkdirSync(join(dir, 'tickets', 'dt=2026-10-31'), { recursive: true });
  mkdirSync(join(dir, 'customers'), { recursive: true });
  const tickets = ['ticket_id,created_at,first_response_at,resolved_at,status,channel,team,contacts_count,reopened_count,has_error,updated_at'];
  for (let i = 0; i < 14; i++) {
    const day = String(1 + i).padStart(2, '0');
    tickets.push(`T${i},2026-10-${day}T08:00:00Z,2026-10-${day}T${i % 2 ? '09' : '20'}:00:00Z,2026-10-${day}T22:00:00Z,solved,${i % 3 ? 'email' : 'chat'},${i % 2 ? 'Alpha' : 'Beta'},1,${i === 3 ? 1 : 0},${i === 5},2026-10-31T00:00:00Z`);
  }
  tickets.push('T2,2026-10-03T08:00:00Z,,,open,email,Alpha,1,0,false,2026-10-01T00:00:00Z'); // older version: a duplicate
  tickets.push('T99,not-a-date,,,open,email,Alpha,1,0,false,2026-10-20T00:00:00Z'); // bad_value
  writeFileSync(join(dir, 'tickets', 'dt=2026-10-31', 'a.csv'), tickets.join('\n'));
  writeFileSync(join(dir, 'customers', 'c.csv'), 'customer_id,created_at,churned_at,updated_at\nC1,2025-01-01,,2025-01-01\nC2,2025-02-01,2026-10-10,2026-10-10\n');
  duck = await openDuckDbEngine({ dataDir: dir });
  if (trino) onTrino = await loadExportsIntoTrino({ trino, dataDir: dir, schema: trinoSchema });
});
afterAll(async () => {
  await duck?.close();
  await onTrino?.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  athenaMock.reset();
  s3Mock.reset();
});

const PAGE_ROWS = 3;

/** Athena's API over the local Trino: answers Trino produced, PAGE_ROWS rows a page. */
function athenaBackedByTrino(): AthenaOverTrino {
  const backend = new AthenaOverTrino({ url: trino!.url, catalog: trino!.catalog, schemaFor: () => trinoSchema, maxPageRows: PAGE_ROWS });
  backend.install(athenaMock);
  return backend;
}

function curatedListing(present: string[], failed: Record<string, { key: string; error: string }[]> = {}) {
  const markers = new Map<string, { key: string; error: string }>(Object.entries(failed).flatMap(([t, fs]) => fs.map((f, i) => [`curated/${t}/_failed/2026-10-2${i}/f${i}.csv.json`, f] as const)));
  s3Mock.on(ListObjectsV2Command).callsFake(async (input: { Prefix: string }) => {
    // No column markers: every column counts as present (this fixture's files have them all).
    if (input.Prefix.includes('/_columns/')) return { KeyCount: 0 };
    // Failed-import markers: only those given.
    if (input.Prefix.includes('/_failed/')) {
      const keys = [...markers.keys()].filter((k) => k.startsWith(input.Prefix));
      return { KeyCount: keys.length, Contents: keys.map((Key) => ({ Key })) };
    }
    const table = input.Prefix.split('/')[1]!;
    return present.includes(table) ? { KeyCount: 1, Contents: [{ Key: `${input.Prefix}dt=2026-10-31/a.csv.parquet` }] } : { KeyCount: 0 };
  });
  s3Mock.on(GetObjectCommand).callsFake(async (input: { Key: string }) => {
    const m = markers.get(input.Key);
    if (!m) throw Object.assign(new Error('NoSuchKey'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
    const text = JSON.stringify({ ...m, at: '2026-10-21T00:00:00.000Z' });
    return { Body: { transformToString: async () => text } };
  });
  s3Mock.on(PutObjectCommand).resolves({});
}

const queryHandler = (engine: Pick<AthenaEngineOptions, 'sleep'> = { sleep: async () => {} }) =>
  createQueryHandler({
    athena: new AthenaClient({ region: 'eu-west-1' }),
    s3: new S3Client({ region: 'eu-west-1' }),
    reports,
    targets: DEFAULT_TARGETS,
    workgroup: 'reports-wg',
    database: 'crm',
    curatedBucket: 'exports',
    curatedPrefix: 'curated',
    archiveBucket: 'archive',
    logger,
    engine: { ...engine, pollIntervalMs: 1 },
    now: () => NOW,
  });

describe.skipIf(!trino)('query step (Athena mocked, its answers from Trino)', () => {
  let backend: AthenaOverTrino;
  afterEach(async () => {
    await backend?.close();
  });
  // Each wait of the engine lets Trino finish first: every poll sees a final state.
  const waitForTrino = { sleep: () => backend.settle() };

  it('pages through every result and writes the same metrics.json as a direct DuckDB run', async () => {
    // Prepare
    backend = athenaBackedByTrino();
    curatedListing(['tickets', 'customers']);
    // Act
    const out = await queryHandler(waitForTrino)({ reportId: 'ops-review', period: '2026-10', runId: 'run-1', force: false });
    // Assess
    const expected = await computeMetrics({ engine: duck, period: '2026-10', timezone: 'Europe/Moscow', targets: DEFAULT_TARGETS, reportId: 'ops-review', locale: 'en', now: NOW });
    const put = s3Mock.commandCalls(PutObjectCommand)[0]!.args[0].input;
    expect(put).toMatchObject({ Bucket: 'archive', Key: 'work/run-1/metrics.json' });
    const { gate, ...written } = JSON.parse(String(put.Body)) as MetricsJson;
    expect(written).toEqual(expected);
    expect(gate?.held).toBe(true); // two of the seven tables: held by the data gate (dataGate.test.ts)
    expect(written.dataQuality.tickets).toMatchObject({ present: true, rowsRead: 16, duplicatesDropped: 1, recordsUsed: 14, rejected: { bad_value: 1 } });
    expect(out).toMatchObject({ reportId: 'ops-review', period: '2026-10', runId: 'run-1', metricsKey: 'work/run-1/metrics.json', ingestFailures: 0 });
    const paged = athenaMock.commandCalls(GetQueryResultsCommand).filter((c) => c.args[0].input.NextToken);
    expect(paged.length).toBeGreaterThan(0);
    const starts = athenaMock.commandCalls(StartQueryExecutionCommand).map((c) => c.args[0].input);
    expect(starts).toHaveLength(2); // one query per present table
    expect(starts.every((s) => s.WorkGroup === 'reports-wg' && s.QueryExecutionContext?.Database === 'crm')).toBe(true);
    expect(backend.trinoQueryIds()).toHaveLength(2); // …each run on Trino
  });

  it('lists the export files the ingest could not import in metrics.json and counts them in its output', async () => {
    // Prepare: two failed tickets exports and one failed customers export, as the ingest leaves them.
    backend = athenaBackedByTrino();
    curatedListing(['tickets', 'customers'], {
      tickets: [
        { key: 'raw/tickets/dt=2026-10-20/a.csv', error: 'tickets: a.csv has no column "ticket_id"' },
        { key: 'raw/tickets/dt=2026-10-21/b.csv', error: 'not a CSV' },
      ],
      customers: [{ key: 'raw/customers/c.csv', error: 'bad gzip' }],
    });
    // Act
    const out = await queryHandler(waitForTrino)({ reportId: 'ops-review', period: '2026-10', runId: 'run-4', force: false });
    // Assess
    expect(out.ingestFailures).toBe(3);
    const written = JSON.parse(String(s3Mock.commandCalls(PutObjectCommand)[0]!.args[0].input.Body)) as MetricsJson;
    expect(written.dataQuality.tickets.failedFiles).toEqual([
      { file: 'raw/tickets/dt=2026-10-20/a.csv', error: 'tickets: a.csv has no column "ticket_id"' },
      { file: 'raw/tickets/dt=2026-10-21/b.csv', error: 'not a CSV' },
    ]);
    expect(written.dataQuality.customers.failedFiles).toEqual([{ file: 'raw/customers/c.csv', error: 'bad gzip' }]);
    expect(written.dataQuality.orders.failedFiles).toEqual([]);
  });

  it("fails with Athena's reason when a query FAILED, and writes nothing", async () => {
    // Prepare: S3 holds orders files, but the database has no orders table.
    backend = athenaBackedByTrino();
    curatedListing(['orders']);
    // Act
    const err = await queryHandler(waitForTrino)({ reportId: 'ops-review', period: '2026-10', runId: 'run-2' }).catch((e: Error) => e);
    // Assess
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toBe('EngineError');
    expect((err as Error).message).toMatch(/FAILED.*TABLE_NOT_FOUND.*orders/);
    expect(s3Mock.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it('rides out Athena throttling', async () => {
    // Prepare: the first start is refused as throttled.
    backend = athenaBackedByTrino();
    athenaMock
      .on(StartQueryExecutionCommand)
      .rejectsOnce(new TooManyRequestsException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } }))
      .callsFake(backend.start);
    curatedListing(['customers']);
    // Act
    const out = await queryHandler(waitForTrino)({ reportId: 'ops-review', period: '2026-10', runId: 'run-3' });
    // Assess
    expect(out.metricsKey).toBe('work/run-3/metrics.json');
    expect(athenaMock.commandCalls(StartQueryExecutionCommand)).toHaveLength(2);
    expect(backend.trinoQueryIds()).toHaveLength(1);
  });
});

describe('query step input', () => {
  it('rejects an unknown report or a malformed period before querying', async () => {
    await expect(queryHandler()({ reportId: 'nope', period: '2026-10', runId: 'r' })).rejects.toThrow(InvalidEventError);
    await expect(queryHandler()({ reportId: 'ops-review', period: '2026-1', runId: 'r' })).rejects.toThrow(/period/);
    expect(athenaMock.commandCalls(StartQueryExecutionCommand)).toHaveLength(0);
  });
});

describe('resolve period step', () => {
  const resolve = createResolvePeriodHandler({ reports });
  const start = (s: Record<string, unknown>) => resolve({ start: s, runId: 'exec-1' });

  it('reports on the month that closed before the schedule fired, in the report time zone', async () => {
    // 00:30 on 1 November in Moscow is still 31 October in UTC.
    expect(await start({ reportId: 'ops-review', scheduledTime: '2026-10-31T21:30:00Z' })).toMatchObject({ period: '2026-10', timezone: 'Europe/Moscow', runId: 'exec-1', force: false });
    // 23:59 on 31 October in Moscow: October has not closed yet.
    expect((await start({ reportId: 'ops-review', scheduledTime: '2026-10-31T20:59:00Z' })).period).toBe('2026-09');
    expect((await start({ reportId: 'cn-review', scheduledTime: '2027-01-01T00:00:00Z' })).period).toBe('2026-12');
  });

  it('takes an explicit period (backfill) and force', async () => {
    expect(await start({ reportId: 'cn-review', period: '2025-03', force: true })).toMatchObject({ period: '2025-03', force: true });
  });

  it('rejects bad input naming the problem', async () => {
    await expect(start({ reportId: 'nope', period: '2025-03' })).rejects.toThrow(/unknown report "nope"/);
    await expect(start({ reportId: 'ops-review' })).rejects.toThrow(/period or scheduledTime/);
    await expect(start({ reportId: 'ops-review', period: '2025-3' })).rejects.toThrow(InvalidEventError);
  });
});

describe('render step', () => {
  it('renders metrics.json from the run scratch space into a PDF beside it', async () => {
    const metrics = { ...JSON.parse(readFileSync('templates/sample.metrics.json', 'utf8')), reportId: 'ops-review' };
    // The part of the SDK's stream body the handler uses.
    const body = { transformToString: async () => JSON.stringify(metrics) };
    s3Mock.on(GetObjectCommand).resolves({ Body: body as never });
    // No analyst's commentary for this report (S3 answers NoSuchKey): no commentary block.
    s3Mock.on(GetObjectCommand, { Key: 'commentary/ops-review/2026-10.en.md' }).rejects(Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey' }));
    s3Mock.on(PutObjectCommand).resolves({});
    const seen: unknown[] = [];
    const render = createRenderHandler({
      s3: new S3Client({ region: 'eu-west-1' }),
      reports,
      archiveBucket: 'archive',
      logger,
      render: async ({ metrics: m, report }) => {
        seen.push([m, report.id]);
        return { pdf: new Uint8Array([37, 80, 68, 70]) };
      },
    });
    const out = await render({ reportId: 'ops-review', period: '2026-10', runId: 'run-9' });
    expect(seen).toEqual([[metrics, 'ops-review']]);
    expect(s3Mock.commandCalls(GetObjectCommand)[0]!.args[0].input).toMatchObject({ Bucket: 'archive', Key: 'work/run-9/metrics.json' });
    expect(s3Mock.commandCalls(PutObjectCommand)[0]!.args[0].input).toMatchObject({ Bucket: 'archive', Key: 'work/run-9/report.pdf', ContentType: 'application/pdf' });
    expect(out).toMatchObject({ pdfKey: 'work/run-9/report.pdf', pdfBytes: 4 });
  });

  it('refuses a metrics.json that does not match its schema, naming the object and the field, and renders nothing', async () => {
    const broken = { schemaVersion: 1, reportId: 'ops-review', period: { id: '2026-10' } };
    s3Mock.on(GetObjectCommand).resolves({ Body: { transformToString: async () => JSON.stringify(broken) } as never });
    let rendered = 0;
    const render = createRenderHandler({
      s3: new S3Client({ region: 'eu-west-1' }),
      reports,
      archiveBucket: 'archive',
      logger,
      render: async () => {
        rendered++;
        return { pdf: new Uint8Array([37]) };
      },
    });

    await expect(render({ reportId: 'ops-review', period: '2026-10', runId: 'run-9' })).rejects.toThrow(
      /s3:\/\/archive\/work\/run-9\/metrics\.json: not a valid metrics\.json .*period\.timezone/,
    );
    expect(rendered).toBe(0);
  });
});

describe('configuration at cold start', () => {
  it('names every missing environment variable', () => {
    expect(() => requireEnv(['ARCHIVE_BUCKET', 'SENDER', 'CONFIG_DIR'], { CONFIG_DIR: '/x', SENDER: '' })).toThrow(
      new MissingEnvError(['ARCHIVE_BUCKET', 'SENDER']),
    );
    expect(() => requireEnv(['A'], {})).toThrow(/missing environment variable: A$/);
    expect(requireEnv(['A'], { A: '1' })).toEqual({ A: '1' });
  });
});
