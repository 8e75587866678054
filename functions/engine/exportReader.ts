/**
 * Reading CRM export files into DuckDB as raw text, the way the data contract allows them:
 * `.csv`, `.csv.gz`, `.parquet`, Hive `dt=` folders or none, any column order, case-insensitive
 * headers, BOM, CRLF, RFC 4180 quoting, extra columns ignored, missing optional columns as null,
 * empty files. Every value stays VARCHAR: parsing and validation happen in the indicator SQL so that
 * bad values are counted, not lost. Used by the local engine and by the AWS ingest function.
 */
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
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

/** Every export file under `dir` (recursively, through dt= folders), sorted; [] when `dir` is absent. */
export function listExportFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name.startsWith('.') || e.name.startsWith('_')) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (fileFormat(p)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** The header row of a CSV file (BOM stripped, names trimmed), or null for a file with no header. */
export async function readCsvHeader(file: string): Promise<string[] | null> {
  if (statSync(file).size === 0) return null;
  const input = createReadStream(file);
  const stream = file.toLowerCase().endsWith('.gz') ? input.pipe(createGunzip()) : input;
  const parser = stream.pipe(parse({ bom: true, to_line: 1, relax_column_count: true, skip_empty_lines: true }));
  try {
    for await (const record of parser) return (record as string[]).map((h) => h.trim());
    return null;
  } catch (e) {
    throw new ExportError(`${file}: cannot read the header row: ${(e as Error).message}`);
  } finally {
    input.destroy();
  }
}

/** Column names and DuckDB types of a Parquet file. */
async function readParquetSchema(conn: DuckDBConnection, file: string): Promise<{ name: string; type: string }[]> {
  const r = await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${sqlString(file)})`);
  return r.getRowObjectsJS().map((row) => ({ name: String(row['column_name']), type: String(row['column_type']) }));
}

interface FileGroup {
  format: ExportFormat;
  /** Column names as in the file, in file order. */
  columns: string[];
  types: string[];
  files: string[];
}

async function groupFiles(conn: DuckDBConnection, files: string[]): Promise<FileGroup[]> {
  const groups = new Map<string, FileGroup>();
  for (const file of files) {
    const format = fileFormat(file)!;
    let columns: string[];
    let types: string[];
    if (format === 'csv') {
      const header = await readCsvHeader(file);
      if (!header) continue; // an empty file: no rows
      columns = header;
      types = header.map(() => 'VARCHAR');
    } else {
      const schema = await readParquetSchema(conn, file);
      columns = schema.map((c) => c.name);
      types = schema.map((c) => c.type);
    }
    const sig = `${format}|${columns.join('\u0001')}|${types.join('\u0001')}`;
    const g = groups.get(sig) ?? { format, columns, types, files: [] };
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
  return `read_csv(${list}, header = true, delim = ',', quote = '"', escape = '"', auto_detect = false, columns = {${cols}})`;
}

function groupColumn(g: FileGroup, i: number): string {
  return g.format === 'csv' ? quoteIdent(`c${i}`) : parquetAsText(g.columns[i]!, g.types[i]!);
}

/**
 * A SELECT giving the canonical columns of `table` (all VARCHAR, contract order) from its export
 * files; columns matched by name, case-insensitively. Throws ExportError naming table, file and
 * column when a file lacks a required column. Returns null when no file has a header (no rows).
 */
export async function canonicalSelect(conn: DuckDBConnection, table: TableName, files: string[], root = ''): Promise<string | null> {
  const def = CONTRACT[table];
  const parts: string[] = [];
  for (const g of await groupFiles(conn, files)) {
    const lower = g.columns.map((c) => c.toLowerCase());
    const select = def.columns.map((col) => {
      const i = lower.indexOf(col.name);
      if (i < 0 && col.required) {
        const file = root ? relative(root, g.files[0]!) : g.files[0]!;
        throw new ExportError(`${table}: ${file} has no column "${col.name}" (required by the data contract)`);
      }
      return `${i < 0 ? 'CAST(NULL AS VARCHAR)' : groupColumn(g, i)} AS ${quoteIdent(col.name)}`;
    });
    parts.push(`SELECT ${select.join(', ')} FROM ${groupSource(g)}`);
  }
  return parts.length ? parts.join('\nUNION ALL\n') : null;
}

/** The canonical columns of `table` that at least one of its export files has (by header or Parquet schema). */
export async function canonicalColumnsIn(conn: DuckDBConnection, table: TableName, files: string[]): Promise<Set<string>> {
  const names = new Set(CONTRACT[table].columns.map((c) => c.name));
  const found = new Set<string>();
  for (const g of await groupFiles(conn, files)) for (const c of g.columns) if (names.has(c.toLowerCase())) found.add(c.toLowerCase());
  return found;
}

/** A SELECT of every column of some raw (foreign) export files, lower-cased names, all VARCHAR. */
export async function rawSelect(conn: DuckDBConnection, files: string[]): Promise<string | null> {
  const parts: string[] = [];
  for (const g of await groupFiles(conn, files)) {
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
