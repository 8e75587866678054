/**
 * Exports as they go wrong on a local disk: damaged .csv.gz and Parquet files (one line naming the
 * file, in the engine, the ingest's normalizer and the CLI), files still being written, symbolic
 * links (followed, loops walked once).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { openDuckDbEngine } from '../../functions/engine/duckdbEngine.js';
import { ExportError, listExportFiles } from '../../functions/engine/exportReader.js';
import { normalizeExport } from '../../functions/ingest/normalize.js';
import { csv, writeExports } from '../helpers/fixtures.js';

const H = 'complaint_id,opened_at,updated_at';
/** A CSV of `n` complaints c1..cn, big enough that half of its gzip still holds the header. */
const rows = (n: number) => csv(H, ...Array.from({ length: n }, (_, i) => `c${i + 1},2026-10-01,2026-10-01`));
const GZ = gzipSync(rows(5000));

async function parquetBytes(): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'pq-'));
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  await conn.run(`COPY (SELECT 'c' || range AS complaint_id, '2026-10-01' AS opened_at, '2026-10-01' AS updated_at FROM range(20000))
    TO '${dir}/p.parquet' (FORMAT parquet)`);
  conn.closeSync();
  return readFileSync(join(dir, 'p.parquet'));
}

/** The error openDuckDbEngine + one query of the complaints raise on `root`, or null. */
async function readError(root: string): Promise<Error | null> {
  try {
    const engine = await openDuckDbEngine({ dataDir: root });
    try {
      await engine.query('SELECT count(*) AS n FROM complaints', 'complaints indicators');
    } finally {
      await engine.close();
    }
    return null;
  } catch (e) {
    return e as Error;
  }
}

async function ids(root: string): Promise<string[]> {
  const engine = await openDuckDbEngine({ dataDir: root });
  try {
    return (await engine.query('SELECT complaint_id FROM complaints ORDER BY complaint_id')).map((r) => String(r['complaint_id']));
  } finally {
    await engine.close();
  }
}

function metricsCli(data: string) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'functions/cli/metrics.ts', '--data', data, '--period', '2026-10', '--timezone', 'UTC'], {
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('damaged export files', () => {
  const F = 'complaints/dt=2026-10-01/export';

  it.each([
    ['a .csv.gz that is not gzip', `${F}.csv.gz`, () => Buffer.from(rows(3)), `${F}.csv.gz: not a complete gzip file (incorrect header check)`],
    ['a .csv.gz cut in half (header intact)', `${F}.csv.gz`, () => GZ.subarray(0, GZ.length >> 1), `${F}.csv.gz: not a complete gzip file (unexpected end of file)`],
    ['a .csv.gz without its last 8 bytes (every row there, the gzip trailer missing)', `${F}.csv.gz`, () => GZ.subarray(0, GZ.length - 8), `${F}.csv.gz: not a complete gzip file (unexpected end of file)`],
    ['a Parquet file of random bytes', `${F}.parquet`, () => Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)), `${F}.parquet: not a readable Parquet file (No magic bytes found at end of file)`],
    ['a Parquet file cut in half', `${F}.parquet`, async () => { const b = await parquetBytes(); return b.subarray(0, b.length >> 1); }, `${F}.parquet: not a readable Parquet file (No magic bytes found at end of file)`],
  ])('%s: one ExportError line naming the file relative to the data folder', async (_label, path, bytes, message) => {
    const root = writeExports({ 'complaints/good.csv': rows(1), [path]: await bytes() });

    const e = await readError(root);

    expect(e).toBeInstanceOf(ExportError);
    expect(e!.message).toBe(message);
  });

  it('names the file when it fails only as its rows are read (replaced after the engine opened it)', async () => {
    const root = writeExports({ 'complaints/a.csv': rows(1), 'complaints/dt=2026-10-02/b.csv.gz': gzipSync(rows(2)) });
    const engine = await openDuckDbEngine({ dataDir: root });
    try {
      writeFileSync(join(root, 'complaints/dt=2026-10-02/b.csv.gz'), rows(2)); // no longer gzip

      const e = await engine.query('SELECT count(*) AS n FROM complaints', 'complaints indicators').then(() => null, (err: Error) => err);

      expect(e).toBeInstanceOf(ExportError);
      expect(e!.message).toBe('complaints/dt=2026-10-02/b.csv.gz: cannot be read: Input is not a GZIP stream');
    } finally {
      await engine.close();
    }
  });

  it('the ingest normalizer names the file the same way', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faults-ingest-'));
    const input = join(dir, 'a.csv.gz');
    writeFileSync(input, GZ.subarray(0, GZ.length >> 1));

    const e = await normalizeExport({ table: 'complaints', input, output: join(dir, 'out.parquet'), path: 'dt=2026-10-01/a.csv.gz' }).then(() => null, (err: Error) => err);

    expect(e).toBeInstanceOf(ExportError);
    expect(e!.message).toBe('complaints/dt=2026-10-01/a.csv.gz: not a complete gzip file (unexpected end of file)');
  });

  it('the ingest normalizer reads every row of a CSV with blank lines before its header', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faults-ingest-'));
    const input = join(dir, 'a.csv');
    writeFileSync(input, `\r\n\r\n${H}\r\nc1,2026-10-01,2026-10-01\r\nc2,2026-10-01,2026-10-02\r\n`);

    const r = await normalizeExport({ table: 'complaints', input, output: join(dir, 'out.parquet') });

    expect(r.rows).toBe(2);
    expect(r.columns.sort()).toEqual(['complaint_id', 'opened_at', 'updated_at']);
  });

  it.each([
    ['a truncated .csv.gz', 'complaints/dt=2026-10-01/a.csv.gz', () => GZ.subarray(0, GZ.length >> 1), 'not a complete gzip file (unexpected end of file)'],
    ['a corrupt Parquet file', 'complaints/p.parquet', async () => (await parquetBytes()).subarray(0, 1000), 'not a readable Parquet file (No magic bytes found at end of file)'],
  ])('the CLI on %s: exit code 1, exactly one error line naming the file', async (_label, path, bytes, what) => {
    const root = writeExports({ 'complaints/good.csv': rows(1), [path]: await bytes() });

    const r = metricsCli(root);

    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([`error: ${path}: ${what}`]);
    expect(r.stdout).toBe('');
  });
});

