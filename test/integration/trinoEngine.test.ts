/**
 * The Trino engine's handling of Trino's client protocol, against the real local Trino: paging
 * through nextUri, typed conversion, query errors, the timeout (the query really cancelled on the
 * server), transport errors, the password kept out of every message, the session time zone,
 * connection settings from the environment and the tables present.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineError } from '../../functions/engine/engine.js';
import { loadExportsIntoTrino } from '../../functions/engine/trinoLocalData.js';
import {
  convertTrinoValue,
  createTrinoEngine,
  describeConnection,
  trinoConnectionFromEnv,
  type TrinoEngine,
  type TrinoEngineOptions,
} from '../../functions/engine/trinoEngine.js';
import { csv, writeExports } from '../helpers/fixtures.js';
import { trinoOrSkip } from '../support/trino.js';

const trino = trinoOrSkip();

/** A query that runs for hours (10^12 rows): only ever started to be cancelled. */
const ENDLESS = 'SELECT count(*) AS n FROM UNNEST(sequence(1, 10000)) a(x) CROSS JOIN UNNEST(sequence(1, 10000)) b(y) CROSS JOIN UNNEST(sequence(1, 10000)) c(z)';

function engineOn(extra: Partial<TrinoEngineOptions> = {}): TrinoEngine {
  return createTrinoEngine({ url: trino!.url, user: 'trino-engine-test', catalog: trino!.catalog, schema: 'information_schema', ...extra });
}

