/**
 * Protocol tests for the Athena engine: the Athena and S3 clients are replaced by
 * aws-sdk-client-mock (no local twin of Athena exists), the sleep is injected and recorded.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  TooManyRequestsException,
  type ColumnInfo,
  type GetQueryResultsCommandOutput,
  type QueryExecutionState,
} from '@aws-sdk/client-athena';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { ATHENA_DEFAULTS, createAthenaEngine, type AthenaEngineOptions } from '../../functions/engine/athenaEngine.js';
import { EngineError } from '../../functions/engine/engine.js';

const athena = new AthenaClient({ region: 'eu-west-1' });
const s3 = new S3Client({ region: 'eu-west-1' });
const athenaMock = mockClient(athena);
const s3Mock = mockClient(s3);
const QID = 'qid-123';

let sleeps: number[];
let logs: string[];

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
    },
    log: (msg) => logs.push(msg),
    ...extra,
  });
}

function status(State: QueryExecutionState, more: Record<string, unknown> = {}) {
  return { QueryExecution: { QueryExecutionId: QID, Status: { State, ...more } } };
}

const cell = (v: string | null) => (v === null ? {} : { VarCharValue: v });
const row = (...values: (string | null)[]) => ({ Data: values.map(cell) });

function page(columns: ColumnInfo[], rows: ReturnType<typeof row>[], NextToken?: string): Partial<GetQueryResultsCommandOutput> {
  return { ResultSet: { ResultSetMetadata: { ColumnInfo: columns }, Rows: rows }, NextToken };
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

beforeEach(() => {
  athenaMock.reset();
  s3Mock.reset();
  sleeps = [];
  logs = [];
  athenaMock.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: QID });
});

describe('athenaEngine query', () => {
  it('starts the query in the configured workgroup, database and catalog', async () => {
    // Prepare
    athenaMock.on(GetQueryExecutionCommand).resolves(status('SUCCEEDED'));
    athenaMock.on(GetQueryResultsCommand).resolves(page([{ Name: 'n', Type: 'bigint' }], [row('n'), row('1')]));

    // Act
    await engine({ catalog: 'crm_catalog' }).query('SELECT 1 AS n', 'probe');

    // Assess
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

  it('defaults the catalog to AwsDataCatalog', async () => {
    // Prepare
    athenaMock.on(GetQueryExecutionCommand).resolves(status('SUCCEEDED'));
    athenaMock.on(GetQueryResultsCommand).resolves(page([{ Name: 'n', Type: 'bigint' }], [row('n')]));

    // Act
    const rows = await engine().query('SELECT 1 AS n WHERE false', 'empty');

    // Assess
    expect(rows).toEqual([]);
    expect(athenaMock.commandCalls(StartQueryExecutionCommand)[0]!.args[0].input.QueryExecutionContext).toEqual({
      Database: 'crm_curated',
      Catalog: 'AwsDataCatalog',
    });
  });

  it('pages through results, skips the header row only on the first page and converts each type', async () => {
    // Prepare
    const columns: ColumnInfo[] = [
      { Name: 'team', Type: 'varchar' },
      { Name: 'code', Type: 'char' },
      { Name: 'tiny', Type: 'tinyint' },
      { Name: 'small', Type: 'smallint' },
      { Name: 'cnt', Type: 'integer' },
      { Name: 'big', Type: 'bigint' },
      { Name: 'avg_h', Type: 'double' },
      { Name: 'f', Type: 'float' },
      { Name: 'r', Type: 'real' },
      { Name: 'pct', Type: 'decimal', Precision: 5, Scale: 2 },
      { Name: 'ok', Type: 'boolean' },
      { Name: 'day', Type: 'date' },
      { Name: 'at', Type: 'timestamp' },
    ];
    const header = row(...columns.map((c) => c.Name!));
    athenaMock.on(GetQueryExecutionCommand).resolves(status('SUCCEEDED'));
    athenaMock
      .on(GetQueryResultsCommand)
      .resolvesOnce(
        page(columns, [header, row('north', 'N', '-3', '300', '42', '9007199254740991', '3.25', '1.5', '-0.5', '97.50', 'true', '2024-05-01', '2024-05-01 08:30:00.000')], 'token-2'),
      )
      .resolvesOnce(page(columns, [row('south', 'S', '0', '1', '7', '-12', '1e3', '0', '2', '0.05', 'false', '2024-06-30', '2024-06-30 23:59:59.999')], 'token-3'))
      .resolvesOnce(page(columns, [row('east', 'E', '1', '2', '3', '4', 'NaN', '5', '6', '100.00', 'true', '2024-07-01', '2024-07-01 00:00:00.000')]));

    // Act
    const rows = await engine().query('SELECT ...', 'typed');

    // Assess
    const calls = athenaMock.commandCalls(GetQueryResultsCommand).map((c) => c.args[0].input);
    expect(calls).toEqual([
      { QueryExecutionId: QID, MaxResults: 1000, NextToken: undefined },
      { QueryExecutionId: QID, MaxResults: 1000, NextToken: 'token-2' },
      { QueryExecutionId: QID, MaxResults: 1000, NextToken: 'token-3' },
    ]);
    // Skipping a header on every page would lose 'south' and 'east'; not skipping it would add one.
    expect(rows.map((r) => r.team)).toEqual(['north', 'south', 'east']);
    expect(rows[0]).toStrictEqual({
      team: 'north',
      code: 'N',
      tiny: -3,
      small: 300,
      cnt: 42,
      big: 9007199254740991,
      avg_h: 3.25,
      f: 1.5,
      r: -0.5,
      pct: 97.5,
      ok: true,
      day: '2024-05-01',
      at: '2024-05-01 08:30:00.000',
    });
    expect(rows[1]).toMatchObject({ team: 'south', tiny: 0, big: -12, avg_h: 1000, f: 0, r: 2, pct: 0.05, ok: false, day: '2024-06-30' });
    expect(rows[2]!.avg_h).toBeNaN();
  });

  it('returns null for cells without a VarCharValue, whatever the column type', async () => {
    // Prepare
    const columns: ColumnInfo[] = [
      { Name: 's', Type: 'varchar' },
      { Name: 'i', Type: 'bigint' },
      { Name: 'd', Type: 'double' },
      { Name: 'b', Type: 'boolean' },
      { Name: 't', Type: 'timestamp' },
    ];
    athenaMock.on(GetQueryExecutionCommand).resolves(status('SUCCEEDED'));
    athenaMock.on(GetQueryResultsCommand).resolves(page(columns, [row('s', 'i', 'd', 'b', 't'), row(null, null, null, null, null), row('', '0', '0', 'false', null)]));

    // Act
    const rows = await engine().query('SELECT ...', 'nulls');

    // Assess
    expect(rows).toStrictEqual([
      { s: null, i: null, d: null, b: null, t: null },
      { s: '', i: 0, d: 0, b: false, t: null },
    ]);
  });

  it('refuses a bigint beyond Number.MAX_SAFE_INTEGER instead of rounding it', async () => {
    // Prepare
    athenaMock.on(GetQueryExecutionCommand).resolves(status('SUCCEEDED'));
    athenaMock.on(GetQueryResultsCommand).resolves(page([{ Name: 'big', Type: 'bigint' }], [row('big'), row('9007199254740993')]));

    // Act
    const result = engine().query('SELECT ...', 'huge');

    // Assess
    await expect(result).rejects.toThrow(EngineError);
    await expect(result).rejects.toThrow(/"big".*9007199254740993.*MAX_SAFE_INTEGER/);
  });

  it('throws an EngineError carrying the label, StateChangeReason and AthenaError when the query FAILED', async () => {
    // Prepare
    athenaMock.on(GetQueryExecutionCommand).resolves(
      status('FAILED', {
        StateChangeReason: "COLUMN_NOT_FOUND: line 3:8: Column 'team_x' cannot be resolved",
        AthenaError: { ErrorCategory: 2, ErrorType: 1006, ErrorMessage: "Column 'team_x' cannot be resolved", Retryable: false },
      }),
    );

    // Act
    const err = await engine().query('SELECT team_x FROM tickets', 'tickets_by_team').catch((e: unknown) => e);

    // Assess
    expect(err).toBeInstanceOf(EngineError);
    const message = (err as Error).message;
    expect(message).toContain('tickets_by_team');
    expect(message).toContain(QID);
    expect(message).toContain('FAILED');
    expect(message).toContain("COLUMN_NOT_FOUND: line 3:8: Column 'team_x' cannot be resolved");
    expect(message).toContain('category user');
    expect(message).toContain('type 1006');
    expect(athenaMock.commandCalls(GetQueryResultsCommand)).toHaveLength(0);
  });

  it('throws an EngineError naming CANCELLED and its reason when the query was cancelled', async () => {
    // Prepare
    athenaMock
      .on(GetQueryExecutionCommand)
      .resolvesOnce(status('RUNNING'))
      .resolves(status('CANCELLED', { StateChangeReason: 'Query cancelled by user' }));

    // Act
    const result = engine().query('SELECT 1', 'cancelled_one');

    // Assess
    await expect(result).rejects.toThrow(EngineError);
    await expect(result).rejects.toThrow(/"cancelled_one".*CANCELLED.*Query cancelled by user/);
    expect(athenaMock.commandCalls(GetQueryResultsCommand)).toHaveLength(0);
  });

  it('polls with exponential backoff (x1.5) capped at maxPollIntervalMs', async () => {
    // Prepare
    athenaMock
      .on(GetQueryExecutionCommand)
      .resolvesOnce(status('QUEUED'))
      .resolvesOnce(status('RUNNING'))
      .resolvesOnce(status('RUNNING'))
      .resolvesOnce(status('RUNNING'))
      .resolvesOnce(status('RUNNING'))
      .resolvesOnce(status('RUNNING'))
      .resolves(status('SUCCEEDED'));
    athenaMock.on(GetQueryResultsCommand).resolves(page([{ Name: 'n', Type: 'integer' }], [row('n'), row('5')]));

    // Act
    const rows = await engine({ pollIntervalMs: 500, maxPollIntervalMs: 2000 }).query('SELECT 5 AS n', 'slow');

    // Assess
    expect(rows).toEqual([{ n: 5 }]);
    expect(sleeps).toEqual([500, 750, 1125, 1688, 2000, 2000, 2000]);
    expect(athenaMock.commandCalls(GetQueryExecutionCommand)).toHaveLength(7);
  });

  it('stops the query and throws when it has not finished within timeoutMs', async () => {
    // Prepare
    athenaMock.on(GetQueryExecutionCommand).resolves(status('RUNNING'));
    athenaMock.on(StopQueryExecutionCommand).resolves({});

    // Act
    const result = engine({ pollIntervalMs: 500, timeoutMs: 2000 }).query('SELECT forever', 'endless');

    // Assess
    await expect(result).rejects.toThrow(/"endless".*timed out after 2000 ms/);
    expect(sleeps).toEqual([500, 750, 750]); // the last wait is clipped to the time left
    const stops = athenaMock.commandCalls(StopQueryExecutionCommand);
    expect(stops).toHaveLength(1);
    expect(stops[0]!.args[0].input).toEqual({ QueryExecutionId: QID });
    expect(athenaMock.commandCalls(GetQueryResultsCommand)).toHaveLength(0);
  });

  it('retries throttled calls (TooManyRequests, Throttling, $retryable.throttling) and then succeeds', async () => {
    // Prepare
    athenaMock
      .on(StartQueryExecutionCommand)
      .rejectsOnce(throttled('TooManyRequests'))
      .rejectsOnce(throttled('Throttling'))
      .resolves({ QueryExecutionId: QID });
    athenaMock.on(GetQueryExecutionCommand).rejectsOnce(throttled('retryable')).resolves(status('SUCCEEDED'));
    athenaMock.on(GetQueryResultsCommand).resolves(page([{ Name: 'n', Type: 'integer' }], [row('n'), row('1')]));

    // Act
    const rows = await engine().query('SELECT 1 AS n', 'busy');

    // Assess
    expect(rows).toEqual([{ n: 1 }]);
    const starts = athenaMock.commandCalls(StartQueryExecutionCommand);
    expect(starts).toHaveLength(3);
    // The same idempotency token on every attempt: a retried start cannot run the query twice.
    expect(new Set(starts.map((c) => c.args[0].input.ClientRequestToken)).size).toBe(1);
    expect(athenaMock.commandCalls(GetQueryExecutionCommand)).toHaveLength(2);
    // Two throttle waits before the start, one poll wait, one throttle wait before the 2nd poll.
    expect(sleeps).toHaveLength(4);
    expect(sleeps[0]).toBeGreaterThanOrEqual(500);
    expect(sleeps[0]).toBeLessThanOrEqual(1000);
    expect(sleeps[1]).toBeGreaterThanOrEqual(1000);
    expect(sleeps[1]).toBeLessThanOrEqual(2000);
    expect(logs.filter((m) => m.includes('throttled'))).toHaveLength(3);
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
      .on(ListObjectsV2Command, { Prefix: 'canonical/tickets/' })
      .resolves({ KeyCount: 1, Contents: [{ Key: 'canonical/tickets/period=2024-05/part-0.parquet', Size: 1234 }] });
    // An empty Parquet file still makes the table present.
    s3Mock
      .on(ListObjectsV2Command, { Prefix: 'canonical/orders/' })
      .resolves({ KeyCount: 1, Contents: [{ Key: 'canonical/orders/part-0.parquet', Size: 0 }] });
    // A console-made "folder" object alone is not a file.
    s3Mock
      .on(ListObjectsV2Command, { Prefix: 'canonical/surveys/' })
      .resolvesOnce({ KeyCount: 1, Contents: [{ Key: 'canonical/surveys/', Size: 0 }] })
      .resolves({ KeyCount: 0 });

    // Act
    const present = await engine({ curatedPrefix: 'canonical/' }).presentTables();

    // Assess
    expect([...present].sort()).toEqual(['orders', 'tickets']);
    const inputs = s3Mock.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input);
    for (const table of ['tickets', 'surveys', 'orders', 'complaints', 'invoices', 'customers']) {
      expect(inputs).toContainEqual(expect.objectContaining({ Bucket: 'curated-bucket', Prefix: `canonical/${table}/`, MaxKeys: 1 }));
    }
    expect(inputs.every((i) => i.MaxKeys === 1)).toBe(true);
    expect(inputs.find((i) => i.Prefix === 'canonical/surveys/' && i.StartAfter)).toMatchObject({ StartAfter: 'canonical/surveys/' });
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
