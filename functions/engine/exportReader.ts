/**
 * Reading CRM export files into DuckDB as raw text, the way the data contract allows them:
 * `.csv`, `.csv.gz`, `.parquet`, `.xlsx`, Hive `dt=` folders or none, a table's file directly in
 * the data folder (`<data>/<table>.csv`), any column order, case-insensitive headers, BOM, CRLF,
 * blank lines before the header, RFC 4180 quoting, extra columns ignored, missing optional columns
 * as null, empty files, symbolic links. CSV text in UTF-8, UTF-16, GB18030 or Windows-1251 and
 * separated by `,` `;` tab or `|` is detected (decode.ts); a file not in UTF-8 is transcoded into
 * a UTF-8 file in the reader's temporary folder of its DuckDB connection (removed by
 * closeReader), an Excel sheet converted to one (xlsx.ts). A damaged file (a truncated or
 * non-gzip .csv.gz, an unreadable Parquet file or workbook, bytes of no known encoding) is an
 * ExportError naming the file, on one line. Every value stays VARCHAR: parsing and validation
 * happen in the indicator SQL so that bad values are counted, not lost. Used by the local engine
 * and by the AWS ingest function.
 */
import { createReadStream, existsSync, mkdtempSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { createGunzip } from 'node:zlib';
import type { DuckDBConnection } from '@duckdb/node-api';
import { parse } from 'csv-parse';
import { CONTRACT, TABLES, type TableName } from '../pipeline/contract.js';
import {
  DecodeError,
  DELIMITERS,
  ENCODING_LABEL,
  ENCODINGS,
  type Delimiter,
  type Encoding,
  delimiterLabel,
  detectDelimiter,
  detectEncoding,
  parseDelimiter,
  parseEncoding,
  transcodeToUtf8,
} from './decode.js';
import { quoteIdent, sqlString } from './tableSql.js';
import { findSheet, readWorkbook, sheetNames, sheetToCsv, type Workbook } from './xlsx.js';

export class ExportError extends Error {
  override name = 'ExportError';
}

export type ExportFormat = 'csv' | 'parquet' | 'xlsx';

/** The endings of export files, as messages list them. */
export const EXPORT_EXTENSIONS = ['.csv', '.csv.gz', '.parquet', '.xlsx'] as const;

export function fileFormat(path: string): ExportFormat | null {
  const p = path.toLowerCase();
  if (p.endsWith('.csv') || p.endsWith('.csv.gz')) return 'csv';
  if (p.endsWith('.parquet')) return 'parquet';
  if (p.endsWith('.xlsx')) return 'xlsx';
  return null;
}

/** A file name without its export ending (`tickets.csv.gz` -> `tickets`); the name itself when it has none. */
export function exportStem(name: string): string {
  const lower = name.toLowerCase();
  const ext = [...EXPORT_EXTENSIONS].sort((a, b) => b.length - a.length).find((e) => lower.endsWith(e));
  return ext ? name.slice(0, -ext.length) : name;
}

/**
 * How a mapping source may override what the reader detects: the text encoding (UTF-8, UTF-16,
 * UTF-16LE, UTF-16BE, GB18030 (GBK, GB2312), Windows-1251 (cp1251); any case), the separator
 * (`,` `;` `|` or tab: `\t` or `tab`) and the sheet of an Excel workbook (by name, any case).
 */
export interface SourceOptions {
  encoding?: string;
  delimiter?: string;
  sheet?: string;
}

/** The encoding names SourceOptions.encoding accepts (besides their aliases). */
export const SOURCE_ENCODINGS: readonly string[] = ENCODINGS.map((e) => ENCODING_LABEL[e]);
/** The separators SourceOptions.delimiter accepts. */
export const SOURCE_DELIMITERS: readonly string[] = DELIMITERS.map((d) => (d === '\t' ? 'tab' : d));

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

/** A table a name stands for: the name itself (a folder) or its stem (`Tickets.csv` -> tickets), any case. */
export function tableOfName(name: string): TableName | null {
  const stem = exportStem(name).toLowerCase();
  return (TABLES as readonly string[]).includes(stem) ? (stem as TableName) : null;
}

interface RootEntry {
  name: string;
  path: string;
  isDir: boolean;
}

/** The entries of a folder that are not in-progress names, links resolved; a link to nothing is left out. */
function visibleEntries(dir: string): RootEntry[] {
  const out: RootEntry[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (isInProgressName(e.name)) continue;
    const path = join(dir, e.name);
    let isDir = e.isDirectory();
    if (e.isSymbolicLink()) {
      try {
        isDir = statSync(path).isDirectory();
      } catch {
        continue;
      }
    }
    out.push({ name: e.name, path, isDir });
  }
  return out;
}

/** True when folder `dir` holds a table's folder or file directly (an export folder of its own). */
function looksLikeExports(dir: string): boolean {
  try {
    return visibleEntries(dir).some((e) => (e.isDir ? (TABLES as readonly string[]).includes(e.name) : tableOfName(e.name) && fileFormat(e.name)));
  } catch {
    return false;
  }
}

/**
 * The export files of every table under the data folder `dataDir`:
 *
 *   <data>/<table>/...                       every export file below the table's folder (listExportFiles)
 *   <data>/<table>.csv|.csv.gz|.parquet|.xlsx a table's file directly in the data folder (name in any case)
 *   <data>/<any name>.xlsx                    a workbook in the data folder: for each sheet named as a table
 *
 * A data folder with none of the tables is an ExportError saying what it holds instead (empty; a
 * folder that looks like the export folder, one level too deep; other files) unless `requireSome`
 * is false. `shownAs`: the data folder as messages name it (as the user gave it). `conn`: the
 * connection whose reader will read the files (a workbook is then read once).
 */
export async function discoverTableFiles(
  dataDir: string,
  o: { shownAs?: string; conn?: DuckDBConnection; requireSome?: boolean } = {},
): Promise<Record<TableName, string[]>> {
  const { shownAs = dataDir, conn, requireSome = true } = o;
  const files = Object.fromEntries(TABLES.map((t) => [t, listExportFiles(join(dataDir, t), dataDir)])) as Record<TableName, string[]>;
  const entries = visibleEntries(dataDir);
  const seen = new Set(Object.values(files).flat().map((f) => realpathSync(f)));
  const add = (table: TableName, file: string) => {
    if (files[table].includes(file)) return;
    files[table].push(file);
    seen.add(realpathSync(file));
  };
  const workbookSheets = new Map<string, string[]>();
  for (const e of entries) {
    if (e.isDir || !fileFormat(e.name)) continue;
    const table = tableOfName(e.name);
    if (table && !seen.has(realpathSync(e.path))) add(table, e.path);
    if (fileFormat(e.name) !== 'xlsx') continue;
    const label = displayName(dataDir, e.path);
    const wb = conn ? await workbook(session(conn), e.path, label) : await readWorkbook(e.path).catch((err: unknown) => {
      throw new ExportError(`${label}: not a readable Excel workbook (${String((err as Error).message ?? err).split('\n')[0]})`);
    });
    const names = sheetNames(wb);
    workbookSheets.set(e.name, names);
    for (const n of names) {
      const t = tableOfName(n.trim());
      if (t && exportStem(n.trim()) === n.trim()) add(t, e.path);
    }
  }
  if (!requireSome || TABLES.some((t) => files[t].length)) return files;
  const expected = `${TABLES.join(', ')}, each as a <table>/ folder, a <table>${EXPORT_EXTENSIONS.join('|')} file or a workbook sheet named <table>`;
  if (!entries.length) throw new ExportError(`data folder ${shownAs} is empty: expected the exports of ${expected}`);
  const deeper = entries.filter((e) => e.isDir && looksLikeExports(e.path));
  const shown = entries.slice(0, 8).map((e) => {
    if (e.isDir) return `${e.name}/`;
    const sheets = workbookSheets.get(e.name);
    return sheets ? `${e.name} (sheets ${sheets.map((n) => `"${n}"`).join(', ')})` : e.name;
  });
  const more = entries.length > 8 ? ` and ${entries.length - 8} more` : '';
  let found = `found ${entries.length === 1 ? 'only ' : ''}${shown.join(', ')}${more}`;
  if (deeper.length) found += ` — one level too deep? try --data ${join(shownAs, deeper[0]!.name)}`;
  throw new ExportError(`data folder ${shownAs} holds none of the tables ${expected}; ${found}`);
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
  // The paths DuckDB reads: the files, or their transcodings in a reader's folder (named as the export they stand for).
  const named: [string, string][] = [...[...files].map((f): [string, string] => [f, displayName(root, f)]), ...readPathLabels];
  // Longest first: `a.csv` must not claim an error about `a.csv.gz`.
  const hit = named.sort((a, b) => b[0].length - a[0].length).find(([p]) => message.includes(p));
  return hit ? new ExportError(`${hit[1]}: cannot be read: ${duckdbReason(message, hit[0])}`) : null;
}

interface CsvHead {
  /** Header names, BOM stripped, trimmed. */
  columns: string[];
  /** Blank lines before the header (read_csv's `skip`). */
  skip: number;
  delimiter: Delimiter;
}

const isGzip = (file: string) => file.toLowerCase().endsWith('.gz');

/** The first line of `file`'s text (gunzipped when .gz) that is not blank, or null. */
async function firstLine(file: string): Promise<string | null> {
  const input = createReadStream(file, { end: 1 << 20 });
  const gunzip = isGzip(file) ? createGunzip() : null;
  input.on('error', (e) => gunzip?.destroy(e));
  const stream = gunzip ? input.pipe(gunzip) : input;
  let text = '';
  try {
    for await (const chunk of stream) {
      text += (chunk as Buffer).toString('utf8');
      const lines = text.split(/\r?\n/);
      const found = lines.slice(0, -1).find((l) => l.replace(/^\ufeff/, '').trim() !== '');
      if (found !== undefined) return found.replace(/^\ufeff/, '');
      if (text.length > 1 << 20) break;
    }
    const last = text.replace(/^\ufeff/, '');
    return last.trim() ? last.split(/\r?\n/).find((l) => l.trim() !== '') ?? null : null;
  } catch {
    return null; // the header parse below reports the fault
  } finally {
    input.destroy();
    gunzip?.destroy();
  }
}

/**
 * The header of a CSV file (UTF-8 text): its first non-blank line (a line that is empty, only white
 * space or only separators is blank), how many blank lines precede it, and its separator (`delimiter`,
 * or the one the header line shows); null for a file with no header (empty, or blank lines only).
 */
async function readCsvHead(file: string, label: string, delimiter?: Delimiter): Promise<CsvHead | null> {
  if (statSync(file).size === 0) return null;
  const line = delimiter ? null : await firstLine(file);
  const delim = delimiter ?? (line === null ? ',' : detectDelimiter(line));
  const input = createReadStream(file);
  const gunzip = isGzip(file) ? createGunzip() : null;
  const parser = parse({ bom: true, relax_column_count: true, delimiter: delim });
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
      return { columns, skip, delimiter: delim };
    }
    return null;
  } catch (e) {
    const zlib = String((e as NodeJS.ErrnoException).code ?? '').startsWith('Z_');
    const what = zlib ? 'not a complete gzip file' : 'cannot read the header row';
    throw new ExportError(`${label}: ${what} (${(e as Error).message})`);
  } finally {
    input.destroy();
    gunzip?.destroy();
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
  /** The file DuckDB reads: the export itself, or its UTF-8 transcoding (a CSV of an Excel sheet) in the reader's folder. */
  readPath: string;
  /** Column names as in the file, in file order. */
  columns: string[];
  types: string[];
  /** CSV: blank lines before the header. */
  skip: number;
  /** CSV: the separator. */
  delimiter: Delimiter;
  /** Canonical decimal columns (lower case) this file writes with a decimal comma (decimalCommaColumns). */
  decimalComma: string[];
  /** For the progress log: `GB18030, ';'`, `Parquet`, `Excel sheet "tickets"`. */
  described: string;
}

