/**
 * Amazon Athena implementation of the QueryEngine seam (production). It runs one SQL text per
 * call: StartQueryExecution in the configured workgroup (which owns the result location and the
 * scan limits), polls GetQueryExecution with exponential backoff until a terminal state or the
 * timeout, then pages through GetQueryResults and converts each cell by its column type.
 *
 * API facts this relies on (Athena API reference):
 * - GetQueryResults returns at most 1000 rows per call and a NextToken while more remain; for a
 *   SELECT the first row of the FIRST page is the header (column names), never repeated later.
 * - Every cell arrives as text in VarCharValue; a SQL NULL has no VarCharValue at all.
 *   ResultSetMetadata.ColumnInfo[].Type is the Trino type name in lower case ('varchar',
 *   'bigint', 'double', 'decimal', 'boolean', 'date', 'timestamp', ...).
 * - A FAILED or CANCELLED execution explains itself in Status.StateChangeReason and, for failures,
 *   in Status.AthenaError (ErrorCategory 1 system / 2 user / 3 other, ErrorType, ErrorMessage).
 * - Throttling surfaces as TooManyRequestsException (e.g. Reason CONCURRENT_QUERY_LIMIT_EXCEEDED on
 *   StartQueryExecution) or ThrottlingException; the SDK also tags such errors $retryable.throttling.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import {
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  type AthenaClient,
  type ColumnInfo,
  type QueryExecution,
  type Row,
} from '@aws-sdk/client-athena';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { columnMarkerPrefix, failedMarkerPrefix } from '../ingest/layout.js';
import { EngineError, type FailedImport, type FailedImportsPeriod, type QueryEngine, type SqlRow, type SqlValue } from './engine.js';
import { TABLES, type TableName } from '../pipeline/contract.js';

export interface AthenaEngineOptions {
  athena: AthenaClient;
  s3: S3Client;
  workgroup: string;
  database: string;
  /** Data catalog; Athena's default is AwsDataCatalog. */
  catalog?: string;
  /** Bucket and key prefix of the canonical Parquet tables: `${curatedPrefix}/${table}/...`. */
  curatedBucket: string;
  curatedPrefix: string;
  /** First wait between status polls; each next wait is 1.5x longer, up to maxPollIntervalMs. */
  pollIntervalMs?: number;
  maxPollIntervalMs?: number;
  /** Time a query may take from submission to a terminal state before it is stopped. */
  timeoutMs?: number;
  /** Injected for tests; defaults to a real timer. */
  sleep?: (ms: number) => Promise<void>;
  log?: (msg: string, extra?: object) => void;
}

export const ATHENA_DEFAULTS = {
  catalog: 'AwsDataCatalog',
  pollIntervalMs: 500,
  maxPollIntervalMs: 5_000,
  pollBackoff: 1.5,
  timeoutMs: 10 * 60_000,
  /** Retries after a throttled call (so at most 1 + this many attempts per call). */
  throttleRetries: 5,
  throttleBaseMs: 1_000,
  throttleMaxMs: 20_000,
  pageSize: 1_000,
} as const;

