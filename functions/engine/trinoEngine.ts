/**
 * Trino implementation of the QueryEngine seam: a Trino (or Starburst) cluster of the user's own,
 * or the local one of `npm run trino -- start`. Athena engine version 3 is Trino, so this engine
 * is also how the Athena SQL is proved in the tests.
 *
 * Over Trino's client protocol with the official `trino-client` package: POST /v1/statement, then
 * every page through `nextUri` until the query finishes. Cells arrive as JSON typed by the column
 * types Trino reports (bigint and integer as numbers, double as a number or the strings "NaN",
 * "Infinity", "-Infinity", decimal as text, varchar as text...); they are converted by that type.
 * A failed query carries Trino's message and error name; a query running past the timeout is
 * cancelled on the server. The password (basic auth) is sent in a header and never logged.
 * Every query runs in the session time zone UTC (header X-Trino-Time-Zone), as on Athena.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { BasicAuth, Trino, type QueryResult, type QueryStats } from 'trino-client';
import { EngineError, type QueryEngine, type SqlRow, type SqlValue } from './engine.js';
import { quoteIdent, sqlString } from './tableSql.js';
import { TABLES, type TableName } from '../pipeline/contract.js';

export interface TrinoConnection {
  /** http(s)://host:port of the coordinator. */
  url: string;
  user: string;
  /** Basic auth (Trino accepts it only over HTTPS). Never logged. */
  password?: string;
  catalog: string;
  schema: string;
}

export interface TrinoEngineOptions extends TrinoConnection {
  /** Time a query may take before it is cancelled. */
  timeoutMs?: number;
  /** The canonical tables that have data; default: those that exist in catalog.schema. */
  presentTables?: ReadonlySet<TableName>;
  /** The canonical columns each table's files have; default: the columns the table has in catalog.schema. */
  columnsPresent?: ReadonlyMap<TableName, ReadonlySet<string>>;
  /** Statistics of each finished query (e.g. bytes read), for benchmarks and logs. */
  onStats?: (label: string, stats: QueryStats) => void;
  /** Called once by close(), e.g. to drop the tables of a local run. */
  onClose?: () => Promise<void>;
}

export const TRINO_DEFAULTS = { user: 'crm-service-report', timeoutMs: 10 * 60_000, source: 'crm-service-report' } as const;

/** Connection settings from flags, else TRINO_URL, TRINO_USER, TRINO_PASSWORD, TRINO_CATALOG, TRINO_SCHEMA. */
export function trinoConnectionFromEnv(
  given: Partial<TrinoConnection>,
  env: NodeJS.ProcessEnv = process.env,
): Partial<TrinoConnection> {
  return {
    url: given.url ?? env['TRINO_URL'],
    user: given.user ?? env['TRINO_USER'] ?? TRINO_DEFAULTS.user,
    password: given.password ?? env['TRINO_PASSWORD'],
    catalog: given.catalog ?? env['TRINO_CATALOG'],
    schema: given.schema ?? env['TRINO_SCHEMA'],
  };
}

/** A description of the connection safe to print: never the password. */
export function describeConnection(c: TrinoConnection): string {
  return `${safeUrl(c.url)} as ${c.user}${c.password ? ' (password set)' : ''}, ${c.catalog}.${c.schema}`;
}

export interface TrinoEngine extends QueryEngine {
  /** Runs a statement with no result rows of interest (DDL, CALL). */
  execute(sql: string, label?: string): Promise<void>;
}