interface FileGroup extends FileInfo {
  files: string[];
  readPaths: string[];
}

/**
 * What the reader keeps per DuckDB connection: a temporary folder for transcoded files and
 * converted sheets (created on first use, removed by closeReader), workbooks read once, and each
 * file's analysis (a file read by two tables, as a workbook with two table sheets, is analysed once per sheet).
 */
interface ReaderSession {
  dir: string | null;
  count: number;
  workbooks: Map<string, Promise<Workbook>>;
  infos: Map<string, Promise<FileInfo | null>>;
  /** Paths DuckDB reads that are not the export itself -> how errors name them. */
  labels: Map<string, string>;
  /** Each file -> how it was last read (describeFiles). */
  described: Map<string, string>;
}

const sessions = new WeakMap<DuckDBConnection, ReaderSession>();
/** Every session's temporary paths -> the export they stand for, so that fileFault can name the export. */
const readPathLabels = new Map<string, string>();

function session(conn: DuckDBConnection): ReaderSession {
  let s = sessions.get(conn);
  if (!s) {
    s = { dir: null, count: 0, workbooks: new Map(), infos: new Map(), labels: new Map(), described: new Map() };
    sessions.set(conn, s);
  }
  return s;
}

/** A new path in the session's temporary folder for a file standing for `label`. */
function tempPath(s: ReaderSession, label: string, ext: string): string {
  s.dir ??= realpathSync(mkdtempSync(join(tmpdir(), 'crm-reader-')));
  const p = join(s.dir, `${++s.count}${ext}`);
  s.labels.set(p, label);
  readPathLabels.set(p, label);
  return p;
}

