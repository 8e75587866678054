/**
 * Ingest: S3 notifies this function of every object created or removed under the raw prefix of
 * the exports bucket. A created export is normalized to canonical Parquet under the curated
 * prefix (same table, same dt partition); a removed one takes its Parquet copy with it.
 *
 * With a source mapping deployed (foreign CRM exports), a mapped table can join several raw
 * sources, so any change under a mapped source rebuilds every mapped table from all raw files of
 * all sources. The function then runs with a reserved concurrency of 1 (see infra), so rebuilds
 * happen one after another and the last one sees every file.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Mapping } from '../engine/mappings.js';
import { ExportError } from '../engine/exportReader.js';
import { readWorkbook, sheetNames } from '../engine/xlsx.js';
import { columnMarkerPrefix, failedMarkerKey, parseRawKey, rootExport, rootWorkbookName, type IngestLayout } from '../ingest/layout.js';
import { TABLES, type TableName } from '../pipeline/contract.js';
import { normalizeExport, normalizeMapped } from '../ingest/normalize.js';

export interface IngestDeps {
  s3: S3Client;
  bucket: string;
  layout: IngestLayout;
  mapping?: Mapping;
  logger: Logger;
  memoryLimit?: string;
}

/** The part of an S3 event notification this function reads. */
export interface S3Event {
  Records: { eventName: string; s3: { bucket: { name: string }; object: { key: string } } }[];
}

export interface IngestResult {
  normalized: { key: string; curatedKey: string; rows: number }[];
  removed: string[];
  skipped: { key: string; reason: string }[];
  mappedTables: Record<string, number> | null;
}

/** S3 event keys are URL-encoded with '+' for spaces. */
export function eventKey(raw: string): string {
  return decodeURIComponent(raw.replace(/\+/g, ' '));
}

async function download(s3: S3Client, bucket: string, key: string, file: string): Promise<void> {
  const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  await mkdir(dirname(file), { recursive: true });
  await pipeline(r.Body as Readable, createWriteStream(file));
}

async function upload(s3: S3Client, bucket: string, key: string, file: string, source: string, rows: number): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: await readFile(file),
      ContentType: 'application/vnd.apache.parquet',
      Metadata: { 'source-key': encodeURIComponent(source), rows: String(rows) },
    }),
  );
}

