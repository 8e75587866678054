/**
 * Reading exports as the data contract allows them: formats, layout, headers, quoting, encodings.
 * Each test writes literal files and reads the canonical view back through the DuckDB engine.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { runMetricsJob } from '../../functions/cli/runMetrics.js';
import { openDuckDbEngine } from '../../functions/engine/duckdbEngine.js';
import { csv, writeExports } from '../helpers/fixtures.js';

async function read(files: Record<string, string | Buffer>, table = 'complaints') {
  const engine = await openDuckDbEngine({ dataDir: writeExports(files) });
  try {
    const rows = await engine.query(`SELECT * FROM ${table} ORDER BY complaint_id`);
    return { rows, present: await engine.presentTables() };
  } finally {
    await engine.close();
  }
}

const H = 'complaint_id,opened_at,updated_at';

describe('reading CRM exports', () => {
  it('reads Hive dt= partitions and unpartitioned files of one table together', async () => {
    const { rows } = await read({
      'complaints/dt=2026-10-01/a.csv': csv(H, 'c1,2026-10-01,2026-10-01'),
      'complaints/dt=2026-10-02/nested/b.csv': csv(H, 'c2,2026-10-02,2026-10-02'),
      'complaints/one-off.csv': csv(H, 'c3,2026-10-03,2026-10-03'),
    });
    expect(rows.map((r) => r['complaint_id'])).toEqual(['c1', 'c2', 'c3']);
  });

  it('matches headers by name in any order and any case, ignores extra columns, nulls missing optional ones', async () => {
    const { rows } = await read({
      'complaints/a.csv': csv('UPDATED_AT,Extra,Opened_At,Complaint_ID,Channel', '2026-10-05,zzz,2026-10-01,c1,email'),
      'complaints/b.csv': csv(H, 'c2,2026-10-02,2026-10-06'),
    });
    expect(rows).toEqual([
      expect.objectContaining({ complaint_id: 'c1', opened_at: '2026-10-01', updated_at: '2026-10-05', channel: 'email', category: null }),
      expect.objectContaining({ complaint_id: 'c2', channel: null }),
    ]);
    expect(rows[0]).not.toHaveProperty('Extra');
  });

  it('handles a BOM, CRLF line ends, quoted commas, quotes and line breaks, and blank lines', async () => {
    const text = '\ufeffcomplaint_id,category,opened_at,updated_at\r\n' +
      'c1,"late, very late",2026-10-01,2026-10-01\r\n' +
      '\r\n' +
      'c2,"said ""hello""",2026-10-01,2026-10-01\r\n' +
      'c3,"two\r\nlines",2026-10-01,2026-10-01\r\n';
    const { rows } = await read({ 'complaints/a.csv': text });
    expect(rows.map((r) => r['category'])).toEqual(['late, very late', 'said "hello"', 'two\r\nlines']);
  });

  it('takes the first non-blank line as the header and reads every row after it (LF, CRLF, white space, .csv.gz)', async () => {
    const H4 = 'complaint_id,category,opened_at,updated_at';
    const { rows } = await read({
      'complaints/a.csv': `\n\n\n${H4}\nc1,one,2026-10-01,2026-10-01\nc2,two,2026-10-01,2026-10-01\n`,
      'complaints/b.csv': `\r\n \t\r\n${H4}\r\nc3,"three, quoted",2026-10-01,2026-10-01\r\n`,
      'complaints/c.csv.gz': gzipSync(`\ufeff\n${H4}\nc4,four,2026-10-01,2026-10-01\n`),
      // Same header with no blank line: a group of its own, no lines skipped.
      'complaints/d.csv': `${H4}\nc5,five,2026-10-01,2026-10-01\n`,
      // Header in another order after one blank line.
      'complaints/e.csv': `\nupdated_at,complaint_id,opened_at\n2026-10-02,c6,2026-10-01\n`,
    });
    expect(rows.map((r) => [r['complaint_id'], r['category'], r['updated_at']])).toEqual([
      ['c1', 'one', '2026-10-01'],
      ['c2', 'two', '2026-10-01'],
      ['c3', 'three, quoted', '2026-10-01'],
      ['c4', 'four', '2026-10-01'],
      ['c5', 'five', '2026-10-01'],
      ['c6', null, '2026-10-02'],
    ]);
  });

  it('counts every row of a file with blank lines before its header in dataQuality.rowsRead', async () => {
    const data = writeExports({
      'complaints/dt=2026-10-01/a.csv':
        '\r\n\r\ncomplaint_id,opened_at,resolved_at,updated_at\r\n' +
        'c1,2026-10-02T00:00:00Z,2026-10-03T00:00:00Z,2026-10-03\r\n' +
        'c1,2026-10-02T00:00:00Z,,2026-10-02\r\n' + // an older version of c1: a duplicate
        'c2,2026-10-04T00:00:00Z,2026-10-04T12:00:00Z,2026-10-05\r\n',
    });
    const out = mkdtempSync(join(tmpdir(), 'reader-out-'));
    const { metrics } = await runMetricsJob({ data, period: '2026-10', timezone: 'UTC', out, allowIncomplete: true });
    expect(metrics.dataQuality.complaints).toMatchObject({ present: true, rowsRead: 3, duplicatesDropped: 1, recordsUsed: 2, rejected: {} });
    // c1 resolved in 24 h, c2 in 12 h: the median of the two is 18 h.
    expect(metrics.indicators['complaint_resolution_median_h']).toMatchObject({ value: 18, n: 2 });
  });

  it('treats a file of blank lines only as present with no rows', async () => {
    const { rows, present } = await read({ 'complaints/a.csv': '\n\r\n  \n' });
    expect(rows).toEqual([]);
    expect(present.has('complaints')).toBe(true);
  });

  it('reads .csv.gz', async () => {
    const { rows } = await read({ 'complaints/dt=2026-10-01/a.csv.gz': gzipSync(csv(H, 'c1,2026-10-01,2026-10-02')) });
    expect(rows).toHaveLength(1);
    expect(rows[0]!['updated_at']).toBe('2026-10-02');
  });

  it('reads .parquet, typed columns written back as contract text (timestamps as ISO UTC)', async () => {
    const root = writeExports({ 'complaints/.keep': '' });
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    await conn.run(`COPY (SELECT 'c1' AS complaint_id, TIMESTAMP '2026-10-01 10:00:00' AS opened_at,
      TIMESTAMPTZ '2026-10-02 10:00:00+00' AS updated_at, 42 AS extra) TO '${root}/complaints/p.parquet' (FORMAT parquet)`);
    conn.closeSync();
    const engine = await openDuckDbEngine({ dataDir: root });
    const rows = await engine.query('SELECT complaint_id, opened_at, updated_at FROM complaints');
    await engine.close();
    expect(rows).toEqual([{ complaint_id: 'c1', opened_at: '2026-10-01T10:00:00.000000Z', updated_at: '2026-10-02T10:00:00.000000Z' }]);
  });

  it('reads Parquet as pandas writes it: nanosecond timestamps, integer columns with nulls as float64', async () => {
    const root = writeExports({ 'tickets/.keep': '' });
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    await conn.run(`COPY (SELECT * FROM (VALUES ('t1', CAST(TIMESTAMP '2026-10-01 10:00:00.123' AS TIMESTAMP_NS), 1.0::DOUBLE, 2.5::DOUBLE, DATE '2026-10-02'),
      ('t2', NULL, NULL, -3.0::DOUBLE, DATE '2026-10-02')) AS v(ticket_id, created_at, contacts_count, reopened_count, updated_at))
      TO '${root}/tickets/p.parquet' (FORMAT parquet)`);
    conn.closeSync();
    const engine = await openDuckDbEngine({ dataDir: root });
    const rows = await engine.query('SELECT ticket_id, created_at, contacts_count, reopened_count FROM tickets ORDER BY ticket_id');
    await engine.close();
    expect(rows).toEqual([
      { ticket_id: 't1', created_at: '2026-10-01T10:00:00.123000Z', contacts_count: '1', reopened_count: '2.5' },
      { ticket_id: 't2', created_at: null, contacts_count: null, reopened_count: '-3' },
    ]);
  });

  it('treats an empty file and a header-only file as present with no rows', async () => {
    const { rows, present } = await read({ 'complaints/a.csv': '', 'complaints/b.csv': `${H}\n` });
    expect(rows).toEqual([]);
    expect(present.has('complaints')).toBe(true);
  });

  it('treats a table with no files as absent', async () => {
    const { present } = await read({ 'complaints/a.csv': csv(H) });
    expect(present.has('tickets')).toBe(false);
    expect(present.has('complaints')).toBe(true);
  });

  it('keeps values that will not parse as text, so validation can count them', async () => {
    const { rows } = await read({ 'complaints/a.csv': csv(H, 'c1,not a date,2026-10-01') });
    expect(rows[0]!['opened_at']).toBe('not a date');
  });

  it('names the table, file and column when a required column is missing', async () => {
    await expect(read({ 'complaints/dt=2026-10-01/export.csv': csv('complaint_id,updated_at', 'c1,2026-10-01') })).rejects.toThrow(
      /complaints: complaints\/dt=2026-10-01\/export\.csv has no column "opened_at"/,
    );
  });

  it('names the folder when the data folder does not exist', async () => {
    await expect(openDuckDbEngine({ dataDir: '/nonexistent/exports' })).rejects.toThrow('data folder not found: /nonexistent/exports');
  });
});