export function createTrinoEngine(opts: TrinoEngineOptions): TrinoEngine {
  const timeoutMs = opts.timeoutMs ?? TRINO_DEFAULTS.timeoutMs;
  const client = Trino.create({
    server: opts.url,
    catalog: opts.catalog,
    schema: opts.schema,
    source: TRINO_DEFAULTS.source,
    auth: new BasicAuth(opts.user, opts.password),
    // Athena runs every query in UTC; so does this engine, whatever the server's default zone.
    extraHeaders: { [TIME_ZONE_HEADER]: 'UTC' },
  });

  async function run(sql: string, label: string): Promise<SqlRow[]> {
    const rows: SqlRow[] = [];
    let queryId: string | undefined;
    let timer: NodeJS.Timeout | undefined;
    // The deadline is raced against every request: trino-client's iterator follows nextUri through
    // the pages without data (queued, running) inside one next() call, so a slow query never hands
    // a page back to a loop that could check a flag, and a timer alone could not stop it.
    const deadline = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), timeoutMs);
    });
    /**
     * Cancels the query and makes sure it ended: DELETE /v1/query/<id> does nothing to a query the
     * coordinator has not dispatched yet (the first request of its nextUri does that, and one may
     * be in flight), so it is repeated until Trino reports the query finished or failed.
     */
    const cancel = async (id: string): Promise<void> => {
      for (let attempt = 1; ; attempt++) {
        await client.cancel(id);
        const state = await client.queryInfo(id).then(
          (info) => info.state,
          () => undefined,
        );
        if (state === 'FAILED' || state === 'FINISHED' || attempt >= CANCEL_ATTEMPTS) return;
        await delay(CANCEL_RETRY_MS);
      }
    };
    const timedOut = async (): Promise<EngineError> => {
      let outcome = 'cancelled it';
      if (queryId) {
        await cancel(queryId).catch((e: unknown) => {
          outcome = `cancelling it failed: ${transportText(e)}`;
        });
      } else outcome = 'cancelling it once the server answers the submission';
      return new EngineError(`trino query "${label}"${queryId ? ` (${queryId})` : ''} timed out after ${timeoutMs} ms; ${outcome}`);
    };
    try {
      const submitted = client.query(sql);
      const iter = await Promise.race([submitted, deadline]);
      if (iter === TIMED_OUT) {
        // Cancel the query once the submission answers with its id.
        submitted
          .then(async (it) => {
            const id = iteratorQueryId(it);
            if (id) await cancel(id);
          })
          .catch(() => undefined);
        throw await timedOut();
      }
      queryId = iteratorQueryId(iter);
      let columns: { name: string; type: string }[] | undefined;
      let last: QueryResult | undefined;
      for (;;) {
        const pending = iter.next();
        const step = await Promise.race([pending, deadline]);
        if (step === TIMED_OUT) {
          pending.catch(() => undefined); // the long-poll in flight ends when the query is cancelled
          throw await timedOut();
        }
        // `done` carries the response last fetched: already handled, unless it is the first one
        // (a statement answered at once, without a nextUri).
        if (step.done && last) break;
        const page = step.value;
        queryId ??= page.id;
        if (page.error) throw new EngineError(failureText(label, page));
        columns ??= page.columns;
        for (const data of page.data ?? []) rows.push(convertRow(data, columns ?? [], label));
        last = page;
        if (step.done) break;
      }
      if (last?.stats) opts.onStats?.(label, last.stats);
      return rows;
    } catch (e) {
      if (e instanceof EngineError) throw e;
      throw new EngineError(`trino query "${label}" failed at ${safeUrl(opts.url)}: ${transportText(e)}`, { cause: safeCause(e) });
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    name: 'trino',
    query: (sql, label = 'query') => run(sql, label),
    async execute(sql, label = 'statement') {
      await run(sql, label);
    },
    async presentTables() {
      if (opts.presentTables) return new Set(opts.presentTables);
      const rows = await run(
        `SELECT table_name FROM ${quoteIdent(opts.catalog)}.information_schema.tables WHERE table_schema = ${sqlString(opts.schema)}`,
        'tables',
      );
      const names = new Set(rows.map((r) => String(r['table_name'])));
      return new Set(TABLES.filter((t) => names.has(t)));
    },
    async columnsPresent(table) {
      if (opts.columnsPresent) return opts.columnsPresent.get(table) ?? null;
      const rows = await run(
        `SELECT column_name FROM ${quoteIdent(opts.catalog)}.information_schema.columns WHERE table_schema = ${sqlString(opts.schema)} AND table_name = ${sqlString(table)}`,
        `columns of ${table}`,
      );
      return new Set(rows.map((r) => String(r['column_name']).toLowerCase()));
    },
    async close() {
      await opts.onClose?.();
    },
  };
}