/** Records the columns an export had beside the curated Parquet (see columnMarkerPrefix). Idempotent. */
async function markColumns(s3: S3Client, bucket: string, curatedPrefix: string, table: string, columns: string[]): Promise<void> {
  await Promise.all(
    columns.map((c) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${columnMarkerPrefix(curatedPrefix, table)}${c}`, Body: '' }))),
  );
}

/** One line of an error, for the failed-import marker. */
function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s+/g, ' ').trim().slice(0, 1000);
}

/** Writes the marker of a raw export that could not be normalized (see failedMarkerKey). */
async function markFailed(s3: S3Client, bucket: string, markerKey: string, rawKey: string, err: unknown): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: markerKey,
      Body: JSON.stringify({ key: rawKey, error: oneLine(err), at: new Date().toISOString() }),
      ContentType: 'application/json; charset=utf-8',
    }),
  );
}

function underMappedSource(relKey: string, mapping: Mapping): boolean {
  return Object.values(mapping.sources).some(({ path: p }) => {
    const path = p.replace(/^\.?\/+/, '').replace(/\/+$/, '');
    return relKey === path || relKey.startsWith(`${path}/`);
  });
}

export function createIngestHandler(deps: IngestDeps) {
  const { s3, bucket, layout, logger } = deps;

  async function rebuildMapped(mapping: Mapping, work: string): Promise<Record<string, number>> {
    const dataDir = join(work, 'raw');
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: layout.rawPrefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) {
        const rel = o.Key!.slice(layout.rawPrefix.length);
        if (!rel || rel.endsWith('/') || !underMappedSource(rel, mapping)) continue;
        await download(s3, bucket, o.Key!, join(dataDir, rel));
      }
      token = page.NextContinuationToken;
    } while (token);
    const outDir = join(work, 'out');
    await mkdir(outDir, { recursive: true });
    const results = await normalizeMapped({ mapping, dataDir, outDir, memoryLimit: deps.memoryLimit });
    const rows: Record<string, number> = {};
    for (const [table, r] of Object.entries(results)) {
      const key = `${layout.curatedPrefix}/${table}/dt=${layout.undatedPartition}/mapped.parquet`;
      await upload(s3, bucket, key, r!.file, mapping.file, r!.rows);
      await markColumns(s3, bucket, layout.curatedPrefix, table, r!.columns);
      rows[table] = r!.rows;
    }
    logger.info('mapped tables rebuilt', { mapping: mapping.file, rows });
    return rows;
  }

  /**
   * A workbook directly under the raw prefix, not named as a table (`raw/crm.xlsx`): each sheet
   * named as a table is that table's export (rootExport); a removed workbook, or a sheet no longer
   * in it, takes its curated copy with it.
   */
  async function ingestRootWorkbook(eventName: string, key: string, name: string, work: string, result: IngestResult): Promise<void> {
    let tables: TableName[] = [];
    const input = join(work, `book-${result.normalized.length}`, name);
    if (!eventName.startsWith('ObjectRemoved')) {
      await download(s3, bucket, key, input);
      const wb = await readWorkbook(input).catch((e: unknown) => {
        throw new ExportError(`${key}: not a readable Excel workbook (${String((e as Error).message ?? e).split('\n')[0]})`);
      });
      tables = TABLES.filter((t) => sheetNames(wb).some((n) => n.trim().toLowerCase() === t));
      if (!tables.length) {
        const reason = `a workbook with no sheet named as a table (${TABLES.join(', ')})`;
        logger.warn('not an export of the data contract; ignored', { key, reason });
        result.skipped.push({ key, reason });
      }
    }
    for (const table of TABLES) {
      const raw = rootExport(layout, table, name);
      const failedKey = failedMarkerKey(layout.curatedPrefix, raw);
      if (!tables.includes(table)) {
        await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: raw.curatedKey }));
        await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: failedKey }));
        continue;
      }
      const output = join(work, `${result.normalized.length}-${table}.parquet`);
      let normalized: { rows: number; columns: string[] };
      try {
        // Linked into the table's folder: the reader converts only the sheet named as the table.
        normalized = await normalizeExport({ table, input, output, memoryLimit: deps.memoryLimit, path: name });
      } catch (err) {
        await markFailed(s3, bucket, failedKey, key, err).catch((e: unknown) =>
          logger.error('could not write the failed-import marker', { key, failedKey, error: String(e) }),
        );
        throw err;
      }
      await upload(s3, bucket, raw.curatedKey, output, key, normalized.rows);
      await markColumns(s3, bucket, layout.curatedPrefix, table, normalized.columns);
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: failedKey }));
      logger.info('export normalized', { key, sheet: table, curatedKey: raw.curatedKey, table, dt: raw.dt, rows: normalized.rows });
      result.normalized.push({ key, curatedKey: raw.curatedKey, rows: normalized.rows });
      await rm(output, { force: true });
    }
    if (eventName.startsWith('ObjectRemoved')) {
      logger.info('workbook removed; curated copies of its sheets deleted', { key });
      result.removed.push(...TABLES.map((t) => rootExport(layout, t, name).curatedKey));
    }
    await rm(dirname(input), { recursive: true, force: true });
  }

  return async (event: S3Event): Promise<IngestResult> => {
    const result: IngestResult = { normalized: [], removed: [], skipped: [], mappedTables: null };
    const work = await mkdtemp(join(tmpdir(), 'ingest-'));
    try {
      let rebuild = false;
      for (const record of event.Records ?? []) {
        const key = eventKey(record.s3.object.key);
        if (record.s3.bucket.name !== bucket) {
          result.skipped.push({ key, reason: `bucket ${record.s3.bucket.name} is not the exports bucket` });
          continue;
        }
        const rel = key.slice(layout.rawPrefix.length);
        if (deps.mapping && key.startsWith(layout.rawPrefix) && underMappedSource(rel, deps.mapping)) {
          rebuild = true;
          continue;
        }
        const parsed = parseRawKey(key, layout);
        const book = 'skip' in parsed ? rootWorkbookName(key, layout) : null;
        if (book) {
          await ingestRootWorkbook(record.eventName, key, book, work, result);
          continue;
        }
        if ('skip' in parsed) {
          logger.warn('not an export of the data contract; ignored', { key, reason: parsed.skip });
          result.skipped.push({ key, reason: parsed.skip });
          continue;
        }
        const failedKey = failedMarkerKey(layout.curatedPrefix, parsed);
        if (record.eventName.startsWith('ObjectRemoved')) {
          await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: parsed.curatedKey }));
          await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: failedKey }));
          logger.info('export removed; curated copy deleted', { key, curatedKey: parsed.curatedKey });
          result.removed.push(parsed.curatedKey);
          continue;
        }
        const input = join(work, `${result.normalized.length}-${parsed.name}`);
        const output = `${input}.parquet`;
        await download(s3, bucket, key, input);
        let normalized: { rows: number; columns: string[] };
        try {
          normalized = await normalizeExport({ table: parsed.table, input, output, memoryLimit: deps.memoryLimit });
        } catch (err) {
          // Recorded for the reports (their data-quality page names the file), then rethrown so
          // the invocation still fails into the on-failure queue and its alarm.
          await markFailed(s3, bucket, failedKey, key, err).catch((e: unknown) =>
            logger.error('could not write the failed-import marker', { key, failedKey, error: String(e) }),
          );
          throw err;
        }
        const { rows, columns } = normalized;
        await upload(s3, bucket, parsed.curatedKey, output, key, rows);
        await markColumns(s3, bucket, layout.curatedPrefix, parsed.table, columns);
        await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: failedKey }));
        logger.info('export normalized', { key, curatedKey: parsed.curatedKey, table: parsed.table, dt: parsed.dt, rows });
        result.normalized.push({ key, curatedKey: parsed.curatedKey, rows });
        await rm(input, { force: true });
        await rm(output, { force: true });
      }
      if (rebuild && deps.mapping) result.mappedTables = await rebuildMapped(deps.mapping, work);
      return result;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  };
}
