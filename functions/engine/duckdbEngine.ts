/**
 * The embedded engine: DuckDB over a local folder of exports (the data contract's layout), or over
 * foreign exports through a source mapping. Installs the Trino compatibility layer, then exposes
 * the six canonical tables as views of raw VARCHAR columns.
 */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { CONTRACT, TABLES, type TableName } from '../pipeline/contract.js';
import { EngineError, type QueryEngine, type SqlRow, type SqlValue } from './engine.js';
import { ExportError, canonicalSelect, closeReader, describeFiles, discoverTableFiles, emptySelect, fileFault, listExportFiles, rawSelect } from './exportReader.js';
import { type Mapping, checkMappingSql, formattedSourceSelect, resolveSourceFiles, sourceOptions } from './mappings.js';
import { quoteIdent, sqlString } from './tableSql.js';
import { DUCKDB_COMPAT_SQL } from './trinoCompat.js';

export interface DuckDbEngineOptions {
  dataDir: string;
  mapping?: Mapping;
  /** DuckDB settings, e.g. { threads: '2', memory_limit: '2GB' }. */
  settings?: Record<string, string>;
  /** With a mapping: folders besides the data folder and temp files that the sandboxed session may use (e.g. an output folder). */
  allowedDirectories?: string[];
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

/**
 * Locks the DuckDB session that runs a user's mapping, once its views exist: files only under
 * `dirs` (the data folder), the exact `files` besides (the reader's transcoded copies) and DuckDB's
 * own temp directory; no extension installed or loaded; no setting changed afterwards.
 */
async function sandbox(conn: DuckDBConnection, dirs: string[], files: string[]): Promise<void> {
  const list = (xs: string[]) => [...new Set(xs)].map(sqlString).join(', ');
  await conn.run(`SET allowed_directories = [${list(dirs.map((d) => (d.endsWith(sep) ? d : `${d}${sep}`)))}]`);
  await conn.run(`SET allowed_paths = [${list(files)}]`);
  await conn.run('SET enable_external_access = false');
  await conn.run('SET autoinstall_known_extensions = false');
  await conn.run('SET autoload_known_extensions = false');
  await conn.run('SET lock_configuration = true');
}

/**
 * The files outside `dirs` that view SQL reads: the reader's temporary copies (a CSV transcoded to
 * UTF-8, a converted sheet), named as absolute paths in its string literals.
 */
function readerCopies(sqls: string[], dirs: string[]): string[] {
  const inside = (p: string) => dirs.some((d) => !relative(d, p).startsWith('..') && !isAbsolute(relative(d, p)));
  const paths = sqls.flatMap((s) => [...s.matchAll(/'((?:[^']|'')+)'/g)].map((m) => m[1]!.replace(/''/g, "'")));
  return paths.filter((p) => isAbsolute(p) && !inside(p) && existsSync(p) && statSync(p).isFile());
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
  // How each table's files were read: printed once every table is open (an error is then the only line).
  const read: string[] = [];
  const log = (line: string) => read.push(line);
  /** The SQL of the views over export files (for the sandbox: which files they read). */
  const viewSql: string[] = [];
  try {
    for (const stmt of DUCKDB_COMPAT_SQL) await conn.run(stmt);
    const mapping = opts.mapping;
    if (mapping) {
      // Before anything is read: each table one SELECT over the declared sources only.
      await checkMappingSql(conn, mapping);
      for (const [name, spec] of Object.entries(mapping.sources)) {
        const list = resolveSourceFiles(mapping, name, dataDir, (d) => listExportFiles(d, dataDir));
        sourceFiles.push(...list);
        const raw = await rawSelect(conn, list, dataDir, sourceOptions(spec));
        if (!raw) throw new ExportError(`${mapping.file}: sources.${name}: ${spec.path} has no header row`);
        log(`${name}: ${describeFiles(conn, list)}`);
        const cols = (await conn.runAndReadAll(`DESCRIBE ${raw}`)).getRowObjectsJS().map((r) => String(r['column_name']));
        await conn.run(`CREATE VIEW ${quoteIdent(name)} AS ${formattedSourceSelect(mapping, name, cols, raw)}`);
        viewSql.push(raw);
      }
    }
    // The tables' files in the data folder (folders, flat files, workbooks); with a mapping, not its sources'.
    const discovered = await discoverTableFiles(dataDir, { shownAs: opts.dataDir, conn, requireSome: !mapping });
    // The tables read from files first (the reader may write temporary copies of them), then the
    // sandbox of a mapping session, then the mapping's own SELECTs, which DuckDB binds sandboxed.
    let sandboxed = false;
    for (const table of [...TABLES.filter((t) => !mapping?.tables[t]), ...TABLES.filter((t) => mapping?.tables[t])]) {
      const mapped = mapping?.tables[table];
      let select: string | null;
      if (mapped) {
        if (!sandboxed) {
          const dirs = [dataDir, realpathSync(dataDir), ...(opts.allowedDirectories ?? []).map((d) => resolve(d))];
          await sandbox(conn, dirs, readerCopies(viewSql, dirs));
          sandboxed = true;
        }
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
      if (select) viewSql.push(select);
    }
  } catch (e) {
    // A file DuckDB could not read: one line naming it, not DuckDB's multi-line dump.
    const fault = fileFault(e, [...sourceFiles, ...Object.values(files).flat()], dataDir) ?? e;
    conn.closeSync();
    await closeReader(conn);
    throw fault;
  }
  for (const line of read) opts.log?.(line);
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
