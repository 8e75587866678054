/**
 * A local folder of exports on a Trino whose Hive catalog reads a local folder (the local Trino of
 * `npm run trino -- start`): the same data path as on AWS.
 *
 *   <data>/<table>/[dt=YYYY-MM-DD/]<file>   --normalizeExport (the ingest function's code)-->
 *   <warehouse>/<schema>/<table>/dt=YYYY-MM-DD/<file>.parquet   (the curated layout, parseRawKey)
 *
 * then one CREATE TABLE per canonical table from the definition the Glue tables are made of
 * (canonicalTables.ts), its partitions registered, and the unchanged indicator SQL runs on it.
 * A source mapping is applied as the ingest function applies it (normalizeMapped). Every run
 * gets a schema of its own, dropped with its files when the engine is closed.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { DEFAULT_EXPORTS_SINCE, columnMarkerPrefix, parseRawKey, rootExport, type IngestLayout } from '../ingest/layout.js';
import { normalizeExport, normalizeMapped } from '../ingest/normalize.js';
import { PARTITION_COLUMN, trinoCreateTableSql } from './canonicalTables.js';
import { ExportError, describeRead, discoverTableFiles, tableOfName } from './exportReader.js';
import type { Mapping } from './mappings.js';
import { quoteIdent, sqlString } from './tableSql.js';
import { createTrinoEngine, type TrinoEngine, type TrinoEngineOptions } from './trinoEngine.js';
import { TABLES, type TableName } from '../pipeline/contract.js';

export interface LocalTrinoCatalog {
  url: string;
  /** A Hive catalog with the native local file system: `local:///x` is `<warehouseDir>/x`. */
  catalog: string;
  warehouseDir: string;
}

