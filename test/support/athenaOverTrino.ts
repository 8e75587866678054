/**
 * Amazon Athena's query API served by the local Trino, for tests of the Athena engine: an
 * aws-sdk-client-mock stub of AthenaClient whose answers Trino really produced (Athena engine
 * version 3 is Trino).
 *
 * - StartQueryExecution submits the QueryString to Trino over its client protocol, in the catalog
 *   given here and the schema named by QueryExecutionContext.Database (or mapped by `schemaFor`),
 *   in the session time zone UTC as Athena runs. It answers at once with a new QueryExecutionId;
 *   the query runs in the background.
 * - GetQueryExecution reports Status.State QUEUED / RUNNING while Trino runs it, then SUCCEEDED,
 *   FAILED (StateChangeReason `ERROR_NAME: message` and AthenaError from Trino's error) or
 *   CANCELLED; Statistics from Trino's final statistics (DataScannedInBytes = physical input bytes).
 * - StopQueryExecution cancels the query on Trino (DELETE /v1/query/<id>: USER_CANCELED there).
 * - GetQueryResults pages the result: the header row (column names) first, on the first page only;
 *   at most MaxResults rows a page (default and maximum 1000, the header counting as a row), then a
 *   NextToken; ResultSetMetadata.ColumnInfo on every page; every cell as text in VarCharValue,
 *   a NULL as a cell without VarCharValue.
 *
 * Cell texts are rendered by Trino itself: once the query succeeded, it runs again wrapped as
 * `SELECT <render(c0)>, ... FROM (<query>) AS q(c0, ...)`, each column rendered by its type:
 * - double and real: format('%s', x), Java's Double.toString / Float.toString ('3.25', '1.5E10',
 *   '1.0E-5', 'NaN', 'Infinity'). Athena's result set is Trino's values written out by the JVM, and
 *   this is how the JVM (and so Trino's CLI and JDBC getString) writes them; no AWS document spells
 *   the form out (searched: the GetQueryResults, ColumnInfo, data types and engine v3 pages), so it
 *   is the assumption of this mock. Trino's own CAST(double AS varchar) writes '3.25E0' instead;
 *   the engine's convertCell accepts both (see the convertCell tests).
 * - arrays: '[a, b, null]' (Java's List.toString); maps, rows and json: json_format.
 * - everything else (varchar, char, integers, decimal, boolean, date, time, timestamp[ with time
 *   zone]): CAST(x AS varchar) ('97.50', 'true', '2024-05-01 08:30:00.000', '... UTC').
 * Trino keeps no ORDER BY of a subquery without LIMIT, so an order the query asks for only with a
 * top-level ORDER BY may not survive the wrapping: order-sensitive queries should use ORDER BY …
 * LIMIT n, or a source that is ordered by itself.
 *
 * ColumnInfo: Type is the base type name in lower case as Athena reports it ('varchar', 'bigint',
 * 'double', 'decimal', 'boolean', 'timestamp', 'array', …); per the API reference
 * (https://docs.aws.amazon.com/athena/latest/APIReference/API_ColumnInfo.html) Precision is the
 * total number of digits and Scale those of the fractional part for DECIMAL (Scale defaults to
 * 0). Other fields as in recorded Athena responses: varchar Precision 2147483647 (or its length),
 * bigint 19, integer 10, double 17, date 0; CatalogName 'hive', SchemaName and TableName '',
 * Label = Name, Nullable 'UNKNOWN', CaseSensitive true for character types only.
 * AthenaError: ErrorCategory 2 (USER) with ErrorType 1000 (user error) for Trino's USER_ERROR,
 * else ErrorCategory 1 (SYSTEM) with ErrorType 200 (query engine internal error), per the Athena
 * error catalog (https://docs.aws.amazon.com/athena/latest/ug/error-reference.html).
 */
