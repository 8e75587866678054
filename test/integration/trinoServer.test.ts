/**
 * The local Trino that the test setup (test/support/trinoGlobalSetup.ts) started: status, a second
 * start, a query over the HTTP protocol, and the Hive catalog reading a Parquet file on local disk.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { localTrinoStatus, releaseLocalTrino, startLocalTrino, TRINO_VERSION } from '../../functions/trino/localServer.js';
import { describeTrino } from '../support/trino.js';

interface StatementResponse {
  nextUri?: string;
  columns?: { name: string; type: string }[];
  data?: unknown[][];
  error?: { message: string; errorName: string };
}

/** Runs one statement with the Trino client protocol: POST, then follow nextUri until it is gone. */
async function query(url: string, sql: string): Promise<unknown[][]> {
  let res = await fetch(`${url}/v1/statement`, { method: 'POST', headers: { 'X-Trino-User': 'test' }, body: sql });
  const rows: unknown[][] = [];
  for (;;) {
    if (!res.ok) throw new Error(`HTTP ${res.status} for ${sql}: ${await res.text()}`);
    const body = (await res.json()) as StatementResponse;
    if (body.error) throw new Error(`${body.error.errorName}: ${body.error.message} (${sql})`);
    rows.push(...(body.data ?? []));
    if (!body.nextUri) return rows;
    res = await fetch(body.nextUri, { headers: { 'X-Trino-User': 'test' } });
  }
}

describeTrino(`local Trino ${TRINO_VERSION}`, (t) => {
  it('status reports the server the test setup started', async () => {
    // prepare: the global setup started (or found) the server
    // act
    const status = await localTrinoStatus();
    // assess
    expect(status).toMatchObject({ url: t.url, catalog: 'hive', warehouseDir: t.warehouseDir, version: TRINO_VERSION });
    expect(status?.pid).toBeGreaterThan(0);
  });

  it('a second start is a no-op that returns the same server', async () => {
    // prepare
    const before = await localTrinoStatus();
    // act (with a lease, like the test setup, so that this start does not pin the server)
    const again = await startLocalTrino({ lease: true });
    const stoppedByRelease = await releaseLocalTrino();
    // assess
    expect(again.alreadyRunning).toBe(true);
    expect(again.pid).toBe(before?.pid);
    expect(again.url).toBe(t.url);
    expect(again.startMs).toBeLessThan(5_000);
    expect(stoppedByRelease).toBe(false); // the test run's own lease still holds it
    expect(await localTrinoStatus()).toMatchObject({ pid: before?.pid });
  });

  it('answers SELECT 1 over HTTP, in the UTC session time zone', async () => {
    // act
    const rows = await query(t.url, 'SELECT 1, current_timezone()');
    // assess
    expect(rows).toEqual([[1, 'UTC']]);
  });

  describe('hive catalog over the warehouse folder', () => {
    const schema = `it_trino_${process.pid}_${Date.now()}`;
    const tableDir = join(t.warehouseDir, schema, 't');
    const partDir = join(tableDir, 'dt=2026-01-31');
    const parquet = join(partDir, 'part-0.parquet');

    afterAll(async () => {
      await query(t.url, `DROP TABLE IF EXISTS ${t.catalog}.${schema}.t`).catch(() => {});
      await query(t.url, `DROP SCHEMA IF EXISTS ${t.catalog}.${schema}`).catch(() => {});
      rmSync(join(t.warehouseDir, schema), { recursive: true, force: true });
    });

    it('reads a Parquet file written by DuckDB through a partitioned external table', async () => {
      // prepare: one partition folder with a Parquet file, written by DuckDB
      mkdirSync(partDir, { recursive: true });
      const db = await DuckDBInstance.create(':memory:');
      const con = await db.connect();
      try {
        await con.run(`COPY (SELECT * FROM (VALUES (1, 'a', 1.5::DECIMAL(3,1)), (2, 'b', NULL)) v(id, name, amount)) TO '${parquet}' (FORMAT parquet)`);
      } finally {
        con.closeSync();
        db.closeSync();
      }
      await query(t.url, `CREATE SCHEMA ${t.catalog}.${schema} WITH (location = 'local:///${schema}')`);
      await query(
        t.url,
        `CREATE TABLE ${t.catalog}.${schema}.t (id integer, name varchar, amount decimal(3,1), dt varchar)
         WITH (format = 'PARQUET', external_location = 'local:///${schema}/t', partitioned_by = ARRAY['dt'])`,
      );
      // act
      await query(t.url, `CALL ${t.catalog}.system.sync_partition_metadata('${schema}', 't', 'FULL')`);
      const rows = await query(t.url, `SELECT dt, id, name, CAST(amount AS varchar) FROM ${t.catalog}.${schema}.t ORDER BY id`);
      // assess
      expect(rows).toEqual([
        ['2026-01-31', 1, 'a', '1.5'],
        ['2026-01-31', 2, 'b', null],
      ]);
    });

    it('drops the external table without deleting its data', async () => {
      // prepare: the table of the previous test
      expect(await query(t.url, `SHOW TABLES FROM ${t.catalog}.${schema}`)).toEqual([['t']]);
      // act
      await query(t.url, `DROP TABLE ${t.catalog}.${schema}.t`);
      // assess
      expect(await query(t.url, `SHOW TABLES FROM ${t.catalog}.${schema}`)).toEqual([]);
      expect(existsSync(parquet)).toBe(true);
    });
  });
});