const TIME_ZONE_HEADER = 'X-Trino-Time-Zone';
const CANCEL_ATTEMPTS = 10;
const CANCEL_RETRY_MS = 200;
const TIMED_OUT = Symbol('timed out');

/**
 * The query id of a submitted query, from the first response of POST /v1/statement. trino-client
 * (0.2.x) keeps it in its iterator and yields no page before data or the end arrive.
 */
function iteratorQueryId(iter: unknown): string | undefined {
  const id = (iter as { iter?: { queryResult?: { id?: unknown } } }).iter?.queryResult?.id;
  return typeof id === 'string' ? id : undefined;
}

/** The URL without user information (a password may be written into it). */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url.replace(/\/\/[^/@]*@/, '//');
  }
}

/** The transport error without its request (axios keeps the auth and headers in `config`). */
function safeCause(e: unknown): Error {
  const err = e as { name?: string; message?: string; code?: string; response?: { status?: number } };
  return Object.assign(new Error(transportText(e)), {
    name: err.name ?? 'Error',
    code: err.code,
    status: err.response?.status,
  });
}

function failureText(label: string, page: QueryResult): string {
  const e = page.error!;
  return `trino query "${label}" (${page.id}) failed: ${e.errorName} (${e.errorType}): ${e.message}`;
}

/** A transport error (connection refused, HTTP 401...) in one line, without request headers. */
function transportText(e: unknown): string {
  const err = e as { message?: string; code?: string; response?: { status?: number; data?: unknown } };
  const status = err.response?.status;
  const body = typeof err.response?.data === 'string' ? err.response.data.trim().split('\n')[0] : undefined;
  return [err.code, status ? `HTTP ${status}` : undefined, body || err.message]
    .filter(Boolean)
    .join(': ')
    .replace(/\s*\n\s*/g, ' ');
}

function convertRow(data: unknown[], columns: { name: string; type: string }[], label: string): SqlRow {
  if (data.length !== columns.length) throw new EngineError(`trino query "${label}": a row has ${data.length} cells for ${columns.length} columns`);
  const out: SqlRow = {};
  columns.forEach((c, i) => {
    out[c.name] = convertTrinoValue(data[i], c.type, c.name, label);
  });
  return out;
}

/** Converts one JSON cell by the Trino type of its column; exported for tests. */
export function convertTrinoValue(v: unknown, type: string, column = '?', label = 'query'): SqlValue {
  if (v === null || v === undefined) return null;
  const base = type.toLowerCase().replace(/\(.*$/, '').trim();
  const bad = (why: string) => new EngineError(`trino query "${label}": column "${column}" (${type}) value ${JSON.stringify(v)} ${why}`);
  switch (base) {
    case 'varchar':
    case 'char':
      if (typeof v !== 'string') throw bad('is not text');
      return v;
    case 'tinyint':
    case 'smallint':
    case 'integer':
    case 'bigint':
      if (typeof v !== 'number' || !Number.isInteger(v)) throw bad('is not an integer');
      if (!Number.isSafeInteger(v)) throw bad('is beyond Number.MAX_SAFE_INTEGER');
      return v;
    case 'double':
    case 'real':
      if (typeof v === 'number') return v;
      if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') return Number(v);
      throw bad('is not a number');
    case 'decimal':
      if (typeof v === 'string' && /^[+-]?(\d+\.?\d*|\.\d+)$/.test(v)) return Number(v);
      throw bad('is not a decimal');
    case 'boolean':
      if (typeof v !== 'boolean') throw bad('is not a boolean');
      return v;
    default:
      if ((base.startsWith('date') || base.startsWith('time')) && typeof v === 'string') return v;
      throw bad('has a type this engine does not convert');
  }
}