import { randomUUID } from 'node:crypto';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  InvalidRequestException,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  type AthenaError,
  type ColumnInfo,
  type GetQueryExecutionCommandInput,
  type GetQueryExecutionCommandOutput,
  type GetQueryResultsCommandInput,
  type GetQueryResultsCommandOutput,
  type QueryExecutionState,
  type Row,
  type StartQueryExecutionCommandInput,
  type StartQueryExecutionCommandOutput,
  type StopQueryExecutionCommandInput,
  type StopQueryExecutionCommandOutput,
} from '@aws-sdk/client-athena';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';

export type AthenaMock = AwsClientStub<AthenaClient>;

export interface AthenaOverTrinoOptions {
  /** The Trino coordinator, e.g. http://127.0.0.1:18181. */
  url: string;
  /** The Trino catalog standing for Athena's data catalog (AwsDataCatalog). */
  catalog: string;
  /** The Trino schema of an Athena database (default: the database name itself). */
  schemaFor?: (database: string) => string;
  user?: string;
  /** Rows a page at most, below MaxResults (to make small results span pages). */
  maxPageRows?: number;
}

interface TypeSignature {
  rawType: string;
  arguments?: { kind: string; value: unknown }[];
}
interface TrinoColumn {
  name: string;
  type: string;
  typeSignature?: TypeSignature;
}
interface TrinoError {
  message: string;
  errorName: string;
  errorType: string;
  errorCode: number;
}
interface TrinoStats {
  state: string;
  queuedTimeMillis?: number;
  elapsedTimeMillis?: number;
  physicalInputBytes?: number;
  processedBytes?: number;
}
interface StatementResponse {
  id: string;
  nextUri?: string;
  columns?: TrinoColumn[];
  data?: unknown[][];
  stats?: TrinoStats;
  error?: TrinoError;
}

/** One statement over Trino's client protocol: POST, then every nextUri until there is none. */
async function runStatement(
  url: string,
  headers: Record<string, string>,
  sql: string,
  onResponse: (r: StatementResponse) => void,
): Promise<{ id: string; columns: TrinoColumn[]; data: unknown[][]; stats?: TrinoStats; error?: TrinoError }> {
  let res = await fetch(`${url}/v1/statement`, { method: 'POST', headers, body: sql });
  const data: unknown[][] = [];
  let columns: TrinoColumn[] | undefined;
  for (;;) {
    if (!res.ok) throw new Error(`Trino answered HTTP ${res.status}: ${(await res.text()).trim().split('\n')[0]}`);
    const body = (await res.json()) as StatementResponse;
    onResponse(body);
    columns ??= body.columns;
    data.push(...(body.data ?? []));
    if (body.error || !body.nextUri) return { id: body.id, columns: columns ?? [], data, stats: body.stats, error: body.error };
    res = await fetch(body.nextUri, { headers });
  }
}

const q = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** SQL rendering `expr` (of Trino type `sig`) as the text Athena shows; null stays null. */
function renderSql(expr: string, sig: TypeSignature): string {
  switch (sig.rawType) {
    case 'double':
    case 'real':
      // format('%s', NULL) would be the text 'null'.
      return `CASE WHEN ${expr} IS NULL THEN NULL ELSE format('%s', ${expr}) END`;
    case 'array': {
      const element = sig.arguments?.[0]?.value as TypeSignature | undefined;
      const each = element ? renderSql('e', element) : `CAST(e AS varchar)`;
      return `CASE WHEN ${expr} IS NULL THEN NULL ELSE '[' || array_join(transform(${expr}, e -> coalesce(${each}, 'null')), ', ') || ']' END`;
    }
    case 'map':
    case 'row':
    case 'json':
      return `json_format(CAST(${expr} AS json))`;
    case 'varbinary':
      return `to_hex(${expr})`;
    default:
      return `CAST(${expr} AS varchar)`;
  }
}

const FIXED_PRECISION: Record<string, number> = { bigint: 19, integer: 10, smallint: 5, tinyint: 3, double: 17, real: 7, date: 0, boolean: 0 };

