/**
 * The Athena engine over Athena's query API, answered by the local Trino (Athena engine v3 is
 * Trino): test/support/athenaOverTrino.ts stubs AthenaClient with aws-sdk-client-mock and serves
 * what Trino really produced for each QueryString, in Athena's form (states, ColumnInfo, text
 * cells, header row, pages of 1000 with NextToken). The S3 client is a plain stub.
 *
 * - metrics.json of a fixture with every table, through the Athena engine, equals the Trino
 *   engine's and DuckDB's over the same export folder;
 * - the protocol edges (throttling, FAILED, CANCELLED, timeout + StopQueryExecution, paging) with
 *   real Trino answers wherever rows are returned;
 * - convertCell on the type names and texts Trino gives.
 * Tests needing no result rows (retry limits, presentTables, close) run without Trino.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  TooManyRequestsException,
  type GetQueryResultsCommandOutput,
  type QueryExecutionState,
} from '@aws-sdk/client-athena';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { ATHENA_DEFAULTS, convertCell, createAthenaEngine, type AthenaEngineOptions } from '../../functions/engine/athenaEngine.js';
import { openDuckDbEngine } from '../../functions/engine/duckdbEngine.js';
import { EngineError, type QueryEngine } from '../../functions/engine/engine.js';
import { loadExportsIntoTrino } from '../../functions/engine/trinoLocalData.js';
import { csv, writeExports } from '../helpers/fixtures.js';
import { AthenaOverTrino } from '../support/athenaOverTrino.js';
import { trinoOrSkip } from '../support/trino.js';
import { computeMetrics } from '../../functions/metrics/computeMetrics.js';
import { type MetricsJson } from '../../functions/metrics/schema.js';
import { DEFAULT_TARGETS } from '../../functions/metrics/config.js';

const trino = trinoOrSkip();
const athena = new AthenaClient({ region: 'eu-west-1' });
const s3 = new S3Client({ region: 'eu-west-1' });
const athenaMock = mockClient(athena);
const s3Mock = mockClient(s3);

let sleeps: number[];
let logs: string[];
/** Run by the injected sleep after recording it (e.g. wait until Trino has finished). */
let onSleep: () => Promise<void>;

function engine(extra: Partial<AthenaEngineOptions> = {}) {
  return createAthenaEngine({
    athena,
    s3,
    workgroup: 'crm-reports',
    database: 'crm_curated',
    curatedBucket: 'curated-bucket',
    curatedPrefix: 'canonical',
    sleep: async (ms) => {
      sleeps.push(ms);
      await onSleep();
    },
    log: (msg) => logs.push(msg),
    ...extra,
  });
}

function throttled(kind: 'TooManyRequests' | 'Throttling' | 'retryable'): Error {
  if (kind === 'TooManyRequests') {
    return new TooManyRequestsException({
      message: 'You have exceeded the limit for the number of queries you can run concurrently.',
      Reason: 'CONCURRENT_QUERY_LIMIT_EXCEEDED',
      $metadata: {},
    });
  }
  if (kind === 'Throttling') return Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
  return Object.assign(new Error('Slow down'), { name: 'SlowDown', $retryable: { throttling: true } });
}

/** A query that runs for hours (10^12 rows): only ever started to be stopped. */
const ENDLESS = 'SELECT count(*) AS n FROM UNNEST(sequence(1, 10000)) a(x) CROSS JOIN UNNEST(sequence(1, 10000)) b(y) CROSS JOIN UNNEST(sequence(1, 10000)) c(z)';