/** Trino's own record of a query (GET /v1/query/<id>), once it has reached a final state. */
async function queryState(id: string): Promise<{ state: string; error?: string }> {
  for (let i = 0; ; i++) {
    const res = await fetch(`${trino!.url}/v1/query/${id}`, { headers: { 'X-Trino-User': 'trino-engine-test' } });
    const info = (await res.json()) as { state: string; errorCode?: { name: string } };
    if (['FINISHED', 'FAILED'].includes(info.state) || i >= 50) return { state: info.state, error: info.errorCode?.name };
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The number of responses carrying rows when `sql` is read straight over the protocol. */
async function dataPages(sql: string): Promise<number> {
  const headers = { 'X-Trino-User': 'trino-engine-test' };
  let body = (await (await fetch(`${trino!.url}/v1/statement`, { method: 'POST', headers, body: sql })).json()) as { nextUri?: string; data?: unknown[] };
  let pages = 0;
  for (;;) {
    if (body.data?.length) pages++;
    if (!body.nextUri) return pages;
    body = (await (await fetch(body.nextUri, { headers })).json()) as typeof body;
  }
}

/** An HTTP server on a free port of 127.0.0.1; `handler` answers each request. */
async function listen(handler: Parameters<typeof createServer>[1]): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

describe('convertTrinoValue', () => {
  it('converts each JSON value by the type Trino reports for its column', () => {
    // Act / Assess: the forms Trino's protocol uses (decimal as text, special doubles as text).
    expect(convertTrinoValue(9007199254740991, 'bigint')).toBe(9007199254740991);
    expect(convertTrinoValue(-12, 'integer')).toBe(-12);
    expect(convertTrinoValue(3, 'smallint')).toBe(3);
    expect(convertTrinoValue(3.25, 'double')).toBe(3.25);
    expect(convertTrinoValue(1.5e10, 'double')).toBe(15000000000);
    expect(convertTrinoValue('NaN', 'double')).toBeNaN();
    expect(convertTrinoValue('Infinity', 'double')).toBe(Infinity);
    expect(convertTrinoValue('-Infinity', 'real')).toBe(-Infinity);
    expect(convertTrinoValue('97.50', 'decimal(4, 2)')).toBe(97.5);
    expect(convertTrinoValue('-0.0500', 'decimal(10,4)')).toBe(-0.05);
    expect(convertTrinoValue('abc', 'varchar(5)')).toBe('abc');
    expect(convertTrinoValue('ab ', 'char(3)')).toBe('ab ');
    expect(convertTrinoValue(true, 'boolean')).toBe(true);
    expect(convertTrinoValue(null, 'bigint')).toBeNull();
    expect(convertTrinoValue(null, 'unknown')).toBeNull();
    expect(convertTrinoValue('2024-05-01 08:30:00.123', 'timestamp(3)')).toBe('2024-05-01 08:30:00.123');
    expect(convertTrinoValue('2024-05-01 08:30:00.000 UTC', 'timestamp(3) with time zone')).toBe('2024-05-01 08:30:00.000 UTC');
    expect(convertTrinoValue('2024-05-01', 'date')).toBe('2024-05-01');
  });

  it('refuses a value that does not fit its type, naming column and type', () => {
    // Act / Assess
    expect(() => convertTrinoValue(9007199254740992, 'bigint', 'big')).toThrow(/"big" \(bigint\) value 9007199254740992 is beyond Number.MAX_SAFE_INTEGER/);
    expect(() => convertTrinoValue(1.5, 'bigint', 'n')).toThrow(/"n" \(bigint\) value 1.5 is not an integer/);
    expect(() => convertTrinoValue('1e3', 'decimal(4, 0)', 'd')).toThrow(/"d" \(decimal\(4, 0\)\) value "1e3" is not a decimal/);
    expect(() => convertTrinoValue('x', 'double', 'f')).toThrow(/is not a number/);
    expect(() => convertTrinoValue(3, 'varchar', 's')).toThrow(/is not text/);
    expect(() => convertTrinoValue('true', 'boolean', 'b')).toThrow(/is not a boolean/);
    expect(() => convertTrinoValue([1, 2], 'array(integer)', 'a')).toThrow(EngineError);
    expect(() => convertTrinoValue([1, 2], 'array(integer)', 'a')).toThrow(/"a" \(array\(integer\)\) value \[1,2\] has a type this engine does not convert/);
  });
});

describe('trinoConnectionFromEnv and describeConnection', () => {
  const env = { TRINO_URL: 'https://env:8443', TRINO_USER: 'env-user', TRINO_PASSWORD: 'env-pw', TRINO_CATALOG: 'env_cat', TRINO_SCHEMA: 'env_schema' };

  it('reads TRINO_URL, TRINO_USER, TRINO_PASSWORD, TRINO_CATALOG and TRINO_SCHEMA', () => {
    // Act
    const c = trinoConnectionFromEnv({}, env);
    // Assess
    expect(c).toEqual({ url: 'https://env:8443', user: 'env-user', password: 'env-pw', catalog: 'env_cat', schema: 'env_schema' });
  });

  it('lets every flag take precedence over its variable', () => {
    // Act
    const c = trinoConnectionFromEnv({ url: 'https://flag:443', user: 'flag-user', password: 'flag-pw', catalog: 'flag_cat', schema: 'flag_schema' }, env);
    // Assess
    expect(c).toEqual({ url: 'https://flag:443', user: 'flag-user', password: 'flag-pw', catalog: 'flag_cat', schema: 'flag_schema' });
  });

  it('defaults only the user, and mixes flags with variables field by field', () => {
    // Act
    const none = trinoConnectionFromEnv({}, {});
    const mixed = trinoConnectionFromEnv({ schema: 'flag_schema' }, { TRINO_URL: 'http://env:8080' });
    // Assess
    expect(none).toEqual({ url: undefined, user: 'crm-service-report', password: undefined, catalog: undefined, schema: undefined });
    expect(mixed).toEqual({ url: 'http://env:8080', user: 'crm-service-report', password: undefined, catalog: undefined, schema: 'flag_schema' });
  });

  it('describes a connection without its password, even one written into the URL', () => {
    // Act
    const withPassword = describeConnection({ url: 'https://trino.example:8443', user: 'ana', password: 'pa55-Secret!', catalog: 'hive', schema: 'crm' });
    const withoutPassword = describeConnection({ url: 'http://localhost:8080', user: 'ana', catalog: 'hive', schema: 'crm' });
    const inUrl = describeConnection({ url: 'https://ana:pa55-Secret!@trino.example:8443', user: 'ana', catalog: 'hive', schema: 'crm' });
    // Assess
    expect(withPassword).toBe('https://trino.example:8443 as ana (password set), hive.crm');
    expect(withoutPassword).toBe('http://localhost:8080 as ana, hive.crm');
    expect(inUrl).toBe('https://trino.example:8443 as ana, hive.crm');
    expect(`${withPassword}${inUrl}`).not.toContain('pa55');
  });
});

describe('trinoEngine without a server', () => {
  it('turns a refused connection into one line naming the URL', async () => {
    // Prepare: a port that was free a moment ago and is closed now.
    const { url, server } = await listen((_req, res) => res.end());
    await close(server);
    // Act
    const err = await createTrinoEngine({ url, user: 'u', password: 'pa55-Secret!', catalog: 'hive', schema: 's' })
      .query('SELECT 1', 'probe')
      .catch((e: unknown) => e);
    // Assess
    expect(err).toBeInstanceOf(EngineError);
    const message = (err as Error).message;
    expect(message).toBe(`trino query "probe" failed at ${url}: ECONNREFUSED: connect ECONNREFUSED ${url.replace('http://', '')}`);
    expect(message).not.toContain('\n');
    expect(inspect(err, { depth: Infinity })).not.toContain('pa55-Secret!');
  });

  it('reads a statement answered in its first response, without a nextUri', async () => {
    // Prepare: a server answering POST /v1/statement at once with the whole (final) result.
    const { url, server } = await listen((_req, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ id: 'q_first', columns: [{ name: 'n', type: 'bigint' }], data: [[7], [8]], stats: { state: 'FINISHED' } }));
    });
    try {
      // Act
      const rows = await createTrinoEngine({ url, user: 'u', catalog: 'c', schema: 's' }).query('SELECT 7', 'at_once');
      // Assess
      expect(rows).toEqual([{ n: 7 }, { n: 8 }]);
    } finally {
      await close(server);
    }
  });
});

