/**
 * The ingest function against s3rver: raw exports as the contract allows them become canonical
 * all-text Parquet under the curated prefix, row for row, bad values kept as text.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { AthenaClient } from '@aws-sdk/client-athena';
import { Logger } from '@aws-lambda-powertools/logger';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAthenaEngine } from '../../functions/engine/athenaEngine.js';
import { createIngestHandler, type S3Event } from '../../functions/handlers/ingest.js';
import { CONTRACT } from '../../functions/pipeline/contract.js';
import { startS3, type LocalS3 } from '../infra/support/localAws.js';

const BUCKET = 'exports';
const layout = { rawPrefix: 'raw/', curatedPrefix: 'curated', undatedPartition: '2015-01-01' };
let s3: LocalS3;
let dir: string;

beforeAll(async () => {
  s3 = await startS3([BUCKET]);
  dir = await mkdtemp(join(tmpdir(), 'ingest-test-'));
});
afterAll(async () => {
  await s3?.stop();
  await rm(dir, { recursive: true, force: true });
});

const logger = new Logger({ serviceName: 'ingest-test', logLevel: 'SILENT' });
const handler = () => createIngestHandler({ s3: s3.client, bucket: BUCKET, layout, logger });

function event(eventName: string, ...keys: string[]): S3Event {
  return { Records: keys.map((k) => ({ eventName, s3: { bucket: { name: BUCKET }, object: { key: encodeURIComponent(k).replace(/%20/g, '+').replace(/%2F/g, '/') } } })) };
}

async function put(key: string, body: string | Buffer) {
  await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
}

async function readParquet(key: string): Promise<{ columns: string[]; types: string[]; rows: Record<string, unknown>[] }> {
  const r = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  const file = join(dir, `${Math.random().toString(36).slice(2)}.parquet`);
  await writeFile(file, await r.Body!.transformToByteArray());
  const conn = await (await DuckDBInstance.create(':memory:')).connect();
  try {
    const d = await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${file}')`);
    const desc = d.getRowObjectsJS();
    const rows = (await conn.runAndReadAll(`SELECT * FROM read_parquet('${file}') ORDER BY ticket_id NULLS LAST`)).getRowObjectsJS();
    return { columns: desc.map((x) => String(x['column_name'])), types: desc.map((x) => String(x['column_type'])), rows };
  } finally {
    conn.closeSync();
  }
}

describe('ingest: raw export -> canonical Parquet', () => {
  it('keeps every row, every value as text, in contract column order, under the same dt partition', async () => {
    // Prepare: BOM, CRLF, upper-case and reordered headers, an extra column, a quoted comma,
    // quote and line break, an unparseable timestamp and int, an empty field; gzip.
    const csv =
      '\uFEFFSTATUS,Ticket_ID,created_at,updated_at,contacts_count,Extra,team\r\n' +
      'open,T1,2026-10-01T10:00:00Z,2026-10-02T00:00:00Z,2,x,"Support, ""Tier 1"""\r\n' +
      'solved,T2,not a date,2026-10-02T00:00:00Z,two,y,"Line one\r\nline two"\r\n' +
      ',T3,2026-10-03,2026-10-03,,z,\r\n';
    await put('raw/tickets/dt=2026-10-05/export 1.csv.gz', gzipSync(Buffer.from(csv, 'utf8')));
    // Act
    const out = await handler()(event('ObjectCreated:Put', 'raw/tickets/dt=2026-10-05/export 1.csv.gz'));
    // Assess
    const curatedKey = 'curated/tickets/dt=2026-10-05/export 1.csv.gz.parquet';
    expect(out.normalized).toEqual([{ key: 'raw/tickets/dt=2026-10-05/export 1.csv.gz', curatedKey, rows: 3 }]);
    const pq = await readParquet(curatedKey);
    expect(pq.columns).toEqual(CONTRACT.tickets.columns.map((c) => c.name));
    expect(new Set(pq.types)).toEqual(new Set(['VARCHAR']));
    expect(pq.rows).toHaveLength(3);
    expect(pq.rows[0]).toMatchObject({ ticket_id: 'T1', status: 'open', team: 'Support, "Tier 1"', contacts_count: '2', customer_id: null });
    expect(pq.rows[1]).toMatchObject({ ticket_id: 'T2', created_at: 'not a date', contacts_count: 'two', team: 'Line one\r\nline two' });
    expect(pq.rows[2]).toMatchObject({ ticket_id: 'T3', created_at: '2026-10-03', contacts_count: null });
  });

  it('records beside the curated Parquet which columns the export had, which the Athena engine reads back', async () => {
    // Prepare: an export of contacts without answered_at and ended_at.
    await put('raw/contacts/dt=2026-10-06/calls.csv', 'contact_id,queued_at,team,updated_at\nK1,2026-10-06T09:00:00Z,a,2026-10-06T10:00:00Z\n');

    // Act
    await handler()(event('ObjectCreated:Put', 'raw/contacts/dt=2026-10-06/calls.csv'));
    const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'curated/contacts/_columns/' }));
    const athena = createAthenaEngine({ athena: new AthenaClient({ region: 'eu-west-1' }), s3: s3.client, workgroup: 'wg', database: 'db', curatedBucket: BUCKET, curatedPrefix: 'curated' });

    // Assess: one empty marker per column the file had (in the contract), none for the others.
    expect((listed.Contents ?? []).map((o) => o.Key).sort()).toEqual(
      ['contact_id', 'queued_at', 'team', 'updated_at'].map((c) => `curated/contacts/_columns/${c}`),
    );
    expect([...((await athena.columnsPresent!('contacts')) ?? [])].sort()).toEqual(['contact_id', 'queued_at', 'team', 'updated_at']);
    // A table without markers (ingested before they existed) is "unknown": every column present.
    expect(await athena.columnsPresent!('invoices')).toBeNull();
  });

  it('files an export without a partition under the fixed undated partition, and an empty file as an empty table', async () => {
    await put('raw/customers/all.csv', 'customer_id,created_at,updated_at\nC1,2025-01-01,2025-01-01\n');
    await put('raw/customers/dt=2026-10-05/empty.csv', '');
    const out = await handler()(event('ObjectCreated:Put', 'raw/customers/all.csv', 'raw/customers/dt=2026-10-05/empty.csv'));
    expect(out.normalized.map((n) => [n.curatedKey, n.rows])).toEqual([
      ['curated/customers/dt=2015-01-01/all.csv.parquet', 1],
      ['curated/customers/dt=2026-10-05/empty.csv.parquet', 0],
    ]);
  });

  it('ignores keys that are not exports of the contract and deletes the curated copy of a removed export', async () => {
    await put('raw/orders/dt=2026-10-05/o.csv', 'order_id,ordered_at,updated_at\nO1,2026-10-01,2026-10-01\n');
    await handler()(event('ObjectCreated:Put', 'raw/orders/dt=2026-10-05/o.csv'));
    const curated = { Bucket: BUCKET, Key: 'curated/orders/dt=2026-10-05/o.csv.parquet' };
    await s3.client.send(new HeadObjectCommand(curated));

    const out = await handler()(event('ObjectCreated:Put', 'raw/unknown/x.csv', 'raw/orders/notes.txt', 'raw/orders/a/b/c.csv'));
    expect(out.skipped.map((s) => s.key)).toEqual(['raw/unknown/x.csv', 'raw/orders/notes.txt', 'raw/orders/a/b/c.csv']);

    const removed = await handler()(event('ObjectRemoved:Delete', 'raw/orders/dt=2026-10-05/o.csv'));
    expect(removed.removed).toEqual([curated.Key]);
    await expect(s3.client.send(new HeadObjectCommand(curated))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
  });

  it('fails naming table, file and column when a required column is missing', async () => {
    await put('raw/orders/dt=2026-10-06/bad.csv', 'order_id,updated_at\nO1,2026-10-01\n');
    await expect(handler()(event('ObjectCreated:Put', 'raw/orders/dt=2026-10-06/bad.csv'))).rejects.toThrow(/orders.*bad\.csv.*ordered_at/);
  });

  it('leaves a failed-import marker for an export it cannot normalize, still throws, and removes the marker once the file is fixed', async () => {
    // Prepare: an export of orders without the required ordered_at.
    const raw = 'raw/orders/dt=2026-10-07/broken.csv';
    const marker = { Bucket: BUCKET, Key: 'curated/orders/_failed/2026-10-07/broken.csv.json' };
    await put(raw, 'order_id,updated_at\nO1,2026-10-01\n');

    // Act + Assess: the handler still fails (so the on-failure queue gets the event) ...
    await expect(handler()(event('ObjectCreated:Put', raw))).rejects.toThrow(/ordered_at/);
    // ... and the marker names the raw key and the error, on one line.
    const body = JSON.parse(await (await s3.client.send(new GetObjectCommand(marker))).Body!.transformToString()) as { key: string; error: string; at: string };
    expect(body.key).toBe(raw);
    expect(body.error).toMatch(/ordered_at/);
    expect(body.error).not.toContain('\n');
    expect(new Date(body.at).toISOString()).toBe(body.at);
    const athena = createAthenaEngine({ athena: new AthenaClient({ region: 'eu-west-1' }), s3: s3.client, workgroup: 'wg', database: 'db', curatedBucket: BUCKET, curatedPrefix: 'curated' });
    // (The export of the test before is still failed: its marker stays.)
    const failedOf = async () => (await athena.failedImports!('orders')).filter((f) => f.file.startsWith('raw/orders/dt=2026-10-07/'));
    expect(await failedOf()).toEqual([{ file: raw, error: body.error }]);

    // Act: the fixed file is uploaded again under the same key.
    await put(raw, 'order_id,ordered_at,updated_at\nO1,2026-10-01,2026-10-01\n');
    const out = await handler()(event('ObjectCreated:Put', raw));

    // Assess: normalized, and the marker is gone.
    expect(out.normalized).toHaveLength(1);
    await expect(s3.client.send(new HeadObjectCommand(marker))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
    expect(await failedOf()).toEqual([]);
    expect((await athena.failedImports!('orders')).map((f) => f.file)).toEqual(['raw/orders/dt=2026-10-06/bad.csv']);
  });

  it("counts for a period only the failed exports that can hold its records: dated from the period's first day in any zone, undated ones tried since it began", async () => {
    // Prepare: dated exports of invoices the ingest cannot normalize (no invoice_id) ...
    const dated = ['raw/invoices/dt=2026-09-29/before.csv', 'raw/invoices/dt=2026-09-30/first-day-west.csv', 'raw/invoices/dt=2026-11-03/later.csv'];
    for (const raw of dated) {
      await put(raw, 'note\nnot an invoice\n');
      await expect(handler()(event('ObjectCreated:Put', raw))).rejects.toThrow(/invoice_id/);
    }
    // ... the markers of two exports without a dt, as the ingest writes them (filed under the
    // undated partition; `at` is when it tried them), and a marker that is not JSON.
    const failed = 'curated/invoices/_failed/2015-01-01';
    await put(`${failed}/september.csv.json`, JSON.stringify({ key: 'raw/invoices/september.csv', error: 'bad gzip', at: '2026-09-15T10:00:00.000Z' }));
    await put(`${failed}/october.csv.json`, JSON.stringify({ key: 'raw/invoices/october.csv', error: 'bad gzip', at: '2026-10-02T10:00:00.000Z' }));
    await put(`${failed}/garbled.csv.json`, '{not json');
    const athena = createAthenaEngine({ athena: new AthenaClient({ region: 'eu-west-1' }), s3: s3.client, workgroup: 'wg', database: 'db', curatedBucket: BUCKET, curatedPrefix: 'curated' });

    // Act: October 2026 in Moscow begins at 2026-09-30T21:00Z (30 September west of UTC+3);
    // November 2026 in UTC at 2026-11-01T00:00Z (31 October west of UTC).
    const october = await athena.failedImports!('invoices', { startMs: Date.parse('2026-09-30T21:00:00Z') });
    const november = await athena.failedImports!('invoices', { startMs: Date.parse('2026-11-01T00:00:00Z') });
    const any = await athena.failedImports!('invoices');

    // Assess (in marker key order: undated partition first)
    expect(october.map((f) => f.file)).toEqual(['2015-01-01/garbled.csv', 'raw/invoices/october.csv', 'raw/invoices/dt=2026-09-30/first-day-west.csv', 'raw/invoices/dt=2026-11-03/later.csv']);
    expect(november.map((f) => f.file)).toEqual(['2015-01-01/garbled.csv', 'raw/invoices/dt=2026-11-03/later.csv']);
    expect(any).toHaveLength(6);
    expect(october[1]).toEqual({ file: 'raw/invoices/october.csv', error: 'bad gzip' });
  });

  it('removes the failed-import marker when the raw export is removed', async () => {
    const raw = 'raw/orders/dt=2026-10-08/broken.csv';
    const marker = { Bucket: BUCKET, Key: 'curated/orders/_failed/2026-10-08/broken.csv.json' };
    await put(raw, 'order_id,updated_at\nO1,2026-10-01\n');
    await expect(handler()(event('ObjectCreated:Put', raw))).rejects.toThrow();
    await s3.client.send(new HeadObjectCommand(marker));

    await handler()(event('ObjectRemoved:Delete', raw));

    await expect(s3.client.send(new HeadObjectCommand(marker))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
  });
});