/** Trino's own record of a query (GET /v1/query/<id>), once it has reached a final state. */
async function trinoQueryState(url: string, id: string): Promise<{ state: string; error?: string }> {
  for (let i = 0; ; i++) {
    const info = (await (await fetch(`${url}/v1/query/${id}`, { headers: { 'X-Trino-User': 'athena-over-trino' } })).json()) as {
      state: string;
      errorCode?: { name: string };
    };
    if (['FINISHED', 'FAILED'].includes(info.state) || i >= 50) return { state: info.state, error: info.errorCode?.name };
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * One statement straight over Trino's protocol: the column types and the rows as JSON. The client
 * declares PARAMETRIC_DATETIME, so Trino names timestamps with their precision ('timestamp(3)').
 */
async function trinoRows(url: string, sql: string): Promise<{ types: string[]; rows: unknown[][] }> {
  const headers = { 'X-Trino-User': 'athena-engine-test', 'X-Trino-Time-Zone': 'UTC', 'X-Trino-Client-Capabilities': 'PARAMETRIC_DATETIME' };
  let body = (await (await fetch(`${url}/v1/statement`, { method: 'POST', headers, body: sql })).json()) as {
    nextUri?: string;
    columns?: { type: string }[];
    data?: unknown[][];
    error?: { message: string };
  };
  let types: string[] = [];
  const rows: unknown[][] = [];
  for (;;) {
    if (body.error) throw new Error(body.error.message);
    if (body.columns) types = body.columns.map((c) => c.type);
    rows.push(...(body.data ?? []));
    if (!body.nextUri) return { types, rows };
    body = (await (await fetch(body.nextUri, { headers })).json()) as typeof body;
  }
}

beforeEach(() => {
  athenaMock.reset();
  s3Mock.reset();
  sleeps = [];
  logs = [];
  onSleep = async () => {};
});

// ---------------------------------------------------------------------------------------------
// A fixture with every table. Values worth a hand check are noted; the rest must simply agree
// between the three engines.
// ---------------------------------------------------------------------------------------------

const TICKETS_HEADER = 'ticket_id,customer_id,created_at,first_response_at,resolved_at,status,channel,team,agent_id,priority,contacts_count,reopened_count,has_error,updated_at';

function ticketRows(): string[] {
  const rows: string[] = [];
  // 1200 tickets in October: first response after 1 h (even i, team Beta) or 2 h (odd i, Alpha),
  // resolved after 10 h; every 50th reopened, every 100th with a service error.
  for (let i = 0; i < 1200; i++) {
    const dd = String(1 + (i % 28)).padStart(2, '0');
    const first = i % 2 ? '10' : '09';
    const channel = i % 3 === 0 ? 'chat' : 'email';
    const team = i % 2 ? 'Alpha' : 'Beta';
    rows.push(
      `T${i},C${i % 40},2026-10-${dd}T08:00:00Z,2026-10-${dd}T${first}:00:00Z,2026-10-${dd}T18:00:00Z,solved,${channel},${team},A${i % 7},normal,1,${i % 50 === 0 ? 1 : 0},${i % 100 === 0},2026-10-31T00:00:00Z`,
    );
  }
  rows.push('T0,C0,2026-10-01T08:00:00Z,,,open,email,Beta,A0,normal,1,0,false,2026-10-01T00:00:00Z'); // older version: duplicate
  rows.push('TN,,2026-10-15 12:00:00.250+03:00,,,open,phone,,,,,,,2026-10-20T00:00:00Z'); // nulls, no team: unassigned
  rows.push('TNEG,C1,2026-10-16T08:00:00Z,2026-10-16T09:00:00Z,,open,email,Alpha,A1,high,-1,0,false,2026-10-20T00:00:00Z'); // out_of_range
  rows.push('TBAD,C1,not-a-date,,,open,email,Alpha,A1,high,1,0,false,2026-10-20T00:00:00Z'); // bad_value
  // September: three tickets answered after 30 minutes (the previous period).
  for (let i = 0; i < 3; i++) rows.push(`S${i},C${i},2026-09-1${i}T08:00:00Z,2026-09-1${i}T08:30:00Z,2026-09-1${i}T09:00:00Z,solved,chat,Alpha,A1,low,2,0,false,2026-09-30T00:00:00Z`);
  return rows;
}

const FIXTURE: Record<string, string> = {
  'tickets/part-0.csv': csv(TICKETS_HEADER, ...ticketRows()),
  'surveys/part-0.csv': csv(
    'response_id,survey_type,ticket_id,customer_id,channel,team,dimension,expectation,score,sent_at,responded_at,updated_at',
    // csat 5, 4, 2, 1: average 3, satisfied 2 of 4; one csat sent and never answered.
    'R1,csat,T1,C1,email,Alpha,,,5,2026-10-02T00:00:00Z,2026-10-02T01:00:00Z,2026-10-03',
    'R2,csat,T2,C2,email,Beta,,,4,2026-10-02T00:00:00Z,2026-10-02T02:00:00Z,2026-10-03',
    'R3,csat,T3,C3,chat,Alpha,,,2,2026-10-03T00:00:00Z,2026-10-03T02:00:00Z,2026-10-04',
    'R4,csat,T4,C4,chat,,,,1,2026-10-04T00:00:00Z,2026-10-04T02:00:00Z,2026-10-05',
    'R5,csat,T5,C5,email,Beta,,,,2026-10-05T00:00:00Z,,2026-10-05',
    // nps 10, 9, 9, 3, 7: promoters 3, detractors 1 of 5: NPS 40.
    'N1,nps,,C1,email,Alpha,,,10,2026-10-02T00:00:00Z,2026-10-02T05:00:00Z,2026-10-03',
    'N2,nps,,C2,email,Alpha,,,9,2026-10-02T00:00:00Z,2026-10-02T05:00:00Z,2026-10-03',
    'N3,nps,,C3,chat,Beta,,,9,2026-10-02T00:00:00Z,2026-10-02T05:00:00Z,2026-10-03',
    'N4,nps,,C4,chat,Beta,,,3,2026-10-02T00:00:00Z,2026-10-02T05:00:00Z,2026-10-03',
    'N5,nps,,C5,email,Alpha,,,7,2026-10-02T00:00:00Z,2026-10-02T05:00:00Z,2026-10-03',
    'N6,nps,,C6,email,Alpha,,,11,2026-10-02T00:00:00Z,2026-10-02T05:00:00Z,2026-10-03', // out_of_range
    // servqual gaps (score - expectation): reliability -2 and 0 (mean -1), responsiveness -2.
    'Q1,servqual,,C1,,,reliability,7,5,2026-10-02T00:00:00Z,2026-10-03T00:00:00Z,2026-10-03',
    'Q2,servqual,,C2,,,reliability,6,6,2026-10-02T00:00:00Z,2026-10-03T00:00:00Z,2026-10-03',
    'Q3,servqual,,C3,,,responsiveness,5,3,2026-10-02T00:00:00Z,2026-10-03T00:00:00Z,2026-10-03',
  ),
  'orders/part-0.csv': csv(
    'order_id,customer_id,channel,ordered_at,promised_at,delivered_at,quantity_ordered,quantity_delivered,is_accurate,change_requested,change_accommodated,returned_at,amount,updated_at',
    'O1,C1,web,2026-10-02T10:00:00Z,2026-10-05T00:00:00Z,2026-10-04T00:00:00Z,10,10,true,false,,,99.90,2026-10-10',
    'O2,C1,web,2026-10-03T10:00:00Z,2026-10-05T00:00:00Z,2026-10-07T00:00:00Z,5,3,false,true,true,2026-10-09T00:00:00Z,-12.50,2026-10-10',
    'O3,C2,phone,2026-10-05T10:00:00Z,,2026-10-06T00:00:00Z,2,2,,true,false,,1234567.89,2026-10-10',
    'O4,C3,web,2026-09-20T10:00:00Z,2026-09-25T00:00:00Z,2026-09-24T00:00:00Z,1,1,true,false,,,10,2026-09-30',
    'O5,C1,web,2025-11-20T10:00:00Z,2025-11-25T00:00:00Z,2025-11-24T00:00:00Z,1,1,true,false,,,10,2025-11-30',
  ),
  'complaints/part-0.csv': csv(
    'complaint_id,customer_id,order_id,ticket_id,channel,category,opened_at,resolved_at,updated_at',
    // resolved after 1 h and 2 h (median 1.5 h, both within 72 h); one still open.
    'K1,C1,O1,,web,delivery,2026-10-01T00:00:00Z,2026-10-01T01:00:00Z,2026-10-05',
    'K2,C2,O3,,phone,billing,2026-10-02T00:00:00Z,2026-10-02T02:00:00Z,2026-10-05',
    'K3,C1,O2,,web,delivery,2026-10-03T00:00:00Z,,2026-10-05',
  ),
  'invoices/part-0.csv': csv(
    'invoice_id,order_id,customer_id,due_at,issued_at,is_accurate,amount,updated_at',
    'I1,O1,C1,2026-10-10T00:00:00Z,2026-10-01T00:00:00Z,true,100.00,2026-10-20',
    'I2,O2,C1,2026-10-15T00:00:00Z,2026-10-20T00:00:00Z,false,-5,2026-10-20',
    'I3,O3,C2,,2026-10-05T00:00:00Z,,0.5,2026-10-20',
  ),
  'customers/part-0.csv': csv(
    'customer_id,segment,region,created_at,churned_at,updated_at',
    'C1,smb,eu,2025-01-01,,2025-01-01',
    'C2,smb,eu,2025-02-01,2026-10-10,2026-10-10',
    'C3,ent,us,2026-10-05,,2026-10-05',
    'C4,ent,us,2024-06-01,2026-08-01,2026-08-01',
  ),
};

const NOW = new Date('2026-11-02T06:00:00.000Z');
const metrics = (engine: QueryEngine) =>
  computeMetrics({ engine, period: '2026-10', timezone: 'UTC', targets: DEFAULT_TARGETS, reportId: 'ops-review', locale: 'en', now: NOW });

/** The files of a folder, as S3 keys relative to `root`, sorted. */
function keysUnder(root: string, dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...keysUnder(root, p));
    else out.push(relative(root, p).split(sep).join('/'));
  }
  return out.sort();
}