/** Removes the reader's temporary folder of `conn` (transcoded files, converted sheets). Call it when the engine closes. */
export async function closeReader(conn: DuckDBConnection): Promise<void> {
  const s = sessions.get(conn);
  if (!s) return;
  sessions.delete(conn);
  for (const p of s.labels.keys()) readPathLabels.delete(p);
  if (s.dir) await rm(s.dir, { recursive: true, force: true });
}

/** The options as the reader uses them; an unknown encoding or separator is an ExportError naming what is accepted. */
function resolveOptions(o: SourceOptions | undefined): { encoding?: Encoding; delimiter?: Delimiter; sheet?: string } {
  if (!o) return {};
  const encoding = o.encoding === undefined ? undefined : parseEncoding(o.encoding);
  if (encoding === null) throw new ExportError(`unknown encoding "${o.encoding}" (known: ${SOURCE_ENCODINGS.join(', ')})`);
  const delimiter = o.delimiter === undefined ? undefined : parseDelimiter(o.delimiter);
  if (delimiter === null) throw new ExportError(`unknown delimiter "${o.delimiter}" (known: ${SOURCE_DELIMITERS.join(' ')})`);
  return { encoding, delimiter, sheet: o.sheet };
}

const zlibFault = (e: unknown) => String((e as NodeJS.ErrnoException).code ?? '').startsWith('Z_');