/** Athena's ColumnInfo for a column Trino reported. */
export function athenaColumnInfo(col: TrinoColumn): ColumnInfo {
  const sig = col.typeSignature ?? { rawType: col.type.replace(/\(.*$/, '') };
  const longs = (sig.arguments ?? []).filter((a) => a.kind === 'LONG').map((a) => Number(a.value));
  let precision = FIXED_PRECISION[sig.rawType] ?? 0;
  let scale = 0;
  if (sig.rawType === 'varchar' || sig.rawType === 'char') precision = longs[0] ?? 2147483647;
  else if (sig.rawType === 'decimal') [precision = 0, scale = 0] = longs;
  else if (sig.rawType.startsWith('time')) precision = longs[0] ?? 3;
  return {
    CatalogName: 'hive',
    SchemaName: '',
    TableName: '',
    Name: col.name,
    Label: col.name,
    Type: sig.rawType.toLowerCase(),
    Precision: precision,
    Scale: scale,
    Nullable: 'UNKNOWN',
    CaseSensitive: sig.rawType === 'varchar' || sig.rawType === 'char',
  };
}

interface Execution {
  id: string;
  sql: string;
  database: string;
  state: QueryExecutionState;
  submitted: Date;
  completed?: Date;
  trinoId?: string;
  /** The query's current nextUri: a DELETE there cancels it, even while still queued. */
  nextUri?: string;
  stopRequested: boolean;
  reason?: string;
  error?: AthenaError;
  stats?: TrinoStats;
  columns?: ColumnInfo[];
  rows?: (string | null)[][];
  done: Promise<void>;
}

function invalid(message: string): InvalidRequestException {
  return new InvalidRequestException({ message, $metadata: { httpStatusCode: 400 } });
}

/** The Athena API over the local Trino: handlers for the four query commands. */
export class AthenaOverTrino {
  private readonly executions = new Map<string, Execution>();
  private readonly headers: (database: string) => Record<string, string>;

  constructor(private readonly opts: AthenaOverTrinoOptions) {
    this.headers = (database) => ({
      'X-Trino-User': opts.user ?? 'athena-over-trino',
      'X-Trino-Source': 'athena-over-trino',
      'X-Trino-Catalog': opts.catalog,
      'X-Trino-Schema': (opts.schemaFor ?? ((d: string) => d))(database),
      'X-Trino-Time-Zone': 'UTC',
    });
  }

  /** Installs the four handlers on `mock` (reset it first to drop earlier behaviours). */
  install(mock: AthenaMock): AthenaMock {
    mock.on(StartQueryExecutionCommand).callsFake(this.start);
    mock.on(GetQueryExecutionCommand).callsFake(this.getQueryExecution);
    mock.on(GetQueryResultsCommand).callsFake(this.getQueryResults);
    mock.on(StopQueryExecutionCommand).callsFake(this.stop);
    return mock;
  }

  /** The Trino query id behind an Athena execution (known once Trino accepted the query). */
  trinoQueryId(executionId: string): string | undefined {
    return this.executions.get(executionId)?.trinoId;
  }

  /** The Trino query ids of every execution so far, in start order. */
  trinoQueryIds(): string[] {
    return [...this.executions.values()].map((e) => e.trinoId).filter((id): id is string => id !== undefined);
  }

  /** Waits until every execution has ended (a stopped one once Trino has seen the cancel). */
  async settle(): Promise<void> {
    await Promise.all([...this.executions.values()].map((e) => e.done));
  }

  /** Stops what still runs, then waits for it. */
  async close(): Promise<void> {
    await Promise.all([...this.executions.values()].map((e) => this.stop({ QueryExecutionId: e.id })));
    await this.settle();
  }

  readonly start = async (input: StartQueryExecutionCommandInput): Promise<Partial<StartQueryExecutionCommandOutput>> => {
    if (!input.QueryString) throw invalid('QueryString is required');
    const database = input.QueryExecutionContext?.Database ?? 'default';
    const e: Execution = {
      id: randomUUID(),
      sql: input.QueryString,
      database,
      state: 'QUEUED',
      submitted: new Date(),
      stopRequested: false,
      done: Promise.resolve(),
    };
    this.executions.set(e.id, e);
    e.done = this.run(e).catch((err: unknown) => {
      this.finish(e, 'FAILED', `mock: ${(err as Error).message}`, { ErrorCategory: 1, ErrorType: 200, Retryable: false, ErrorMessage: (err as Error).message });
    });
    return { QueryExecutionId: e.id };
  };

  readonly getQueryExecution = async (input: GetQueryExecutionCommandInput): Promise<Partial<GetQueryExecutionCommandOutput>> => {
    const e = this.find(input.QueryExecutionId);
    return {
      QueryExecution: {
        QueryExecutionId: e.id,
        Query: e.sql,
        StatementType: 'DML',
        QueryExecutionContext: { Database: e.database },
        Status: {
          State: e.state,
          SubmissionDateTime: e.submitted,
          CompletionDateTime: e.completed,
          ...(e.reason !== undefined ? { StateChangeReason: e.reason } : {}),
          ...(e.error ? { AthenaError: e.error } : {}),
        },
        Statistics: e.stats
          ? {
              DataScannedInBytes: e.stats.physicalInputBytes ?? e.stats.processedBytes ?? 0,
              EngineExecutionTimeInMillis: e.stats.elapsedTimeMillis,
              QueryQueueTimeInMillis: e.stats.queuedTimeMillis,
              TotalExecutionTimeInMillis: (e.completed ?? new Date()).getTime() - e.submitted.getTime(),
            }
          : undefined,
        EngineVersion: { SelectedEngineVersion: 'AUTO', EffectiveEngineVersion: 'Athena engine version 3' },
      },
    };
  };

  readonly getQueryResults = async (input: GetQueryResultsCommandInput): Promise<Partial<GetQueryResultsCommandOutput>> => {
    const e = this.find(input.QueryExecutionId);
    if (e.state === 'QUEUED' || e.state === 'RUNNING') throw invalid(`Query has not yet finished. Current state: ${e.state}`);
    if (e.state !== 'SUCCEEDED' || !e.columns || !e.rows) throw invalid(`Query did not finish successfully. Final query state: ${e.state}`);
    const max = input.MaxResults ?? 1000;
    if (max < 1 || max > 1000) throw invalid(`MaxResults must be between 1 and 1000, not ${max}`);
    const limit = Math.min(max, this.opts.maxPageRows ?? max);
    const offset = input.NextToken === undefined ? 0 : this.offsetOf(e, input.NextToken);
    const all: Row[] = [
      { Data: e.columns.map((c) => ({ VarCharValue: c.Name })) },
      ...e.rows.map((r) => ({ Data: r.map((v) => (v === null ? {} : { VarCharValue: v })) })),
    ];
    const end = Math.min(offset + limit, all.length);
    return {
      UpdateCount: 0,
      ResultSet: { ResultSetMetadata: { ColumnInfo: e.columns }, Rows: all.slice(offset, end) },
      NextToken: end < all.length ? Buffer.from(`${e.id}:${end}`).toString('base64') : undefined,
    };
  };

  readonly stop = async (input: StopQueryExecutionCommandInput): Promise<Partial<StopQueryExecutionCommandOutput>> => {
    const e = this.find(input.QueryExecutionId);
    if (e.state === 'QUEUED' || e.state === 'RUNNING') {
      e.stopRequested = true;
      e.state = 'CANCELLED';
      e.completed = new Date();
      if (e.trinoId || e.nextUri) await this.cancelOnTrino(e);
    }
    return {};
  };

  private find(id: string | undefined): Execution {
    const e = id === undefined ? undefined : this.executions.get(id);
    if (!e) throw invalid(`QueryExecution ${id} was not found`);
    return e;
  }

  private offsetOf(e: Execution, token: string): number {
    const [id, offset] = Buffer.from(token, 'base64').toString().split(':');
    if (id !== e.id || !/^\d+$/.test(offset ?? '')) throw invalid('The NextToken is not valid for this query');
    return Number(offset);
  }

  /**
   * Cancels through the statement protocol (DELETE on the nextUri), which also reaches a query not
   * yet dispatched (DELETE /v1/query/<id> is then a no-op), and through /v1/query/<id>.
   */
  private async cancelOnTrino(e: Execution): Promise<void> {
    const headers = this.headers(e.database);
    const urls = [e.nextUri, e.trinoId && `${this.opts.url}/v1/query/${e.trinoId}`].filter((u): u is string => !!u);
    await Promise.all(urls.map((u) => fetch(u, { method: 'DELETE', headers }).catch(() => undefined)));
  }

  private finish(e: Execution, state: QueryExecutionState, reason?: string, error?: AthenaError): void {
    if (e.state === 'CANCELLED' && state !== 'CANCELLED') return; // stopped meanwhile
    e.state = state;
    e.reason = reason;
    e.error = error;
    e.completed ??= new Date();
  }

  private async run(e: Execution): Promise<void> {
    const headers = this.headers(e.database);
    const typed = await runStatement(this.opts.url, headers, e.sql, (r) => {
      e.nextUri = r.nextUri;
      if (!e.trinoId && r.id) {
        e.trinoId = r.id;
        if (e.stopRequested) void this.cancelOnTrino(e);
      }
      if (e.state === 'QUEUED' && r.stats && r.stats.state !== 'QUEUED') e.state = 'RUNNING';
      if (r.stats) e.stats = r.stats;
    });
    if (typed.error) {
      const reason = `${typed.error.errorName}: ${typed.error.message}`;
      if (e.stopRequested || typed.error.errorName === 'USER_CANCELED') return this.finish(e, 'CANCELLED', reason);
      const user = typed.error.errorType === 'USER_ERROR';
      return this.finish(e, 'FAILED', reason, {
        ErrorCategory: user ? 2 : 1,
        ErrorType: user ? 1000 : 200,
        Retryable: false,
        ErrorMessage: typed.error.message,
      });
    }
    if (e.stopRequested) return;
    // The texts, rendered by Trino from the same query.
    const sql = e.sql.replace(/[\s;]+$/, '');
    const cols = typed.columns.map((_, i) => `c${i}`);
    const renders = typed.columns.map((c, i) => `${renderSql(cols[i]!, c.typeSignature ?? { rawType: c.type })} AS ${q(c.name)}`);
    const rendered = await runStatement(
      this.opts.url,
      headers,
      `SELECT ${renders.join(', ')}\nFROM (\n${sql}\n) AS athena_over_trino (${cols.join(', ')})`,
      () => undefined,
    );
    if (rendered.error) throw new Error(`rendering the result failed: ${rendered.error.errorName}: ${rendered.error.message}`);
    if (rendered.data.length !== typed.data.length) {
      throw new Error(`rendering the result gave ${rendered.data.length} rows for ${typed.data.length}`);
    }
    e.columns = typed.columns.map(athenaColumnInfo);
    e.rows = rendered.data.map((r) => r.map((v) => (v === null ? null : String(v))));
    this.finish(e, 'SUCCEEDED');
  }
}

/**
 * A stub of AthenaClient (every instance, or the one given) answering from the local Trino.
 * Returns the stub (for commandCalls, reset, restore) and the backend (for Trino query ids).
 */
export function mockAthenaOverTrino(
  opts: AthenaOverTrinoOptions & { client?: AthenaClient },
): { mock: AthenaMock; backend: AthenaOverTrino } {
  const backend = new AthenaOverTrino(opts);
  const mock: AthenaMock = opts.client ? mockClient(opts.client) : mockClient(AthenaClient);
  backend.install(mock);
  return { mock, backend };
}