describe.skipIf(!trino)('athenaEngine over Athena answers produced by Trino', () => {
  const schema = `athena_it_${randomBytes(4).toString('hex')}`;
  let dataDir: string;
  let viaTrino: QueryEngine;
  let backend: AthenaOverTrino;

  beforeAll(async () => {
    dataDir = writeExports(FIXTURE);
    viaTrino = await loadExportsIntoTrino({ trino: trino!, dataDir, schema });
  });
  afterAll(async () => {
    await backend?.close();
    await viaTrino?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });
  beforeEach(() => {
    // Every Athena database of these tests is the Trino schema holding the fixture.
    backend = new AthenaOverTrino({ url: trino!.url, catalog: trino!.catalog, schemaFor: () => schema });
    backend.install(athenaMock);
    // The curated bucket is the warehouse folder: `${schema}/${table}/dt=.../file.parquet`.
    // A listing by key prefix (as S3 matches it), at most MaxKeys keys: the data files under dt= and
    // the column markers under _columns/, written as the ingest function writes them.
    s3Mock.on(ListObjectsV2Command).callsFake(async (input: { Prefix: string; StartAfter?: string; MaxKeys?: number }) => {
      const keys = keysUnder(trino!.warehouseDir, trino!.warehouseDir)
        .filter((k) => k.startsWith(input.Prefix) && (!input.StartAfter || k > input.StartAfter))
        .slice(0, input.MaxKeys ?? 1000);
      return keys.length ? { KeyCount: keys.length, Contents: keys.map((Key) => ({ Key })) } : { KeyCount: 0 };
    });
    // Each wait of the engine lets Trino finish first, so that every poll sees a final state.
    onSleep = () => backend.settle();
  });
  afterEach(async () => {
    await backend.close();
  });

  describe('metrics.json', () => {
    it('is the same through Athena (answers from Trino), through Trino directly and on DuckDB', async () => {
      // Prepare
      const viaAthena = engine({ database: schema, curatedPrefix: schema });
      const duck = await openDuckDbEngine({ dataDir });

      // Act
      let fromAthena: MetricsJson, fromTrino: MetricsJson, fromDuckDb: MetricsJson;
      try {
        fromAthena = await metrics(viaAthena);
        fromTrino = await metrics(viaTrino);
        fromDuckDb = await metrics(duck);
      } finally {
        await duck.close();
      }

      // Assess: field by field, generatedAt aside.
      const { generatedAt: _a, ...athenaRest } = fromAthena;
      const { generatedAt: _t, ...trinoRest } = fromTrino;
      const { generatedAt: _d, ...duckRest } = fromDuckDb;
      for (const key of Object.keys(trinoRest) as (keyof typeof trinoRest)[]) {
        expect(athenaRest[key], `athena vs trino: ${key}`).toStrictEqual(trinoRest[key]);
        expect(athenaRest[key], `athena vs duckdb: ${key}`).toStrictEqual(duckRest[key]);
      }
      for (const id of Object.keys(fromTrino.indicators)) {
        expect(fromAthena.indicators[id], id).toStrictEqual(fromTrino.indicators[id]);
      }
      // The queries really went through the Athena API, one per present table.
      expect(athenaMock.commandCalls(StartQueryExecutionCommand)).toHaveLength(6);
      // Hand-computed values (see the fixture).
      const ind = fromAthena.indicators;
      expect(ind['ticket_volume']).toMatchObject({ value: 1201, n: 1201 });
      expect(ind['ticket_volume']!.previous).toBe(3);
      expect(ind['first_response_median_h']).toMatchObject({ value: 1.5, n: 1200, previous: 0.5 });
      expect(ind['resolution_avg_h']).toMatchObject({ value: 10, n: 1200 });
      expect(ind['service_error_rate_pct']).toMatchObject({ value: 1, n: 1200 });
      expect(ind['reopen_rate_pct']).toMatchObject({ value: 2, n: 1200 });
      expect(ind['csat_avg']).toMatchObject({ value: 3, n: 4 });
      expect(ind['csat_pct']).toMatchObject({ value: 50, n: 4 });
      expect(ind['nps']).toMatchObject({ value: 40, n: 5 });
      expect(ind['survey_response_rate_pct']!.value).toBe(90); // 9 of the 10 csat and nps sent
      expect(ind['servqual_gap_reliability']).toMatchObject({ value: -1, n: 2 });
      expect(ind['servqual_gap_responsiveness']).toMatchObject({ value: -2, n: 1 });
      expect(ind['servqual_gap']!.value).toBe(-1.5);
      expect(ind['on_time_delivery_pct']).toMatchObject({ value: 50, n: 2 });
      expect(ind['order_fill_rate_pct']!.value).toBeCloseTo((100 * 15) / 17, 12);
      expect(ind['order_accuracy_pct']).toMatchObject({ value: 50, n: 2 });
      expect(ind['complaint_resolution_median_h']).toMatchObject({ value: 1.5, n: 2 });
      expect(ind['complaint_rate_per_1000_orders']).toMatchObject({ value: 1000, n: 3 });
      expect(ind['invoice_on_time_pct']).toMatchObject({ value: 50, n: 2 });
      expect(ind['churn_rate_pct']).toMatchObject({ value: 50, n: 2 });
      expect(fromAthena.segments.team['unassigned']?.['ticket_volume']).toMatchObject({ value: 1, n: 1 });
      expect(fromAthena.segments.team['Alpha']?.['first_response_median_h']).toMatchObject({ value: 2, n: 600 });
      expect(fromAthena.dataQuality.tickets).toEqual({
        present: true,
        rowsRead: 1207,
        duplicatesDropped: 1,
        rejected: { out_of_range: 1, bad_value: 1 },
        recordsUsed: 1204,
        newestUpdatedAt: '2026-10-31T00:00:00.000Z',
        missingColumns: [],
        failedFiles: [],
      });
    });
  });

  describe('query protocol', () => {
    it('starts the query in the configured workgroup, database and catalog and returns its rows', async () => {
      // Act
      const rows = await engine({ catalog: 'crm_catalog' }).query('SELECT 1 AS n', 'probe');

      // Assess
      expect(rows).toStrictEqual([{ n: 1 }]);
      const starts = athenaMock.commandCalls(StartQueryExecutionCommand);
      expect(starts).toHaveLength(1);
      const input = starts[0]!.args[0].input;
      expect(input).toMatchObject({
        QueryString: 'SELECT 1 AS n',
        WorkGroup: 'crm-reports',
        QueryExecutionContext: { Database: 'crm_curated', Catalog: 'crm_catalog' },
      });
      expect(input.ClientRequestToken).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('defaults the catalog to AwsDataCatalog; an empty result is the header row alone', async () => {
      // Act
      const rows = await engine().query('SELECT 1 AS n WHERE false', 'empty');

      // Assess
      expect(rows).toEqual([]);
      expect(athenaMock.commandCalls(StartQueryExecutionCommand)[0]!.args[0].input.QueryExecutionContext).toEqual({
        Database: 'crm_curated',
        Catalog: 'AwsDataCatalog',
      });
      const pages = athenaMock.commandCalls(GetQueryResultsCommand);
      expect(pages).toHaveLength(1);
      const page = (await pages[0]!.returnValue) as GetQueryResultsCommandOutput;
      expect(page.ResultSet?.Rows).toEqual([{ Data: [{ VarCharValue: 'n' }] }]);
    });

    it('pages through 2,500 rows: 1000 a page with NextToken, the header on the first page only', async () => {
      // Act
      const rows = await engine().query('SELECT x FROM UNNEST(sequence(1, 2500)) AS t(x)', 'many');

      // Assess
      expect(rows).toHaveLength(2500);
      expect(rows.map((r) => r['x'])).toEqual(Array.from({ length: 2500 }, (_, i) => i + 1));
      const calls = athenaMock.commandCalls(GetQueryResultsCommand);
      expect(calls).toHaveLength(3);
      expect(calls.map((c) => c.args[0].input.MaxResults)).toEqual([1000, 1000, 1000]);
      expect(calls[0]!.args[0].input.NextToken).toBeUndefined();
      const pages = (await Promise.all(calls.map((c) => c.returnValue))) as GetQueryResultsCommandOutput[];
      // Each next request carries the previous page's token; the last page has none.
      expect(calls[1]!.args[0].input.NextToken).toBe(pages[0]!.NextToken);
      expect(calls[2]!.args[0].input.NextToken).toBe(pages[1]!.NextToken);
      expect(pages[2]!.NextToken).toBeUndefined();
      // The header counts as a row of the first page: 1 + 999, then 1000, then 501.
      expect(pages.map((p) => p.ResultSet!.Rows!.length)).toEqual([1000, 1000, 501]);
      expect(pages[0]!.ResultSet!.Rows![0]).toEqual({ Data: [{ VarCharValue: 'x' }] });
      expect(pages[1]!.ResultSet!.Rows![0]).toEqual({ Data: [{ VarCharValue: '1000' }] });
      expect(pages[0]!.ResultSet!.ResultSetMetadata!.ColumnInfo).toEqual([
        expect.objectContaining({ Name: 'x', Type: 'bigint', Precision: 19, Scale: 0 }),
      ]);
    });

    it('converts every cell by the type Trino reports, and a cell without text to null', async () => {
      // Prepare: three rows (values, empty texts and zeros, NULLs) of every type the SQL returns.
      const sql = `SELECT * FROM (VALUES
  (1, CAST('north' AS varchar), CAST('N' AS char(1)), CAST(-3 AS tinyint), CAST(300 AS smallint), 42, BIGINT '9007199254740991', 3.25e0, 1.5e10, REAL '-0.5', DECIMAL '97.50', true, DATE '2024-05-01', TIMESTAMP '2024-05-01 08:30:00.000'),
  (2, '', 'S', CAST(0 AS tinyint), CAST(1 AS smallint), 7, BIGINT '-12', 1e-5, nan(), REAL '2', DECIMAL '0.05', false, DATE '2024-06-30', TIMESTAMP '2024-06-30 23:59:59.999'),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
) AS t(k, team, code, tiny, small, cnt, big, avg_h, e10, r, pct, ok, day, at)`;

      // Act
      const rows = (await engine().query(sql, 'typed')).sort((a, b) => Number(a['k']) - Number(b['k']));

      // Assess
      expect(rows[0]).toStrictEqual({
        k: 1,
        team: 'north',
        code: 'N',
        tiny: -3,
        small: 300,
        cnt: 42,
        big: 9007199254740991,
        avg_h: 3.25,
        e10: 15000000000,
        r: -0.5,
        pct: 97.5,
        ok: true,
        day: '2024-05-01',
        at: '2024-05-01 08:30:00.000',
      });
      expect(rows[1]).toMatchObject({ team: '', code: 'S', tiny: 0, small: 1, big: -12, avg_h: 0.00001, r: 2, pct: 0.05, ok: false, at: '2024-06-30 23:59:59.999' });
      expect(rows[1]!['e10']).toBeNaN();
      expect(rows[2]).toStrictEqual({ k: 3, team: null, code: null, tiny: null, small: null, cnt: null, big: null, avg_h: null, e10: null, r: null, pct: null, ok: null, day: null, at: null });
      const page = (await athenaMock.commandCalls(GetQueryResultsCommand)[0]!.returnValue) as GetQueryResultsCommandOutput;
      expect(page.ResultSet!.ResultSetMetadata!.ColumnInfo!.map((c) => [c.Name, c.Type, c.Precision, c.Scale])).toEqual([
        ['k', 'integer', 10, 0],
        ['team', 'varchar', 2147483647, 0],
        ['code', 'char', 1, 0],
        ['tiny', 'tinyint', 3, 0],
        ['small', 'smallint', 5, 0],
        ['cnt', 'integer', 10, 0],
        ['big', 'bigint', 19, 0],
        ['avg_h', 'double', 17, 0],
        ['e10', 'double', 17, 0],
        ['r', 'real', 7, 0],
        ['pct', 'decimal', 4, 2],
        ['ok', 'boolean', 0, 0],
        ['day', 'date', 0, 0],
        ['at', 'timestamp', 3, 0],
      ]);
      const texts = page.ResultSet!.Rows!.slice(1).map((r) => r.Data!.map((d) => d.VarCharValue));
      const first = texts.find((t) => t[0] === '1')!;
      expect(first).toEqual(['1', 'north', 'N', '-3', '300', '42', '9007199254740991', '3.25', '1.5E10', '-0.5', '97.50', 'true', '2024-05-01', '2024-05-01 08:30:00.000']);
      expect(texts.find((t) => t[0] === '3')).toEqual(['3', ...Array(13).fill(undefined)]);
    });

    it('refuses a bigint beyond Number.MAX_SAFE_INTEGER instead of rounding it', async () => {
      // Act
      const result = engine().query(`SELECT BIGINT '9007199254740993' AS big`, 'huge');

      // Assess
      await expect(result).rejects.toThrow(EngineError);
      await expect(result).rejects.toThrow(/"big".*9007199254740993.*MAX_SAFE_INTEGER/);
    });

    it("throws an EngineError carrying the label, Trino's reason and the AthenaError when the query FAILED", async () => {
      // Act
      const err = await engine().query('SELECT team_x FROM (VALUES 1) AS t(team)', 'tickets_by_team').catch((e: unknown) => e);

      // Assess
      expect(err).toBeInstanceOf(EngineError);
      const message = (err as Error).message;
      const id = (await athenaMock.commandCalls(StartQueryExecutionCommand)[0]!.returnValue).QueryExecutionId!;
      expect(message).toContain('"tickets_by_team"');
      expect(message).toContain(id);
      expect(message).toContain('FAILED');
      expect(message).toContain("COLUMN_NOT_FOUND: line 1:8: Column 'team_x' cannot be resolved");
      expect(message).toContain('category user');
      expect(message).toContain('type 1000');
      expect(athenaMock.commandCalls(GetQueryResultsCommand)).toHaveLength(0);
    });

    it('throws an EngineError naming CANCELLED and its reason when someone else stopped the query', async () => {
      // Prepare: at the first wait, another client stops the running query.
      onSleep = async () => {
        const started = await athenaMock.commandCalls(StartQueryExecutionCommand)[0]!.returnValue;
        await athena.send(new StopQueryExecutionCommand({ QueryExecutionId: started.QueryExecutionId }));
        await backend.settle();
      };

      // Act
      const result = engine().query(ENDLESS, 'cancelled_one');

      // Assess
      await expect(result).rejects.toThrow(EngineError);
      await expect(result).rejects.toThrow(/"cancelled_one".*CANCELLED.*USER_CANCELED: Query was canceled/);
      expect(athenaMock.commandCalls(GetQueryResultsCommand)).toHaveLength(0);
      const [trinoId] = backend.trinoQueryIds();
      expect(await trinoQueryState(trino!.url, trinoId!)).toEqual({ state: 'FAILED', error: 'USER_CANCELED' });
    });

    it('polls with exponential backoff (x1.5) capped at maxPollIntervalMs', async () => {
      // Prepare: six polls see the query queued or running, then the real state is served.
      const still = (State: QueryExecutionState) => async (input: { QueryExecutionId?: string }) => ({ QueryExecution: { QueryExecutionId: input.QueryExecutionId, Status: { State } } });
      athenaMock
        .on(GetQueryExecutionCommand)
        .callsFakeOnce(still('QUEUED'))
        .callsFakeOnce(still('RUNNING'))
        .callsFakeOnce(still('RUNNING'))
        .callsFakeOnce(still('RUNNING'))
        .callsFakeOnce(still('RUNNING'))
        .callsFakeOnce(still('RUNNING'))
        .callsFake(backend.getQueryExecution);

      // Act
      const rows = await engine({ pollIntervalMs: 500, maxPollIntervalMs: 2000 }).query('SELECT 5 AS n', 'slow');

      // Assess
      expect(rows).toEqual([{ n: 5 }]);
      expect(sleeps).toEqual([500, 750, 1125, 1688, 2000, 2000, 2000]);
      expect(athenaMock.commandCalls(GetQueryExecutionCommand)).toHaveLength(7);
    });

    it('stops the query (cancelled on Trino) and throws when it has not finished within timeoutMs', async () => {
      // Prepare: the waits return at once; the query would run for hours.
      onSleep = async () => {};

      // Act
      const result = engine({ pollIntervalMs: 500, timeoutMs: 2000 }).query(ENDLESS, 'endless');

      // Assess
      await expect(result).rejects.toThrow(/"endless".*timed out after 2000 ms/);
      expect(sleeps).toEqual([500, 750, 750]); // the last wait is clipped to the time left
      const id = (await athenaMock.commandCalls(StartQueryExecutionCommand)[0]!.returnValue).QueryExecutionId;
      const stops = athenaMock.commandCalls(StopQueryExecutionCommand);
      expect(stops).toHaveLength(1);
      expect(stops[0]!.args[0].input).toEqual({ QueryExecutionId: id });
      expect(athenaMock.commandCalls(GetQueryResultsCommand)).toHaveLength(0);
      await backend.settle();
      const [trinoId] = backend.trinoQueryIds();
      expect(await trinoQueryState(trino!.url, trinoId!)).toEqual({ state: 'FAILED', error: 'USER_CANCELED' });
    });

    it('retries throttled calls (TooManyRequests, Throttling, $retryable.throttling) and then succeeds', async () => {
      // Prepare
      athenaMock
        .on(StartQueryExecutionCommand)
        .rejectsOnce(throttled('TooManyRequests'))
        .rejectsOnce(throttled('Throttling'))
        .callsFake(backend.start);
      athenaMock.on(GetQueryExecutionCommand).rejectsOnce(throttled('retryable')).callsFake(backend.getQueryExecution);

      // Act
      const rows = await engine().query('SELECT 1 AS n', 'busy');

      // Assess
      expect(rows).toEqual([{ n: 1 }]);
      const starts = athenaMock.commandCalls(StartQueryExecutionCommand);
      expect(starts).toHaveLength(3);
      // The same idempotency token on every attempt: a retried start cannot run the query twice.
      expect(new Set(starts.map((c) => c.args[0].input.ClientRequestToken)).size).toBe(1);
      expect(backend.trinoQueryIds()).toHaveLength(1);
      expect(athenaMock.commandCalls(GetQueryExecutionCommand)).toHaveLength(2);
      // Two throttle waits before the start, one poll wait, one throttle wait before the 2nd poll.
      expect(sleeps).toHaveLength(4);
      expect(sleeps[0]).toBeGreaterThanOrEqual(500);
      expect(sleeps[0]).toBeLessThanOrEqual(1000);
      expect(sleeps[1]).toBeGreaterThanOrEqual(1000);
      expect(sleeps[1]).toBeLessThanOrEqual(2000);
      expect(sleeps[2]).toBe(500);
      expect(logs.filter((m) => m.includes('throttled'))).toHaveLength(3);
    });
  });

  describe('convertCell on the types and texts Trino gives', () => {
    it('reads each value from the text Trino renders for its type', async () => {
      // Prepare: the type names Trino reports and its texts (CAST to varchar, and format('%s')
      // for doubles, the JVM form).
      const { types } = await trinoRows(
        trino!.url,
        `SELECT CAST('abc' AS varchar(5)), CAST('ab' AS char(3)), DECIMAL '97.50', CAST(DECIMAL '-0.0500' AS decimal(10,4)),
  BIGINT '9007199254740991', BIGINT '-12', true, false, TIMESTAMP '2024-05-01 08:30:00.000 UTC', TIMESTAMP '2024-05-01 08:30:00.000', DATE '2024-05-01',
  3.25e0, 1.5e10, 1e-5, nan(), infinity(), -infinity()`,
      );
      const { rows: texts } = await trinoRows(
        trino!.url,
        `SELECT CAST('abc' AS varchar), CAST(CAST('ab' AS char(3)) AS varchar), CAST(DECIMAL '97.50' AS varchar), CAST(DECIMAL '-0.0500' AS varchar),
  CAST(BIGINT '9007199254740991' AS varchar), CAST(BIGINT '-12' AS varchar), CAST(true AS varchar), CAST(false AS varchar),
  CAST(TIMESTAMP '2024-05-01 08:30:00.000 UTC' AS varchar), CAST(TIMESTAMP '2024-05-01 08:30:00.000' AS varchar), CAST(DATE '2024-05-01' AS varchar),
  CAST(3.25e0 AS varchar), CAST(1.5e10 AS varchar), CAST(1e-5 AS varchar), CAST(nan() AS varchar), CAST(infinity() AS varchar), CAST(-infinity() AS varchar),
  format('%s', 3.25e0), format('%s', 1.5e10), format('%s', 1e-5)`,
      );
      const text = texts[0] as string[];

      // Act
      const values = types.map((type, i) => convertCell(text[i], type));
      const jvmDoubles = [17, 18, 19].map((i) => convertCell(text[i], 'double'));

      // Assess: the names as Trino reports them…
      expect(types).toEqual([
        'varchar(5)', 'char(3)', 'decimal(4, 2)', 'decimal(10, 4)', 'bigint', 'bigint', 'boolean', 'boolean',
        'timestamp(3) with time zone', 'timestamp(3)', 'date', 'double', 'double', 'double', 'double', 'double', 'double',
      ]);
      // …and the texts, read back.
      expect(text.slice(11, 20)).toEqual(['3.25E0', '1.5E10', '1.0E-5', 'NaN', 'Infinity', '-Infinity', '3.25', '1.5E10', '1.0E-5']);
      expect(values.slice(0, 14)).toEqual([
        'abc', 'ab ', 97.5, -0.05, 9007199254740991, -12, true, false,
        '2024-05-01 08:30:00.000 UTC', '2024-05-01 08:30:00.000', '2024-05-01',
        3.25, 15000000000, 0.00001,
      ]);
      expect(values[14]).toBeNaN();
      expect(values[15]).toBe(Infinity);
      expect(values[16]).toBe(-Infinity);
      expect(jvmDoubles).toEqual([3.25, 15000000000, 0.00001]);
      // Without PARAMETRIC_DATETIME (trino-client, Athena's ColumnInfo) the names lose the precision.
      expect(convertCell(text[8], 'timestamp with time zone')).toBe('2024-05-01 08:30:00.000 UTC');
      expect(convertCell(text[9], 'timestamp')).toBe('2024-05-01 08:30:00.000');
    });

    it('refuses what it cannot read: a bigint past 2^53, a broken number, an array', async () => {
      // Prepare
      const { types } = await trinoRows(trino!.url, `SELECT BIGINT '9007199254740993', 1e0, ARRAY[1, 2]`);

      // Act
      const tooBig = () => convertCell('9007199254740993', types[0]!, 'big');
      const notNumber = () => convertCell('1,5', types[1]!, 'd');
      const array = () => convertCell('[1, 2]', types[2]!, 'arr');

      // Assess
      expect(types).toEqual(['bigint', 'double', 'array(integer)']);
      expect(tooBig).toThrow(/"big" \(bigint\) value "9007199254740993" is beyond Number.MAX_SAFE_INTEGER/);
      expect(notNumber).toThrow(/"d" \(double\) value "1,5" is not a number/);
      expect(array).toThrow(/"arr" \(array\(integer\)\) value "\[1, 2\]" has a type this engine does not convert/);
      expect(convertCell(undefined, 'array(integer)')).toBeNull();
    });
  });
});

describe('athenaEngine protocol without result rows', () => {
  beforeEach(() => {
    athenaMock.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'qid-123' });
  });

  it('gives up with an EngineError naming the throttling after a bounded number of retries', async () => {
    // Prepare
    athenaMock.on(StartQueryExecutionCommand).rejects(throttled('TooManyRequests'));

    // Act
    const err = await engine().query('SELECT 1', 'crowded').catch((e: unknown) => e);

    // Assess
    expect(err).toBeInstanceOf(EngineError);
    expect((err as Error).message).toMatch(/StartQueryExecution for "crowded" still throttled after 6 attempts: TooManyRequestsException/);
    expect((err as Error).cause).toBeInstanceOf(TooManyRequestsException);
    expect(athenaMock.commandCalls(StartQueryExecutionCommand)).toHaveLength(ATHENA_DEFAULTS.throttleRetries + 1);
    expect(athenaMock.commandCalls(GetQueryExecutionCommand)).toHaveLength(0);
  });

  it('does not retry an error that is not throttling', async () => {
    // Prepare
    athenaMock.on(StartQueryExecutionCommand).rejects(Object.assign(new Error('workgroup is disabled'), { name: 'InvalidRequestException' }));

    // Act
    const result = engine().query('SELECT 1', 'bad_wg');

    // Assess
    await expect(result).rejects.toThrow(/StartQueryExecution failed for "bad_wg": InvalidRequestException: workgroup is disabled/);
    expect(athenaMock.commandCalls(StartQueryExecutionCommand)).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });
});