/**
 * The contract decimal columns of `table` that a CSV file separated by something other than a comma
 * writes with a decimal comma: a value like `12,5` in the column and none like `12.5` (a file does
 * not mix them; in a file of decimal points, `12,50` stays a bad value). Read by DuckDB, once per file.
 */
async function decimalCommaColumns(conn: DuckDBConnection, readPath: string, head: CsvHead, table: TableName | undefined): Promise<string[]> {
  if (!table || head.delimiter === ',') return [];
  const lower = head.columns.map((c) => c.toLowerCase());
  const cols = CONTRACT[table].columns.filter((c) => c.type === 'decimal' && lower.includes(c.name)).map((c) => c.name);
  if (!cols.length) return [];
  const g = { format: 'csv', readPaths: [readPath], columns: head.columns, skip: head.skip, delimiter: head.delimiter } as FileGroup;
  const probes = cols.flatMap((name) => {
    const c = `trim(${groupColumn(g, lower.indexOf(name))})`;
    return [
      `bool_or(regexp_full_match(${c}, '[+-]?[0-9]*,[0-9]+|[+-]?[0-9]+,')) AS ${quoteIdent(`comma ${name}`)}`,
      `bool_or(regexp_full_match(${c}, '[+-]?[0-9]*[.][0-9]+|[+-]?[0-9]+[.]')) AS ${quoteIdent(`dot ${name}`)}`,
    ];
  });
  const r = (await conn.runAndReadAll(`SELECT ${probes.join(', ')} FROM ${groupSource(g)}`)).getRowObjectsJS()[0] ?? {};
  return cols.filter((name) => r[`comma ${name}`] === true && r[`dot ${name}`] !== true);
}

/** A CSV export as UTF-8 text DuckDB can read: its encoding detected (or stated), transcoded when not UTF-8. */
async function csvInfo(
  conn: DuckDBConnection,
  s: ReaderSession,
  file: string,
  label: string,
  o: { encoding?: Encoding; delimiter?: Delimiter },
  table: TableName | undefined,
): Promise<FileInfo | null> {
  if (statSync(file).size === 0) return null;
  const gzip = isGzip(file);
  let encoding: Encoding;
  let readPath = file;
  try {
    encoding = (await detectEncoding(file, gzip, o.encoding)).encoding;
    if (encoding !== 'utf-8') {
      readPath = tempPath(s, label, '.csv');
      await transcodeToUtf8(file, gzip, encoding, readPath);
    }
  } catch (e) {
    if (e instanceof DecodeError) {
      throw new ExportError(`${label}: cannot decode the text: ${e.message}; save it as UTF-8, or state its encoding in a source mapping`);
    }
    if (zlibFault(e)) throw new ExportError(`${label}: not a complete gzip file (${(e as Error).message})`);
    throw e;
  }
  const head = await readCsvHead(readPath, label, o.delimiter);
  if (!head) return null;
  return {
    format: 'csv',
    readPath,
    columns: head.columns,
    types: head.columns.map(() => 'VARCHAR'),
    skip: head.skip,
    delimiter: head.delimiter,
    decimalComma: await decimalCommaColumns(conn, readPath, head, table),
    described: `${ENCODING_LABEL[encoding]}, ${delimiterLabel(head.delimiter)}`,
  };
}

