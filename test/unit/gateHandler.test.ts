/**
 * The query state's data-gate verdict, the one the state machine loops on (stateMachine.gate.test.ts
 * runs the loop): held or not, when to check again (never past the deadline), when to give up;
 * the handler run on DuckDB over hand-written exports (S3 mocked: no local logic behind it).
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Logger } from '@aws-lambda-powertools/logger';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { openDuckDbEngine } from '../../functions/engine/duckdbEngine.js';
import { createQueryHandler, gateVerdict, mappedTables } from '../../functions/handlers/query.js';
import { InvalidEventError } from '../../functions/handlers/runtime.js';
import { DEFAULT_TARGETS, parseReports } from '../../functions/metrics/config.js';
import type { MetricsJson } from '../../functions/metrics/schema.js';
import { csv, writeExports } from '../helpers/fixtures.js';

const s3Mock = mockClient(S3Client);
const logger = new Logger({ serviceName: 'gate-test', logLevel: 'SILENT' });
const NOW = new Date('2026-11-01T07:00:00.000Z');
const HOUR = 3_600_000;

const reports = parseReports(
  [
    'reports:',
    '  - id: complaints-review',
    '    title: Complaints review',
    '    timezone: UTC',
    '    indicators: [complaint_resolution_median_h]',
    '    gate: { recheckEveryHours: 2, deadlineHours: 5 }',
    '',
  ].join('\n'),
  'reports.yaml',
);

const handler = (data: string, now = NOW, mapped?: string) =>
  createQueryHandler({
    athena: null as never,
    s3: new S3Client({ region: 'eu-west-1' }),
    reports,
    targets: DEFAULT_TARGETS,
    workgroup: 'unused',
    database: 'unused',
    curatedBucket: 'unused',
    curatedPrefix: 'curated',
    archiveBucket: 'archive',
    logger,
    openEngine: () => openDuckDbEngine({ dataDir: data }),
    now: () => now,
    mappedTables: mappedTables(mapped),
  });

const EVENT = { reportId: 'complaints-review', period: '2026-10', runId: 'run-1', force: false };
const complete = () => writeExports({ 'complaints/a.csv': csv('complaint_id,opened_at,resolved_at,updated_at', 'c1,2026-10-02T00:00:00Z,2026-10-03T00:00:00Z,2026-10-31T22:00:00Z') });
const withoutComplaints = () => writeExports({ 'tickets/a.csv': csv('ticket_id,created_at,updated_at', 't1,2026-10-02T00:00:00Z,2026-10-31T22:00:00Z') });

beforeEach(() => {
  s3Mock.reset();
  s3Mock.on(PutObjectCommand).resolves({});
});

describe('gateVerdict', () => {
  const gate = { recheckEveryHours: 2, deadlineHours: 5 };
  it('is not held when the gate passed', () => {
    expect(gateVerdict(false, [], gate, NOW)).toEqual({ held: false });
  });
  it('starts the deadline at the first hold and asks for a check after recheckEveryHours', () => {
    expect(gateVerdict(true, ['r'], gate, NOW)).toEqual({ held: true, reasons: ['r'], firstHeldAt: NOW.toISOString(), recheckSeconds: 7200, giveUp: false });
  });
  it('never waits past the deadline: 1 h left, the next check is in 1 h', () => {
    const first = new Date(NOW.getTime() - 4 * HOUR).toISOString();
    expect(gateVerdict(true, ['r'], gate, NOW, first)).toEqual({ held: true, reasons: ['r'], firstHeldAt: first, recheckSeconds: 3600, giveUp: false });
  });
  it('gives up once deadlineHours have passed since the first hold', () => {
    const first = new Date(NOW.getTime() - 5 * HOUR).toISOString();
    expect(gateVerdict(true, ['r'], gate, NOW, first)).toMatchObject({ held: true, firstHeldAt: first, giveUp: true });
  });
});

describe('the query state with the data gate', () => {
  it('returns the verdict for the machine and writes it into metrics.json', async () => {
    const out = await handler(withoutComplaints())(EVENT);

    expect(out.gate).toEqual({
      held: true,
      reasons: ["complaints: no export files (the report's indicators read this table)"],
      firstHeldAt: NOW.toISOString(),
      recheckSeconds: 7200,
      giveUp: false,
    });
    const written = JSON.parse(String(s3Mock.commandCalls(PutObjectCommand)[0]!.args[0].input.Body)) as MetricsJson;
    expect(written.gate).toEqual({ held: true, allowIncomplete: false, tables: ['complaints'], reasons: [{ code: 'table_missing', table: 'complaints' }] });
  });

  it('keeps the first hold of the run when the machine checks again, and gives up at the deadline', async () => {
    const firstHeldAt = new Date(NOW.getTime() - 5 * HOUR).toISOString();
    const out = await handler(withoutComplaints())({ ...EVENT, metricsKey: 'work/run-1/metrics.json', gate: { held: true, firstHeldAt, recheckSeconds: 3600, giveUp: false } });
    expect(out.gate).toMatchObject({ held: true, firstHeldAt, giveUp: true });
    // The previous verdict is not passed on beside the new one.
    expect(Object.keys(out).sort()).toEqual(['force', 'gate', 'ingestFailures', 'metricsKey', 'period', 'reportId', 'runId', 'statusCounts']);
  });

  it('lets complete data through, also on a re-check after a hold', async () => {
    const out = await handler(complete())({ ...EVENT, gate: { held: true, firstHeldAt: NOW.toISOString() } });
    expect(out.gate).toEqual({ held: false });
  });

  it('judges only the tables a source mapping maps (MAPPED_TABLES)', async () => {
    const out = await handler(withoutComplaints(), NOW, 'tickets')(EVENT);
    expect(out.gate).toEqual({ held: false });
  });

  it('refuses a MAPPED_TABLES naming no canonical table', () => {
    expect(() => mappedTables('tickets,calls')).toThrow(InvalidEventError);
    expect(() => mappedTables('tickets,calls')).toThrow('environment variable MAPPED_TABLES: not a canonical table: calls');
  });
});