describe('athenaEngine presentTables', () => {
  it('lists each table prefix with MaxKeys 1 and reports those holding at least one file', async () => {
    // Prepare
    s3Mock.on(ListObjectsV2Command).resolves({ KeyCount: 0 });
    s3Mock
      .on(ListObjectsV2Command, { Prefix: 'canonical/tickets/dt=' })
      .resolves({ KeyCount: 1, Contents: [{ Key: 'canonical/tickets/dt=2024-05-01/part-0.parquet', Size: 1234 }] });
    // An empty Parquet file still makes the table present.
    s3Mock
      .on(ListObjectsV2Command, { Prefix: 'canonical/orders/dt=' })
      .resolves({ KeyCount: 1, Contents: [{ Key: 'canonical/orders/dt=2015-01-01/part-0.parquet', Size: 0 }] });
    // A console-made "folder" object alone is not a file.
    s3Mock
      .on(ListObjectsV2Command, { Prefix: 'canonical/surveys/dt=' })
      .resolvesOnce({ KeyCount: 1, Contents: [{ Key: 'canonical/surveys/dt=2024-05-01/', Size: 0 }] })
      .resolves({ KeyCount: 0 });

    // Act
    const present = await engine({ curatedPrefix: 'canonical/' }).presentTables();

    // Assess
    expect([...present].sort()).toEqual(['orders', 'tickets']);
    const inputs = s3Mock.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input);
    // Only the dt= partitions hold data (the column markers beside them do not make a table present).
    for (const table of ['tickets', 'surveys', 'orders', 'complaints', 'invoices', 'customers', 'contacts']) {
      expect(inputs).toContainEqual(expect.objectContaining({ Bucket: 'curated-bucket', Prefix: `canonical/${table}/dt=`, MaxKeys: 1 }));
    }
    expect(inputs.every((i) => i.MaxKeys === 1)).toBe(true);
    expect(inputs.find((i) => i.Prefix === 'canonical/surveys/dt=' && i.StartAfter)).toMatchObject({ StartAfter: 'canonical/surveys/dt=2024-05-01/' });
  });
});

describe('athenaEngine close', () => {
  it('is a no-op that sends nothing', async () => {
    // Prepare
    const e = engine();

    // Act
    await e.close();

    // Assess
    expect(e.name).toBe('athena');
    expect(athenaMock.calls()).toHaveLength(0);
    expect(s3Mock.calls()).toHaveLength(0);
  });
});
