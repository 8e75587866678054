/**
 * The embedded engine: DuckDB over a local folder of exports (the data contract's layout), or over
 * foreign exports through a source mapping. Installs the Trino compatibility layer, then exposes
 * the six canonical tables as views of raw VARCHAR columns.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { CONTRACT, TABLES, type TableName } from '../pipeline/contract.js';
import { EngineError, type QueryEngine, type SqlRow, type SqlValue } from './engine.js';
import { ExportError, canonicalSelect, closeReader, describeFiles, discoverTableFiles, emptySelect, fileFault, listExportFiles, rawSelect } from './exportReader.js';
import type { Mapping } from './mappings.js';
import { quoteIdent } from './tableSql.js';
import { DUCKDB_COMPAT_SQL } from './trinoCompat.js';

export interface DuckDbEngineOptions {
  dataDir: string;
  mapping?: Mapping;
  /** DuckDB settings, e.g. { threads: '2', memory_limit: '2GB' }. */
  settings?: Record<string, string>;
  /** Progress lines: how each table's files were read (`tickets: 3 files, GB18030, ';'`). */
  log?: (line: string) => void;
}

export interface DuckDbEngine extends QueryEngine {
  readonly connection: DuckDBConnection;
  /** The files each canonical table reads (mapped tables: their sources' files). */
  readonly files: Record<TableName, string[]>;
  columnsPresent(table: TableName): Promise<ReadonlySet<string> | null>;
}

function toJs(v: unknown): SqlValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  return String(v);
}

async function mappedTableSelect(conn: DuckDBConnection, mapping: Mapping, table: TableName, sql: string): Promise<{ select: string; columns: Set<string> }> {
  let cols: string[];
  try {
    const r = await conn.runAndReadAll(`DESCRIBE ${sql}`);
    cols = r.getRowObjectsJS().map((row) => String(row['column_name']).toLowerCase());
  } catch (e) {
    throw new ExportError(`${mapping.file}: tables.${table}: ${(e as Error).message.split('\n')[0]}`);
  }
  const missing = CONTRACT[table].columns.filter((c) => c.required && !cols.includes(c.name)).map((c) => c.name);
  if (missing.length) throw new ExportError(`${mapping.file}: tables.${table} yields no column ${missing.map((m) => `"${m}"`).join(', ')} (required by the data contract)`);
  const select = CONTRACT[table].columns
    .map((c) => `${cols.includes(c.name) ? `CAST(${quoteIdent(c.name)} AS VARCHAR)` : 'CAST(NULL AS VARCHAR)'} AS ${quoteIdent(c.name)}`)
    .join(', ');
  return { select: `SELECT ${select} FROM (${sql}) AS mapped`, columns: new Set(CONTRACT[table].columns.map((c) => c.name).filter((c) => cols.includes(c))) };
}

export async function openDuckDbEngine(opts: DuckDbEngineOptions): Promise<DuckDbEngine> {
  const dataDir = resolve(opts.dataDir);
  if (!existsSync(dataDir) || !statSync(dataDir).isDirectory()) throw new ExportError(`data folder not found: ${opts.dataDir}`);
  const instance = await DuckDBInstance.create(':memory:', opts.settings);
  const conn = await instance.connect();
  const files = {} as Record<TableName, string[]>;
  const present = new Set<TableName>();
  const columns = new Map<TableName, ReadonlySet<string>>();
  const sourceFiles: string[] = [];
  const log = opts.log ?? (() => undefined);
  try {
    for (const stmt of DUCKDB_COMPAT_SQL) await conn.run(stmt);
    const mapping = opts.mapping;
    if (mapping) {
      for (const [name, path] of Object.entries(mapping.sources)) {
        const p = join(dataDir, path);
        const list = existsSync(p) && statSync(p).isDirectory() ? listExportFiles(p, dataDir) : existsSync(p) ? [p] : [];
        if (!list.length) throw new ExportError(`${mapping.file}: sources.${name}: no export file at ${path} under ${opts.dataDir}`);
        sourceFiles.push(...list);
        const select = await rawSelect(conn, list, dataDir);
        if (!select) throw new ExportError(`${mapping.file}: sources.${name}: ${path} has no header row`);
        log(`${name}: ${describeFiles(conn, list)}`);
        await conn.run(`CREATE VIEW ${quoteIdent(name)} AS ${select}`);
      }
    }
    // The tables' files in the data folder (folders, flat files, workbooks); with a mapping, not its sources'.
    const discovered = await discoverTableFiles(dataDir, { shownAs: opts.dataDir, conn, requireSome: !mapping });
    for (const table of TABLES) {
      const mapped = mapping?.tables[table];
      let select: string | null;
      if (mapped) {
        files[table] = sourceFiles;
        const m = await mappedTableSelect(conn, mapping, table, mapped);
        select = m.select;
        columns.set(table, m.columns);
      } else {
        files[table] = discovered[table].filter((f) => !sourceFiles.includes(f));
        const c = await canonicalSelect(conn, table, files[table], dataDir);
        select = c.select;
        columns.set(table, c.columns);
        if (files[table].length) log(`${table}: ${describeFiles(conn, files[table])}`);
      }
      if (files[table].length) present.add(table);
      await conn.run(`CREATE VIEW ${table} AS ${select ?? emptySelect(table)}`);
    }
  } catch (e) {
    // A file DuckDB could not read: one line naming it, not DuckDB's multi-line dump.
    const fault = fileFault(e, [...sourceFiles, ...Object.values(files).flat()], dataDir) ?? e;
    conn.closeSync();
    await closeReader(conn);
    throw fault;
  }
  const allFiles = [...new Set([...sourceFiles, ...Object.values(files).flat()])];
  // One connection runs one statement at a time: queue concurrent callers.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn, fn);
    queue = next.catch(() => undefined);
    return next;
  };
  return {
    name: 'duckdb',
    connection: conn,
    files,
    query(sql: string, label?: string): Promise<SqlRow[]> {
      return serial(async () => {
        try {
          const reader = await conn.runAndReadAll(sql);
          return reader.getRowObjects().map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, toJs(v)])));
        } catch (e) {
          // A file that fails only when its rows are read (damaged after its header, changed since): name it.
          const fault = fileFault(e, allFiles, dataDir);
          if (fault) throw new ExportError(fault.message, { cause: e });
          throw new EngineError(`${label ?? 'query'}: ${(e as Error).message}`, { cause: e });
        }
      });
    },
    async presentTables() {
      return new Set(present);
    },
    async columnsPresent(table) {
      return columns.get(table) ?? null;
    },
    async close() {
      conn.closeSync();
      await closeReader(conn);
    },
  };
}