export interface LoadLocalOptions {
  trino: LocalTrinoCatalog;
  dataDir: string;
  mapping?: Mapping;
  /** Schema to create (default: a fresh `run_<random>`); an existing one is replaced. */
  schema?: string;
  user?: string;
  timeoutMs?: number;
  onStats?: TrinoEngineOptions['onStats'];
  log?: (line: string) => void;
  /** Files normalized at once (each in its own DuckDB). */
  concurrency?: number;
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** The curated key of one export file of `table`, as the ingest function files it (parseRawKey; rootExport for a workbook's sheet). */
function curatedKey(dataDir: string, file: string, table: TableName, layout: IngestLayout): string {
  const key = relative(dataDir, file).split(sep).join('/');
  if (!key.includes('/')) return rootExport(layout, table, key).curatedKey;
  const parsed = parseRawKey(key, layout);
  if ('skip' in parsed) {
    throw new ExportError(`${key}: not in the layout of the data contract (${parsed.skip})`);
  }
  return parsed.curatedKey;
}

/**
 * Normalizes the exports of `dataDir` into the warehouse, registers the canonical tables and
 * returns an engine over them.
 */
export async function loadExportsIntoTrino(o: LoadLocalOptions): Promise<TrinoEngine> {
  const log = o.log ?? (() => undefined);
  if (!existsSync(o.dataDir) || !statSync(o.dataDir).isDirectory()) throw new ExportError(`data folder not found: ${o.dataDir}`);
  const schema = o.schema ?? `run_${randomBytes(6).toString('hex')}`;
  const root = join(o.trino.warehouseDir, schema);
  const layout: IngestLayout = { rawPrefix: '', curatedPrefix: schema, undatedPartition: DEFAULT_EXPORTS_SINCE };
  const cat = quoteIdent(o.trino.catalog);
  const qualified = (t: string) => `${cat}.${quoteIdent(schema)}.${quoteIdent(t)}`;

  const admin = createTrinoEngine({ url: o.trino.url, catalog: o.trino.catalog, schema, user: o.user ?? 'crm-service-report', timeoutMs: o.timeoutMs });
  const dropAll = async () => {
    for (const t of TABLES) await admin.execute(`DROP TABLE IF EXISTS ${qualified(t)}`, `drop ${t}`);
    await admin.execute(`DROP SCHEMA IF EXISTS ${cat}.${quoteIdent(schema)}`, 'drop schema');
    await rm(root, { recursive: true, force: true });
  };

  await dropAll();
  await mkdir(root, { recursive: true });
  try {
    await admin.execute(`CREATE SCHEMA ${cat}.${quoteIdent(schema)} WITH (location = ${sqlString(`local:///${schema}`)})`, 'create schema');
    const present = new Set<TableName>();
    const columns = new Map<TableName, Set<string>>();
    const found = (table: TableName, cols: string[]) => {
      const set = columns.get(table) ?? new Set<string>();
      for (const c of cols) set.add(c);
      columns.set(table, set);
    };
    if (o.mapping) {
      const tmp = join(root, '.mapped');
      await mkdir(tmp, { recursive: true });
      log(`  normalizing the mapped sources (${Object.keys(o.mapping.tables).join(', ')})`);
      const out = await normalizeMapped({ mapping: o.mapping, dataDir: o.dataDir, outDir: tmp });
      for (const [table, r] of Object.entries(out) as [TableName, { file: string; columns: string[] }][]) {
        found(table, r.columns);
        const dir = join(root, table, `${PARTITION_COLUMN.name}=${layout.undatedPartition}`);
        await mkdir(dir, { recursive: true });
        await rename(r.file, join(dir, 'mapped.parquet'));
        present.add(table);
      }
      await rm(tmp, { recursive: true, force: true });
    } else {
      const jobs: { table: TableName; file: string; out: string }[] = [];
      // The tables' files as the local engine finds them: table folders, flat files, workbooks' sheets.
      const discovered = await discoverTableFiles(o.dataDir);
      for (const table of TABLES) {
        for (const file of discovered[table]) {
          jobs.push({ table, file, out: join(o.trino.warehouseDir, curatedKey(o.dataDir, file, table, layout)) });
          present.add(table);
        }
      }
      log(`  normalizing ${jobs.length} export file(s) to Parquet`);
      const read = new Map<TableName, string[]>();
      await eachLimited(jobs, o.concurrency ?? 2, async (j) => {
        await mkdir(join(j.out, '..'), { recursive: true });
        // A table's file directly in the data folder keeps its place there (path `../<name>`); a workbook there
        // named otherwise goes in the table's folder, where the reader converts only the sheet named as the table.
        const path = relative(join(o.dataDir, j.table), j.file);
        const elsewhere = path.startsWith('..') && tableOfName(basename(j.file)) !== j.table;
        const r = await normalizeExport({ table: j.table, input: j.file, output: j.out, path: elsewhere ? basename(j.file) : path });
        found(j.table, r.columns);
        const kinds = read.get(j.table) ?? [];
        for (const k of (r.read || 'no rows').split(' + ')) if (!kinds.includes(k)) kinds.push(k);
        read.set(j.table, kinds);
      });
      for (const table of TABLES) {
        const n = jobs.filter((j) => j.table === table).length;
        if (n) log(`${table}: ${describeRead(n, read.get(table) ?? [])}`);
      }
    }
    // Beside the curated Parquet, the columns the exports had, as the ingest function records them.
    for (const [table, cols] of columns) {
      const dir = join(o.trino.warehouseDir, columnMarkerPrefix(schema, table));
      await mkdir(dir, { recursive: true });
      for (const c of cols) await writeFile(join(dir, c), '');
    }
    for (const table of present) {
      await admin.execute(trinoCreateTableSql(qualified(table), table, `local:///${schema}/${table}`), `create ${table}`);
      await admin.execute(
        `CALL ${cat}.system.sync_partition_metadata(${sqlString(schema)}, ${sqlString(table)}, 'FULL')`,
        `partitions of ${table}`,
      );
    }
    return createTrinoEngine({
      url: o.trino.url,
      catalog: o.trino.catalog,
      schema,
      user: o.user ?? 'crm-service-report',
      timeoutMs: o.timeoutMs,
      presentTables: present,
      columnsPresent: columns,
      onStats: o.onStats,
      onClose: dropAll,
    });
  } catch (e) {
    await dropAll().catch(() => undefined);
    throw e;
  }
}