describe('files still being written', () => {
  it('reads no file or folder named as in progress (leading . or _, or .part .partial .tmp .crdownload)', async () => {
    const row = (id: string) => csv(H, `${id},2026-10-01,2026-10-01`);
    const root = writeExports({
      'complaints/a.csv': row('ready'),
      'complaints/b.csv.part': row('part'),
      'complaints/c.csv.gz.partial': gzipSync(row('partial')),
      'complaints/d.csv.tmp': row('tmp'),
      'complaints/e.parquet.crdownload': 'not yet parquet',
      'complaints/f.CSV.PART': row('upper'),
      'complaints/.g.csv': row('dot'),
      'complaints/_h.csv': row('underscore'),
      'complaints/_temporary/0/i.csv': row('spark'),
      'complaints/dt=2026-10-02.tmp/j.csv': row('tmpfolder'),
      'complaints/dt=2026-10-03.part/k.csv': row('partfolder'),
    });

    expect(listExportFiles(join(root, 'complaints'))).toEqual([join(root, 'complaints/a.csv')]);
    expect(await ids(root)).toEqual(['ready']);
  });
});

describe('symbolic links', () => {
  it('reads a linked file and walks a linked folder, wherever they point', async () => {
    const root = writeExports({ 'complaints/a.csv': csv(H, 'c1,2026-10-01,2026-10-01') });
    const elsewhere = writeExports({ 'one.csv': csv(H, 'c2,2026-10-01,2026-10-01'), 'folder/dt=2026-10-03/x.csv': csv(H, 'c3,2026-10-01,2026-10-01') });
    symlinkSync(join(elsewhere, 'one.csv'), join(root, 'complaints/linked.csv'));
    symlinkSync(join(elsewhere, 'folder'), join(root, 'complaints/more'));

    expect(listExportFiles(join(root, 'complaints'))).toEqual([
      join(root, 'complaints/a.csv'),
      join(root, 'complaints/linked.csv'),
      join(root, 'complaints/more/dt=2026-10-03/x.csv'),
    ]);
    expect(await ids(root)).toEqual(['c1', 'c2', 'c3']);
  });

  it('ends a link loop and reads each file once, however many links reach it', async () => {
    const root = writeExports({
      'complaints/dt=2026-10-01/a.csv': csv(H, 'c1,2026-10-01,2026-10-01'),
      'complaints/dt=2026-10-02/b.csv': csv(H, 'c2,2026-10-01,2026-10-01'),
    });
    symlinkSync('..', join(root, 'complaints/dt=2026-10-01/up')); // complaints/dt=2026-10-01/up -> complaints
    symlinkSync(join(root, 'complaints'), join(root, 'complaints/self')); // complaints/self -> complaints
    symlinkSync('a.csv', join(root, 'complaints/dt=2026-10-01/again.csv')); // a second name for a.csv
    symlinkSync(join(root, 'complaints/dt=2026-10-02'), join(root, 'complaints/zz-copy')); // a second name for a folder

    const files = listExportFiles(join(root, 'complaints'));

    expect(files).toEqual([join(root, 'complaints/dt=2026-10-01/a.csv'), join(root, 'complaints/dt=2026-10-02/b.csv')]);
    expect(await ids(root)).toEqual(['c1', 'c2']);
  });

  it('refuses a link to nothing that carries an export name, naming it', async () => {
    const root = writeExports({ 'complaints/a.csv': csv(H, 'c1,2026-10-01,2026-10-01') });
    mkdirSync(join(root, 'complaints/dt=2026-10-02'));
    symlinkSync(join(root, 'gone.csv'), join(root, 'complaints/dt=2026-10-02/b.csv'));
    symlinkSync(join(root, 'gone'), join(root, 'complaints/notes')); // no export name: not a file of the table

    const e = await readError(root);

    expect(e).toBeInstanceOf(ExportError);
    expect(e!.message).toBe('complaints/dt=2026-10-02/b.csv: a symbolic link to nothing readable (ENOENT)');
    expect(existsSync(join(root, 'complaints/dt=2026-10-02/b.csv'))).toBe(false);
  });
});
