/**
 * The layouts people use for a data folder: a table's file directly in it (`<data>/tickets.csv`),
 * beside or instead of its folder; a workbook with a sheet per table; and the folders that hold
 * none of the tables (empty, one level too deep, something else), refused on one line. The same
 * layouts on the Trino load path and in the AWS ingest function.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Logger } from '@aws-lambda-powertools/logger';
import { DuckDBInstance } from '@duckdb/node-api';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMetricsJob } from '../../functions/cli/runMetrics.js';
import { openDuckDbEngine } from '../../functions/engine/duckdbEngine.js';
import { createIngestHandler, type S3Event } from '../../functions/handlers/ingest.js';
import { parseRawKey } from '../../functions/ingest/layout.js';
import { TABLES } from '../../functions/pipeline/contract.js';
import { generateSampleData } from '../../functions/sample/generate.js';
import { csv, writeExports } from '../helpers/fixtures.js';
import { startS3, type LocalS3 } from '../infra/support/localAws.js';
import { describeEngines, openEngine } from '../support/engines.js';
import { listFiles, parseCsv, writeCsv } from '../support/reencode.js';

const H = 'complaint_id,opened_at,updated_at';
const row = (id: string) => `${id},2026-10-01,2026-10-01`;

async function complaintIds(data: string): Promise<unknown[]> {
  const engine = await openDuckDbEngine({ dataDir: data });
  try {
    return (await engine.query('SELECT complaint_id FROM complaints ORDER BY complaint_id')).map((r) => r['complaint_id']);
  } finally {
    await engine.close();
  }
}

async function sheetWorkbook(file: string, sheets: Record<string, (string | number)[][]>): Promise<void> {
  const wb = new ExcelJS.Workbook();
  for (const [name, rows] of Object.entries(sheets)) {
    const ws = wb.addWorksheet(name);
    for (const r of rows) ws.addRow(r);
  }
  await wb.xlsx.writeFile(file);
}

describe('flat layout', () => {
  it('reads <data>/<table>.csv|.csv.gz like <data>/<table>/, both at once, the name in any case', async () => {
    const data = writeExports({
      'complaints.csv': csv(H, row('c1')),
      'complaints/dt=2026-10-02/b.csv': csv(H, row('c2')),
      'Complaints.CSV.GZ': gzipSync(csv(H, row('c3'))),
      'orders.csv': csv('order_id,ordered_at,updated_at', 'o1,2026-10-01,2026-10-01'),
      'notes.csv': csv(H, row('not a table')),
    });
    const engine = await openDuckDbEngine({ dataDir: data });
    try {
      expect((await engine.query('SELECT complaint_id FROM complaints ORDER BY 1')).map((r) => r['complaint_id'])).toEqual(['c1', 'c2', 'c3']);
      expect(await engine.query('SELECT order_id FROM orders')).toEqual([{ order_id: 'o1' }]);
      expect([...(await engine.presentTables())].sort()).toEqual(['complaints', 'orders']);
    } finally {
      await engine.close();
    }
  });

  it('reads a workbook in the data folder by its sheets named as tables (any case), other sheets ignored', async () => {
    const data = mkdtempSync(join(tmpdir(), 'layout-book-'));
    await sheetWorkbook(join(data, 'crm export.xlsx'), {
      Notes: [['anything']],
      Complaints: [H.split(','), ['c1', '2026-10-01', '2026-10-01']],
    });
    await sheetWorkbook(join(data, 'complaints.xlsx'), { Sheet1: [H.split(','), ['c2', '2026-10-01', '2026-10-01']] });

    expect(await complaintIds(data)).toEqual(['c1', 'c2']);
  });

  it('a sample export laid out flat (one <table>.csv per table) gives the same metrics.json', async () => {
    const src = mkdtempSync(join(tmpdir(), 'layout-src-'));
    await generateSampleData(src, { seed: 9, scale: 0.03, endPeriod: '2026-10' });
    const flat = writeExports(
      Object.fromEntries(
        TABLES.map((t) => {
          const files = listFiles(src).filter((f) => f.startsWith(`${t}/`));
          const [header, ...rest] = files.map((f) => parseCsv(readFileSync(join(src, f), 'utf8')));
          return [`${t}.csv`, writeCsv([...header!, ...rest.flatMap((r) => r.slice(1))], ',')];
        }),
      ),
    );
    const metrics = async (data: string) => {
      const out = mkdtempSync(join(tmpdir(), 'layout-out-'));
      const { metricsText } = await runMetricsJob({ data, period: '2026-10', timezone: 'UTC', out, now: new Date('2026-11-03T00:00:00Z'), allowIncomplete: true });
      const m = JSON.parse(metricsText);
      delete m.generatedAt;
      return m;
    };

    const [nested, flatM] = [await metrics(src), await metrics(flat)];

    expect(flatM.dataQuality.tickets.rowsRead).toBeGreaterThan(500);
    expect(flatM).toEqual(nested);
  }, 120_000);
});

describe('a data folder with none of the tables', () => {
  const TABLE_LIST = 'tickets, surveys, orders, complaints, invoices, customers, contacts, each as a <table>/ folder, a <table>.csv|.csv.gz|.parquet|.xlsx file or a workbook sheet named <table>';

  it('an empty folder says it is empty', async () => {
    const data = mkdtempSync(join(tmpdir(), 'layout-empty-'));

    await expect(openDuckDbEngine({ dataDir: data })).rejects.toMatchObject({
      name: 'ExportError',
      message: `data folder ${data} is empty: expected the exports of ${TABLE_LIST}`,
    });
  });

  it('a folder one level too deep is named, with the --data to try', async () => {
    const data = writeExports({ 'exports/complaints/a.csv': csv(H, row('c1')), '.DS_Store': '' });

    await expect(openDuckDbEngine({ dataDir: data })).rejects.toMatchObject({
      message: `data folder ${data} holds none of the tables ${TABLE_LIST}; found only exports/ — one level too deep? try --data ${join(data, 'exports')}`,
    });
  });

  it('other files are listed (a workbook with its sheets)', async () => {
    const data = writeExports({ 'notes.txt': 'x', 'old/x.csv': 'a\n' });
    await sheetWorkbook(join(data, 'report.xlsx'), { Sheet1: [['a']] });

    await expect(openDuckDbEngine({ dataDir: data })).rejects.toMatchObject({
      message: `data folder ${data} holds none of the tables ${TABLE_LIST}; found notes.txt, old/, report.xlsx (sheets "Sheet1")`,
    });
  });

  it('the CLI: exit code 1, one line, nothing written', () => {
    const data = writeExports({ 'export-2026-10/tickets.csv': csv('ticket_id,created_at,updated_at', 't1,2026-10-01,2026-10-01') });
    const out = mkdtempSync(join(tmpdir(), 'layout-cli-'));

    const r = spawnSync(process.execPath, ['--import', 'tsx', 'functions/cli/metrics.ts', '--data', data, '--period', '2026-10', '--timezone', 'UTC', '--out', out], { encoding: 'utf8' });

    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      `error: data folder ${data} holds none of the tables ${TABLE_LIST}; found only export-2026-10/ — one level too deep? try --data ${join(data, 'export-2026-10')}`,
    ]);
    expect(listFiles(out)).toEqual([]);
  });
});

describeEngines('flat files and a workbook in the data folder', (engineName) => {
  it('are read as their tables on this engine', async () => {
    const data = writeExports({
      'complaints.csv': csv(H, row('c1')),
      'complaints/dt=2026-10-02/b.csv': csv(H, row('c2')),
    });
    await sheetWorkbook(join(data, 'book.xlsx'), { complaints: [H.split(','), ['c3', '2026-10-01', '2026-10-01']] });
    const engine = await openEngine(engineName, data);
    try {
      expect((await engine.query('SELECT complaint_id FROM complaints ORDER BY complaint_id')).map((r) => r['complaint_id'])).toEqual(['c1', 'c2', 'c3']);
    } finally {
      await engine.close();
    }
  }, 120_000);
});

describe('AWS ingest: flat keys and workbooks under the raw prefix', () => {
  const BUCKET = 'exports';
  const layout = { rawPrefix: 'raw/', curatedPrefix: 'curated', undatedPartition: '2015-01-01' };
  let s3: LocalS3;
  beforeAll(async () => {
    s3 = await startS3([BUCKET]);
  });
  afterAll(async () => {
    await s3?.stop();
  });
  const handler = () => createIngestHandler({ s3: s3.client, bucket: BUCKET, layout, logger: new Logger({ serviceName: 'reader-layout-test', logLevel: 'SILENT' }) });
  const event = (eventName: string, key: string): S3Event => ({ Records: [{ eventName, s3: { bucket: { name: BUCKET }, object: { key } } }] });
  const exists = (key: string) => s3.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })).then(() => true, () => false);
  /** The rows of a curated Parquet object, `columns` of them. */
  async function curated(key: string, columns: string): Promise<Record<string, unknown>[]> {
    const r = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    const file = join(mkdtempSync(join(tmpdir(), 'layout-pq-')), 'x.parquet');
    writeFileSync(file, await r.Body!.transformToByteArray());
    const conn = await (await DuckDBInstance.create(':memory:')).connect();
    try {
      return (await conn.runAndReadAll(`SELECT ${columns} FROM read_parquet('${file}') ORDER BY 1`)).getRowObjectsJS();
    } finally {
      conn.closeSync();
    }
  }

  it('files raw/<table>.csv under the undated partition, apart from a file of the same name in the table folder', () => {
    expect(parseRawKey('raw/complaints.csv', layout)).toEqual({
      table: 'complaints',
      dt: '2015-01-01',
      name: '@root.complaints.csv',
      curatedKey: 'curated/complaints/dt=2015-01-01/@root.complaints.csv.parquet',
    });
    expect(parseRawKey('raw/complaints/complaints.csv', layout)).toMatchObject({ curatedKey: 'curated/complaints/dt=2015-01-01/complaints.csv.parquet' });
    expect(parseRawKey('raw/notes.csv', layout)).toEqual({ skip: '"notes.csv" is not a canonical table\'s file (<table>.csv|.csv.gz|.parquet|.xlsx)' });
  });

  it('normalizes a flat Windows-1251 ; export and each table sheet of a workbook; a removed workbook takes its copies along', async () => {
    // "Жалоба" in Windows-1251: C6 E0 EB EE E1 E0.
    const cp1251 = Buffer.concat([Buffer.from('complaint_id;category;opened_at;updated_at\r\nc1;'), Buffer.from([0xc6, 0xe0, 0xeb, 0xee, 0xe1, 0xe0]), Buffer.from(';2026-10-01;2026-10-01\r\n')]);
    await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'raw/complaints.csv', Body: cp1251 }));
    const book = join(mkdtempSync(join(tmpdir(), 'layout-s3book-')), 'crm.xlsx');
    await sheetWorkbook(book, { complaints: [H.split(','), ['c2', '2026-10-01', '2026-10-01']], Notes: [['x']] });
    await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'raw/crm.xlsx', Body: readFileSync(book) }));

    const flat = await handler()(event('ObjectCreated:Put', 'raw/complaints.csv'));
    const wb = await handler()(event('ObjectCreated:Put', 'raw/crm.xlsx'));

    expect(flat.normalized).toEqual([{ key: 'raw/complaints.csv', curatedKey: 'curated/complaints/dt=2015-01-01/@root.complaints.csv.parquet', rows: 1 }]);
    expect(wb.normalized).toEqual([{ key: 'raw/crm.xlsx', curatedKey: 'curated/complaints/dt=2015-01-01/@root.crm.xlsx.parquet', rows: 1 }]);
    expect(await curated('curated/complaints/dt=2015-01-01/@root.crm.xlsx.parquet', 'complaint_id')).toEqual([{ complaint_id: 'c2' }]);
    expect(await curated('curated/complaints/dt=2015-01-01/@root.complaints.csv.parquet', 'complaint_id, category')).toEqual([{ complaint_id: 'c1', category: 'Жалоба' }]);

    await handler()(event('ObjectRemoved:Delete', 'raw/crm.xlsx'));
    expect(await exists('curated/complaints/dt=2015-01-01/@root.crm.xlsx.parquet')).toBe(false);
    expect(await exists('curated/complaints/dt=2015-01-01/@root.complaints.csv.parquet')).toBe(true);
  }, 60_000);
});