function workbook(s: ReaderSession, file: string, label: string): Promise<Workbook> {
  let wb = s.workbooks.get(file);
  if (!wb) {
    wb = readWorkbook(file).catch((e: unknown) => {
      throw new ExportError(`${label}: not a readable Excel workbook (${String((e as Error).message ?? e).split('\n')[0]})`);
    });
    s.workbooks.set(file, wb);
  }
  return wb;
}

/**
 * One sheet of a workbook as a CSV in the reader's folder: the sheet `sheet` names (an error when
 * there is none), else the one named `preferred` (a table), else the first.
 */
async function xlsxInfo(s: ReaderSession, file: string, label: string, sheet: string | undefined, preferred: TableName | undefined): Promise<FileInfo | null> {
  const wb = await workbook(s, file, label);
  const ws = sheet !== undefined ? findSheet(wb, sheet) : ((preferred && findSheet(wb, preferred)) ?? wb.worksheets[0]);
  if (!ws) {
    const names = sheetNames(wb);
    throw new ExportError(`${label}: ${sheet !== undefined ? `no sheet "${sheet}"` : 'no sheet'} (sheets: ${names.length ? names.map((n) => `"${n}"`).join(', ') : 'none'})`);
  }
  const sheetLabel = `${label}, sheet "${ws.name}"`;
  const readPath = tempPath(s, sheetLabel, '.csv');
  const timestamps = new Set(preferred ? CONTRACT[preferred].columns.filter((c) => c.type === 'timestamp').map((c) => c.name) : []);
  await sheetToCsv(wb, ws, readPath, timestamps);
  const head = await readCsvHead(readPath, sheetLabel, ',');
  if (!head) return null;
  return {
    format: 'xlsx',
    readPath,
    columns: head.columns,
    types: head.columns.map(() => 'VARCHAR'),
    skip: head.skip,
    delimiter: ',',
    decimalComma: [],
    described: `Excel sheet "${ws.name}"`,
  };
}

/** A file's columns (null: no header), read and checked once per connection (and sheet). */
function fileInfo(conn: DuckDBConnection, file: string, root: string | undefined, options?: SourceOptions, table?: TableName): Promise<FileInfo | null> {
  const s = session(conn);
  const format = fileFormat(file) ?? 'csv'; // a mapping source may name a file of any name: read as CSV
  const o = resolveOptions(options);
  const key = `${file}\u0000${table ?? ''}\u0000${o.sheet ?? ''}|${o.encoding ?? ''}|${o.delimiter ?? ''}`;
  let info = s.infos.get(key);
  if (!info) {
    const label = displayName(root, file);
    info = (async (): Promise<FileInfo | null> => {
      if (format === 'parquet') {
        const schema = await readParquetSchema(conn, file, root);
        return { format, readPath: file, columns: schema.map((c) => c.name), types: schema.map((c) => c.type), skip: 0, delimiter: ',', decimalComma: [], described: 'Parquet' };
      }
      if (format === 'xlsx') return xlsxInfo(s, file, label, o.sheet, table);
      return csvInfo(conn, s, file, label, o, table);
    })();
    s.infos.set(key, info);
  }
  return info;
}

async function groupFiles(conn: DuckDBConnection, files: string[], root?: string, options?: SourceOptions, table?: TableName): Promise<FileGroup[]> {
  const groups = new Map<string, FileGroup>();
  for (const file of files) {
    const info = await fileInfo(conn, file, root, options, table);
    if (!info) continue; // an empty file: no rows
    session(conn).described.set(file, info.described);
    const csvLike = info.format !== 'parquet';
    const sig = `${csvLike}|${isGzip(info.readPath)}|${info.skip}|${info.delimiter}|${info.decimalComma.join(',')}|${info.columns.join('\u0001')}|${info.types.join('\u0001')}`;
    const g = groups.get(sig) ?? { ...info, files: [], readPaths: [] };
    g.files.push(file);
    g.readPaths.push(info.readPath);
    groups.set(sig, g);
  }
  return [...groups.values()];
}