export function createAthenaEngine(opts: AthenaEngineOptions): QueryEngine {
  const sleep = opts.sleep ?? ((ms: number) => delay(ms).then(() => undefined));
  const log = opts.log ?? (() => undefined);
  const catalog = opts.catalog ?? ATHENA_DEFAULTS.catalog;
  const pollIntervalMs = opts.pollIntervalMs ?? ATHENA_DEFAULTS.pollIntervalMs;
  const maxPollIntervalMs = opts.maxPollIntervalMs ?? ATHENA_DEFAULTS.maxPollIntervalMs;
  const timeoutMs = opts.timeoutMs ?? ATHENA_DEFAULTS.timeoutMs;
  const prefix = opts.curatedPrefix.replace(/^\/+|\/+$/g, '');

  /**
   * Elapsed time of one query. It is the larger of wall time and time spent in sleep(), so that
   * an injected sleep which returns at once still advances the clock the timeout is checked on.
   */
  function stopwatch() {
    const started = Date.now();
    let slept = 0;
    return {
      elapsed: () => Math.max(Date.now() - started, slept),
      sleep: async (ms: number) => {
        slept += ms;
        await sleep(ms);
      },
    };
  }
  type Stopwatch = ReturnType<typeof stopwatch>;

  /** Sends one request, retrying (with jittered exponential backoff) only when throttled. */
  async function call<T>(what: string, label: string, clock: Stopwatch, send: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await send();
      } catch (err) {
        if (!isThrottling(err)) {
          throw new EngineError(`athena ${what} failed for "${label}": ${errorText(err)}`, { cause: err });
        }
        if (attempt >= ATHENA_DEFAULTS.throttleRetries) {
          throw new EngineError(
            `athena ${what} for "${label}" still throttled after ${attempt + 1} attempts: ${errorText(err)}`,
            { cause: err },
          );
        }
        const ceiling = Math.min(ATHENA_DEFAULTS.throttleBaseMs * 2 ** attempt, ATHENA_DEFAULTS.throttleMaxMs);
        const wait = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
        log('athena request throttled, retrying', { what, label, attempt: attempt + 1, waitMs: wait });
        await clock.sleep(wait);
      }
    }
  }

  async function waitForTerminalState(id: string, label: string, clock: Stopwatch): Promise<QueryExecution> {
    let wait = pollIntervalMs;
    for (;;) {
      await clock.sleep(Math.min(wait, Math.max(0, timeoutMs - clock.elapsed())));
      const out = await call('GetQueryExecution', label, clock, () =>
        opts.athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id })),
      );
      const execution = out.QueryExecution ?? {};
      const state = execution.Status?.State;
      if (state === 'SUCCEEDED' || state === 'FAILED' || state === 'CANCELLED') return execution;
      if (clock.elapsed() >= timeoutMs) {
        await call('StopQueryExecution', label, clock, () =>
          opts.athena.send(new StopQueryExecutionCommand({ QueryExecutionId: id })),
        ).catch((err: unknown) => log('athena StopQueryExecution failed', { label, id, error: errorText(err) }));
        throw new EngineError(`athena query "${label}" (${id}) timed out after ${timeoutMs} ms in state ${state ?? 'unknown'}; stopped it`);
      }
      wait = Math.min(Math.round(wait * ATHENA_DEFAULTS.pollBackoff), maxPollIntervalMs);
    }
  }

  async function fetchRows(id: string, label: string, clock: Stopwatch): Promise<SqlRow[]> {
    const rows: SqlRow[] = [];
    let columns: ColumnInfo[] | undefined;
    let nextToken: string | undefined;
    let firstPage = true;
    do {
      const token = nextToken;
      const page = await call('GetQueryResults', label, clock, () =>
        opts.athena.send(
          new GetQueryResultsCommand({ QueryExecutionId: id, MaxResults: ATHENA_DEFAULTS.pageSize, NextToken: token }),
        ),
      );
      columns ??= page.ResultSet?.ResultSetMetadata?.ColumnInfo;
      if (!columns) throw new EngineError(`athena query "${label}" (${id}) returned no column metadata`);
      const pageRows = page.ResultSet?.Rows ?? [];
      // The header row (column names) leads the first page only.
      for (const row of firstPage ? pageRows.slice(1) : pageRows) rows.push(convertRow(row, columns, label));
      firstPage = false;
      nextToken = page.NextToken;
    } while (nextToken);
    return rows;
  }

  /** Every key under `keyPrefix` in the curated bucket, page by page. */
  async function listKeys(keyPrefix: string, label: string, clock: Stopwatch): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const t = token;
      const out = await call(`ListObjectsV2 ${keyPrefix}`, label, clock, () =>
        opts.s3.send(new ListObjectsV2Command({ Bucket: opts.curatedBucket, Prefix: keyPrefix, ContinuationToken: t })),
      );
      for (const o of out.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = out.NextContinuationToken;
    } while (token);
    return keys;
  }

  async function hasFiles(table: TableName): Promise<boolean> {
    // Data files live in dt= partitions (beside them: the column markers, which are not data).
    const tablePrefix = prefix ? `${prefix}/${table}/dt=` : `${table}/dt=`;
    const clock = stopwatch();
    let startAfter: string | undefined;
    for (;;) {
      const after = startAfter;
      const out = await call(`ListObjectsV2 ${tablePrefix}`, table, clock, () =>
        opts.s3.send(
          new ListObjectsV2Command({ Bucket: opts.curatedBucket, Prefix: tablePrefix, MaxKeys: 1, StartAfter: after }),
        ),
      );
      if (!out.KeyCount) return false;
      const key = out.Contents?.[0]?.Key;
      // A zero-byte "folder" object (created by the S3 console) is not a data file: look past it.
      if (key === undefined || !key.endsWith('/')) return true;
      startAfter = key;
    }
  }

  return {
    name: 'athena',

    async query(sql: string, label = 'query'): Promise<SqlRow[]> {
      const clock = stopwatch();
      const clientToken = randomUUID();
      const started = await call('StartQueryExecution', label, clock, () =>
        opts.athena.send(
          new StartQueryExecutionCommand({
            QueryString: sql,
            WorkGroup: opts.workgroup,
            QueryExecutionContext: { Database: opts.database, Catalog: catalog },
            // One token per logical query: a retried start can never run the query twice.
            ClientRequestToken: clientToken,
          }),
        ),
      );
      const id = started.QueryExecutionId;
      if (!id) throw new EngineError(`athena StartQueryExecution for "${label}" returned no QueryExecutionId`);
      log('athena query started', { label, queryExecutionId: id });

      const execution = await waitForTerminalState(id, label, clock);
      const status = execution.Status;
      if (status?.State !== 'SUCCEEDED') throw new EngineError(failureText(label, id, execution));

      const rows = await fetchRows(id, label, clock);
      log('athena query succeeded', {
        label,
        queryExecutionId: id,
        rows: rows.length,
        dataScannedBytes: execution.Statistics?.DataScannedInBytes,
        engineMs: execution.Statistics?.EngineExecutionTimeInMillis,
        elapsedMs: clock.elapsed(),
      });
      return rows;
    },

    async presentTables(): Promise<Set<TableName>> {
      const present = await Promise.all(TABLES.map(async (t) => [t, await hasFiles(t)] as const));
      return new Set(present.filter(([, has]) => has).map(([t]) => t));
    },

    /**
     * The columns the exports had, from the markers the ingest function writes beside the curated
     * Parquet (`<curated>/<table>/_columns/<column>`); null (all present) when there are none, as
     * for data ingested before the markers existed.
     */
    async columnsPresent(table: TableName): Promise<ReadonlySet<string> | null> {
      const markers = columnMarkerPrefix(prefix, table);
      const found = new Set((await listKeys(markers, table, stopwatch())).map((k) => k.slice(markers.length)));
      return found.size ? found : null;
    },

    /**
     * The markers the ingest function leaves for raw exports it could not normalize
     * (`<curated>/<table>/_failed/<dt>/<name>.json` = { key, error, at }), oldest dt first. With
     * `period`, only exports that can hold records of the period or later count (see
     * failedImportCounts); without, every marker present counts.
     */
    async failedImports(table: TableName, period?: FailedImportsPeriod): Promise<FailedImport[]> {
      const markers = failedMarkerPrefix(prefix, table);
      const clock = stopwatch();
      const keys = (await listKeys(markers, table, clock)).filter((k) => k.endsWith('.json')).sort();
      const found: FailedImport[] = [];
      for (const key of keys) {
        const text = await call(`GetObject ${key}`, table, clock, async () => {
          const r = await opts.s3.send(new GetObjectCommand({ Bucket: opts.curatedBucket, Key: key }));
          return (await r.Body?.transformToString('utf-8')) ?? '';
        }).catch((err: unknown) => {
          // Removed between the listing and the read (the file was fixed meanwhile): not failed.
          if (err instanceof EngineError && isNotFound(err.cause)) return null;
          throw err;
        });
        if (text === null) continue;
        const marker = parseFailedMarker(key, markers, text);
        if (period && !failedImportCounts(marker, period)) continue;
        found.push({ file: marker.file, error: marker.error });
      }
      return found;
    },

    async close(): Promise<void> {},
  };
}