describe.skipIf(!trino)('trinoEngine on the local Trino', () => {
  it('follows nextUri through every page: 50,000 rows arrive complete and in order', async () => {
    // Prepare: rows wide enough (about 75 bytes) that Trino sends them in several pages.
    const sql = `SELECT x, lpad(CAST(x AS varchar), 64, '0') AS pad
FROM (SELECT (h - 1) * 1000 + l + 1 AS x FROM UNNEST(sequence(1, 50)) AS a(h) CROSS JOIN UNNEST(sequence(0, 999)) AS b(l))
ORDER BY x`;
    expect(await dataPages(sql)).toBeGreaterThan(1);

    // Act
    const rows = await engineOn().query(sql, 'many');

    // Assess
    expect(rows).toHaveLength(50_000);
    rows.forEach((r, i) => {
      if (r['x'] !== i + 1) expect(r['x'], `row ${i}`).toBe(i + 1);
    });
    expect(rows[0]).toEqual({ x: 1, pad: '0'.repeat(63) + '1' });
    expect(rows[49_999]).toEqual({ x: 50_000, pad: '0'.repeat(59) + '50000' });
  });

  it('converts the values of a real query by the types Trino reports', async () => {
    // Act
    const [row] = await engineOn().query(
      `SELECT BIGINT '9007199254740991' AS big, -12 AS i, 3.25e0 AS dbl, 1.5e10 AS e10, nan() AS nan_, infinity() AS inf, -infinity() AS ninf,
  REAL '1.5' AS r, DECIMAL '97.50' AS dec, CAST('abc' AS varchar(5)) AS vc, CAST('ab' AS char(3)) AS ch, true AS yes, false AS no,
  NULL AS nothing, CAST(NULL AS bigint) AS null_big, CAST(NULL AS double) AS null_dbl,
  TIMESTAMP '2024-05-01 08:30:00.123' AS ts, TIMESTAMP '2024-05-01 08:30:00.000 Europe/Moscow' AS tstz, DATE '2024-05-01' AS d`,
      'typed',
    );

    // Assess
    expect(row).toStrictEqual({
      big: 9007199254740991,
      i: -12,
      dbl: 3.25,
      e10: 15000000000,
      nan_: NaN,
      inf: Infinity,
      ninf: -Infinity,
      r: 1.5,
      dec: 97.5,
      vc: 'abc',
      ch: 'ab ',
      yes: true,
      no: false,
      nothing: null,
      null_big: null,
      null_dbl: null,
      ts: '2024-05-01 08:30:00.123',
      tstz: '2024-05-01 08:30:00.000 Europe/Moscow',
      d: '2024-05-01',
    });
  });

  it('refuses a bigint past 2^53 and an array instead of returning a wrong value', async () => {
    // Act (both settled at once: neither rejection is left without a handler while the other runs)
    const [big, array] = await Promise.allSettled([
      engineOn().query(`SELECT BIGINT '9007199254740993' AS big`, 'huge'),
      engineOn().query('SELECT ARRAY[1, 2] AS a', 'array'),
    ]);

    // Assess
    expect(big.status).toBe('rejected');
    expect(String((big as PromiseRejectedResult).reason)).toMatch(/trino query "huge": column "big" \(bigint\) value 9007199254740992 is beyond Number.MAX_SAFE_INTEGER/);
    expect(array.status).toBe('rejected');
    expect(String((array as PromiseRejectedResult).reason)).toMatch(/column "a" \(array\(integer\)\) value \[1,2\] has a type this engine does not convert/);
  });

  it.each([
    ['SELEC 1', 'SYNTAX_ERROR', "line 1:1: mismatched input 'SELEC'"],
    ['SELECT nope FROM (VALUES 1) AS t(x)', 'COLUMN_NOT_FOUND', "line 1:8: Column 'nope' cannot be resolved"],
    ['SELECT 1 FROM hive.no_such_schema_x.t', 'SCHEMA_NOT_FOUND', "line 1:15: Schema 'no_such_schema_x' does not exist"],
  ])('a failed query (%s) carries Trino message, error name and query id', async (sql, errorName, message) => {
    // Act
    const err = await engineOn().query(sql, 'failing').catch((e: unknown) => e);

    // Assess
    expect(err).toBeInstanceOf(EngineError);
    const text = (err as Error).message;
    const m = /^trino query "failing" \((\d{8}_\d{6}_\d{5}_\w{5})\) failed: (\w+) \(USER_ERROR\): (.*)$/s.exec(text);
    expect(m, text).not.toBeNull();
    expect(m![2]).toBe(errorName);
    expect(m![3]).toContain(message);
    // The id is Trino's own: the server knows the query and its error.
    expect(await queryState(m![1]!)).toEqual({ state: 'FAILED', error: errorName });
  });

  it('rejects a query running past timeoutMs and really cancels it on the server', async () => {
    // Prepare
    const started = Date.now();

    // Act: the engine is waiting on a long-poll of a query that sends no page for hours.
    const err = await engineOn({ timeoutMs: 500 }).query(ENDLESS, 'endless').catch((e: unknown) => e);
    const tookMs = Date.now() - started;

    // Assess
    expect(err).toBeInstanceOf(EngineError);
    const m = /^trino query "endless" \((\d{8}_\d{6}_\d{5}_\w{5})\) timed out after 500 ms; cancelled it$/.exec((err as Error).message);
    expect(m, (err as Error).message).not.toBeNull();
    expect(tookMs).toBeGreaterThanOrEqual(500);
    expect(tookMs).toBeLessThan(5_000);
    expect(await queryState(m![1]!)).toEqual({ state: 'FAILED', error: 'USER_CANCELED' });
  });

  it('never shows the password: not in the error of a refused login, nor in the error object', async () => {
    // Prepare: Trino refuses a password over plain HTTP.
    const e = engineOn({ user: 'ana', password: 'pa55-Secret!' });

    // Act
    const err = await e.query('SELECT 1', 'login').catch((x: unknown) => x);

    // Assess
    expect(err).toBeInstanceOf(EngineError);
    const message = (err as Error).message;
    expect(message).toBe(`trino query "login" failed at ${trino!.url}: ERR_BAD_REQUEST: HTTP 401: Password not allowed for insecure authentication`);
    const everything = [message, (err as Error).stack, inspect(err, { depth: Infinity }), JSON.stringify((err as Error).cause)].join('\n');
    expect(everything).not.toContain('pa55-Secret!');
    expect(everything).not.toContain(Buffer.from('ana:pa55-Secret!').toString('base64'));
  });

  it('runs every query in the session time zone UTC (header X-Trino-Time-Zone)', async () => {
    // Prepare: a proxy in front of Trino that records the headers of each submitted statement
    // (the pages after it are fetched from Trino directly, through the absolute nextUri).
    const seen: IncomingHttpHeaders[] = [];
    const target = new URL(trino!.url);
    const { url, server } = await listen((req, res) => {
      if (req.method === 'POST') seen.push(req.headers);
      const fwd = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      req.pipe(fwd);
    });
    try {
      // Act
      const rows = await createTrinoEngine({ url, user: 'trino-engine-test', catalog: trino!.catalog, schema: 'information_schema' }).query(
        'SELECT current_timezone() AS tz',
        'tz',
      );

      // Assess
      expect(rows).toEqual([{ tz: 'UTC' }]);
      expect(seen).toHaveLength(1);
      expect(seen[0]!['x-trino-time-zone']).toBe('UTC');
    } finally {
      await close(server);
    }
  });

  describe('presentTables', () => {
    const schema = `trino_it_${randomBytes(4).toString('hex')}`;
    let loaded: TrinoEngine;

    beforeAll(async () => {
      // tickets and customers exported; plus a table that is not a canonical one.
      const dataDir = writeExports({
        'tickets/a.csv': csv('ticket_id,created_at,updated_at', 'T1,2026-10-01T08:00:00Z,2026-10-01T08:00:00Z'),
        'customers/c.csv': csv('customer_id,created_at,updated_at', 'C1,2025-01-01,2025-01-01'),
      });
      loaded = await loadExportsIntoTrino({ trino: trino!, dataDir, schema });
      mkdirSync(join(trino!.warehouseDir, schema, 'notes'), { recursive: true });
      await loaded.execute(
        `CREATE TABLE ${trino!.catalog}.${schema}.notes (x varchar) WITH (format = 'PARQUET', external_location = 'local:///${schema}/notes')`,
        'notes',
      );
    });
    afterAll(async () => {
      await loaded?.execute(`DROP TABLE IF EXISTS ${trino!.catalog}.${schema}.notes`, 'drop notes');
      await loaded?.close();
    });

    it('lists from information_schema only the canonical tables that exist', async () => {
      // Prepare: an engine given no list of tables, over a schema that also holds `notes`.
      const e = engineOn({ schema });
      const all = await e.query(`SELECT table_name FROM ${trino!.catalog}.information_schema.tables WHERE table_schema = '${schema}'`, 'all tables');
      expect(all.map((r) => r['table_name']).sort()).toEqual(['customers', 'notes', 'tickets']);

      // Act
      const present = await e.presentTables();

      // Assess
      expect([...present].sort()).toEqual(['customers', 'tickets']);
    });

    it('is empty for a schema without tables, and the given list when there is one', async () => {
      // Act
      const none = await engineOn({ schema: 'no_such_schema_x' }).presentTables();
      const given = await engineOn({ schema, presentTables: new Set(['orders'] as const) }).presentTables();

      // Assess
      expect([...none]).toEqual([]);
      expect([...given]).toEqual(['orders']);
    });
  });
});