/** How `files` were last read on `conn` (canonicalSelect, rawSelect), each kind once: `GB18030, ';'`, `Parquet`, `Excel sheet "tickets"`. */
export function describeKinds(conn: DuckDBConnection, files: string[]): string[] {
  const s = session(conn);
  const kinds: string[] = [];
  for (const f of files) {
    const d = s.described.get(f) ?? 'no rows';
    if (!kinds.includes(d)) kinds.push(d);
  }
  return kinds;
}

/** One line for the progress log: `3 files, GB18030, ';'`; several kinds joined by ` + `. */
export function describeRead(files: number, kinds: string[]): string {
  return `${files} file${files === 1 ? '' : 's'}${kinds.length ? `, ${kinds.join(' + ')}` : ''}`;
}

/** describeRead of `files` as last read on `conn`. */
export function describeFiles(conn: DuckDBConnection, files: string[]): string {
  return describeRead(files.length, describeKinds(conn, files));
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
  const list = `[${g.readPaths.map(sqlString).join(', ')}]`;
  if (g.format === 'parquet') return `read_parquet(${list})`;
  const cols = g.columns.map((_, i) => `${sqlString(`c${i}`)}: 'VARCHAR'`).join(', ');
  // Fixed dialect (no sniffing): the separator found in the header, RFC 4180 quotes.
  // `skip`: the blank lines before the header (header = true alone would take the first, blank, line).
  const skip = g.skip ? `, skip = ${g.skip}` : '';
  // Compression stated: DuckDB would go by a lower-case `.gz` ending only (`A.CSV.GZ` is gzip too).
  const compression = isGzip(g.readPaths[0]!) ? 'gzip' : 'none';
  return `read_csv(${list}, header = true${skip}, delim = ${sqlString(g.delimiter)}, quote = '"', escape = '"', compression = '${compression}', auto_detect = false, columns = {${cols}})`;
}

function groupColumn(g: FileGroup, i: number): string {
  return g.format === 'parquet' ? parquetAsText(g.columns[i]!, g.types[i]!) : quoteIdent(`c${i}`);
}

/** A decimal written with a decimal comma (`12,5`, `-3,25`, `,5`) as the contract writes it (`12.5`); see decimalCommaColumns. */
function decimalComma(expr: string): string {
  return `regexp_replace(${expr}, '^(\\s*[+-]?[0-9]*),([0-9]*\\s*)$', '\\1.\\2')`;
}

/**
 * A SELECT giving the canonical columns of `table` (all VARCHAR, contract order) from its export
 * files, columns matched by name, case-insensitively (null when no file has a header: no rows),
 * and the canonical columns at least one file has. Throws ExportError naming table, file and
 * column when a file lacks a required column. A workbook gives its sheet named `table`, or its first.
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
  for (const g of await groupFiles(conn, files, root, undefined, table)) {
    const lower = g.columns.map((c) => c.toLowerCase());
    const select = def.columns.map((col) => {
      const i = lower.indexOf(col.name);
      if (i < 0 && col.required) {
        const s = session(conn);
        const where = s.labels.get(g.readPaths[0]!) ?? displayName(root, g.files[0]!);
        throw new ExportError(`${table}: ${where} has no column "${col.name}" (required by the data contract)`);
      }
      if (i >= 0) columns.add(col.name);
      if (i < 0) return `CAST(NULL AS VARCHAR) AS ${quoteIdent(col.name)}`;
      const value = g.decimalComma.includes(col.name) ? decimalComma(groupColumn(g, i)) : groupColumn(g, i);
      return `${value} AS ${quoteIdent(col.name)}`;
    });
    parts.push(`SELECT ${select.join(', ')} FROM ${groupSource(g)}`);
  }
  return { select: parts.length ? parts.join('\nUNION ALL\n') : null, columns };
}

/**
 * A SELECT of every column of some raw (foreign) export files, lower-cased names, all VARCHAR.
 * `options` override the detected encoding and separator, and pick a workbook's sheet (default: the first).
 */
export async function rawSelect(conn: DuckDBConnection, files: string[], root?: string, options?: SourceOptions): Promise<string | null> {
  const parts: string[] = [];
  for (const g of await groupFiles(conn, files, root, options)) {
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