function isNotFound(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: unknown; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}

interface FailedMarker extends FailedImport {
  /** The raw export's key, as the marker names it (null: the marker is not readable). */
  rawKey: string | null;
  /** When the ingest tried the export (ISO), if the marker says. */
  at: string | null;
}

/** One failed-import marker's content; a marker that is not the expected JSON still counts, named by its key. */
function parseFailedMarker(key: string, markers: string, text: string): FailedMarker {
  const fallback = key.slice(markers.length).replace(/\.json$/, '');
  try {
    const m = JSON.parse(text) as { key?: unknown; error?: unknown; at?: unknown };
    const rawKey = typeof m.key === 'string' && m.key ? m.key : null;
    return {
      file: rawKey ?? fallback,
      error: typeof m.error === 'string' ? m.error : 'unknown error',
      rawKey,
      at: typeof m.at === 'string' && !Number.isNaN(Date.parse(m.at)) ? m.at : null,
    };
  } catch {
    return { file: fallback, error: 'unreadable failed-import marker', rawKey: null, at: null };
  }
}

/** UTC-12, the westernmost time zone in use. */
const WESTERNMOST_OFFSET_MS = 12 * 3_600_000;
const RAW_DT_RE = /(?:^|\/)dt=(\d{4}-\d{2}-\d{2})\//;

