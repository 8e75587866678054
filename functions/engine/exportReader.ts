/**
 * Reading CRM export files into DuckDB as raw text, the way the data contract allows them:
 * `.csv`, `.csv.gz`, `.parquet`, Hive `dt=` folders or none, any column order, case-insensitive
 * headers, BOM, CRLF, blank lines before the header, RFC 4180 quoting, extra columns ignored,
 * missing optional columns as null, empty files, symbolic links. A damaged file (a truncated or
 * non-gzip .csv.gz, an unreadable Parquet file) is an ExportError naming the file, on one line.
 * Every value stays VARCHAR: parsing and validation happen in the indicator SQL so that
 * bad values are counted, not lost. Used by the local engine and by the AWS ingest function.
 */
import { createReadStream, existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { DuckDBConnection } from '@duckdb/node-api';
import { parse } from 'csv-parse';
import { CONTRACT, type TableName } from '../pipeline/contract.js';
import { quoteIdent, sqlString } from './tableSql.js';

export class ExportError extends Error {
  override name = 'ExportError';
}

export type ExportFormat = 'csv' | 'parquet';

export function fileFormat(path: string): ExportFormat | null {
  const p = path.toLowerCase();
  if (p.endsWith('.csv') || p.endsWith('.csv.gz')) return 'csv';
  if (p.endsWith('.parquet')) return 'parquet';
  return null;
}

/** Endings of files still being downloaded or written (browsers, curl, wget, copy tools). */
const IN_PROGRESS_SUFFIXES = ['.part', '.partial', '.tmp', '.crdownload'];

/**
 * True for a name that marks a file (or folder) as not ready: it starts with `.` or `_`, or ends in
 * one of IN_PROGRESS_SUFFIXES. Exports should be written under such a name and renamed when complete.
 */
export function isInProgressName(name: string): boolean {
  const n = name.toLowerCase();
  return n.startsWith('.') || n.startsWith('_') || IN_PROGRESS_SUFFIXES.some((s) => n.endsWith(s));
}

/** `file` as errors name it: relative to `root` (the data folder) when it lies below it. */
function displayName(root: string | undefined, file: string): string {
  if (!root) return file;
  const r = relative(root, file);
  return r && !r.startsWith('..') ? r : file;
}

/**
 * Every export file under `dir` (recursively, through dt= folders), sorted; [] when `dir` is absent.
 * Names starting with `.` or `_` or ending in a partial-download suffix are skipped. Symbolic links
 * are followed, to files and to folders, wherever they point; a folder already walked (by its real
 * path: a link loop, or two links to one folder) is not walked again, and a file reached twice is
 * listed once. A link to nothing with an export file's name is an ExportError (its rows would be
 * lost silently). Errors name files relative to `root` (default: the folder above `dir`, i.e. the
 * data folder when `dir` is a table folder).
 */
export function listExportFiles(dir: string, root: string = dirname(dir)): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const dirsSeen = new Set<string>();
  const filesSeen = new Set<string>();
  const walk = (d: string) => {
    const real = realpathSync(d);
    if (dirsSeen.has(real)) return;
    dirsSeen.add(real);
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (isInProgressName(e.name)) continue;
      const p = join(d, e.name);
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        let target;
        try {
          target = statSync(p);
        } catch (err) {
          if (fileFormat(p)) throw new ExportError(`${displayName(root, p)}: a symbolic link to nothing readable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
          continue;
        }
        isDir = target.isDirectory();
        isFile = target.isFile();
      }
      if (isDir) walk(p);
      else if (isFile && fileFormat(p)) {
        const realFile = realpathSync(p);
        if (filesSeen.has(realFile)) continue;
        filesSeen.add(realFile);
        out.push(p);
      }
    }
  };
  walk(dir);
  return out;
}

/** The reason in a DuckDB error message, on one line, without the file's path and the error class. */
export function duckdbReason(message: string, file: string): string {
  const lines = message.split('\n');
  const first = lines[0]!
    .split(`'${file}'`).join('')
    .split(`"${file}"`).join('')
    .split(file).join('')
    .replace(/^[A-Za-z ]*Error: /, '')
    .replace(/[\s:]+$/, '')
    .trim();
  const detail = lines.find((l) => /^Expected Number of Columns/.test(l));
  return detail ? `${first}: ${detail.trim()}` : first;
}

/**
 * An error of DuckDB reading one of `files`, as an ExportError naming that file (relative to `root`)
 * and the reason on one line; null when the error names none of them. An ExportError is returned as is.
 */
export function fileFault(e: unknown, files: Iterable<string>, root: string): ExportError | null {
  if (e instanceof ExportError) return e;
  const message = e instanceof Error ? e.message : String(e);
  // Longest first: `a.csv` must not claim an error about `a.csv.gz`.
  const file = [...files].sort((a, b) => b.length - a.length).find((f) => message.includes(f));
  return file ? new ExportError(`${displayName(root, file)}: cannot be read: ${duckdbReason(message, file)}`) : null;
}

interface CsvHead {
  /** Header names, BOM stripped, trimmed. */
  columns: string[];
  /** Blank lines before the header (read_csv's `skip`). */
  skip: number;
}

const isGzip = (file: string) => file.toLowerCase().endsWith('.gz');

/**
 * The header of a CSV file: its first non-blank line (a line that is empty or only white space is
 * blank), and how many blank lines precede it; null for a file with no header (empty, or blank lines only).
 */
async function readCsvHead(file: string, root?: string): Promise<CsvHead | null> {
  if (statSync(file).size === 0) return null;
  const input = createReadStream(file);
  const gunzip = isGzip(file) ? createGunzip() : null;
  const parser = parse({ bom: true, relax_column_count: true });
  // .pipe() does not pass errors on: a read or gunzip error must end the parser, not the process.
  input.on('error', (e) => parser.destroy(e));
  gunzip?.on('error', (e) => parser.destroy(e));
  (gunzip ? input.pipe(gunzip) : input).pipe(parser);
  let skip = 0;
  try {
    for await (const record of parser) {
      const columns = (record as string[]).map((h) => h.trim());
      if (columns.every((c) => c === '')) {
        skip++;
        continue;
      }
      return { columns, skip };
    }
    return null;
  } catch (e) {
    const zlib = String((e as NodeJS.ErrnoException).code ?? '').startsWith('Z_');
    const what = zlib ? 'not a complete gzip file' : 'cannot read the header row';
    throw new ExportError(`${displayName(root, file)}: ${what} (${(e as Error).message})`);
  } finally {
    input.destroy();
    gunzip?.destroy();
  }
}

/** Decompresses a whole .gz file, keeping nothing: an ExportError when it is truncated or not gzip. */
async function checkGzip(file: string, root?: string): Promise<void> {
  if (statSync(file).size === 0) return; // an empty file: no rows
  try {
    await pipeline(createReadStream(file), createGunzip(), new Writable({ write: (_chunk, _enc, done) => done() }));
  } catch (e) {
    throw new ExportError(`${displayName(root, file)}: not a complete gzip file (${(e as Error).message})`);
  }
}

/** Column names and DuckDB types of a Parquet file. */
async function readParquetSchema(conn: DuckDBConnection, file: string, root?: string): Promise<{ name: string; type: string }[]> {
  try {
    const r = await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${sqlString(file)})`);
    return r.getRowObjectsJS().map((row) => ({ name: String(row['column_name']), type: String(row['column_type']) }));
  } catch (e) {
    throw new ExportError(`${displayName(root, file)}: not a readable Parquet file (${duckdbReason((e as Error).message, file)})`);
  }
}

interface FileInfo {
  format: ExportFormat;
  /** Column names as in the file, in file order. */
  columns: string[];
  types: string[];
  /** CSV: blank lines before the header. */
  skip: number;
}

interface FileGroup extends FileInfo {
  files: string[];
}

/** A file's columns (null: no header), read and checked once: each engine groups its files once. */
async function fileInfo(conn: DuckDBConnection, file: string, root?: string): Promise<FileInfo | null> {
  const format = fileFormat(file)!;
  if (format === 'parquet') {
    const schema = await readParquetSchema(conn, file, root);
    return { format, columns: schema.map((c) => c.name), types: schema.map((c) => c.type), skip: 0 };
  }
  const head = await readCsvHead(file, root);
  // The header alone does not show a gzip file cut short after it; DuckDB would read what is there.
  if (isGzip(file)) await checkGzip(file, root);
  return head && { format, columns: head.columns, types: head.columns.map(() => 'VARCHAR'), skip: head.skip };
}

async function groupFiles(conn: DuckDBConnection, files: string[], root?: string): Promise<FileGroup[]> {
  const groups = new Map<string, FileGroup>();
  for (const file of files) {
    const info = await fileInfo(conn, file, root);
    if (!info) continue; // an empty file: no rows
    const sig = `${info.format}|${info.skip}|${info.columns.join('\u0001')}|${info.types.join('\u0001')}`;
    const g = groups.get(sig) ?? { ...info, files: [] };
    g.files.push(file);
    groups.set(sig, g);
  }
  return [...groups.values()];
}

/**
 * Parquet values as contract text: timestamps (any precision) as ISO-8601 UTC; whole floating-point
 * numbers without a fraction (pandas stores an integer column holding nulls as float64: 1.0 is 1);
 * everything else cast to VARCHAR.
 */
function parquetAsText(col: string, type: string): string {
  const c = quoteIdent(col);
  if (/^TIMESTAMP WITH TIME ZONE/.test(type)) return `strftime(timezone('UTC', ${c}), '%Y-%m-%dT%H:%M:%S.%fZ')`;
  if (/^TIMESTAMP/.test(type)) return `strftime(CAST(${c} AS TIMESTAMP), '%Y-%m-%dT%H:%M:%S.%fZ')`;
  if (type === 'DOUBLE' || type === 'FLOAT') {
    return `CASE WHEN ${c} = floor(${c}) AND abs(${c}) < 1e15 THEN CAST(CAST(${c} AS BIGINT) AS VARCHAR) ELSE CAST(${c} AS VARCHAR) END`;
  }
  return `CAST(${c} AS VARCHAR)`;
}

function groupSource(g: FileGroup): string {
  const list = `[${g.files.map(sqlString).join(', ')}]`;
  if (g.format === 'parquet') return `read_parquet(${list})`;
  const cols = g.columns.map((_, i) => `${sqlString(`c${i}`)}: 'VARCHAR'`).join(', ');
  // Fixed dialect (no sniffing): the contract's CSV is comma-separated with RFC 4180 quotes.
  // `skip`: the blank lines before the header (header = true alone would take the first, blank, line).
  const skip = g.skip ? `, skip = ${g.skip}` : '';
  return `read_csv(${list}, header = true${skip}, delim = ',', quote = '"', escape = '"', auto_detect = false, columns = {${cols}})`;
}

function groupColumn(g: FileGroup, i: number): string {
  return g.format === 'csv' ? quoteIdent(`c${i}`) : parquetAsText(g.columns[i]!, g.types[i]!);
}

/**
 * A SELECT giving the canonical columns of `table` (all VARCHAR, contract order) from its export
 * files, columns matched by name, case-insensitively (null when no file has a header: no rows),
 * and the canonical columns at least one file has. Throws ExportError naming table, file and
 * column when a file lacks a required column.
 */
export async function canonicalSelect(
  conn: DuckDBConnection,
  table: TableName,
  files: string[],
  root?: string,
): Promise<{ select: string | null; columns: Set<string> }> {
  const def = CONTRACT[table];
  const parts: string[] = [];
  const columns = new Set<string>();
  for (const g of await groupFiles(conn, files, root)) {
    const lower = g.columns.map((c) => c.toLowerCase());
    const select = def.columns.map((col) => {
      const i = lower.indexOf(col.name);
      if (i < 0 && col.required) {
        throw new ExportError(`${table}: ${displayName(root, g.files[0]!)} has no column "${col.name}" (required by the data contract)`);
      }
      if (i >= 0) columns.add(col.name);
      return `${i < 0 ? 'CAST(NULL AS VARCHAR)' : groupColumn(g, i)} AS ${quoteIdent(col.name)}`;
    });
    parts.push(`SELECT ${select.join(', ')} FROM ${groupSource(g)}`);
  }
  return { select: parts.length ? parts.join('\nUNION ALL\n') : null, columns };
}

/** A SELECT of every column of some raw (foreign) export files, lower-cased names, all VARCHAR. */
export async function rawSelect(conn: DuckDBConnection, files: string[], root?: string): Promise<string | null> {
  const parts: string[] = [];
  for (const g of await groupFiles(conn, files, root)) {
    const seen = new Set<string>();
    const cols = g.columns.flatMap((name, i) => {
      const lower = name.toLowerCase();
      if (seen.has(lower)) return [];
      seen.add(lower);
      return [`${groupColumn(g, i)} AS ${quoteIdent(lower)}`];
    });
    parts.push(`SELECT ${cols.join(', ')} FROM ${groupSource(g)}`);
  }
  return parts.length ? parts.join('\nUNION ALL BY NAME\n') : null;
}

/** An empty relation with the canonical columns of `table`. */
export function emptySelect(table: TableName): string {
  return `SELECT ${CONTRACT[table].columns.map((c) => `CAST(NULL AS VARCHAR) AS ${quoteIdent(c.name)}`).join(', ')} WHERE false`;
}