/**
 * Whether a failed export can hold records of the report period (or later versions of them), so
 * that its rows missing matter to the report of `period`. An export holds records up to the day it
 * was made, so one made before the period began holds none of it; one made during or after the
 * period may (a later export carries newer versions of older records, so a backfilled month counts
 * later failures too).
 * - A dated export (`<table>/dt=YYYY-MM-DD/<file>`): its dt on or after the date the period's first
 *   instant has in the westernmost time zone (UTC-12), the earliest date it has anywhere, since
 *   the CRM may date its exports in any zone (Moscow's October starts on 30 September at
 *   21:00 UTC: exports dated 30 September or later count).
 * - An export without a dt (filed under the undated partition): when the ingest tried it (`at`,
 *   the upload, which is after the export was made) on or after the period's first instant.
 * - A marker that names no export, or an undated one without `at`, counts (nothing shows that it
 *   cannot matter).
 */
export function failedImportCounts(marker: { rawKey: string | null; at: string | null }, period: FailedImportsPeriod): boolean {
  if (!marker.rawKey) return true;
  const dt = RAW_DT_RE.exec(marker.rawKey)?.[1];
  if (dt) return dt >= new Date(period.startMs - WESTERNMOST_OFFSET_MS).toISOString().slice(0, 10);
  return marker.at === null || Date.parse(marker.at) >= period.startMs;
}

/** True for every form in which AWS reports throttling. */
function isThrottling(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: unknown; $retryable?: { throttling?: unknown } };
  return e.name === 'ThrottlingException' || e.name === 'TooManyRequestsException' || e.$retryable?.throttling === true;
}

function errorText(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

const ERROR_CATEGORY: Record<number, string> = { 1: 'system', 2: 'user', 3: 'other' };

function failureText(label: string, id: string, execution: QueryExecution): string {
  const status = execution.Status;
  const parts = [`athena query "${label}" (${id}) ${status?.State ?? 'ended in an unknown state'}`];
  if (status?.StateChangeReason) parts.push(status.StateChangeReason);
  const ae = status?.AthenaError;
  if (ae) {
    const category = ae.ErrorCategory !== undefined ? (ERROR_CATEGORY[ae.ErrorCategory] ?? String(ae.ErrorCategory)) : undefined;
    const detail = [
      category !== undefined ? `category ${category}` : undefined,
      ae.ErrorType !== undefined ? `type ${ae.ErrorType}` : undefined,
      ae.ErrorMessage && ae.ErrorMessage !== status?.StateChangeReason ? ae.ErrorMessage : undefined,
    ].filter((x): x is string => x !== undefined);
    if (detail.length) parts.push(`[AthenaError ${detail.join(', ')}]`);
  }
  return parts.join(': ');
}

function convertRow(row: Row, columns: ColumnInfo[], label: string): SqlRow {
  const data = row.Data ?? [];
  if (data.length !== columns.length) {
    throw new EngineError(`athena query "${label}": a row has ${data.length} cells for ${columns.length} columns`);
  }
  const out: SqlRow = {};
  columns.forEach((col, i) => {
    const name = col.Name ?? `_col${i}`;
    out[name] = convertCell(data[i]?.VarCharValue, col.Type ?? 'varchar', name, label);
  });
  return out;
}

const DECIMAL_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Converts one cell's text by its Athena (Trino) type; exported for tests. */
export function convertCell(text: string | undefined, type: string, column = '?', label = 'query'): SqlValue {
  if (text === undefined) return null;
  const base = type.toLowerCase().replace(/\(.*$/, '').trim();
  const bad = (why: string) =>
    new EngineError(`athena query "${label}": column "${column}" (${type}) value ${JSON.stringify(text)} ${why}`);
  switch (base) {
    case 'varchar':
    case 'char':
    case 'string':
      return text;
    case 'tinyint':
    case 'smallint':
    case 'integer':
    case 'int':
    case 'bigint': {
      if (!/^[+-]?\d+$/.test(text)) throw bad('is not an integer');
      const n = Number(text);
      if (!Number.isSafeInteger(n)) throw bad('is beyond Number.MAX_SAFE_INTEGER');
      return n;
    }
    case 'double':
    case 'float':
    case 'real':
    case 'decimal': {
      if (text === 'NaN' || text === 'Infinity' || text === '-Infinity') return Number(text);
      if (!DECIMAL_TEXT.test(text)) throw bad('is not a number');
      return Number(text);
    }
    case 'boolean':
      if (text === 'true') return true;
      if (text === 'false') return false;
      throw bad('is not a boolean');
    default:
      // date, time, timestamp (with or without time zone): the text as Athena returned it.
      if (base.startsWith('date') || base.startsWith('time')) return text;
      throw bad('has a type this engine does not convert');
  }
}
